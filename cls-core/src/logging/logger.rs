//! `ClsLogger`: a `log::Log` wrapper adding the context's fields as key-values.

use std::fmt::{self, Write as _};
use std::marker::PhantomData;

use log::kv::{self, Key, Source, Value, VisitSource};
use log::{LevelFilter, Log, Metadata, Record, SetLoggerError};

use super::stores::{visit_context, LogStores, Store};
use crate::ClsStore;

/// A [`log::Log`] that passes each record to `inner` with the request id (inside a request,
/// with the `tower` feature) and the `#[cls(log)]` fields of each store type added with
/// [`with_store`](ClsLogger::with_store) added to the record's key-values.
///
/// Thread-local "MDC" loggers for `log` are wrong under async, where one thread runs many
/// requests; the fields here come from the context of the code that logs, so they are right
/// in every task, spawned or not.
///
/// - The record's own key-values come first; a context field whose key the record already
///   has is left out.
/// - A record outside every context reaches `inner` unchanged. Inside an
///   [`update`](crate::Cls::update) closure of a store type, that store type adds nothing;
///   nothing panics.
/// - The values are copied into the record as strings (a `log` record borrows its
///   key-values for as long as the logger keeps it): one allocation for a record inside a
///   context.
/// - How the key-values are shown is `inner`'s choice, escaping included: the values are
///   passed as they are, since a structured logger escapes them its own way. A logger that
///   prints them raw lets a value holding a newline start a line of its own; where that
///   matters, send `log` records through tracing-log's bridge to
///   [`ClsFormat`](crate::logging::ClsFormat) or [`ClsJsonFormat`](crate::logging::ClsJsonFormat),
///   which escape every value. `env_logger` shows key-values with its `kv` feature.
///
/// # Examples
///
/// ```
/// use std::sync::Mutex;
/// use cls_core::logging::ClsLogger;
/// use log::Log as _;
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
/// /// A logger that keeps `message key=value…` lines.
/// struct Lines(Mutex<Vec<String>>);
///
/// impl log::Log for Lines {
///     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
///     fn log(&self, record: &log::Record<'_>) {
///         let mut line = record.args().to_string();
///         let mut pairs = |k: log::kv::Key<'_>, v: log::kv::Value<'_>| {
///             line += &format!(" {k}={v}");
///         };
///         # struct V<'a, F>(&'a mut F);
///         # impl<'kvs, F: FnMut(log::kv::Key<'kvs>, log::kv::Value<'kvs>)> log::kv::VisitSource<'kvs> for V<'_, F> {
///         #     fn visit_pair(&mut self, k: log::kv::Key<'kvs>, v: log::kv::Value<'kvs>) -> Result<(), log::kv::Error> { (self.0)(k, v); Ok(()) }
///         # }
///         record.key_values().visit(&mut V(&mut pairs)).unwrap();
///         self.0.lock().unwrap().push(line);
///     }
///     fn flush(&self) {}
/// }
///
/// let logger = ClsLogger::new(Lines(Mutex::new(Vec::new()))).with_store::<AppStore>();
/// let store = AppStore { tenant: "acme".into() };
/// CLS.run_with_sync(store, || {
///     logger.log(&log::Record::builder().args(format_args!("listed")).build());
/// });
/// logger.log(&log::Record::builder().args(format_args!("outside")).build());
/// assert_eq!(*logger.get_ref().0.lock().unwrap(), ["listed tenant=acme", "outside"]);
///
/// // In a program: `ClsLogger::new(env_logger::Logger::from_default_env())
/// //     .with_store::<AppStore>().init(log::LevelFilter::Info)?;`
/// ```
pub struct ClsLogger<G, L = ()> {
    inner: G,
    _stores: PhantomData<fn() -> L>,
}

impl<G: Log> ClsLogger<G> {
    /// Wraps a logger (`env_logger`'s, `simple_logger`'s, one of your own).
    ///
    /// # Examples
    ///
    /// ```
    /// struct Quiet;
    /// impl log::Log for Quiet {
    ///     fn enabled(&self, _: &log::Metadata<'_>) -> bool { false }
    ///     fn log(&self, _: &log::Record<'_>) {}
    ///     fn flush(&self) {}
    /// }
    /// let logger = cls_core::logging::ClsLogger::new(Quiet);
    /// # drop(logger);
    /// ```
    pub const fn new(inner: G) -> Self {
        Self {
            inner,
            _stores: PhantomData,
        }
    }
}

impl<G: Log + 'static, L: LogStores> ClsLogger<G, L> {
    /// Adds the `#[cls(log)]` fields of store type `S`, after those already added.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::ClsStore;
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { #[cls(log)] tenant: String }
    /// # struct Quiet;
    /// # impl log::Log for Quiet {
    /// #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { false }
    /// #     fn log(&self, _: &log::Record<'_>) {}
    /// #     fn flush(&self) {}
    /// # }
    /// let logger = cls_core::logging::ClsLogger::new(Quiet).with_store::<AppStore>();
    /// # drop(logger);
    /// ```
    #[must_use]
    pub fn with_store<S: ClsStore>(self) -> ClsLogger<G, (L, Store<S>)> {
        ClsLogger {
            inner: self.inner,
            _stores: PhantomData,
        }
    }

    /// Installs this logger as the process's `log` logger, with `max_level` as the maximum
    /// level (`log::set_boxed_logger` then `log::set_max_level`).
    ///
    /// # Errors
    ///
    /// When a logger is already installed; nothing is changed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # struct Stderr;
    /// # impl log::Log for Stderr {
    /// #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
    /// #     fn log(&self, r: &log::Record<'_>) { eprintln!("{}", r.args()) }
    /// #     fn flush(&self) {}
    /// # }
    /// cls_core::logging::ClsLogger::new(Stderr).init(log::LevelFilter::Info)?;
    /// # Ok::<(), log::SetLoggerError>(())
    /// ```
    pub fn init(self, max_level: LevelFilter) -> Result<(), SetLoggerError> {
        log::set_boxed_logger(Box::new(self))?;
        log::set_max_level(max_level);
        Ok(())
    }

    /// The wrapped logger.
    ///
    /// # Examples
    ///
    /// ```
    /// # struct Quiet;
    /// # impl log::Log for Quiet {
    /// #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { false }
    /// #     fn log(&self, _: &log::Record<'_>) {}
    /// #     fn flush(&self) {}
    /// # }
    /// let logger = cls_core::logging::ClsLogger::new(Quiet);
    /// let _inner: &Quiet = logger.get_ref();
    /// ```
    pub fn get_ref(&self) -> &G {
        &self.inner
    }
}

impl<G: Log, L: LogStores> Log for ClsLogger<G, L> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.inner.enabled(record.metadata()) {
            return;
        }
        let own = record.key_values();
        let mut fields = ContextFields::default();
        visit_context::<L>(&mut |key: &'static str, value: &dyn fmt::Display| {
            if own.get(Key::from_str(key)).is_none() {
                fields.push(key, value);
            }
        });
        if fields.keys.is_empty() {
            self.inner.log(record);
            return;
        }
        let both = Both {
            own,
            fields: &fields,
        };
        self.inner
            .log(&record.to_builder().key_values(&both).build());
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

/// The context's fields of one record, copied: all values in one string.
#[derive(Default)]
struct ContextFields {
    text: String,
    keys: Vec<(&'static str, std::ops::Range<usize>)>,
}

impl ContextFields {
    fn push(&mut self, key: &'static str, value: &dyn fmt::Display) {
        let start = self.text.len();
        let _ = write!(self.text, "{value}");
        self.keys.push((key, start..self.text.len()));
    }
}

/// The record's own key-values, then the context's.
struct Both<'a> {
    own: &'a dyn Source,
    fields: &'a ContextFields,
}

impl Source for Both<'_> {
    fn visit<'kvs>(&'kvs self, visitor: &mut dyn VisitSource<'kvs>) -> Result<(), kv::Error> {
        self.own.visit(visitor)?;
        for (key, range) in &self.fields.keys {
            visitor.visit_pair(
                Key::from_str(key),
                Value::from(&self.fields.text[range.clone()]),
            )?;
        }
        Ok(())
    }
}

impl<G: fmt::Debug, L> fmt::Debug for ClsLogger<G, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClsLogger")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
