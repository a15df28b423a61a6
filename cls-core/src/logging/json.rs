//! `ClsJsonFormat`: one JSON object per line, the context's fields at top level.

use std::fmt::{self, Write as _};
use std::marker::PhantomData;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::escape::{write_json_display, write_json_str, JsonStr};
use super::stores::{visit_context, LogStores, Store};
use crate::{ClsStore, TagVisitor};

/// A JSON event format: one object per line with `timestamp`, `level`, `target`, the event's
/// own fields (`message` included) and then, at top level, the request id (inside a request,
/// with the `tower` feature) and the `#[cls(log)]` fields of each store type added with
/// [`with_store`](ClsJsonFormat::with_store) whose context is active.
///
/// tracing-subscriber's JSON format nests event fields under `fields` and span fields under
/// `span`/`spans`, and re-reads every span's stored fields for every event; this one writes
/// the context's fields straight from the store, and no span fields at all.
///
/// - Store fields of integer types are JSON numbers, all others JSON strings of their
///   `Display`; event fields keep their type (numbers, booleans, strings). Every string is escaped: a value can never end the
///   object, add a key or start a second line.
/// - Every key appears once: an event field named `timestamp`, `level` or `target` is left
///   out (those keys are already written), a store field whose key the event has is left
///   out (the event's own value wins), and of two store fields with one key (in nested
///   stores, or two store types) the first is written. (The derive rejects store keys
///   named `timestamp`, `level`, `target`, `message` or `request_id`.)
/// - An event outside every context has just its own fields. An event emitted inside an
///   [`update`](crate::Cls::update) closure of a store type gets no fields from that store
///   type, and never panics.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use cls_core::logging::ClsJsonFormat;
/// use cls_core::{Cls, ClsStore};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(log)]
///     tenant: String,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// # #[derive(Clone, Default)] struct Capture(Arc<Mutex<Vec<u8>>>);
/// # impl std::io::Write for Capture {
/// #     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(buf) }
/// #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// # }
/// # let capture = Capture::default();
/// # let writer = capture.clone();
/// let subscriber = tracing_subscriber::fmt()
///     .event_format(ClsJsonFormat::new().without_time().with_store::<AppStore>())
/// #   .with_writer(move || writer.clone())
///     .finish();
///
/// tracing::subscriber::with_default(subscriber, || {
///     let store = AppStore { tenant: "acme \"corp\"".into() };
///     CLS.run_with_sync(store, || tracing::info!(target: "orders", count = 3, "listed"));
/// });
/// # let output = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
/// assert_eq!(
///     output,
///     r#"{"level":"INFO","target":"orders","message":"listed","count":3,"tenant":"acme \"corp\""}"#
///         .to_owned() + "\n"
/// );
/// ```
pub struct ClsJsonFormat<L = (), T = SystemTime> {
    timer: Option<T>,
    _stores: PhantomData<fn() -> L>,
}

impl ClsJsonFormat {
    /// A JSON format with RFC 3339 timestamps (tracing-subscriber's `SystemTime`) and, alone,
    /// the request id; add store types with [`with_store`](ClsJsonFormat::with_store).
    ///
    /// # Examples
    ///
    /// ```
    /// let subscriber = tracing_subscriber::fmt()
    ///     .event_format(cls_core::logging::ClsJsonFormat::new())
    ///     .finish();
    /// # drop(subscriber);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            timer: Some(SystemTime),
            _stores: PhantomData,
        }
    }
}

impl Default for ClsJsonFormat {
    fn default() -> Self {
        Self::new()
    }
}

impl<L: LogStores, T> ClsJsonFormat<L, T> {
    /// Adds the `#[cls(log)]` fields of store type `S`, after those already added.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::ClsStore;
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { #[cls(log)] tenant: String }
    /// let format = cls_core::logging::ClsJsonFormat::new().with_store::<AppStore>();
    /// assert_eq!(format.log_keys(), ["tenant"]);
    /// ```
    #[must_use]
    pub fn with_store<S: ClsStore>(self) -> ClsJsonFormat<(L, Store<S>), T> {
        ClsJsonFormat {
            timer: self.timer,
            _stores: PhantomData,
        }
    }

    /// Uses `timer` for the `timestamp` key (any of tracing-subscriber's `fmt::time` timers).
    ///
    /// # Examples
    ///
    /// ```
    /// use tracing_subscriber::fmt::time::Uptime;
    /// let format = cls_core::logging::ClsJsonFormat::new().with_timer(Uptime::default());
    /// # drop(format);
    /// ```
    #[must_use]
    pub fn with_timer<T2: FormatTime>(self, timer: T2) -> ClsJsonFormat<L, T2> {
        ClsJsonFormat {
            timer: Some(timer),
            _stores: PhantomData,
        }
    }

    /// Leaves out the `timestamp` key.
    ///
    /// # Examples
    ///
    /// ```
    /// let format = cls_core::logging::ClsJsonFormat::new().without_time();
    /// # drop(format);
    /// ```
    #[must_use]
    pub fn without_time(self) -> Self {
        Self {
            timer: None,
            _stores: PhantomData,
        }
    }

    /// The keys of the store fields this format adds, in order (the request id, which comes
    /// first, is not among them).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(cls_core::logging::ClsJsonFormat::new().log_keys().is_empty());
    /// ```
    #[must_use]
    pub fn log_keys(&self) -> Vec<&'static str> {
        L::log_keys()
    }
}

impl<S, N, L, T> FormatEvent<S, N> for ClsJsonFormat<L, T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    L: LogStores,
    T: FormatTime,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        writer.write_char('{')?;
        if let Some(timer) = &self.timer {
            writer.write_str("\"timestamp\":\"")?;
            // The timer writes through the escaper: a timer of the user's own is text too.
            timer.format_time(&mut Writer::new(&mut JsonStr(&mut writer)))?;
            writer.write_str("\",")?;
        }
        writer.write_str("\"level\":\"")?;
        writer.write_str(meta.level().as_str())?;
        writer.write_str("\",\"target\":")?;
        write_json_str(&mut writer, meta.target())?;

        // The keys written so far: an event field or a context field with a key already on
        // the line is left out, so that every key appears once.
        let mut keys = Keys::default();
        if self.timer.is_some() {
            keys.push("timestamp");
        }
        keys.push("level");
        keys.push("target");
        let mut fields = EventFields {
            out: &mut writer,
            result: Ok(()),
            keys,
        };
        event.record(&mut fields);
        let EventFields {
            result, mut keys, ..
        } = fields;
        result?;

        let mut context = ContextFields {
            out: &mut writer,
            result: Ok(()),
            keys: &mut keys,
        };
        visit_context::<L>(&mut context);
        context.result?;
        writer.write_str("}\n")
    }
}

/// Writes the context's fields as `,"key":value` pairs, leaving out the keys already on the
/// line (the event's, or a store's field of the same key seen first).
struct ContextFields<'a, 'w> {
    out: &'a mut Writer<'w>,
    result: fmt::Result,
    keys: &'a mut Keys,
}

impl ContextFields<'_, '_> {
    fn pair(&mut self, key: &'static str, value: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) {
        if self.result.is_err() || self.keys.contains(&key) {
            return;
        }
        self.keys.push(key);
        self.result = (|| {
            self.out.write_char(',')?;
            // Keys are checked by the derive: nothing in them needs escaping.
            self.out.write_char('"')?;
            self.out.write_str(key)?;
            self.out.write_str("\":")?;
            value(self.out)
        })();
    }
}

impl TagVisitor for ContextFields<'_, '_> {
    fn visit(&mut self, key: &'static str, value: &dyn fmt::Display) {
        self.pair(key, |out| write_json_display(out, value));
    }

    fn visit_str(&mut self, key: &'static str, value: &str) {
        self.pair(key, |out| write_json_str(out, value));
    }

    fn visit_u64(&mut self, key: &'static str, value: u64) {
        self.pair(key, |out| write!(out, "{value}"));
    }

    fn visit_i64(&mut self, key: &'static str, value: i64) {
        self.pair(key, |out| write!(out, "{value}"));
    }
}

/// Writes an event's fields as `,"key":value` pairs, keeping their names to leave out store
/// fields with the same key.
struct EventFields<'a, 'w> {
    out: &'a mut Writer<'w>,
    result: fmt::Result,
    keys: Keys,
}

/// The names of an event's fields: a few, so kept inline, without allocating.
#[derive(Default)]
struct Keys {
    inline: [&'static str; 16],
    len: usize,
    more: Vec<&'static str>,
}

impl Keys {
    fn contains(&self, key: &&'static str) -> bool {
        self.inline[..self.len].contains(key) || self.more.contains(key)
    }

    fn push(&mut self, key: &'static str) {
        if self.len < self.inline.len() {
            self.inline[self.len] = key;
            self.len += 1;
        } else {
            self.more.push(key);
        }
    }
}

impl EventFields<'_, '_> {
    fn pair(&mut self, field: &Field, value: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        // Usually a handful of fields: a short scan beats a set.
        if self.keys.contains(&field.name()) {
            return;
        }
        self.keys.push(field.name());
        self.result = (|| {
            self.out.write_char(',')?;
            write_json_str(self.out, field.name())?;
            self.out.write_char(':')?;
            value(self.out)
        })();
    }
}

impl Visit for EventFields<'_, '_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.pair(field, |out| {
            out.write_char('"')?;
            write!(JsonStr(out), "{value:?}")?;
            out.write_char('"')
        });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.pair(field, |out| write_json_str(out, value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.pair(field, |out| write_json_display(out, &value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.pair(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.pair(field, |out| write!(out, "{value}"));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.pair(field, |out| write!(out, "{value}"));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.pair(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.pair(field, |out| write!(out, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those are written as strings.
        if value.is_finite() {
            self.pair(field, |out| write!(out, "{value}"));
        } else {
            self.pair(field, |out| write!(out, "\"{value}\""));
        }
    }
}

impl<L, T: fmt::Debug> fmt::Debug for ClsJsonFormat<L, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClsJsonFormat")
            .field("timer", &self.timer)
            .finish_non_exhaustive()
    }
}

impl<L, T: Clone> Clone for ClsJsonFormat<L, T> {
    fn clone(&self) -> Self {
        Self {
            timer: self.timer.clone(),
            _stores: PhantomData,
        }
    }
}
