//! `PropagateLayer`: the client side, carrying the current request id, trace context and
//! `#[cls(propagate)]` fields to the next service.

use std::fmt;
use std::marker::PhantomData;
use std::task::{Context as TaskContext, Poll};

use http::{HeaderMap, HeaderName, HeaderValue, Request};
use tower_layer::Layer;
use tower_service::Service;

use crate::w3c::BaggageEncoder;
use crate::web::baggage::BAGGAGE;
use crate::web::{request_id, trace_context, X_REQUEST_ID};
use crate::{Cls, ClsStore, FieldTag, TagVisitor};

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// A tower [`Layer`] for HTTP clients: puts the id of the current request (or job) on
/// each outgoing request that has none, so that the next service logs the same id; and,
/// when the request came with a W3C trace context ([`trace_context`]), a child
/// `traceparent` (the same trace id, a new parent id) with its `tracestate` as the
/// [`ClsLayer`](crate::web::ClsLayer) kept it (unchanged, or truncated to the limits by
/// whole members: see [`TraceContext::set_tracestate`](crate::w3c::TraceContext::set_tracestate)),
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
///
/// With [`with_store`](PropagateLayer::with_store), it also sends the current values of a
/// store's `#[cls(propagate)]` fields as W3C baggage members.
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub struct PropagateLayer<L = ()> {
    header: HeaderName,
    stores: PhantomData<fn() -> L>,
}

impl PropagateLayer {
    /// A layer that writes the id in `x-request-id`, and no baggage.
    ///
    /// # Examples
    ///
    /// See [`PropagateLayer`].
    #[must_use]
    pub fn new() -> Self {
        Self {
            header: X_REQUEST_ID,
            stores: PhantomData,
        }
    }
}

impl<L: PropagateStores> PropagateLayer<L> {
    /// Also sends the `#[cls(propagate)]` fields of the current store of `S`, as members of
    /// the `baggage` header (W3C Baggage), on every request; call it once per store type.
    ///
    /// The values are read when the request is sent, so a `set` or a nested `run_with`
    /// before the call is what goes out. Members are added to any `baggage` the request has
    /// already (all its `baggage` headers, joined as one): a key already there keeps its
    /// value, and the result stays within the W3C limits (8,192 bytes, 64 members), a member
    /// that does not fit being left out whole, never cut. A value with a control character
    /// is not sent; an `Option<T>` field is sent while `Some`. With no context of `S`
    /// active, or from inside an [`update`](Cls::update) of `S`, nothing is added for it. A
    /// `baggage` header that is not visible ASCII is left untouched, with nothing added.
    ///
    /// [`ClsLayer`](crate::web::ClsLayer) is the receiving side.
    ///
    /// # Panics
    ///
    /// In debug builds, when two `#[cls(propagate)]` fields of `S` have the same key. The
    /// derive refuses that at compile time, within a struct and across nested stores,
    /// except for a nested store whose type names a parameter of a generic struct (`T`,
    /// `Inner<T>`), which it cannot name there; this catches that case when the layer is
    /// built.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::convert::Infallible;
    ///
    /// use cls_core::web::PropagateLayer;
    /// use cls_core::{Cls, ClsStore};
    /// use http::Request;
    /// use tower::{service_fn, Layer, ServiceExt};
    ///
    /// #[derive(ClsStore, Clone, Default)]
    /// struct AppStore {
    ///     #[cls(propagate)]
    ///     tenant: String,
    ///     #[cls(propagate = "user.id")]
    ///     user_id: Option<u64>,
    ///     note: String,
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Stands for an HTTP client: answers with the baggage it was given.
    /// let client = PropagateLayer::new()
    ///     .with_store::<AppStore>()
    ///     .layer(service_fn(|request: Request<()>| async move {
    ///         Ok::<_, Infallible>(request.headers().get("baggage").cloned())
    ///     }));
    ///
    /// let store = AppStore { tenant: "acme corp".into(), user_id: Some(7), note: "kept".into() };
    /// let request = Request::get("/next").header("baggage", "other=1").body(())?;
    /// let sent = Cls::<AppStore>::new().run_with(store, client.oneshot(request)).await?;
    /// assert_eq!(sent.unwrap(), "other=1,tenant=acme%20corp,user.id=7");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    #[track_caller]
    pub fn with_store<S: ClsStore>(self) -> PropagateLayer<(L, S)> {
        debug_assert_unique_propagate_keys::<S>();
        PropagateLayer {
            header: self.header,
            stores: PhantomData,
        }
    }
}

impl<L> PropagateLayer<L> {
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

impl<L> Clone for PropagateLayer<L> {
    fn clone(&self) -> Self {
        Self {
            header: self.header.clone(),
            stores: PhantomData,
        }
    }
}

impl<L> fmt::Debug for PropagateLayer<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PropagateLayer")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<T, L> Layer<T> for PropagateLayer<L> {
    type Service = PropagateService<T, L>;

    fn layer(&self, inner: T) -> Self::Service {
        PropagateService {
            inner,
            header: self.header.clone(),
            stores: PhantomData,
        }
    }
}

/// The store types whose `#[cls(propagate)]` fields a [`PropagateLayer`] sends, built up
/// by [`with_store::<S>()`](PropagateLayer::with_store): `()` for none, `(L, S)` for those
/// of `L` and then `S`.
///
/// Implemented for those two shapes only; it shows in the type of a layer
/// (`PropagateLayer<((), AppStore)>`) and needs no other use.
///
/// # Examples
///
/// ```
/// use cls_core::web::PropagateStores;
/// use cls_core::{Cls, ClsStore};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(propagate)]
///     tenant: String,
/// }
///
/// let mut seen = Vec::new();
/// let mut visitor = |key: &'static str, value: &dyn std::fmt::Display| seen.push(format!("{key}={value}"));
/// <((), AppStore)>::visit_propagated(&mut visitor); // no context of `AppStore`: nothing
/// let store = AppStore { tenant: "acme".into() };
/// Cls::<AppStore>::new().run_with_sync(store, || <((), AppStore)>::visit_propagated(&mut visitor));
/// assert_eq!(seen, ["tenant=acme"]);
/// ```
pub trait PropagateStores: 'static {
    /// Whether the list is empty: no baggage to write.
    const EMPTY: bool;

    /// Visits the `#[cls(propagate)]` fields of every store type in the list whose context
    /// is active, in the order they were added; a store type whose context is inactive, or
    /// is being changed by an [`update`](Cls::update) on this thread, adds nothing.
    fn visit_propagated(visitor: &mut dyn TagVisitor);
}

impl PropagateStores for () {
    const EMPTY: bool = true;

    #[inline]
    fn visit_propagated(_: &mut dyn TagVisitor) {}
}

impl<L: PropagateStores, S: ClsStore> PropagateStores for (L, S) {
    const EMPTY: bool = false;

    #[inline]
    fn visit_propagated(visitor: &mut dyn TagVisitor) {
        L::visit_propagated(visitor);
        let _ = Cls::<S>::new().try_visit_tagged(FieldTag::Propagate, visitor);
    }
}

/// In debug builds, panics when two `#[cls(propagate)]` fields of `S` share a key, which
/// only a nested store whose type names a parameter of a generic struct can get past the
/// derive's checks: one
/// baggage member would fill only the field visited first.
#[track_caller]
pub(crate) fn debug_assert_unique_propagate_keys<S: ClsStore>() {
    if !cfg!(debug_assertions) {
        return;
    }
    let keys = crate::tagged_keys::<S>(FieldTag::Propagate);
    let repeated = keys
        .iter()
        .enumerate()
        .find(|&(i, key)| keys[..i].contains(key));
    if let Some((_, key)) = repeated {
        panic!(
            "the baggage key `{key}` is used by two `#[cls(propagate)]` fields of `{}` (one of \
             them in a nested store whose type names a parameter of a generic struct, which \
             the derive cannot check at compile time): \
             one baggage member would fill only the first; give one of them another key, \
             `#[cls(propagate = \"other_key\")]`",
            std::any::type_name::<S>()
        );
    }
}

/// Pushes each visited field into the encoder; a member that cannot be added (a key
/// already there, the limits, a control character) is left out whole.
struct Members<'e, 'b>(&'e mut BaggageEncoder<'b>);

impl TagVisitor for Members<'_, '_> {
    fn visit(&mut self, key: &'static str, value: &dyn fmt::Display) {
        let _ = self.0.push(key, value);
    }

    fn visit_str(&mut self, key: &'static str, value: &str) {
        let _ = self.0.push_str(key, value);
    }
}

/// Adds the fields of `L` to the request's `baggage`, merged with what is there.
fn add_baggage<L: PropagateStores>(headers: &mut HeaderMap) {
    let mut value = String::new();
    for (i, header) in headers.get_all(BAGGAGE).into_iter().enumerate() {
        let Ok(text) = header.to_str() else {
            // Not text: rewriting it could alter what the caller meant to send.
            return;
        };
        if i > 0 {
            value.push(',');
        }
        value.push_str(text);
    }
    let mut encoder = BaggageEncoder::new(&mut value);
    let before = encoder.members();
    let mut members = Members(&mut encoder);
    L::visit_propagated(&mut members);
    if encoder.members() == before {
        return;
    }
    // Visible ASCII: the existing values passed `to_str`, and the encoder writes only
    // token keys and percent-encoded values.
    if let Ok(merged) = HeaderValue::from_str(&value) {
        headers.insert(BAGGAGE, merged);
    }
}

/// The service made by [`PropagateLayer`]: adds the current request id to each request
/// that lacks the header, then calls `T`.
///
/// # Examples
///
/// See [`PropagateLayer`].
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub struct PropagateService<T, L = ()> {
    inner: T,
    header: HeaderName,
    stores: PhantomData<fn() -> L>,
}

impl<T: Clone, L> Clone for PropagateService<T, L> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            header: self.header.clone(),
            stores: PhantomData,
        }
    }
}

impl<T: fmt::Debug, L> fmt::Debug for PropagateService<T, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PropagateService")
            .field("inner", &self.inner)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<T, L> PropagateService<T, L> {
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

impl<T, L, B> Service<Request<B>> for PropagateService<T, L>
where
    T: Service<Request<B>>,
    L: PropagateStores,
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
                    // Valid, so printable ASCII: forwarded as it was kept.
                    if let Ok(state) = HeaderValue::from_str(state) {
                        headers.insert(TRACESTATE, state);
                    }
                }
            }
        }
        if !L::EMPTY {
            add_baggage::<L>(headers);
        }
        self.inner.call(request)
    }
}
