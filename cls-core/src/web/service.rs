//! `ClsService`: the service a `ClsLayer` wraps around another.

use std::fmt;
use std::marker::PhantomData;
use std::task::{Context as TaskContext, Poll};

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use tower_service::Service;

use crate::w3c::TraceContext;
use crate::web::after::Afterwards;
use crate::web::baggage::fill_from_baggage;
use crate::web::layer::Config;
use crate::web::scope::{awaits_response, layer_request_context, REQUEST};
use crate::web::{
    request as request_info, request_id, trace_context, ClsBody, MakeRequestId, MakeUuidV4,
    NoSetup, RequestId, RequestInfo, ResponseFuture, Setup, SetupFn,
};
use crate::{Cls, ClsStore, Context};

/// The service made by [`ClsLayer`](crate::web::ClsLayer): calls `T` inside a new request
/// context and keeps that context live until the response body is done.
///
/// See [`ClsLayer`](crate::web::ClsLayer) for what happens to each request.
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
///
/// use cls_core::web::{self, ClsLayer, ClsService};
/// # use cls_core::ClsStore;
/// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
/// use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
/// use tower::{service_fn, Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let service: ClsService<_, AppStore> = ClsLayer::new().layer(service_fn(|_: Request<()>| async {
///     Ok::<_, Infallible>(Response::new(web::request_id().unwrap().to_string()))
/// }));
/// let response = service.oneshot(Request::get("/").header("x-request-id", "r-1").body(())?).await?;
/// assert_eq!(response.headers()["x-request-id"], "r-1");
/// let body = http_body_util::BodyExt::collect(response.into_body()).await?.to_bytes();
/// assert_eq!(body, "r-1");
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub struct ClsService<T, S, G = MakeUuidV4, U = NoSetup> {
    pub(crate) inner: T,
    config: Config<G>,
    pub(crate) setup: U,
    store: PhantomData<fn() -> S>,
}

impl<T, S, G, U> ClsService<T, S, G, U> {
    pub(crate) fn new(inner: T, config: Config<G>, setup: U) -> Self {
        Self {
            inner,
            config,
            setup,
            store: PhantomData,
        }
    }

    /// The wrapped service.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::{ClsLayer, ClsService};
    /// # use cls_core::ClsStore;
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// use tower::Layer;
    ///
    /// let mut service: ClsService<u8, AppStore> = ClsLayer::new().layer(7);
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
    /// See [`get_ref`](ClsService::get_ref).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    ///
    /// # Examples
    ///
    /// See [`get_ref`](ClsService::get_ref).
    pub fn into_inner(self) -> T {
        self.inner
    }
}

// One impl per kind of setup a layer can hold ([`ClsLayer::setup`] and
// [`ClsLayer::setup_async`] are the only ways to set one): an impl generic over any
// `U: Setup` would overlap with the async one in coherence's eyes.
impl<T, S, G, ReqBody, ResBody> Service<Request<ReqBody>> for ClsService<T, S, G, NoSetup>
where
    T: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S: ClsStore + Default,
    G: MakeRequestId,
{
    type Response = Response<ClsBody<ResBody>>;
    type Error = T::Error;
    type Future = ResponseFuture<T::Future, ResBody>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        self.call_with_setup::<false, _, _>(request)
    }
}

impl<T, S, G, F, ReqBody, ResBody> Service<Request<ReqBody>>
    for ClsService<T, S, G, SetupFn<F, ResBody>>
where
    T: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S: ClsStore + Default,
    G: MakeRequestId,
    F: Fn(&RequestInfo, &mut S) -> Result<(), Response<ResBody>>,
{
    type Response = Response<ClsBody<ResBody>>;
    type Error = T::Error;
    type Future = ResponseFuture<T::Future, ResBody>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        self.call_with_setup::<true, _, _>(request)
    }
}

impl<T, S, G, U> ClsService<T, S, G, U> {
    /// Calls the inner service in a new context for `request`; `IN_SCOPE` runs the setup
    /// inside the request scope (so that its logs carry the id), which a layer without a
    /// setup skips.
    fn call_with_setup<const IN_SCOPE: bool, ReqBody, ResBody>(
        &mut self,
        mut request: Request<ReqBody>,
    ) -> ResponseFuture<T::Future, ResBody>
    where
        T: Service<Request<ReqBody>, Response = Response<ResBody>>,
        S: ClsStore + Default,
        G: MakeRequestId,
        U: Setup<S, ResBody>,
    {
        let cls = Cls::<S>::new();
        if cls.is_active() && REQUEST.is_active() {
            if awaits_response() {
                // Below a layer of the same store type: its context is already installed
                // here, and its future and body wrap ours.
                return ResponseFuture::nested(self.inner.call(request));
            }
            // Below a scope and a store opened by hand: both are kept, with a queue for
            // the `after` work of this layer's response.
            let (mut around, _, finish) = self.open_request(&mut request);
            let future = around.enter_sync(|| self.inner.call(request));
            return ResponseFuture::scoped(around.run(future), finish);
        }
        let (mut around, info, finish) = self.open_request(&mut request);

        let mut store = S::default();
        fill_from_baggage(request.headers(), &mut store);
        let outcome = if IN_SCOPE {
            around.enter_sync(|| self.setup.setup(&info, &mut store))
        } else {
            self.setup.setup(&info, &mut store)
        };
        if let Err(rejection) = outcome {
            return ResponseFuture::rejected(rejection, finish);
        }

        let mut context = around.join(cls.context(store));
        let future = context.enter_sync(|| self.inner.call(request));
        ResponseFuture::scoped(context.run(future), finish)
    }
}

/// What a request's response gets when it is ready: the id header, when echo is on, and
/// the guard of the request's [`after`](crate::web::after) work, when this layer opened
/// the request, which then goes with the body.
#[derive(Debug, Default)]
pub(crate) struct Finish {
    pub(crate) echo: Option<(HeaderName, HeaderValue)>,
    after: Option<Afterwards>,
}

impl Finish {
    /// The response, its body polled in `context`, and with the id header.
    pub(crate) fn finish<B>(
        &mut self,
        response: Response<B>,
        context: Option<Context>,
    ) -> Response<ClsBody<B>> {
        let after = self.after.take();
        let mut response = response.map(|body| ClsBody::new(body, context).with_after(after));
        if let Some((header, value)) = self.echo.take() {
            response.headers_mut().insert(header, value);
        }
        response
    }
}

impl<T, S, G: MakeRequestId, U> ClsService<T, S, G, U> {
    /// The contexts a new request's store opens beside, what is known about the request,
    /// and the header to echo.
    ///
    /// At the edge, that is a new request scope: the inbound id if the policy keeps it,
    /// else a generated one, which replaces the refused value in the request before
    /// anything copies the headers. Below a layer of another store type (or inside a
    /// [`job_context`](crate::web::job_context)), one request has one id: the contexts
    /// active here are kept, with the id and the request already in scope.
    pub(crate) fn open_request<ReqBody>(
        &self,
        request: &mut Request<ReqBody>,
    ) -> (Context, RequestInfo, Finish) {
        let config = &self.config;
        if REQUEST.is_active() {
            let info = request_info().unwrap_or_else(|| RequestInfo::from_request(request));
            let id = request_id().unwrap_or_else(|| config.generator.make_request_id(&info));
            let mut finish = Finish {
                echo: config
                    .echo
                    .then(|| (config.header.clone(), id.header_value())),
                after: None,
            };
            // Fails only inside an `update` closure of some store, where no service is
            // called; starting from no context is then the next best thing.
            let around = crate::try_snapshot().map(Context::from).unwrap_or_default();
            if awaits_response() {
                return (around, info, finish);
            }
            // A scope opened by hand (`request_context`, `job_context`) has no response of
            // its own: this layer's is the one its `after` work waits for.
            let (scope, after) = layer_request_context(id, info.clone(), trace_context(), true);
            finish.after = Some(after);
            return (around.join(scope), info, finish);
        }

        let trace = inbound_trace(request.headers());
        let (id, info, echo) = match config.trust.accept(request.headers(), &config.header) {
            Some(id) => {
                // The id's own copy, shared: a reference count.
                let echo = config.echo.then(|| id.header_value());
                (id, RequestInfo::with_after_queue(request), echo)
            }
            None => {
                request.headers_mut().remove(&config.header);
                let info = RequestInfo::with_after_queue(request);
                let id = match &trace {
                    Some(trace) if config.id_from_trace => trace_request_id(trace),
                    _ => config.generator.make_request_id(&info),
                };
                // Made once, for the request and the response.
                let value = id.header_value();
                let echo = config.echo.then(|| value.clone());
                request.headers_mut().insert(config.header.clone(), value);
                // `info` was taken before the new id was added: the header the inner
                // service sees is the only copy of the id outside the request scope.
                (id, info, echo)
            }
        };
        let echo = echo.map(|value| (config.header.clone(), value));
        let (context, after) = layer_request_context(id, info.clone(), trace, false);
        let finish = Finish {
            echo,
            after: Some(after),
        };
        (context, info, finish)
    }
}

impl<T: Clone, S, G: Clone, U: Clone> Clone for ClsService<T, S, G, U> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
            setup: self.setup.clone(),
            store: PhantomData,
        }
    }
}

impl<T: fmt::Debug, S, G, U> fmt::Debug for ClsService<T, S, G, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClsService")
            .field("inner", &self.inner)
            .field("header", &self.config.header)
            .field("trust", &self.config.trust)
            .field("echo", &self.config.echo)
            .finish_non_exhaustive()
    }
}

/// The request's W3C trace context: a valid `traceparent` sent once, with its
/// `tracestate` when that is valid too. Anything else is ignored, as the specification
/// asks.
fn inbound_trace(headers: &HeaderMap) -> Option<TraceContext> {
    let mut parents = headers.get_all(TRACEPARENT).iter();
    let parent = parents.next()?;
    if parents.next().is_some() {
        return None;
    }
    let mut trace = TraceContext::parse(parent.as_bytes()).ok()?;
    if headers.contains_key(TRACESTATE) {
        // An invalid `tracestate` is dropped whole; the parent stands.
        let _ = trace.set_tracestate(headers.get_all(TRACESTATE).iter().map(|v| v.as_bytes()));
    }
    Some(trace)
}

/// The trace id as a request id: 32 lowercase hex digits, always valid.
fn trace_request_id(trace: &TraceContext) -> RequestId {
    let hex = trace.trace_id().to_string();
    RequestId::new(&hex).expect("32 lowercase hex digits are a valid request id")
}

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
