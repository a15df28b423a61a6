//! `PropagateLayer`: the client side, carrying the current request id to the next service.

use std::task::{Context as TaskContext, Poll};

use http::{HeaderName, HeaderValue, Request};
use tower_layer::Layer;
use tower_service::Service;

use crate::web::{request_id, trace_context, X_REQUEST_ID};

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// A tower [`Layer`] for HTTP clients: puts the id of the current request (or job) on
/// each outgoing request that has none, so that the next service logs the same id; and,
/// when the request came with a W3C trace context ([`trace_context`]), a child
/// `traceparent` (the same trace id, a new parent id) with its `tracestate` unchanged,
/// unless the outgoing request has a `traceparent` already.
///
/// Where tower-http's `PropagateRequestIdLayer` copies an id from a server's request to its
/// response, this one works on the client stack, reading the id from the context with
/// [`request_id`]: a call made anywhere inside a request carries it, with no id passed
/// down. A request that already has the header keeps it; outside any request, nothing is
/// added. It fits any tower HTTP client: `hyper_util`'s legacy `Client` via
/// `ServiceBuilder`, a tonic `Channel`, or a `service_fn`.
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
///
/// use cls_core::web::{self, PropagateLayer, RequestId};
/// use http::Request;
/// use tower::{service_fn, Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Stands for an HTTP client: answers with the id header it was given.
/// let client = PropagateLayer::new().layer(service_fn(|request: Request<()>| async move {
///     Ok::<_, Infallible>(request.headers().get("x-request-id").cloned())
/// }));
///
/// let job = web::job_context(Some(RequestId::new("job-7")?));
/// let sent = job.run(client.clone().oneshot(Request::get("/next").body(())?)).await?;
/// assert_eq!(sent.unwrap(), "job-7");
///
/// let outside = client.oneshot(Request::get("/next").body(())?).await?;
/// assert_eq!(outside, None);
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[derive(Clone, Debug)]
pub struct PropagateLayer {
    header: HeaderName,
}

impl PropagateLayer {
    /// A layer that writes the id in `x-request-id`.
    ///
    /// # Examples
    ///
    /// See [`PropagateLayer`].
    #[must_use]
    pub fn new() -> Self {
        Self {
            header: X_REQUEST_ID,
        }
    }

    /// Writes the id in `header` instead of `x-request-id`.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::PropagateLayer;
    ///
    /// let layer = PropagateLayer::new().header(http::HeaderName::from_static("x-correlation-id"));
    /// assert!(format!("{layer:?}").contains("x-correlation-id"));
    /// ```
    #[must_use]
    pub fn header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }
}

impl Default for PropagateLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Layer<T> for PropagateLayer {
    type Service = PropagateService<T>;

    fn layer(&self, inner: T) -> Self::Service {
        PropagateService {
            inner,
            header: self.header.clone(),
        }
    }
}

/// The service made by [`PropagateLayer`]: adds the current request id to each request
/// that lacks the header, then calls `T`.
///
/// # Examples
///
/// See [`PropagateLayer`].
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[derive(Clone, Debug)]
pub struct PropagateService<T> {
    inner: T,
    header: HeaderName,
}

impl<T> PropagateService<T> {
    /// The wrapped service.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::PropagateLayer;
    /// use tower::Layer;
    ///
    /// let mut service = PropagateLayer::new().layer(7_u8);
    /// assert_eq!(*service.get_ref(), 7);
    /// *service.get_mut() += 1;
    /// assert_eq!(service.into_inner(), 8);
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped service, mutably.
    ///
    /// # Examples
    ///
    /// See [`get_ref`](PropagateService::get_ref).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    ///
    /// # Examples
    ///
    /// See [`get_ref`](PropagateService::get_ref).
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T, B> Service<Request<B>> for PropagateService<T>
where
    T: Service<Request<B>>,
{
    type Response = T::Response;
    type Error = T::Error;
    type Future = T::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let headers = request.headers_mut();
        if !headers.contains_key(&self.header) {
            if let Some(id) = request_id() {
                headers.insert(self.header.clone(), id.header_value());
            }
        }
        if !headers.contains_key(TRACEPARENT) {
            if let Some(trace) = trace_context() {
                let child = trace.child();
                let parent = HeaderValue::from_str(child.traceparent().as_str())
                    .expect("a traceparent is printable ASCII");
                headers.insert(TRACEPARENT, parent);
                if let Some(state) = child.tracestate() {
                    // Valid, so printable ASCII: forwarded unchanged.
                    if let Ok(state) = HeaderValue::from_str(state) {
                        headers.insert(TRACESTATE, state);
                    }
                }
            }
        }
        self.inner.call(request)
    }
}
