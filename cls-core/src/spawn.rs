//! Spawning work that carries the current contexts.

use std::future::Future;

use tokio::task::JoinHandle;

use crate::captured::Captured;
use crate::scoped::{Contexts, Scoped};

/// Spawns `fut` on the tokio runtime, carrying the current contexts of every store type.
///
/// The same as [`tokio::spawn`], except that the task starts inside a copy of every active
/// context (one reference count per store type, copy-on-write after that). A store with
/// `#[cls(local)]` fields is copied now instead: field by field when its other fields are
/// `Clone`, the local fields (here and in nested stores) built with `Default` and never
/// cloned; otherwise with its own `Clone`, then those fields reset. The task sees
/// the stores as they are now: later writes of the caller are not seen by the task, and the
/// task's writes never reach the caller. Fields marked `#[cls(local)]` are not carried: the
/// task sees their `Default`.
///
/// A plain `tokio::spawn` carries nothing. To make sure nobody calls it by mistake, add to
/// `clippy.toml`:
///
/// ```toml
/// disallowed-methods = [
///     { path = "tokio::spawn", reason = "use cls_core::spawn, which carries the context" },
///     { path = "tokio::task::spawn", reason = "use cls_core::spawn, which carries the context" },
///     { path = "tokio::task::spawn_blocking", reason = "use cls_core::spawn_blocking" },
/// ]
/// ```
///
/// # Panics
///
/// Outside a tokio runtime, like `tokio::spawn`; and when called from inside a
/// [`Cls::update`](crate::Cls::update) closure, whose store is half-changed.
///
/// # Examples
///
/// ```
/// # use cls_core::{path, Cls, ClsStore};
/// # #[derive(ClsStore, Clone, Default)] struct AppStore { request_id: String }
/// # const CLS: Cls<AppStore> = Cls::new();
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = AppStore { request_id: "req-1".into() };
/// let seen = CLS
///     .run_with(store, async {
///         cls_core::spawn(async { CLS.get::<path!(request_id)>() }).await.unwrap()
///     })
///     .await;
/// assert_eq!(seen, "req-1");
/// # }
/// ```
#[inline]
#[track_caller]
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // The task is a `Scoped` future, as `bind` returns, but holding only the captured
    // stores (three words for one store type), so that a small task stays small.
    let captured = Captured::here();
    #[allow(clippy::disallowed_methods)]
    tokio::spawn(Scoped::<F, Captured>::new(captured, fut))
}

/// Runs `f` on tokio's blocking thread pool, carrying the current contexts of every store
/// type; the blocking twin of [`spawn`].
///
/// The same as [`tokio::task::spawn_blocking`], with the contexts carried as [`spawn`]
/// carries them: a copy as of now, `#[cls(local)]` fields reset.
///
/// # Panics
///
/// As [`spawn`].
///
/// # Examples
///
/// ```
/// # use cls_core::{path, Cls, ClsStore};
/// # #[derive(ClsStore, Clone, Default)] struct AppStore { request_id: String }
/// # const CLS: Cls<AppStore> = Cls::new();
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = AppStore { request_id: "req-1".into() };
/// let seen = CLS
///     .run_with(store, async {
///         cls_core::spawn_blocking(|| CLS.get::<path!(request_id)>()).await.unwrap()
///     })
///     .await;
/// assert_eq!(seen, "req-1");
/// # }
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let mut captured = Captured::here();
    #[allow(clippy::disallowed_methods)]
    tokio::task::spawn_blocking(move || captured.enter(f))
}

/// Wraps `fut` so that it runs inside the current contexts of every store type, wherever it
/// is polled: the adapter for executors other than [`spawn`]'s.
///
/// Use it for a `JoinSet`, `spawn_local`, a `FuturesUnordered`, or a future handed to
/// another task over a channel. Like Node's `AsyncResource.bind`, the contexts are captured
/// now, when `bind` is called, as [`spawn`] captures them; it is the same as
/// `cls_core::snapshot().run(fut)` without the snapshot.
///
/// # Panics
///
/// When called from inside a [`Cls::update`](crate::Cls::update) closure.
///
/// # Examples
///
/// ```
/// # use cls_core::{path, Cls, ClsStore};
/// # #[derive(ClsStore, Clone, Default)] struct AppStore { request_id: String }
/// # const CLS: Cls<AppStore> = Cls::new();
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut set = tokio::task::JoinSet::new();
/// let store = AppStore { request_id: "req-1".into() };
/// CLS.run_with(store, async {
///     set.spawn(cls_core::bind(async { CLS.get::<path!(request_id)>() }));
/// })
/// .await;
/// assert_eq!(set.join_next().await.unwrap().unwrap(), "req-1");
/// # }
/// ```
#[inline]
#[track_caller]
pub fn bind<F: Future>(fut: F) -> Scoped<F> {
    Scoped::new(Contexts::carried(Captured::here()), fut)
}
