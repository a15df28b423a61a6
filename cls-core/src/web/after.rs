//! `after`: work that runs once the response is done, in a copy of the request's context.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::runtime::Handle;

use crate::path;
use crate::web::scope::REQUEST;
use crate::web::RequestInfo;
use crate::{snapshot, Context};

/// One piece of `after` work: the runtime it was registered on, and its future, already
/// wrapped in the context it runs in.
type Work = (Handle, Pin<Box<dyn Future<Output = ()> + Send>>);

/// The work a request has put off until its response is done: `None` once the response
/// is done (later work runs at once), and in a request that no layer serves.
#[derive(Default)]
pub(crate) struct Pending(Mutex<Option<Vec<Work>>>);

impl Pending {
    /// A queue waiting for its response.
    pub(crate) fn open() -> Self {
        Self(Mutex::new(Some(Vec::new())))
    }

    fn lock(&self) -> MutexGuard<'_, Option<Vec<Work>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The queue of a request's `after` work; shared by every copy of the request scope, so
/// that work registered from spawned tasks joins it too.
#[derive(Clone)]
pub(crate) struct AfterQueue(Shared);

#[derive(Clone)]
enum Shared {
    /// The queue inside the request's [`RequestInfo`], which the layer opened with it:
    /// one allocation for both.
    InRequest(RequestInfo),
    /// A queue of its own, for a layer below a scope opened by hand, whose `RequestInfo`
    /// is the hand-opened scope's.
    Own(Arc<Pending>),
}

impl AfterQueue {
    /// The queue that `info` holds; open when `info` was made with
    /// [`RequestInfo::with_after_queue`].
    pub(crate) fn in_request(info: RequestInfo) -> Self {
        Self(Shared::InRequest(info))
    }

    fn pending(&self) -> &Pending {
        match &self.0 {
            Shared::InRequest(info) => info.after_queue(),
            Shared::Own(pending) => pending,
        }
    }

    /// Whether the response this queue waits for is still to come.
    pub(crate) fn is_open(&self) -> bool {
        self.pending().lock().is_some()
    }

    /// Queues `work`, or hands it back when the response is already done.
    fn push(&self, work: Work) -> Result<(), Work> {
        let mut pending = self.pending().lock();
        match pending.as_mut() {
            Some(queue) => {
                queue.push(work);
                Ok(())
            }
            None => Err(work),
        }
    }
}

impl fmt::Debug for AfterQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pending = self.pending().lock();
        f.debug_struct("AfterQueue")
            .field("pending", &pending.as_ref().map(Vec::len))
            .finish()
    }
}

/// Held by whatever ends a request (its response future, then its body): dropped, it
/// closes the request's queue and starts the work in it.
///
/// The queue's work holds copies of the request scope, which hold the queue: closing it
/// empties it, which ends that cycle.
pub(crate) struct Afterwards(AfterQueue);

impl Afterwards {
    /// A new, open queue of its own, and the guard that runs it.
    pub(crate) fn open() -> (AfterQueue, Self) {
        let queue = AfterQueue(Shared::Own(Arc::new(Pending::open())));
        (queue.clone(), Self(queue))
    }

    /// The guard of `queue`.
    pub(crate) fn of(queue: AfterQueue) -> Self {
        Self(queue)
    }
}

impl Drop for Afterwards {
    fn drop(&mut self) {
        let pending = self.0.pending().lock().take();
        for work in pending.into_iter().flatten() {
            start(work);
        }
    }
}

impl fmt::Debug for Afterwards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Afterwards").field(&self.0).finish()
    }
}

/// Spawns `work` on its runtime. The task's `JoinHandle` is dropped: a panic stops that
/// work alone (the runtime catches it, after the panic hook has reported it).
fn start((runtime, future): Work) {
    drop(runtime.spawn(future));
}

/// Runs `fut` once the response of the current request is done, in a copy of the
/// context taken now (Next's `after()`).
///
/// For work the client should not wait for: an audit record, a cache refresh, a metric.
/// The response is never delayed by it:
///
/// - Inside a request served by a [`ClsLayer`](crate::web::ClsLayer), `fut` starts as a
///   task of its own once the response body has sent its last frame, or was dropped (the
///   client went away mid-stream), or the request was cancelled before it had a response.
///   Each call's work is a task of its own: none waits for another.
/// - Called once that moment has passed (from a task spawned by the request that outlives
///   it, say), or outside any request served by the layer (no context, a
///   [`job_context`](crate::web::job_context) or a
///   [`request_context`](crate::web::request_context) you opened yourself with no layer
///   below it), there is no response to wait for: `fut` starts at once. A layer below a
///   scope you opened serves a response: work registered below it waits for that one.
///
/// `fut` sees the contexts active at the call, every store type of them, as a copy: what
/// the request writes after the call is not seen, and what `fut` writes stays in it, as
/// with [`cls_core::spawn`](crate::spawn). A panic in `fut` is contained: the panic hook
/// reports it as usual (to stderr by default), it ends that work alone, and neither the
/// request, nor other `after` work, nor the server is affected.
///
/// "Done" means that the layer's body handed its last frame to what is outside the
/// layer: put the layer outermost (around any middleware that collects or replaces the
/// body) for the work to wait for the whole response. Keep the work async: CPU-bound
/// work on a current-thread runtime delays whatever that thread serves next.
///
/// The work is best-effort, as any spawned task is: what has not run when its runtime
/// shuts down is dropped, and a response body that is leaked (`mem::forget`) never
/// starts it.
///
/// # Panics
///
/// When called outside a Tokio runtime, as `tokio::spawn` does, and inside an `update`
/// closure, as [`snapshot`](crate::snapshot) does.
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
///
/// use cls_core::web::{self, ClsLayer};
/// # use cls_core::ClsStore;
/// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
/// use http::{Request, Response};
/// use tokio::sync::mpsc;
/// use tower::{service_fn, Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (audit, mut audited) = mpsc::unbounded_channel();
/// let service = ClsLayer::<AppStore>::new().layer(service_fn(move |_: Request<()>| {
///     let audit = audit.clone();
///     async move {
///         web::after(async move {
///             // Runs once the body below is done, still inside the request's context.
///             audit.send(web::request_id().unwrap()).unwrap();
///         });
///         Ok::<_, Infallible>(Response::new(String::from("order placed")))
///     }
/// }));
///
/// let request = Request::post("/orders").header("x-request-id", "r-7").body(())?;
/// let response = service.oneshot(request).await?;
/// for _ in 0..3 {
///     tokio::task::yield_now().await; // a task spawned already would run now
/// }
/// assert!(audited.try_recv().is_err(), "not before the body is done");
/// http_body_util::BodyExt::collect(response.into_body()).await?;
/// assert_eq!(audited.recv().await.unwrap().as_str(), "r-7");
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[track_caller]
pub fn after<F>(fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let runtime = Handle::current();
    let context = Context::from(snapshot());
    let work: Work = (runtime, Box::pin(context.run(fut)));
    let queued = match REQUEST.try_get::<path!(after)>() {
        Ok(Some(queue)) => queue.push(work),
        _ => Err(work),
    };
    if let Err(work) = queued {
        start(work);
    }
}
