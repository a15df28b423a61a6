//! `Lazy<T>`: a store field computed at most once per request, on first use.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::OnceCell;

/// A store field whose value is computed at most once per context, on first use: the
/// current user loaded from the database, a tenant-scoped client.
///
/// nestjs-cls's proxy providers play this part. Like tokio's `OnceCell`, concurrent first
/// uses run the initialiser once and the others wait for it; a panicking or cancelled
/// initialiser leaves the cell empty, so the next use tries again. What makes it a store
/// field is how it is shared: every copy of the store made from one context (for spawned
/// work, snapshots, a nested [`run`](crate::Cls::run)) shares the same cell, so a value
/// initialised in a spawned task is seen by the request. A new store (`run_with`,
/// `S::default()`, a `#[cls(local)]` field reset in spawned work) starts empty.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use cls_core::{path, Cls, ClsStore, Lazy};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     user_id: u64,
///     user_name: Lazy<String>,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
/// static QUERIES: AtomicU32 = AtomicU32::new(0);
///
/// async fn user_name() -> String {
///     let cell = CLS.get::<path!(user_name)>(); // a clone of the field: the same cell
///     cell.get_or_init(|| async {
///         QUERIES.fetch_add(1, Ordering::Relaxed); // the database query, say
///         format!("user {}", CLS.get::<path!(user_id)>())
///     })
///     .await
///     .clone()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = AppStore { user_id: 7, ..AppStore::default() };
/// let names = CLS.run_with(store, async { (user_name().await, user_name().await) }).await;
/// assert_eq!(names, ("user 7".to_owned(), "user 7".to_owned()));
/// assert_eq!(QUERIES.load(Ordering::Relaxed), 1);
/// # }
/// ```
pub struct Lazy<T> {
    cell: Arc<OnceCell<T>>,
}

impl<T> Lazy<T> {
    /// An empty cell.
    ///
    /// # Examples
    ///
    /// ```
    /// let cell = cls_core::Lazy::<u32>::new();
    /// assert_eq!(cell.get(), None);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            cell: Arc::new(OnceCell::new()),
        }
    }

    /// The value, if it has been initialised: a check and a read, no lock.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let cell = cls_core::Lazy::new();
    /// cell.get_or_init(|| async { 3 }).await;
    /// assert_eq!(cell.get(), Some(&3));
    /// # }
    /// ```
    #[must_use]
    pub fn get(&self) -> Option<&T> {
        self.cell.get()
    }

    /// The value, computed by `init` if no one has yet.
    ///
    /// Concurrent callers on an empty cell wait while one of them runs its `init`; the
    /// others' `init` never runs. If `init` panics or its future is dropped, the cell stays
    /// empty and a waiting caller runs its own.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let cell = cls_core::Lazy::new();
    /// assert_eq!(*cell.get_or_init(|| async { 1 }).await, 1);
    /// assert_eq!(*cell.get_or_init(|| async { 2 }).await, 1);
    /// # }
    /// ```
    pub async fn get_or_init<F, Fut>(&self, init: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        self.cell.get_or_init(init).await
    }

    /// The value, computed by the fallible `init` if no one has yet; an error leaves the
    /// cell empty.
    ///
    /// # Errors
    ///
    /// What `init` returns.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let cell = cls_core::Lazy::<u32>::new();
    /// assert_eq!(cell.get_or_try_init(|| async { Err("offline") }).await, Err("offline"));
    /// assert_eq!(cell.get_or_try_init(|| async { Ok::<_, &str>(5) }).await, Ok(&5));
    /// # }
    /// ```
    pub async fn get_or_try_init<E, F, Fut>(&self, init: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.cell.get_or_try_init(init).await
    }
}

/// A clone shares the cell: a value set through either is seen through both.
impl<T> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Self {
            cell: self.cell.clone(),
        }
    }
}

/// An empty cell, as in a new store.
impl<T> Default for Lazy<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.get() {
            Some(value) => f.debug_tuple("Lazy").field(value).finish(),
            None => f.write_str("Lazy(<uninit>)"),
        }
    }
}
