//! Logging: every line written inside a context carries the request id and the store's
//! chosen fields, in text and JSON, for `tracing` and for `log`.
//!
//! Mark the fields to log with `#[cls(log)]` (key: the field's name) or
//! `#[cls(log = "key")]`; the field's type must be `Display`, and an `Option<T>` field is
//! left out while `None`. Only marked fields are logged, so a secret stays out of the logs
//! unless someone marks it.
//!
//! ```
//! use cls_core::ClsStore;
//!
//! #[derive(ClsStore, Clone, Default)]
//! struct AppStore {
//!     #[cls(log)]
//!     tenant: String, // key `tenant`
//!     #[cls(log = "user_id")]
//!     user: Option<u64>, // key `user_id`; left out while `None`
//!     secret: String, // not logged
//! }
//!
//! assert_eq!(cls_core::tagged_keys::<AppStore>(cls_core::FieldTag::Log), ["tenant", "user_id"]);
//! ```
//!
//! Then pick the writer of your stack:
//!
//! | stack | setup | a line inside a request |
//! |---|---|---|
//! | tracing, text (feature `tracing`) | `fmt().event_format(ClsFormat::new(fmt::format()).with_store::<AppStore>())` | `… INFO orders: listed count=3 request_id=0f3a… tenant=acme user_id=7` |
//! | tracing, JSON (feature `tracing`) | `fmt().event_format(ClsJsonFormat::new().with_store::<AppStore>())` | `{"timestamp":"…","level":"INFO","target":"orders","message":"listed","count":3,"request_id":"0f3a…","tenant":"acme","user_id":7}` |
//! | log (feature `log`) | `ClsLogger::new(inner).with_store::<AppStore>().init(LevelFilter::Info)` | the record's key-values gain `request_id`, `tenant`, `user_id` |
//!
//! The request id is there when the `tower` feature is on too and the line is written
//! inside a request (or a [`job_context`](crate::web::job_context)); without `tower` there
//! is no request id, and only store fields are added.
//!
//! # Why not a request span
//!
//! A span's fields reach only the events of the task that entered the span, must be declared
//! when the span is created (tokio-rs/tracing #1343), and are nested under `span`/`spans` in
//! tracing-subscriber's JSON, which re-reads them for every event. The context is installed
//! wherever the request's work runs, so these fields are on every line: in tasks started with
//! [`spawn`](crate::spawn) and [`spawn_blocking`](crate::spawn_blocking), in a response
//! body streamed after the handler returned, in a `log` record bridged into tracing by
//! `tracing-log`. They are read from the store when the line is written (tracing formats on
//! the emitting thread, inside the emitting task's poll), so a `set` shows on later lines.
//! Benchmarks against the span are in the README.
//!
//! For traces, where the span is the point (an OpenTelemetry exporter, `TraceLayer`-style
//! timing), [`RequestSpanLayer`] (features `tracing` and `tower`) opens a `request` span whose
//! fields are these same keys, declared up front from the derive and recorded from the
//! context when the span opens and when they change during the handler.
//!
//! # Guarantees
//!
//! - A line outside every context is exactly what the wrapped format writes.
//! - Values are escaped: in text, quoted when they hold anything but printable ASCII without
//!   `"`, `=` and `\`, with every control and invisible character escaped; in JSON, as JSON
//!   strings. No value can add a line, a `key=value` or a JSON key.
//! - Writing a line never panics, including from inside a [`with`](crate::Cls::with) closure
//!   (the fields are read as usual) or an [`update`](crate::Cls::update) closure of a store
//!   type (that store type, half changed, adds no fields to the line), and from a field's
//!   `Display` that logs itself: that nested line is written without fields, instead of
//!   reading them again without end.
//!
//! The integration tests in `integration/tests/test_logging.rs` prove each, over real loopback servers.

#[cfg(feature = "tracing")]
mod format;
#[cfg(feature = "tracing")]
mod json;
#[cfg(feature = "log")]
mod logger;
#[cfg(all(feature = "tracing", feature = "tower"))]
mod span;

#[cfg(feature = "tracing")]
mod escape;
mod stores;

#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use self::format::ClsFormat;
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub use self::json::ClsJsonFormat;
#[cfg(feature = "log")]
#[cfg_attr(docsrs, doc(cfg(feature = "log")))]
pub use self::logger::ClsLogger;
#[cfg(all(feature = "tracing", feature = "tower"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "tracing", feature = "tower"))))]
pub use self::span::{RequestSpanFuture, RequestSpanLayer, RequestSpanService};
pub use self::stores::{LogStores, Store};
