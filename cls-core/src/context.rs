//! `Context`: live contexts as an owned value that can change owners.

use std::fmt;
use std::future::Future;

use crate::captured::{Captured, Live};
use crate::scoped::{Contexts, Scoped};

/// The contexts of one or more store types, as an owned value: entered any number of times,
/// from any thread, with writes kept from one entry to the next.
///
/// Where a [`Snapshot`](crate::Snapshot) starts every run from the stores as they were
/// captured, a `Context` is live: a [`set`](crate::Cls::set) made inside one
/// [`enter_sync`](Context::enter_sync) is seen by the next. That is what work that outlives
/// the future that opened it needs, such as a response body polled after the handler
/// returned, on another task, that must see and change the handler's context. It is what
/// tokio's `TaskLocalFuture::take_value` hands over, for any number of store types.
///
/// Make one with [`Cls::context`](crate::Cls::context), combine store types with
/// [`join`](Context::join), continue one as a future with [`run`](Context::run), and get
/// one back from a finished [`Scoped`] future with [`Scoped::take_context`].
///
/// Entering installs exactly the contexts the value holds: contexts active where it is
/// entered are not visible inside, as with a snapshot. Work spawned inside carries them, as
/// from any context. Unlike a snapshot, a `Context` is the same context from one entry to
/// the next, so its `#[cls(local)]` fields are kept too.
///
/// # Examples
///
/// ```
/// use cls_core::{path, Cls, ClsStore};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     frames: u32,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// let mut context = CLS.context(AppStore::default());
/// for _ in 0..3 {
///     // One entry per frame of a streamed body, say: each sees the last one's write.
///     context.enter_sync(|| CLS.update::<path!(frames), _>(|n| *n += 1));
/// }
/// assert_eq!(context.enter_sync(|| CLS.get::<path!(frames)>()), 3);
/// assert!(!CLS.is_active());
/// ```
#[derive(Default)]
pub struct Context {
    stores: Live,
}

impl Context {
    pub(crate) fn from_captured(captured: Captured) -> Self {
        Self {
            stores: Live::Captured(captured),
        }
    }

    pub(crate) fn from_live(stores: Live) -> Self {
        Self { stores }
    }

    /// A context holding no store at all: entering it hides every context of the thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{Cls, ClsStore, Context};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { n: u32 }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let mut empty = Context::empty();
    /// let inside = CLS.run_sync(|| empty.enter_sync(|| CLS.is_active()));
    /// assert!(!inside);
    /// ```
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// The contexts of both, in one value; where both hold a store of the same type, the
    /// one of `other` is kept.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # #[derive(ClsStore, Clone, Default)] struct RequestScope { id: u64 }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// # const REQUEST: Cls<RequestScope> = Cls::new();
    /// let mut context = REQUEST
    ///     .context(RequestScope { id: 7 })
    ///     .join(CLS.context(AppStore { tenant: "acme".into() }));
    /// let seen = context.enter_sync(|| (REQUEST.get::<path!(id)>(), CLS.get::<path!(tenant)>()));
    /// assert_eq!(seen, (7, "acme".to_owned()));
    /// ```
    #[must_use]
    pub fn join(self, other: Context) -> Self {
        Self {
            stores: self.stores.join(other.stores),
        }
    }

    /// Calls `f` with these contexts installed, and returns its result; whatever `f`
    /// writes is kept for the next entry.
    ///
    /// The previous contexts of the thread are back when `f` returns or panics. Entering
    /// allocates nothing: the frames are built on the stack.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let mut context = CLS.context(AppStore::default());
    /// context.enter_sync(|| CLS.set::<path!(tenant)>("acme".into()));
    /// assert_eq!(context.enter_sync(|| CLS.get::<path!(tenant)>()), "acme");
    /// ```
    pub fn enter_sync<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.stores.enter(f)
    }

    /// Runs `fut` inside these contexts, and returns a future with its output; once it
    /// completed, [`Scoped::take_context`] hands the contexts back, with what `fut` wrote.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let context = CLS.context(AppStore::default());
    /// let mut handler = std::pin::pin!(context.run(async { CLS.set::<path!(tenant)>("acme".into()) }));
    /// handler.as_mut().await;
    /// let mut context = handler.take_context().unwrap();
    /// assert_eq!(context.enter_sync(|| CLS.get::<path!(tenant)>()), "acme");
    /// # }
    /// ```
    pub fn run<F: Future>(self, fut: F) -> Scoped<F> {
        Scoped::new(Contexts::live(self.stores), fut)
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("stores", &self.stores.store_names())
            .finish()
    }
}
