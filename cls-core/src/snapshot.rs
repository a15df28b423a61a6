//! Snapshots: the current contexts, captured as a value.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::frame::{self, Captured, ErasedStore, Frames};
use crate::scoped::{self, Scoped};

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
    stores: Arc<[ErasedStore]>,
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
    let stores: Arc<[ErasedStore]> = match frame::capture() {
        Captured::Nothing => Arc::new([]),
        Captured::One(store) => Arc::new([store]),
        Captured::Many(stores) => stores.into(),
    };
    Snapshot { stores }
}

impl Snapshot {
    fn frames(&self) -> Frames {
        Frames::carried(match &*self.stores {
            [] => Captured::Nothing,
            [store] => Captured::One(store.clone()),
            stores => Captured::Many(stores.to_vec()),
        })
    }

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
        Scoped::new(self.frames(), fut)
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
        scoped::call_in(&self.frames(), f)
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.stores.iter().map(ErasedStore::type_name).collect();
        f.debug_struct("Snapshot").field("stores", &names).finish()
    }
}
