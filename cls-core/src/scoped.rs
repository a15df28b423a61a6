//! `Scoped<F>`: a future that runs inside contexts.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::frame::Frames;

/// A future that installs its contexts for every poll of the inner future, and removes them
/// after.
///
/// Returned by [`Cls::run_with`](crate::Cls::run_with), [`Cls::run`](crate::Cls::run),
/// [`Snapshot::run`](crate::Snapshot::run) and [`bind`](crate::bind). Like tokio's
/// `TaskLocalFuture`, the previous context is restored by a drop guard, so a panic or a
/// cancelled poll never leaves it behind, and dropping a `Scoped` before it completes drops
/// the inner future with its contexts still installed, so destructors can read them.
///
/// It is `Send` when the inner future is, and costs one pointer swap per poll however many
/// store types are active.
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
pub struct Scoped<F> {
    frames: Frames,
    future: Option<F>,
}

impl<F> Scoped<F> {
    #[inline]
    pub(crate) fn new(frames: Frames, future: F) -> Self {
        Self {
            frames,
            future: Some(future),
        }
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out, only polled in
        // place and dropped in place (by assigning `None`). `frames` is not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        let _entered = this.frames.enter();
        let Some(future) = this.future.as_mut() else {
            panic!("`Scoped` future polled after it completed");
        };
        // SAFETY: see above.
        let output = match unsafe { Pin::new_unchecked(future) }.poll(cx) {
            Poll::Ready(output) => output,
            Poll::Pending => return Poll::Pending,
        };
        // Drop the finished future while its contexts are still installed.
        this.future = None;
        Poll::Ready(output)
    }
}

impl<F> Drop for Scoped<F> {
    #[inline]
    fn drop(&mut self) {
        if self.future.is_some() {
            let _entered = self.frames.enter();
            // Dropped in place, inside its contexts: destructors of a cancelled future can
            // still read them.
            self.future = None;
        }
    }
}

impl<F> fmt::Debug for Scoped<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped")
            .field("stores", &self.frames.type_names())
            .field("completed", &self.future.is_none())
            .finish()
    }
}

/// Calls `f` with `frames` installed; the previous context is back when it returns or panics.
pub(crate) fn call_in<R>(frames: &Frames, f: impl FnOnce() -> R) -> R {
    let _entered = frames.enter();
    f()
}
