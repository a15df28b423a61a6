//! Snapshots: the current contexts, captured as a value.

use std::fmt;
use std::future::Future;

use crate::captured::Captured;
use crate::context::Context;
use crate::error::ClsError;
use crate::frame;
use crate::scoped::{Contexts, Scoped};

/// The contexts of every store type active when it was taken, as a value that can be kept,
/// cloned and sent anywhere, and run later.
///
/// Node's `AsyncLocalStorage.snapshot()`: take it where the context is, run code in it
/// elsewhere (a callback registered with a library, a worker that receives jobs). Each run
/// starts from the stores as they were when the snapshot was taken: writes made inside one
/// run are not seen by the next. Fields marked `#[cls(local)]` are not captured: runs see
/// their `Default`. Contexts active where the snapshot runs are not visible inside it.
///
/// # Examples
///
/// ```
/// # use cls_core::{path, Cls, ClsStore};
/// # #[derive(ClsStore, Clone, Default)] struct AppStore { request_id: String }
/// # const CLS: Cls<AppStore> = Cls::new();
/// let store = AppStore { request_id: "req-1".into() };
/// let snapshot = CLS.run_with_sync(store, cls_core::snapshot);
/// assert!(!CLS.is_active());
/// let seen = snapshot.run_sync(|| CLS.get::<path!(request_id)>());
/// assert_eq!(seen, "req-1");
/// ```
#[derive(Clone)]
pub struct Snapshot {
    captured: Captured,
}

/// Captures the current contexts of every store type; see [`Snapshot`].
///
/// # Panics
///
/// When called from inside a [`Cls::update`](crate::Cls::update) closure.
///
/// # Examples
///
/// ```
/// # use cls_core::{path, Cls, ClsStore};
/// # #[derive(ClsStore, Clone, Default)] struct AppStore { n: u32 }
/// # const CLS: Cls<AppStore> = Cls::new();
/// let empty = cls_core::snapshot();
/// assert!(!empty.run_sync(|| CLS.is_active()));
/// ```
#[track_caller]
#[must_use]
pub fn snapshot() -> Snapshot {
    Snapshot {
        captured: Captured::here(),
    }
}

/// Captures the current contexts of every store type, or returns an error where
/// [`snapshot`] would panic: the form for code that must not panic, such as a panic hook
/// of a crash reporter that records the context.
///
/// # Errors
///
/// When called from inside a [`Cls::update`](crate::Cls::update) closure, whose store is
/// half-changed: the error names the store type.
///
/// # Examples
///
/// ```
/// # use cls_core::{path, Cls, ClsErrorKind, ClsStore};
/// # #[derive(ClsStore, Clone, Default)] struct AppStore { n: u32 }
/// # const CLS: Cls<AppStore> = Cls::new();
/// CLS.run_sync(|| {
///     assert!(cls_core::try_snapshot().is_ok());
///     let err = CLS.update::<path!(n), _>(|_| cls_core::try_snapshot().unwrap_err());
///     assert_eq!(err.kind(), ClsErrorKind::ReadWhileUpdating);
/// });
/// ```
pub fn try_snapshot() -> Result<Snapshot, ClsError> {
    frame::capture().map(|captured| Snapshot { captured })
}

impl Snapshot {
    /// Runs `fut` inside the captured contexts, and returns a future with its output.
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
    /// let snapshot = CLS.run_with(store, async { cls_core::snapshot() }).await;
    /// let seen = snapshot.run(async { CLS.get::<path!(request_id)>() }).await;
    /// assert_eq!(seen, "req-1");
    /// # }
    /// ```
    pub fn run<F: Future>(&self, fut: F) -> Scoped<F> {
        Scoped::new(Contexts::carried(self.captured.clone()), fut)
    }

    /// Calls `f` inside the captured contexts, and returns its result.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { n: u32 }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let snapshot = CLS.run_with_sync(AppStore { n: 1 }, cls_core::snapshot);
    /// // Each run starts from the captured store.
    /// snapshot.run_sync(|| CLS.set::<path!(n)>(2));
    /// assert_eq!(snapshot.run_sync(|| CLS.get::<path!(n)>()), 1);
    /// ```
    pub fn run_sync<R>(&self, f: impl FnOnce() -> R) -> R {
        self.captured.clone().enter(f)
    }
}

/// A live [`Context`] that starts from the captured stores.
///
/// Where every run of a [`Snapshot`] starts again from the stores as captured, the
/// `Context` keeps its writes from one entry to the next; the contexts the snapshot was
/// taken from never see them (copy-on-write). It is how a layer opens a context of its
/// own store type beside the contexts already active where a request arrives: capture
/// them, then [`join`](Context::join) the new store.
///
/// # Examples
///
/// ```
/// # use cls_core::{path, Cls, ClsStore, Context};
/// # #[derive(ClsStore, Clone, Default)] struct AppStore { n: u32 }
/// # const CLS: Cls<AppStore> = Cls::new();
/// let (mut context, origin) = CLS.run_with_sync(AppStore { n: 1 }, || {
///     let mut context = Context::from(cls_core::snapshot());
///     context.enter_sync(|| CLS.set::<path!(n)>(2));
///     (context, CLS.get::<path!(n)>())
/// });
/// assert_eq!(origin, 1, "the origin does not see the context's writes");
/// assert_eq!(context.enter_sync(|| CLS.get::<path!(n)>()), 2, "the context keeps them");
/// ```
impl From<Snapshot> for Context {
    fn from(snapshot: Snapshot) -> Self {
        Context::from_captured(snapshot.captured)
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("stores", &self.captured.store_names())
            .finish()
    }
}
