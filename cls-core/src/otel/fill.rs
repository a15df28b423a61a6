//! The reverse of `context`: a store's `#[cls(propagate)]` fields from OpenTelemetry
//! baggage, and the report of what was dropped.

use std::error::Error;
use std::fmt;

use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::Context;

use crate::{ClsStore, FieldTag};

/// Sets the `#[cls(propagate)]` fields of `store` from the baggage of an OpenTelemetry
/// context, each value parsed with the field's `FromStr`; reports what was dropped.
///
/// The inbound half of [`context`](super::context), for a service whose requests are
/// extracted by OpenTelemetry (a propagator, an instrumented framework) rather than by
/// [`ClsLayer`](crate::web::ClsLayer): fill a fresh store, check it, then open the context
/// with [`Cls::run_with`](crate::Cls::run_with). The same as [`fill_from_baggage`] with
/// `cx.baggage()`.
///
/// Baggage is client input (see [the trust model](super#trust-model)): only declared keys
/// are used, every value goes through its field's `FromStr`, and a value that does not
/// parse, or that holds a control character (which the W3C reader in
/// [`w3c::Baggage`](crate::w3c::Baggage) would have dropped), leaves its field as it was
/// and is listed in [`FillReport::rejected`] by key and reason, never by value. Entries
/// under undeclared keys are ignored without a trace; an entry's metadata (properties) is
/// ignored. An `Option<T>` field present in the baggage becomes `Some`.
///
/// # Examples
///
/// ```
/// use cls_core::otel::{self, RejectReason};
/// use cls_core::ClsStore;
/// use opentelemetry::baggage::BaggageExt;
/// use opentelemetry::{Context, KeyValue};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(propagate)]
///     tenant: String,
///     #[cls(propagate = "user.id")]
///     user_id: Option<u64>,
///     note: String,
/// }
///
/// // As opentelemetry-sdk's `BaggagePropagator` would extract it from a request.
/// let cx = Context::new().with_baggage([
///     KeyValue::new("tenant", "acme corp"),
///     KeyValue::new("user.id", "seven"),
///     KeyValue::new("note", "undeclared: ignored"),
/// ]);
/// let mut store = AppStore::default();
/// let report = otel::fill(&mut store, &cx);
/// assert_eq!((store.tenant.as_str(), store.user_id, store.note.as_str()), ("acme corp", None, ""));
/// assert_eq!(report.filled(), 1);
/// assert_eq!(report.rejected()[0].key(), "user.id");
/// assert_eq!(report.rejected()[0].reason(), RejectReason::DoesNotParse);
/// ```
pub fn fill<S: ClsStore>(store: &mut S, cx: &Context) -> FillReport {
    fill_from_baggage(store, cx.baggage())
}

/// Sets the `#[cls(propagate)]` fields of `store` from an OpenTelemetry `Baggage`: what
/// [`fill`] does with the baggage of a context.
///
/// It allocates nothing of its own unless a value is rejected (a field's `FromStr` may:
/// a `String` field does). The rejected values are listed in the
/// order of their keys (a `Baggage` has no order of its own).
///
/// # Examples
///
/// ```
/// use cls_core::otel::{self, RejectReason};
/// use cls_core::ClsStore;
/// use opentelemetry::baggage::Baggage;
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(propagate)]
///     tenant: String,
///     #[cls(propagate)]
///     region: String,
/// }
///
/// let mut baggage = Baggage::new();
/// let _ = baggage.insert("tenant", "acme\nforged: line");
/// let _ = baggage.insert("region", "eu west");
/// let mut store = AppStore::default();
/// let report = otel::fill_from_baggage(&mut store, &baggage);
/// assert_eq!((store.tenant.as_str(), store.region.as_str()), ("", "eu west"));
/// assert_eq!(report.rejected()[0].reason(), RejectReason::ControlCharacter);
/// assert_eq!(
///     report.rejected()[0].to_string(),
///     "baggage value for `tenant` dropped: it contains a control character",
/// );
/// ```
pub fn fill_from_baggage<S: ClsStore>(store: &mut S, baggage: &Baggage) -> FillReport {
    let mut report = FillReport::default();
    for (key, (value, _metadata)) in baggage {
        let (key, value) = (key.as_str(), value.as_str());
        if value.contains(char::is_control) {
            // The declared keys only on this rare path: they are listed in a new `Vec`.
            if let Some(declared) = crate::tagged_keys::<S>(FieldTag::Propagate)
                .into_iter()
                .find(|declared| *declared == key)
            {
                report.reject(declared, RejectReason::ControlCharacter);
            }
            continue;
        }
        match crate::set_tagged(store, FieldTag::Propagate, key, value) {
            Ok(true) => report.filled += 1,
            Ok(false) => {}
            Err(err) => report.reject(err.key(), RejectReason::DoesNotParse),
        }
    }
    report.rejected.sort_unstable_by_key(RejectedValue::key);
    report
}

/// What [`fill`] did: how many fields it set, and which values it dropped and why.
///
/// # Examples
///
/// ```
/// use cls_core::otel::FillReport;
///
/// let report = FillReport::default();
/// assert_eq!(report.filled(), 0);
/// assert!(report.rejected().is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FillReport {
    filled: usize,
    rejected: Vec<RejectedValue>,
}

impl FillReport {
    fn reject(&mut self, key: &'static str, reason: RejectReason) {
        self.rejected.push(RejectedValue { key, reason });
    }

    /// The number of fields set.
    ///
    /// # Examples
    ///
    /// See [`fill`].
    #[must_use]
    pub fn filled(&self) -> usize {
        self.filled
    }

    /// The values of declared keys that were dropped, in the order of their keys: for a
    /// debug log (their `Display` names the key and the reason, never the value).
    ///
    /// # Examples
    ///
    /// See [`fill`].
    #[must_use]
    pub fn rejected(&self) -> &[RejectedValue] {
        &self.rejected
    }
}

/// A baggage value that [`fill`] dropped: the key of its field and the reason.
///
/// It never holds the value, which came from a client, so logging it cannot repeat or
/// forge what the client sent.
///
/// # Examples
///
/// See [`fill_from_baggage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RejectedValue {
    key: &'static str,
    reason: RejectReason,
}

impl RejectedValue {
    /// The key of the `#[cls(propagate)]` field whose value was dropped.
    ///
    /// # Examples
    ///
    /// See [`fill`].
    #[must_use]
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// Why it was dropped.
    ///
    /// # Examples
    ///
    /// See [`fill`].
    #[must_use]
    pub fn reason(&self) -> RejectReason {
        self.reason
    }
}

impl fmt::Display for RejectedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "baggage value for `{}` dropped: {}",
            self.key, self.reason
        )
    }
}

impl Error for RejectedValue {}

/// Why [`fill`] dropped a value.
///
/// # Examples
///
/// ```
/// use cls_core::otel::RejectReason;
///
/// assert_eq!(
///     RejectReason::DoesNotParse.to_string(),
///     "it does not parse as the field's type (`FromStr`)",
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// The value does not parse as the field's type.
    DoesNotParse,
    /// The value contains a control character (a newline, for one), which the W3C reader
    /// drops so that it can never split a log line.
    ControlCharacter,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DoesNotParse => "it does not parse as the field's type (`FromStr`)",
            Self::ControlCharacter => "it contains a control character",
        })
    }
}
