//! `ClsFormat`: any text event format, with the context's fields appended to each line.

use std::fmt::{self, Write as _};
use std::marker::PhantomData;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::escape::{is_bare, push_decimal, with_scratch, write_quoted};
use super::stores::{visit_context, LogStores, Store};
use crate::{ClsStore, TagVisitor};

/// A text event format that writes each event as `inner` does and appends ` key=value` for
/// the request id (inside a request, with the `tower` feature) and for the `#[cls(log)]`
/// fields of each store type added with [`with_store`](ClsFormat::with_store) whose context
/// is active.
///
/// Where a request span shows its fields only in the events of the task that entered it, the
/// fields here come from the context, so every event inside it carries them: in spawned
/// tasks ([`spawn`](crate::spawn), [`spawn_blocking`](crate::spawn_blocking)), in a response
/// body streamed after the handler returned, in `log` records bridged by `tracing-log`.
///
/// - Values are written bare when they are printable ASCII without spaces, `"`, `=` or `\`,
///   and quoted otherwise, with quotes, backslashes, newlines and every control or invisible
///   character escaped: a value can never start a second line or add a `key=value`.
/// - An event outside every context is written exactly as `inner` writes it.
/// - An event emitted inside an [`update`](crate::Cls::update) closure of a store type (its
///   store is half changed) gets no fields from that store type; inside a
///   [`with`](crate::Cls::with) closure, it gets them as usual. Neither panics.
/// - The fields go before the line's final newline; with a multi-line format (`Pretty`),
///   that is at the end of its last line.
/// - `inner` writes into a buffer of this format's, which reports no ANSI support: turn
///   colors on with the inner format's own `with_ansi(true)`.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use cls_core::logging::ClsFormat;
/// use cls_core::{Cls, ClsStore};
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
/// const CLS: Cls<AppStore> = Cls::new();
///
/// # #[derive(Clone, Default)] struct Capture(Arc<Mutex<Vec<u8>>>);
/// # impl std::io::Write for Capture {
/// #     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().write(buf) }
/// #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// # }
/// # let capture = Capture::default();
/// # let writer = capture.clone();
/// let format = tracing_subscriber::fmt::format().without_time().with_target(false);
/// let subscriber = tracing_subscriber::fmt()
///     .event_format(ClsFormat::new(format).with_store::<AppStore>())
/// #   .with_writer(move || writer.clone())
///     .finish();
///
/// tracing::subscriber::with_default(subscriber, || {
///     let store = AppStore { tenant: "acme corp".into(), user: Some(7), secret: "s3".into() };
///     CLS.run_with_sync(store, || tracing::info!(count = 3, "listed orders"));
///     tracing::info!("outside");
/// });
/// # let output = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
/// assert_eq!(
///     output,
///     " INFO listed orders count=3 tenant=\"acme corp\" user_id=7\n INFO outside\n"
/// );
/// ```
pub struct ClsFormat<F, L = ()> {
    inner: F,
    _stores: PhantomData<fn() -> L>,
}

impl<F> ClsFormat<F> {
    /// Wraps a text event format: tracing-subscriber's `Full`, `Compact` or `Pretty`
    /// (`tracing_subscriber::fmt::format()`, `.compact()`, `.pretty()`), or one of your own.
    ///
    /// Alone, it appends the request id; add store types with
    /// [`with_store`](ClsFormat::with_store).
    ///
    /// # Examples
    ///
    /// ```
    /// let format = cls_core::logging::ClsFormat::new(tracing_subscriber::fmt::format().compact());
    /// let subscriber = tracing_subscriber::fmt().event_format(format).finish();
    /// # drop(subscriber);
    /// ```
    pub const fn new(inner: F) -> Self {
        Self {
            inner,
            _stores: PhantomData,
        }
    }
}

impl<F, L: LogStores> ClsFormat<F, L> {
    /// Adds the `#[cls(log)]` fields of store type `S`, after those already added.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::ClsStore;
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { #[cls(log)] tenant: String }
    /// # #[derive(ClsStore, Clone, Default)] struct JobStore { #[cls(log)] job: u64 }
    /// use cls_core::logging::ClsFormat;
    ///
    /// let format = ClsFormat::new(tracing_subscriber::fmt::format())
    ///     .with_store::<AppStore>()
    ///     .with_store::<JobStore>();
    /// assert_eq!(format.log_keys(), ["tenant", "job"]);
    /// ```
    #[must_use]
    pub fn with_store<S: ClsStore>(self) -> ClsFormat<F, (L, Store<S>)> {
        ClsFormat {
            inner: self.inner,
            _stores: PhantomData,
        }
    }

    /// The keys of the store fields this format appends, in order (the request id, which
    /// comes first, is not among them).
    ///
    /// # Examples
    ///
    /// ```
    /// let format = cls_core::logging::ClsFormat::new(tracing_subscriber::fmt::format());
    /// assert!(format.log_keys().is_empty());
    /// ```
    #[must_use]
    pub fn log_keys(&self) -> Vec<&'static str> {
        L::log_keys()
    }

    /// The wrapped format.
    ///
    /// # Examples
    ///
    /// ```
    /// let format = cls_core::logging::ClsFormat::new(tracing_subscriber::fmt::format());
    /// let _inner: &tracing_subscriber::fmt::format::Format = format.get_ref();
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.inner
    }
}

impl<S, N, F, L> FormatEvent<S, N> for ClsFormat<F, L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
    L: LogStores,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // The whole line is built in a scratch buffer of this thread's, then written at once:
        // the inner format writes into it as it would into the layer's own buffer, the
        // final newline is taken off and put back after the fields, and each value is
        // formatted in place and escaped only when it needs it.
        with_scratch(|line| {
            self.inner.format_event(ctx, Writer::new(line), event)?;
            let newline = line.ends_with('\n');
            if newline {
                line.pop();
            }
            visit_context::<L>(&mut LineFields(line));
            if newline {
                line.push('\n');
            }
            writer.write_str(line)
        })
    }
}

/// Appends ` key=value` to a line for each field, the value escaped.
struct LineFields<'a>(&'a mut String);

impl LineFields<'_> {
    /// ` key=`; keys are checked by the derive (`[A-Za-z_][A-Za-z0-9_.-]*`): written as
    /// they are.
    fn key(&mut self, key: &'static str) {
        self.0.push(' ');
        self.0.push_str(key);
        self.0.push('=');
    }
}

impl TagVisitor for LineFields<'_> {
    fn visit(&mut self, key: &'static str, value: &dyn fmt::Display) {
        self.key(key);
        let start = self.0.len();
        // A `Display` that fails leaves what it wrote; the line goes on with that.
        let _ = write!(self.0, "{value}");
        if !is_bare(&self.0[start..]) {
            let raw = self.0.split_off(start);
            // Writing into a `String` cannot fail.
            let _ = write_quoted(self.0, &raw);
        }
    }

    fn visit_str(&mut self, key: &'static str, value: &str) {
        self.key(key);
        if is_bare(value) {
            self.0.push_str(value);
        } else {
            let _ = write_quoted(self.0, value);
        }
    }

    fn visit_u64(&mut self, key: &'static str, value: u64) {
        self.key(key);
        push_decimal(self.0, value, false);
    }

    fn visit_i64(&mut self, key: &'static str, value: i64) {
        self.key(key);
        push_decimal(self.0, value.unsigned_abs(), value < 0);
    }
}

impl<F: fmt::Debug, L> fmt::Debug for ClsFormat<F, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClsFormat")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<F: Clone, L> Clone for ClsFormat<F, L> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            _stores: PhantomData,
        }
    }
}
