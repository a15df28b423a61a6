//! The request scope: the context every request (or job) gets, whatever the user's stores.

use crate::w3c::TraceContext;
use crate::web::after::{AfterQueue, Afterwards};
use crate::web::{uuid_v4, RequestId, RequestInfo};
use crate::{path, Cls, ClsStore, Context};

/// What the web module keeps for one request, beside the user's own store.
///
/// Both fields are `None` only in the default store, which no public path opens: a
/// request scope always has an id, and has a `RequestInfo` when it serves an HTTP request.
#[derive(ClsStore, Clone, Default)]
pub(crate) struct RequestScope {
    id: Option<RequestId>,
    info: Option<RequestInfo>,
    // The inbound W3C trace context, when the request came with a valid one.
    trace: Option<TraceContext>,
    // The `after` work of a request served by the `ClsLayer`; `None` in scopes opened by
    // hand, where there is no response to wait for.
    after: Option<AfterQueue>,
}

/// The request scope, private so that only this module opens or changes it.
pub(crate) const REQUEST: Cls<RequestScope> = Cls::new();

/// The id of the request (or job) being served, or `None` outside one.
///
/// The counterpart of reading tower-http's `RequestId` extension, without needing the
/// request: any code inside a request's scope (opened by the `ClsLayer`, by
/// [`request_context`] or by [`job_context`]) reads it, including spawned work and streamed response bodies. No user
/// store is needed. A read clones the id: a reference count, or 36 bytes for a generated
/// UUID.
///
/// # Examples
///
/// ```
/// use cls_core::web::{self, RequestId};
///
/// assert_eq!(web::request_id(), None);
///
/// let mut job = web::job_context(Some(RequestId::new("job-42")?));
/// let seen = job.enter_sync(web::request_id);
/// assert_eq!(seen.map(|id| id.to_string()), Some("job-42".to_owned()));
/// # Ok::<(), web::InvalidRequestId>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub fn request_id() -> Option<RequestId> {
    REQUEST.try_get::<path!(id)>().ok().flatten()
}

/// What is known about the HTTP request being served, or `None` outside one (and inside a
/// [`job_context`], which serves no HTTP request).
///
/// SvelteKit's `getRequestEvent()`: the method, URI, headers, matched route and client
/// address, readable anywhere below the layer without passing the request down. A read
/// is one reference count.
///
/// # Examples
///
/// ```
/// use cls_core::web::{self, RequestInfo};
///
/// assert!(web::request().is_none());
///
/// let info = RequestInfo::from_request(&http::Request::get("/orders").body(())?);
/// let mut context = web::request_context(web::uuid_v4(), info);
/// let path = context.enter_sync(|| web::request().map(|req| req.uri().path().to_owned()));
/// assert_eq!(path.as_deref(), Some("/orders"));
/// # Ok::<(), http::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub fn request() -> Option<RequestInfo> {
    REQUEST.try_get::<path!(info)>().ok().flatten()
}

/// The W3C trace context the request being served arrived with (its `traceparent` and
/// `tracestate` headers), or `None` outside a request, or when it came without a valid
/// one.
///
/// The `ClsLayer` parses the headers exactly as W3C Trace Context level 1 says (an invalid
/// `traceparent` is ignored, never echoed); [`PropagateLayer`](crate::web::PropagateLayer)
/// sends a child of it (the same trace id, a new parent id) on outbound requests. Give it
/// to a tracer as the remote parent of the request's span, or log its
/// [`trace_id`](TraceContext::trace_id).
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
/// use tower::{service_fn, Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let service = ClsLayer::<AppStore>::new().layer(service_fn(|_: Request<()>| async {
///     let trace = web::trace_context().expect("a valid traceparent came");
///     Ok::<_, Infallible>(Response::new(format!("{} {}", trace.trace_id(), trace.sampled())))
/// }));
/// let request = Request::get("/")
///     .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
///     .body(())?;
/// let body = service.oneshot(request).await?.into_body();
/// let body = http_body_util::BodyExt::collect(body).await?.to_bytes();
/// assert_eq!(body, "4bf92f3577b34da6a3ce929d0e0e4736 true");
/// assert!(web::trace_context().is_none());
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub fn trace_context() -> Option<TraceContext> {
    REQUEST.try_get::<path!(trace)>().ok().flatten()
}

/// Opens the request scope for an HTTP request, as the `ClsLayer` does: inside, [`request_id`] returns `id` and [`request`] returns `info`.
///
/// For middleware of your own (or a server that is not tower-based); join the result
/// with your store's context with [`Context::join`]. Like any [`Context`], it holds only
/// what it was given: entering it hides the contexts around it.
///
/// # Examples
///
/// ```
/// use cls_core::web::{self, RequestId, RequestInfo};
///
/// let request = http::Request::get("/health").body(())?;
/// let id = RequestId::from_static("lb-1");
/// let mut context = web::request_context(id.clone(), RequestInfo::from_request(&request));
/// assert_eq!(context.enter_sync(web::request_id), Some(id));
/// # Ok::<(), http::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[must_use]
pub fn request_context(id: RequestId, info: RequestInfo) -> Context {
    REQUEST.context(RequestScope {
        id: Some(id),
        info: Some(info),
        trace: None,
        after: None,
    })
}

/// Whether the request being served has a response still to come that its
/// [`after`](crate::web::after) work waits for: false outside a request, in scopes opened
/// by hand, and once the layer's response is done.
pub(crate) fn awaits_response() -> bool {
    REQUEST
        .try_get::<path!(after)>()
        .is_ok_and(|after| after.as_ref().is_some_and(AfterQueue::is_open))
}

/// [`request_context`] for the layer, whose response ends the request: the scope with a
/// queue for [`after`](crate::web::after) work, and the guard that starts that work.
///
/// `info` made by [`RequestInfo::with_after_queue`] holds the queue (`own_queue` false);
/// otherwise (`own_queue` true: `info` is a scope's opened by hand) the queue is a new
/// one of its own.
pub(crate) fn layer_request_context(
    id: RequestId,
    info: RequestInfo,
    trace: Option<TraceContext>,
    own_queue: bool,
) -> (Context, Afterwards) {
    let (queue, afterwards) = if own_queue {
        Afterwards::open()
    } else {
        let queue = AfterQueue::in_request(info.clone());
        (queue.clone(), Afterwards::of(queue))
    };
    let context = REQUEST.context(RequestScope {
        id: Some(id),
        info: Some(info),
        trace,
        after: Some(queue),
    });
    (context, afterwards)
}

/// Opens the request scope for work that is not an HTTP request (a queue consumer, a cron
/// job, a CLI command), so that its logs and outbound calls carry an id too.
///
/// `id` is the id the work arrived with (a message's correlation id, say); `None`
/// generates one with [`uuid_v4`]. Inside, [`request_id`] returns it and [`request`]
/// returns `None`. Run the work with [`Context::run`], or join the result with your
/// store's context first with [`Context::join`].
///
/// # Examples
///
/// ```
/// use cls_core::web::{self, RequestId};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), web::InvalidRequestId> {
/// let from_message = RequestId::new("msg-7f3a")?;
/// let seen = web::job_context(Some(from_message.clone()))
///     .run(async { cls_core::spawn(async { web::request_id() }).await.unwrap() })
///     .await;
/// assert_eq!(seen, Some(from_message));
///
/// let generated = web::job_context(None).run(async { web::request_id() }).await;
/// assert_eq!(generated.map(|id| id.as_str().len()), Some(36));
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[must_use]
pub fn job_context(id: Option<RequestId>) -> Context {
    REQUEST.context(RequestScope {
        id: Some(id.unwrap_or_else(uuid_v4)),
        info: None,
        trace: None,
        after: None,
    })
}
