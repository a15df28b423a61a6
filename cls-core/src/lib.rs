//! Typed context storage for tokio: a per-request (or per-job) context that any code running
//! inside it can read and write without passing parameters, checked at compile time.
//!
//! It gives tokio programs what `AsyncLocalStorage` gives Node and `nestjs-cls` gives NestJS.
//! You describe the context as a struct, derive [`ClsStore`], and name values in it by typed
//! paths: `CLS.get::<path!(user.id)>()`. A misspelled path is a compile error that names the
//! struct and lists its fields.
//!
//! ```
//! use cls_core::{path, Cls, ClsStore};
//!
//! #[derive(ClsStore, Clone, Default)]
//! struct User {
//!     id: u64,
//!     name: String,
//! }
//!
//! #[derive(ClsStore, Clone, Default)]
//! struct AppStore {
//!     request_id: String,
//!     user: User,
//! }
//!
//! const CLS: Cls<AppStore> = Cls::new();
//!
//! async fn load_orders() -> String {
//!     // Deep in the call stack, no parameter passed down.
//!     format!("orders of user {} ({})", CLS.get::<path!(user.id)>(), CLS.get::<path!(request_id)>())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let store = AppStore { request_id: "req-1".into(), ..AppStore::default() };
//! let answer = CLS
//!     .run_with(store, async {
//!         CLS.set::<path!(user.id)>(42);
//!         load_orders().await
//!     })
//!     .await;
//! assert_eq!(answer, "orders of user 42 (req-1)");
//! # }
//! ```
//!
//! # The guarantees
//!
//! Each is proven by the integration tests named here (in the repository's `tests/`), on
//! both the current-thread and the multi-thread runtime where the runtime could matter.
//!
//! - **Copy-on-write contexts** (`test_copy_on_write.rs`). A [`set`](Cls::set),
//!   [`update`](Cls::update) or [`enter_with`](Cls::enter_with) is seen by all later code
//!   in the same context: across awaits, in callees, in futures joined or selected inside
//!   it, and in tasks spawned from it afterwards. It is never seen by the enclosing context
//!   once a nested one ends, by tasks spawned before the write, or by any other task. A
//!   child task's writes never reach its parent.
//! - **Isolation** (`test_isolation.rs`). Concurrent contexts never observe each other;
//!   10,000 tasks that sleep and yield at random points each see only their own values.
//! - **Nesting** (`test_nesting.rs`). [`run`](Cls::run) starts from a copy of the current
//!   store, [`run_with`](Cls::run_with) from the given one; when the nested context ends
//!   the outer store is back, untouched. Contexts of different store types are independent.
//! - **`enter_with` cannot leak** (`test_enter_with.rs`). Its effect ends with the
//!   enclosing context: nothing of it remains in the parent or in the next task polled on
//!   the same thread. Outside a context, [`try_enter_with`](Cls::try_enter_with) returns an
//!   error and changes nothing.
//! - **Propagation** (`test_spawn.rs`). [`spawn`], [`spawn_blocking`], [`snapshot`] and
//!   [`bind`] carry every active store type. Fields marked `#[cls(local)]` are not carried:
//!   the receiving side sees their `Default`, so a transaction handle never follows a
//!   detached job; a nested `run` in the same task does inherit them. A plain
//!   `tokio::spawn` carries nothing (see [`spawn`] for the clippy setting that catches it).
//! - **Panics and cancellation** (`test_panic_cancel.rs`). A panic inside a context, sync
//!   or async, and a context future dropped mid-await restore the previous state. A
//!   cancelled context future drops its inner future with its own context still installed,
//!   so destructors can read it.
//! - **Memory** (`test_memory.rs`). A store is dropped exactly once, when the last context,
//!   task or snapshot using it ends; nothing grows with the number of contexts created;
//!   reads and unshared writes allocate nothing.
//! - **Re-entrancy** (`test_reentrancy.rs`). Inside a [`with`](Cls::with) closure, reads of
//!   the same store work and writes panic; inside an [`update`](Cls::update) closure, any
//!   access to the same store panics. Each panic message says what happened and what to do.
//! - **Outside a context** (`test_outside.rs`). [`is_active`](Cls::is_active) is false; the
//!   `try_*` methods return a [`ClsError`] naming the store type and how to open a context;
//!   the panicking methods panic with the same message at the caller's location.
//! - **Depth** (`test_nesting.rs`). 1,000 nested contexts work and unwind in order.
//! - **Leaving a context** (`test_exit.rs`). Inside [`exit`](Cls::exit) the store type is
//!   inactive and the other store types stay; the context is back, untouched, when it ends,
//!   and work spawned inside does not carry it.
//! - **Executors nested inside a context** (`test_nested_executors.rs`). A task that
//!   carries contexts ([`spawn`], [`bind`]) sees exactly those, whoever polls it. A plain
//!   task (`tokio::spawn`, `spawn_local`) carries nothing, so when an executor nested in a
//!   context polls it (`LocalSet::run_until` inside `run_with`, a `block_on` inside
//!   `run_with_sync`), it sees that context and can write to it, as with tokio's
//!   `task_local!`. Wrap such tasks in [`bind`]: telling plain tasks apart on every read
//!   would cost tokio's task id lookup, several times a read.
//!   Stackful coroutines (libraries that switch stacks within one thread) must not switch
//!   away while inside a context: like `scoped-tls`, the runtime relies on contexts being
//!   installed and removed in nesting order on each thread.
//! - **Lazy values** (`test_lazy.rs`). A [`Lazy`] field is computed at most once per
//!   context, however many tasks ask at once; every copy of the store made from the
//!   context (spawned work, snapshots, nested `run`) shares it, a new store starts empty,
//!   and a panicking initialiser leaves it empty and the context usable.
//! - **Code that runs inside a write** (`test_reentrancy.rs`). A store's `Clone` run by
//!   copy-on-write, and the destructor of a value replaced by [`set`](Cls::set),
//!   `set_json` or [`enter_with`](Cls::enter_with), can read the context. A panic hook can
//!   capture it with [`try_snapshot`], which returns an error instead of panicking inside
//!   an [`update`](Cls::update).
//!
//! # Cost
//!
//! A read is a thread-local load, a type check and a field read: no lock, no reference
//! count, no allocation, and it stays so with contexts of other store types opened inside
//! the one read. Entering a context is one pointer swap per poll, however many store types
//! are active. Carrying contexts into a spawned task adds one reference count per store
//! type (a store with `#[cls(local)]` fields is copied instead, those fields reset).
//! Figures, measured against tokio's `task_local!`, are in the README.

#![cfg_attr(docsrs, feature(doc_cfg))]

// The code `#[derive(ClsStore)]` and `path!` generate names `::cls_core`; the `web` and `tx`
// modules derive their scopes with them, so the crate must answer to its own name too.
#[cfg(any(feature = "tower", feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
extern crate self as cls_core;

mod captured;
mod cls;
mod context;
mod erased;
mod error;
mod fixture;
mod frame;
#[cfg(feature = "serde")]
mod json;
mod key_tree;
mod lazy;
#[cfg(any(feature = "tracing", feature = "log"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "tracing", feature = "log"))))]
pub mod logging;
#[cfg(feature = "opentelemetry")]
pub mod otel;
mod path;
mod scoped;
mod snapshot;
mod spawn;
mod store;
mod string_path;
mod tagged;
#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres")))
)]
pub mod tx;
#[cfg(feature = "w3c")]
pub mod w3c;
#[cfg(feature = "tower")]
pub mod web;

#[doc(hidden)]
#[path = "__private.rs"]
pub mod __private;

pub use crate::cls::Cls;
pub use crate::context::Context;
pub use crate::error::{ClsError, ClsErrorKind};
pub use crate::fixture::Fixture;
#[cfg(feature = "serde")]
pub use crate::fixture::{FixtureError, FixtureErrorKind};
pub use crate::lazy::Lazy;
pub use crate::path::Resolve;
#[doc(hidden)]
pub use crate::path::{chars, Cons, Nil};
pub use crate::scoped::Scoped;
pub use crate::snapshot::{snapshot, try_snapshot, Snapshot};
pub use crate::spawn::{bind, spawn, spawn_blocking};
pub use crate::store::{ClsStore, Terminal};
pub use crate::tagged::{
    set_tagged, tagged_keys, visit_current_tagged, visit_tagged, FieldTag, SetTaggedError,
    TagVisitor,
};

/// Derives [`ClsStore`] for a struct with named fields, making every field reachable by a
/// typed path.
///
/// Every named field is a path segment. A field whose type also derives `ClsStore` can be
/// followed further (`user.id`); a field of any other type, or wrapped in [`Terminal`], is a
/// leaf. Mark a field `#[cls(local)]` to keep it out of spawned tasks and snapshots: they
/// see its `Default` instead (a transaction handle must not follow a detached job). Mark a
/// leaf `#[cls(log)]` (or `#[cls(log = "key")]`) to put it on every log line written
/// inside the context (`cls_core::logging`, features `tracing` and `log`; the fields are
/// read with [`visit_tagged`]); its type must be `Display`, and an `Option` is left out
/// while `None`. Mark a leaf `#[cls(propagate)]` (or `#[cls(propagate = "key")]`) to send
/// it to the services a request calls as a W3C baggage member and fill it from inbound
/// baggage (`cls_core::web`, feature `tower`); its type must be `Display + FromStr`. A
/// propagate key belongs to one field in the whole store, nested stores included, since
/// one baggage member fills one field.
///
/// Mistakes are compile errors on the exact token: an enum, tuple struct or union; an
/// unknown `#[cls(...)]` attribute; a `#[cls(log)]` field that is not `Display`, is a
/// nested store, or has a malformed, reserved or repeated key; a `#[cls(propagate)]` field
/// that is not `Display + FromStr`, is a nested store or `#[cls(local)]`, or has a
/// malformed key or one that another field of the struct has; a nested store that uses a
/// propagate key of the struct, or of a nested store before it, again (reported on the
/// field that holds it). A nested store whose type names a parameter of a generic struct
/// (`T`, `Inner<T>`) is the one case the derive cannot check at compile time:
/// `ClsLayer::new` and `PropagateLayer::with_store` check it in debug builds.
///
/// # Examples
///
/// ```
/// use cls_core::{path, Cls, ClsStore};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     request_id: String,
///     #[cls(local)]
///     tx: Option<u64>,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = AppStore { request_id: "req-1".into(), tx: Some(9) };
/// let in_task = CLS
///     .run_with(store, async {
///         cls_core::spawn(async { (CLS.get::<path!(request_id)>(), CLS.get::<path!(tx)>()) })
///             .await
///             .unwrap()
///     })
///     .await;
/// assert_eq!(in_task, ("req-1".to_owned(), None));
/// # }
/// ```
#[cfg(feature = "derive")]
pub use cls_derive::ClsStore;

/// Runs the body of an `async fn` in a transaction: `#[transactional(host = EXPR)]` makes
/// the body `EXPR.transaction_with(Propagation::Required, async { body })`, and
/// `propagation = RequiresNew` (any [`Propagation`](crate::tx::Propagation) mode) picks
/// another mode.
///
/// nestjs-cls's `@Transactional()`. The function returns `Result<T, E>` with
/// `E: From<TxError>`; `EXPR` is any expression naming a [`TxHost`](crate::tx::TxHost) (or a
/// reference to one), evaluated when the function is called: a parameter, `self.tx`, a
/// static. Wrap it in parentheses if it contains a comma outside brackets. Mistakes (a
/// missing `host`, an unknown mode, a function that is not `async` or returns no `Result`)
/// are compile errors that say so.
///
/// # Examples
///
/// ```
/// use cls_core::transactional;
/// use cls_core::tx::{TxError, TxHost};
/// use sqlx::Sqlite;
///
/// struct Orders {
///     tx: TxHost<Sqlite>,
/// }
///
/// impl Orders {
///     #[transactional(host = self.tx)]
///     async fn place(&self, id: i64) -> Result<bool, TxError> {
///         sqlx::query("insert into orders(id) values (?)").bind(id).execute(&mut *self.tx.conn().await?).await?;
///         Ok(self.tx.is_active())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), TxError> {
/// let orders = Orders { tx: TxHost::new(sqlx::SqlitePool::connect("sqlite::memory:").await?) };
/// sqlx::query("create table orders(id integer primary key)").execute(&mut *orders.tx.conn().await?).await?;
/// assert!(orders.place(1).await?);
/// # Ok(())
/// # }
/// ```
#[cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "sqlx-sqlite", feature = "sqlx-postgres")))
)]
pub use cls_derive::transactional;

/// A typed path to a value inside a store: `path!(user.id)`, used as
/// `CLS.get::<path!(user.id)>()`.
///
/// Segments are field names separated by `.`, any depth; raw identifiers (`r#type`) work.
/// A path is checked where it is used: an unknown field is a compile error naming the
/// struct that lacks it and listing the fields it has, and a path that continues past a
/// leaf is an error too.
///
/// # Examples
///
/// ```
/// use cls_core::{path, Cls, ClsStore};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct Meta {
///     r#type: String,
/// }
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     meta: Meta,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// CLS.run_sync(|| {
///     CLS.set::<path!(meta.r#type)>("invoice".into());
///     assert_eq!(CLS.get::<path!(meta.r#type)>(), "invoice");
/// });
/// ```
#[cfg(feature = "derive")]
pub use cls_derive::path;
