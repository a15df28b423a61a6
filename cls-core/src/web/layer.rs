//! `ClsLayer`: the tower layer that gives every request its context.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use http::{HeaderName, Response};
use tower_layer::Layer;

use crate::web::{
    AsyncSetupFn, ClsService, MakeUuidV4, NoSetup, RequestId, RequestInfo, SetupFn, Trust,
    X_REQUEST_ID,
};
use crate::ClsStore;

/// A tower [`Layer`] that opens a context for every request: a store of type `S`, a
/// request id, and the request's [`RequestInfo`], live from the first line of the inner
/// service's `call` to the last frame of the response body.
///
/// Where tower-http's `SetRequestIdLayer` and `PropagateRequestIdLayer` put an id in the
/// request's extensions and copy it to the response, this layer also validates the
/// inbound id (see [`Trust`]), and makes the id, the request and the store readable from
/// any code the request runs ([`request_id`](crate::web::request_id),
/// [`request`](crate::web::request), [`Cls::get`](crate::Cls::get)), including the
/// response body, which is polled after every middleware future has returned.
///
/// For each request, the layer:
///
/// 1. takes the inbound id from the [`header`](ClsLayer::header) if the
///    [`trust_incoming`](ClsLayer::trust_incoming) policy keeps it, else removes that
///    header, makes an id with the [`id_generator`](ClsLayer::id_generator) and puts it in
///    the header instead (a refused value reaches neither the inner service nor the
///    context);
/// 2. starts the store from `S::default()`, fills its `#[cls(propagate)]` fields from the
///    request's `baggage` headers (W3C Baggage; see below), and runs the
///    [`setup`](ClsLayer::setup), whose `Err` answers the request without calling the
///    inner service;
/// 3. calls the inner service inside the new context, polls its future inside it, and
///    wraps the response body in a [`ClsBody`](crate::web::ClsBody) that enters the same
///    live context for every frame and is dropped inside it;
/// 4. with [`echo`](ClsLayer::echo) on (the default), puts the id on the response.
///
/// A `ClsLayer` of the same store type below another one (a layer on the router and one on
/// a nested router, say) reuses the outer context: one id, one setup. One of another store
/// type keeps the outer id and request, runs its own setup, and opens its store beside the
/// outer contexts, which stay visible (writes to them made below it stay below it). Inside
/// a [`job_context`](crate::web::job_context), the layer takes the job's id the same way.
///
/// Inbound baggage is client input. Every `baggage` header is read, combined as one list;
/// only the keys `S` declares with `#[cls(propagate)]` are used, each value percent-decoded
/// and parsed with the field's `FromStr` (an `Option<T>` field becomes `Some`); the first
/// valid member of a key wins. A header past the W3C limits (8,192 bytes, 64 members) is
/// not used at all, and an invalid member or a value that does not parse is dropped; the
/// request is served either way. Each drop is a `debug` event with the target
/// `cls_core::web::baggage` (through `tracing` with the `tracing` feature, else through `log`
/// with the `log` feature) naming the reason, the member shown escaped and cut short, a
/// value that does not parse shown only by its key. The
/// setup runs after, so it can check or override what arrived: validate these fields as
/// any input, and never use them for authorization. The sending side is
/// [`PropagateLayer::with_store`](crate::web::PropagateLayer::with_store).
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
///
/// use cls_core::web::{self, ClsLayer, RequestInfo};
/// use cls_core::{path, Cls, ClsStore};
/// use http::{Request, Response, StatusCode};
/// use tower::{service_fn, Layer, ServiceExt};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     tenant: String,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// async fn handler(_request: Request<String>) -> Result<Response<String>, Infallible> {
///     let id = web::request_id().unwrap();
///     Ok(Response::new(format!("{} for {}", id, CLS.get::<path!(tenant)>())))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let layer = ClsLayer::<AppStore>::new().setup(|req: &RequestInfo, store: &mut AppStore| {
///     let tenant = req.headers().get("x-tenant").and_then(|v| v.to_str().ok());
///     store.tenant = tenant
///         .ok_or_else(|| Response::builder().status(StatusCode::FORBIDDEN).body(String::new()).unwrap())?
///         .to_owned();
///     Ok(())
/// });
/// let service = layer.layer(service_fn(handler));
///
/// let request = Request::get("/")
///     .header("x-request-id", "lb-7f3a")
///     .header("x-tenant", "acme")
///     .body(String::new())?;
/// let response = service.clone().oneshot(request).await?;
/// assert_eq!(response.headers()["x-request-id"], "lb-7f3a");
/// let body = http_body_util::BodyExt::collect(response.into_body()).await?.to_bytes();
/// assert_eq!(body, "lb-7f3a for acme");
///
/// let rejected = service.oneshot(Request::get("/").body(String::new())?).await?;
/// assert_eq!(rejected.status(), StatusCode::FORBIDDEN);
/// assert_eq!(rejected.headers()["x-request-id"].len(), 36); // a generated id
/// # Ok(())
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub struct ClsLayer<S, G = MakeUuidV4, U = NoSetup> {
    pub(crate) config: Config<G>,
    pub(crate) setup: U,
    store: PhantomData<fn() -> S>,
}

/// What a layer and its services share, whatever the store type and setup.
#[derive(Clone)]
pub(crate) struct Config<G> {
    pub(crate) header: HeaderName,
    pub(crate) trust: Trust,
    pub(crate) generator: G,
    pub(crate) echo: bool,
    pub(crate) id_from_trace: bool,
}

impl<S: ClsStore + Default> ClsLayer<S> {
    /// A layer that opens a context of `S` for every request, the store starting as
    /// `S::default()`, with the id in `x-request-id`, inbound ids kept when
    /// [`Trust::IfValid`] accepts them, new ids from [`uuid_v4`](crate::web::uuid_v4), and
    /// the id echoed on every response.
    ///
    /// # Panics
    ///
    /// In debug builds, when two `#[cls(propagate)]` fields of `S` have the same key, which
    /// only a nested store whose type names a parameter of a generic struct (`T`,
    /// `Inner<T>`) can get past the derive's compile-time checks.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::ClsLayer;
    /// # use cls_core::ClsStore;
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    ///
    /// let layer = ClsLayer::<AppStore>::new();
    /// assert_eq!(
    ///     format!("{layer:?}"),
    ///     r#"ClsLayer { header: "x-request-id", trust: IfValid, echo: true, request_id_from_trace: false, .. }"#
    /// );
    /// ```
    #[must_use]
    #[track_caller]
    pub fn new() -> Self {
        super::propagate::debug_assert_unique_propagate_keys::<S>();
        Self {
            config: Config {
                header: X_REQUEST_ID,
                trust: Trust::IfValid,
                generator: MakeUuidV4,
                echo: true,
                id_from_trace: false,
            },
            setup: NoSetup,
            store: PhantomData,
        }
    }
}

impl<S: ClsStore + Default> Default for ClsLayer<S> {
    #[track_caller]
    fn default() -> Self {
        Self::new()
    }
}

impl<S, G, U> ClsLayer<S, G, U> {
    /// Reads and writes the id in `header` instead of `x-request-id`.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::ClsLayer;
    /// # use cls_core::ClsStore;
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    ///
    /// let layer = ClsLayer::<AppStore>::new().header(http::HeaderName::from_static("x-correlation-id"));
    /// assert!(format!("{layer:?}").contains("x-correlation-id"));
    /// ```
    #[must_use]
    pub fn header(mut self, header: HeaderName) -> Self {
        self.config.header = header;
        self
    }

    /// Sets which inbound ids are kept; the others are replaced by a generated one.
    /// [`Trust::IfValid`] by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::{ClsLayer, Trust};
    /// # use cls_core::ClsStore;
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    ///
    /// // At the edge of the network, where any id comes from a client.
    /// let layer = ClsLayer::<AppStore>::new().trust_incoming(Trust::Never);
    /// assert!(format!("{layer:?}").contains("Never"));
    /// ```
    #[must_use]
    pub fn trust_incoming(mut self, trust: Trust) -> Self {
        self.config.trust = trust;
        self
    }

    /// Puts the id on every response (`true`, the default), or leaves responses alone.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::ClsLayer;
    /// # use cls_core::ClsStore;
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    ///
    /// let layer = ClsLayer::<AppStore>::new().echo(false);
    /// assert!(format!("{layer:?}").contains("echo: false"));
    /// ```
    #[must_use]
    pub fn echo(mut self, echo: bool) -> Self {
        self.config.echo = echo;
        self
    }

    /// Uses the trace id of a valid inbound `traceparent` as the request id when no id
    /// header was kept (`false` by default): one id for the logs and the traces of a
    /// request, as many services do. Without a valid `traceparent`, the generator makes
    /// the id as usual.
    ///
    /// The trace id is 32 lowercase hex digits, which [`Trust::IfValid`] keeps when the
    /// next service receives it as its id header.
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
    /// let layer = ClsLayer::<AppStore>::new().request_id_from_trace(true);
    /// let service = layer.layer(service_fn(|_: Request<()>| async {
    ///     Ok::<_, Infallible>(Response::new(web::request_id().unwrap().to_string()))
    /// }));
    /// let request = Request::get("/")
    ///     .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    ///     .body(())?;
    /// let response = service.oneshot(request).await?;
    /// assert_eq!(response.headers()["x-request-id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn request_id_from_trace(mut self, enabled: bool) -> Self {
        self.config.id_from_trace = enabled;
        self
    }

    /// Makes the id of requests whose inbound id is missing or refused with `generator`,
    /// which sees the request; [`uuid_v4`](crate::web::uuid_v4) by default.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::{self, ClsLayer, RequestInfo};
    /// # use cls_core::ClsStore;
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    ///
    /// // Ids that sort by time.
    /// let layer = ClsLayer::<AppStore>::new().id_generator(|_: &RequestInfo| web::uuid_v7());
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn id_generator<G2>(self, generator: G2) -> ClsLayer<S, G2, U>
    where
        G2: Fn(&RequestInfo) -> RequestId + Clone + Send + Sync + 'static,
    {
        ClsLayer {
            config: Config {
                header: self.config.header,
                trust: self.config.trust,
                generator,
                echo: self.config.echo,
                id_from_trace: self.config.id_from_trace,
            },
            setup: self.setup,
            store: PhantomData,
        }
    }

    /// Runs `setup` once per request, before the inner service, to fill the store from the
    /// request; an `Err` is sent as the response (with the id header when echo is on) and
    /// the inner service is not called.
    ///
    /// `B` is the response body type of the inner service. The store starts as
    /// `S::default()` and `setup` fills it through its `&mut S`. It runs inside the
    /// request scope (and any contexts around the layer), so that
    /// [`request_id`](crate::web::request_id) and [`request`](crate::web::request) answer
    /// and its logs carry the id; the store it is filling is not installed yet. Work it
    /// registers with [`after`](crate::web::after) waits for the response, its refusal
    /// included.
    ///
    /// A panic in `setup` unwinds out of the layer's `call`, with every context restored:
    /// a `tower_http::catch_panic::CatchPanicLayer` around the layer answers it with a
    /// 500, which carries no id header (the id never left the layer). Return an `Err`
    /// response instead for a refusal that should carry it.
    ///
    /// # Examples
    ///
    /// See [`ClsLayer`].
    #[must_use]
    pub fn setup<F, B>(self, setup: F) -> ClsLayer<S, G, SetupFn<F, B>>
    where
        F: Fn(&RequestInfo, &mut S) -> Result<(), Response<B>> + Clone + Send + Sync + 'static,
    {
        ClsLayer {
            config: self.config,
            setup: SetupFn::new(setup),
            store: PhantomData,
        }
    }
}

impl<S, G, U> ClsLayer<S, G, U> {
    /// Runs `setup` once per request, before the inner service, **inside** the request's
    /// new context: it reads [`request_id`](crate::web::request_id), writes the store with
    /// [`Cls::set`](crate::Cls::set) (which starts as `S::default()`), and may await. An
    /// `Err` is sent as the response (with the id header when echo is on) and the inner
    /// service is not called. Replaces any [`setup`](ClsLayer::setup).
    ///
    /// The inner service must be `Clone`, as for any tower middleware that awaits before
    /// calling it. If the request is dropped while the setup runs (the client went away),
    /// the setup future is dropped inside the context.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::convert::Infallible;
    ///
    /// use cls_core::web::{self, ClsLayer, RequestInfo};
    /// use cls_core::{path, Cls, ClsStore};
    /// use http::{Request, Response, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    ///
    /// #[derive(ClsStore, Clone, Default)]
    /// struct AppStore {
    ///     user: String,
    /// }
    ///
    /// const CLS: Cls<AppStore> = Cls::new();
    ///
    /// async fn user_of(token: Option<&str>) -> Option<String> {
    ///     tokio::task::yield_now().await; // a session store, say
    ///     token.map(|t| format!("user-of-{t}"))
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let layer = ClsLayer::<AppStore>::new().setup_async(|req: RequestInfo| async move {
    ///     let token = req.headers().get("x-token").and_then(|v| v.to_str().ok());
    ///     let Some(user) = user_of(token).await else {
    ///         let body = format!("no session for {}", web::request_id().unwrap());
    ///         return Err(Response::builder().status(StatusCode::UNAUTHORIZED).body(body).unwrap());
    ///     };
    ///     CLS.set::<path!(user)>(user);
    ///     Ok(())
    /// });
    /// let service = layer.layer(service_fn(|_: Request<()>| async {
    ///     Ok::<_, Infallible>(Response::new(CLS.get::<path!(user)>()))
    /// }));
    ///
    /// let request = Request::get("/").header("x-token", "t1").body(())?;
    /// let response = service.clone().oneshot(request).await?;
    /// let body = http_body_util::BodyExt::collect(response.into_body()).await?.to_bytes();
    /// assert_eq!(body, "user-of-t1");
    ///
    /// let request = Request::get("/").header("x-request-id", "r-9").body(())?;
    /// let refused = service.oneshot(request).await?;
    /// assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    /// assert_eq!(refused.headers()["x-request-id"], "r-9");
    /// let body = http_body_util::BodyExt::collect(refused.into_body()).await?.to_bytes();
    /// assert_eq!(body, "no session for r-9");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn setup_async<F, Fut, B>(self, setup: F) -> ClsLayer<S, G, AsyncSetupFn<F, B>>
    where
        F: Fn(RequestInfo) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Response<B>>> + Send,
    {
        ClsLayer {
            config: self.config,
            setup: AsyncSetupFn::new(setup),
            store: PhantomData,
        }
    }
}

impl<T, S, G: Clone, U: Clone> Layer<T> for ClsLayer<S, G, U> {
    type Service = ClsService<T, S, G, U>;

    fn layer(&self, inner: T) -> Self::Service {
        ClsService::new(inner, self.config.clone(), self.setup.clone())
    }
}

impl<S, G: Clone, U: Clone> Clone for ClsLayer<S, G, U> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            setup: self.setup.clone(),
            store: PhantomData,
        }
    }
}

impl<S, G, U> fmt::Debug for ClsLayer<S, G, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClsLayer")
            .field("header", &self.config.header)
            .field("trust", &self.config.trust)
            .field("echo", &self.config.echo)
            .field("request_id_from_trace", &self.config.id_from_trace)
            .finish_non_exhaustive()
    }
}
