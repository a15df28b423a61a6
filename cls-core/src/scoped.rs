//! `Scoped<F>`: a future that runs inside contexts.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use pin_project_lite::pin_project;

use crate::captured::{Captured, Live};
use crate::context::Context;
use crate::frame::Frame;

pin_project! {
    /// A future that installs its contexts for every poll of the inner future, and removes
    /// them after.
    ///
    /// Returned by [`Cls::run_with`](crate::Cls::run_with), [`Cls::run`](crate::Cls::run),
    /// [`Cls::exit`](crate::Cls::exit), [`Snapshot::run`](crate::Snapshot::run) and
    /// [`bind`](crate::bind). Like tokio's `TaskLocalFuture`, the previous context is
    /// restored by a drop guard, so a panic or a cancelled poll never leaves it behind, and
    /// dropping a `Scoped` before it completes drops the inner future with its contexts still
    /// installed, so destructors can read them.
    ///
    /// It is `Send` when the inner future is, and costs one pointer swap per poll however
    /// many store types are active. The second type parameter is how the future installs its
    /// contexts; it is an implementation detail, always the default for the futures this
    /// crate hands out, so name the type as `Scoped<F>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::{path, Cls, ClsStore, Scoped};
    ///
    /// #[derive(ClsStore, Clone, Default)]
    /// struct AppStore {
    ///     n: u32,
    /// }
    ///
    /// const CLS: Cls<AppStore> = Cls::new();
    ///
    /// struct Job {
    ///     // The future can be named and stored.
    ///     work: Scoped<std::future::Ready<u32>>,
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let job = Job { work: CLS.run_with(AppStore { n: 1 }, std::future::ready(5)) };
    /// assert_eq!(job.work.await, 5);
    /// # }
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Scoped<F, C = Contexts>
    where
        C: Install,
    {
        contexts: C,
        #[pin]
        future: Option<F>,
    }

    impl<F, C> PinnedDrop for Scoped<F, C>
    where
        C: Install,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let mut future = this.future;
            if future.is_some() {
                // Dropped in place, inside its contexts: destructors of a cancelled future
                // can still read them.
                this.contexts.enter(|| future.set(None));
            }
        }
    }
}

impl<F, C: Install> Scoped<F, C> {
    #[inline]
    pub(crate) fn new(contexts: C, future: F) -> Self {
        Self {
            contexts,
            future: Some(future),
        }
    }
}

impl<F> Scoped<F> {
    /// Once the inner future has completed, hands over its contexts as a [`Context`],
    /// with everything it wrote; `None` while it is still running, and after the first
    /// call.
    ///
    /// The counterpart of tokio's `TaskLocalFuture::take_value`, for work that goes on
    /// after the future, in the same context: a response body streamed after the handler
    /// returned, say. A context opened by [`run_with`](crate::Cls::run_with) is handed over
    /// alone: what was around it is not part of it; one opened by
    /// [`exit`](crate::Cls::exit) holds no store, so it is handed over as an empty
    /// [`Context`], which hides every store type.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handler = CLS.run_with(AppStore::default(), async {
    ///     CLS.set::<path!(tenant)>("acme".into());
    /// });
    /// let mut handler = std::pin::pin!(handler);
    /// assert!(handler.as_mut().take_context().is_none(), "still running");
    /// handler.as_mut().await;
    /// let mut context = handler.as_mut().take_context().unwrap();
    /// assert_eq!(context.enter_sync(|| CLS.get::<path!(tenant)>()), "acme");
    /// assert!(handler.take_context().is_none(), "handed over once");
    /// # }
    /// ```
    pub fn take_context(self: Pin<&mut Self>) -> Option<Context> {
        let this = self.project();
        if this.future.is_some() {
            return None;
        }
        this.contexts.take().map(Context::from_live)
    }
}

impl<F: Future, C: Install> Future for Scoped<F, C> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let future = this.future;
        this.contexts.enter(|| poll_in_place(future, cx))
    }
}

/// Polls the inner future, and drops it in place once it is ready, while the contexts are
/// still installed. Deep chains of nested contexts recurse through here, and a debug build
/// gives every temporary its own stack slot, so what is not the poll is out of line.
#[inline]
fn poll_in_place<F: Future>(
    mut future: Pin<&mut Option<F>>,
    cx: &mut task::Context<'_>,
) -> Poll<F::Output> {
    let poll = match future.as_mut().as_pin_mut() {
        Some(inner) => inner.poll(cx),
        None => polled_after_completion(),
    };
    if poll.is_ready() {
        drop_in_place(future);
    }
    poll
}

#[inline(never)]
fn drop_in_place<F>(mut future: Pin<&mut Option<F>>) {
    future.set(None);
}

#[cold]
#[inline(never)]
fn polled_after_completion() -> ! {
    panic!("`Scoped` future polled after it completed");
}

impl<F, C: Install> fmt::Debug for Scoped<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped")
            .field("stores", &self.contexts.store_names())
            .field("completed", &self.future.is_none())
            .finish()
    }
}

mod sealed {
    /// How a [`Scoped`](super::Scoped) future installs its contexts for each poll.
    pub trait Install {
        /// Calls `f` with the contexts installed; the previous ones are back when it
        /// returns or panics.
        fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R;

        /// The store type names, innermost first, for `Debug` output.
        fn store_names(&self) -> Vec<String>;
    }
}

// Named by `Scoped`'s second type parameter, but not by users: sealed in a private module.
#[allow(unreachable_pub)]
pub use sealed::Install;

/// The contexts of a [`Scoped`] future from this crate's public functions: one context
/// opened inside the current ones, or contexts carried from elsewhere.
pub struct Contexts(Kind);

enum Kind {
    /// A context opened by `run`, `run_with` or `exit`: it sees the contexts of other store
    /// types around it wherever it is polled.
    Nested(Frame),
    /// Captured contexts (`bind`, snapshots, `Context::run`): exactly what was captured,
    /// nothing of the thread that polls it.
    Carried(Live),
    /// Handed over by `Scoped::take_context`.
    Taken,
}

impl Contexts {
    pub(crate) fn nested(frame: Frame) -> Self {
        Self(Kind::Nested(frame))
    }

    pub(crate) fn carried(captured: Captured) -> Self {
        Self(Kind::Carried(Live::Captured(captured)))
    }

    pub(crate) fn live(stores: Live) -> Self {
        Self(Kind::Carried(stores))
    }

    /// The contexts, handed over once.
    fn take(&mut self) -> Option<Live> {
        match std::mem::replace(&mut self.0, Kind::Taken) {
            Kind::Nested(frame) => Some(Live::Captured(
                frame
                    .slot()
                    .take()
                    .map_or_else(Captured::default, Captured::one),
            )),
            Kind::Carried(stores) => Some(stores),
            Kind::Taken => None,
        }
    }
}

impl Install for Contexts {
    #[inline]
    fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R {
        match &mut self.0 {
            Kind::Nested(frame) => {
                let _installed = frame.install_nested();
                f()
            }
            Kind::Carried(stores) => stores.enter(f),
            Kind::Taken => {
                let _installed = crate::frame::install_nothing();
                f()
            }
        }
    }

    fn store_names(&self) -> Vec<String> {
        match &self.0 {
            Kind::Nested(frame) => vec![frame.slot().describe()],
            Kind::Carried(stores) => stores.store_names(),
            Kind::Taken => Vec::new(),
        }
    }
}

impl Install for Captured {
    #[inline]
    fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R {
        Captured::enter(self, f)
    }

    fn store_names(&self) -> Vec<String> {
        Captured::store_names(self)
    }
}

impl fmt::Debug for Contexts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.store_names()).finish()
    }
}
