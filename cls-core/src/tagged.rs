//! Tagged fields: the fields a store marks for an integration (`#[cls(log)]`), visited by key
//! with their values as `&dyn Display`.
//!
//! The derive knows at compile time which fields carry which tag; this is the one public way
//! to read them, so that the logging module (and any other integration, in this crate or
//! outside it) reaches them through the public API.

use std::fmt;

use crate::cls::Cls;
use crate::error::ClsError;
use crate::frame;
use crate::store::ClsStore;

/// A tag the derive can put on a store's fields; [`visit_tagged`] visits the fields that carry
/// it.
///
/// New tags may be added (one per integration), so match with a `_` arm.
///
/// # Examples
///
/// ```
/// use cls_core::{ClsStore, FieldTag};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(log)]
///     tenant: String,
///     secret: String,
/// }
///
/// assert_eq!(cls_core::tagged_keys::<AppStore>(FieldTag::Log), ["tenant"]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldTag {
    /// `#[cls(log)]` or `#[cls(log = "key")]`: written on every log line by
    /// `cls_core::logging` (feature `tracing` or `log`).
    Log,
    /// `#[cls(propagate)]` or `#[cls(propagate = "key")]`: sent to other services as a W3C
    /// baggage member by `cls_core::web::PropagateLayer`, and filled from an inbound
    /// `baggage` header by `cls_core::web::ClsLayer` (feature `tower`). The field's type is
    /// `Display + FromStr`, so such fields can also be set from text with [`set_tagged`].
    Propagate,
}

/// What [`visit_tagged`] calls for each tagged field: its key and its value.
///
/// Implemented for every `FnMut(&'static str, &dyn Display)`; implement it on a type of your
/// own to keep state without a closure.
///
/// # Examples
///
/// ```
/// use std::fmt;
/// use cls_core::{ClsStore, FieldTag, TagVisitor};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(log)]
///     tenant: String,
/// }
///
/// struct Line(String);
///
/// impl TagVisitor for Line {
///     fn visit(&mut self, key: &'static str, value: &dyn fmt::Display) {
///         self.0 += &format!(" {key}={value}");
///     }
/// }
///
/// let mut line = Line(String::new());
/// let store = AppStore { tenant: "acme".into() };
/// cls_core::visit_tagged(&store, FieldTag::Log, &mut line);
/// assert_eq!(line.0, " tenant=acme");
/// ```
pub trait TagVisitor {
    /// Called once for each field carrying the tag, in declaration order; a field of type
    /// `Option<T>` is visited only while it is `Some`, with the `T` inside.
    fn visit(&mut self, key: &'static str, value: &dyn fmt::Display);

    /// Called instead of [`visit`](TagVisitor::visit) for a field that is text (`String`,
    /// `&'static str`, `Box<str>`, `Arc<str>`), whose `Display` is that text: a visitor
    /// that writes it can copy it without going through `fmt`. By default, calls `visit`.
    #[inline]
    fn visit_str(&mut self, key: &'static str, value: &str) {
        self.visit(key, &value);
    }

    /// Called instead of [`visit`](TagVisitor::visit) for a field of an unsigned integer
    /// type, widened. By default, calls `visit`.
    #[inline]
    fn visit_u64(&mut self, key: &'static str, value: u64) {
        self.visit(key, &value);
    }

    /// Called instead of [`visit`](TagVisitor::visit) for a field of a signed integer type,
    /// widened. By default, calls `visit`.
    #[inline]
    fn visit_i64(&mut self, key: &'static str, value: i64) {
        self.visit(key, &value);
    }
}

impl<F: FnMut(&'static str, &dyn fmt::Display)> TagVisitor for F {
    #[inline]
    fn visit(&mut self, key: &'static str, value: &dyn fmt::Display) {
        self(key, value);
    }
}

/// Visits the fields of `store` that carry `tag`, in declaration order, with the key the
/// attribute gave (the field's name by default).
///
/// Fields of nested stores are visited too, after the store's own fields that come before
/// them, with their own keys. A field of type `Option<T>` is skipped while it is `None`.
/// Nothing is cloned or allocated: the visitor sees references into the store.
///
/// # Examples
///
/// ```
/// use cls_core::{ClsStore, FieldTag};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(log)]
///     tenant: String,
///     #[cls(log = "user_id")]
///     user: Option<u64>,
///     secret: String,
/// }
///
/// let store = AppStore { tenant: "acme".into(), user: Some(7), secret: "s3".into() };
/// let mut seen = Vec::new();
/// cls_core::visit_tagged(&store, FieldTag::Log, &mut |key: &'static str, value: &dyn std::fmt::Display| {
///     seen.push(format!("{key}={value}"));
/// });
/// assert_eq!(seen, ["tenant=acme", "user_id=7"]);
/// ```
#[inline]
pub fn visit_tagged<S: ClsStore>(store: &S, tag: FieldTag, visitor: &mut dyn TagVisitor) {
    store.__visit_tagged(tag, visitor);
}

/// Visits the fields carrying `tag` in the current store of every store type whose context
/// is active here, each store type once (its innermost context), innermost store type
/// first.
///
/// [`Cls::try_visit_tagged`] reads the store type it names; this reads them all, for an
/// integration that serves whatever store types the program opens rather than ones it is
/// told about (`cls_core::otel::context`, feature `opentelemetry`). A store type hidden by
/// [`Cls::exit`] is not visited, nor is any context outside it of that type. Two store
/// types may both have a field under one key: both are visited, the innermost first, so a
/// visitor that keeps the first value of a key keeps the innermost one. Outside any
/// context, nothing is visited. Nothing is cloned or allocated.
///
/// # Errors
///
/// When the store of a store type is being changed by an [`update`](Cls::update) closure on
/// this thread: that store type is skipped, the others are still visited, and the error
/// names the first one skipped.
///
/// # Examples
///
/// ```
/// use cls_core::{Cls, ClsStore, FieldTag};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(propagate)]
///     tenant: String,
/// }
///
/// #[derive(ClsStore, Clone, Default)]
/// struct JobStore {
///     #[cls(propagate = "job.id")]
///     id: u64,
/// }
///
/// let mut seen = Vec::new();
/// let mut visitor = |key: &'static str, value: &dyn std::fmt::Display| seen.push(format!("{key}={value}"));
/// let app = AppStore { tenant: "acme".into() };
/// Cls::<AppStore>::new().run_with_sync(app, || {
///     Cls::<JobStore>::new().run_with_sync(JobStore { id: 7 }, || {
///         cls_core::visit_current_tagged(FieldTag::Propagate, &mut visitor)
///     })
/// })?;
/// cls_core::visit_current_tagged(FieldTag::Propagate, &mut visitor)?; // outside: nothing
/// assert_eq!(seen, ["job.id=7", "tenant=acme"]);
/// # Ok::<(), cls_core::ClsError>(())
/// ```
#[inline]
pub fn visit_current_tagged(tag: FieldTag, visitor: &mut dyn TagVisitor) -> Result<(), ClsError> {
    frame::visit_tagged_all(tag, visitor)
}

/// The keys of the fields of `S` that carry `tag`, nested stores included, in the order
/// [`visit_tagged`] visits them: what an integration declares up front (a span's fields, a
/// header's allow-list).
///
/// # Examples
///
/// ```
/// use cls_core::{ClsStore, FieldTag};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct User {
///     #[cls(log = "user_id")]
///     id: u64,
/// }
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(log)]
///     tenant: String,
///     user: User,
/// }
///
/// assert_eq!(cls_core::tagged_keys::<AppStore>(FieldTag::Log), ["tenant", "user_id"]);
/// ```
#[must_use]
pub fn tagged_keys<S: ClsStore>(tag: FieldTag) -> Vec<&'static str> {
    let mut keys = Vec::new();
    S::__tagged_keys(tag, &mut keys);
    keys
}

/// Parses `value` with `FromStr` into the field of `store` that carries `tag` under `key`
/// (nested stores included); a field of type `Option<T>` becomes `Some`.
///
/// The inbound half of [`visit_tagged`], for tags whose fields are `FromStr`: only
/// [`FieldTag::Propagate`]. It is how `cls_core::web::ClsLayer` fills a fresh store from a
/// `baggage` header, and works the same on any store value.
///
/// Returns `Ok(true)` when the field was set, `Ok(false)` when no field carries `tag` under
/// `key` (the store is unchanged).
///
/// # Errors
///
/// When the field exists but `value` does not parse as its type; the field is unchanged.
/// The error names the key, never the value, which usually came from another process.
///
/// # Examples
///
/// ```
/// use cls_core::{ClsStore, FieldTag};
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
/// let mut store = AppStore::default();
/// assert_eq!(cls_core::set_tagged(&mut store, FieldTag::Propagate, "user.id", "7"), Ok(true));
/// assert_eq!(cls_core::set_tagged(&mut store, FieldTag::Propagate, "note", "x"), Ok(false));
/// let err = cls_core::set_tagged(&mut store, FieldTag::Propagate, "user.id", "abc").unwrap_err();
/// assert_eq!(err.key(), "user.id");
/// assert_eq!(store.user_id, Some(7));
/// ```
#[inline]
pub fn set_tagged<S: ClsStore>(
    store: &mut S,
    tag: FieldTag,
    key: &str,
    value: &str,
) -> Result<bool, SetTaggedError> {
    store.__set_tagged(tag, key, value)
}

/// The error of [`set_tagged`]: the text given for a field did not parse as the field's type.
///
/// It names the tag and the key, never the text, so logging it cannot repeat what a peer
/// sent.
///
/// # Examples
///
/// ```
/// use cls_core::{ClsStore, FieldTag};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(propagate = "user.id")]
///     user_id: u64,
/// }
///
/// let err = cls_core::set_tagged(&mut AppStore::default(), FieldTag::Propagate, "user.id", "abc\n")
///     .unwrap_err();
/// assert_eq!(err.tag(), FieldTag::Propagate);
/// assert_eq!(
///     err.to_string(),
///     "the value received for the `#[cls(propagate)]` field with key `user.id` did not parse as its type (`FromStr`)",
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetTaggedError {
    tag: FieldTag,
    key: &'static str,
}

impl SetTaggedError {
    pub(crate) fn new(tag: FieldTag, key: &'static str) -> Self {
        SetTaggedError { tag, key }
    }

    /// The key of the field whose value did not parse.
    #[must_use]
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The tag the field was reached by.
    #[must_use]
    pub fn tag(&self) -> FieldTag {
        self.tag
    }
}

impl fmt::Display for SetTaggedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attr = match self.tag {
            FieldTag::Log => "log",
            FieldTag::Propagate => "propagate",
        };
        write!(
            f,
            "the value received for the `#[cls({attr})]` field with key `{}` did not parse as its type (`FromStr`)",
            self.key
        )
    }
}

impl std::error::Error for SetTaggedError {}

impl<S: ClsStore> Cls<S> {
    /// Visits the fields carrying `tag` in the current store of `S`, as
    /// [`visit_tagged`](crate::visit_tagged) does for a store value, without cloning it.
    ///
    /// It never panics, which makes it the read for code that runs at any moment, such as a
    /// log formatter: inside a [`with`](Cls::with) closure of `S` it reads as any other read
    /// does; inside an [`update`](Cls::update) closure of `S`, where the store is being
    /// changed, it visits nothing and returns the error.
    ///
    /// # Errors
    ///
    /// When no context of `S` is active, or from inside an [`update`](Cls::update) closure of
    /// `S`; nothing was visited.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::{path, Cls, ClsErrorKind, ClsStore, FieldTag};
    ///
    /// #[derive(ClsStore, Clone, Default)]
    /// struct AppStore {
    ///     #[cls(log)]
    ///     tenant: String,
    /// }
    ///
    /// const CLS: Cls<AppStore> = Cls::new();
    ///
    /// let mut keys = Vec::new();
    /// let mut visitor = |key: &'static str, _: &dyn std::fmt::Display| keys.push(key);
    /// assert!(CLS.try_visit_tagged(FieldTag::Log, &mut visitor).is_err());
    /// CLS.run_sync(|| {
    ///     CLS.try_visit_tagged(FieldTag::Log, &mut visitor).unwrap();
    ///     let err = CLS.update::<path!(tenant), _>(|_| {
    ///         CLS.try_visit_tagged(FieldTag::Log, &mut visitor).unwrap_err()
    ///     });
    ///     assert_eq!(err.kind(), ClsErrorKind::ReadWhileUpdating);
    /// });
    /// assert_eq!(keys, ["tenant"]);
    /// ```
    #[inline]
    pub fn try_visit_tagged(
        &self,
        tag: FieldTag,
        visitor: &mut dyn TagVisitor,
    ) -> Result<(), ClsError> {
        frame::read::<S, _>(|store| store.__visit_tagged(tag, visitor))
    }
}
