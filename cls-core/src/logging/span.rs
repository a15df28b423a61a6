//! `RequestSpanLayer`: a request span whose fields are the log fields, declared up front and
//! recorded from the context, for traces (OpenTelemetry exporters, span-aware subscribers).

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::Hasher;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context as TaskContext, Poll};

use tracing::field::display;
use tracing::{Level, Metadata, Span};
use tracing_core::callsite::{self, Callsite, Identifier};
use tracing_core::field::FieldSet;
use tracing_core::metadata::Kind;
use tracing_core::subscriber::Interest;
use tracing_core::LevelFilter;

use super::stores::{visit_context, LogStores, Store};
use crate::ClsStore;

/// A tower layer that opens one span per request, named `request` (target
/// `cls_core::logging`, level `INFO`), with fields `method`, `uri`, `request_id` and the
/// `#[cls(log)]` keys of each store type added with
/// [`with_store`](RequestSpanLayer::with_store), all declared when the span is created.
///
/// A tracing span's fields must be declared when it is created (tokio-rs/tracing #1343), so
/// a span made by hand cannot carry fields that are only known later, and a macro cannot
/// name keys that a derive chose. This layer builds the span's metadata from the store's
/// keys once, at startup, and records the values from the context: when the span opens
/// (after [`ClsLayer`](crate::web::ClsLayer)'s setup has filled the store) and again, for
/// the fields whose values changed, when the handler's response is ready, so a `set` in the
/// handler (a user id after authentication) reaches the span before it closes.
///
/// Place it **below** `ClsLayer` (in axum, `.layer(RequestSpanLayer…)` before
/// `.layer(ClsLayer…)`), so that it runs inside the request's context.
///
/// # Span or formatter?
///
/// They answer different needs and can be used together. The span is for traces: an
/// OpenTelemetry exporter, or `TraceLayer`-style timing, sees the request's fields as span
/// attributes. [`ClsFormat`](super::ClsFormat) and [`ClsJsonFormat`](super::ClsJsonFormat)
/// are for log lines: they read the context on every line, so lines from spawned tasks,
/// blocking threads and streamed bodies carry the fields too, where the span (entered only
/// while the handler's future is polled) does not reach. Using both with a text format that
/// prints spans shows the fields twice on handler lines: print spans or the fields, not both.
///
/// # Examples
///
/// ```
/// use std::convert::Infallible;
///
/// use cls_core::logging::RequestSpanLayer;
/// use cls_core::web::ClsLayer;
/// use cls_core::{path, Cls, ClsStore};
/// use http::{Request, Response};
/// use tower::{service_fn, Layer, ServiceExt};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(log)]
///     tenant: String,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// async fn handler(_: Request<String>) -> Result<Response<String>, Infallible> {
///     CLS.set::<path!(tenant)>("acme".into()); // recorded on the span when the response is ready
///     tracing::info!("inside the request span");
///     Ok(Response::new(String::new()))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let spans = RequestSpanLayer::new().with_store::<AppStore>();
/// assert_eq!(spans.field_names(), ["method", "uri", "request_id", "tenant"]);
///
/// // In axum: `.layer(spans).layer(ClsLayer::<AppStore>::new())`, the span layer first.
/// let service = ClsLayer::<AppStore>::new().layer(spans.layer(service_fn(handler)));
/// let response = service.oneshot(Request::get("/").body(String::new())?).await?;
/// assert_eq!(response.status(), 200);
/// # Ok(())
/// # }
/// ```
pub struct RequestSpanLayer<L = ()> {
    _stores: PhantomData<fn() -> L>,
}

impl RequestSpanLayer {
    /// A layer whose span has `method`, `uri` and `request_id`; add store types with
    /// [`with_store`](RequestSpanLayer::with_store).
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = cls_core::logging::RequestSpanLayer::new();
    /// assert_eq!(layer.field_names(), ["method", "uri", "request_id"]);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            _stores: PhantomData,
        }
    }
}

impl Default for RequestSpanLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<L: LogStores> RequestSpanLayer<L> {
    /// Adds the `#[cls(log)]` fields of store type `S` to the span, after those already added.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::ClsStore;
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { #[cls(log = "user_id")] user: Option<u64> }
    /// let layer = cls_core::logging::RequestSpanLayer::new().with_store::<AppStore>();
    /// assert_eq!(layer.field_names().last(), Some(&"user_id"));
    /// ```
    #[must_use]
    pub fn with_store<S: ClsStore>(self) -> RequestSpanLayer<(L, Store<S>)> {
        RequestSpanLayer {
            _stores: PhantomData,
        }
    }

    /// The span's fields, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = cls_core::logging::RequestSpanLayer::new();
    /// assert_eq!(layer.field_names()[0], "method");
    /// ```
    #[must_use]
    pub fn field_names(&self) -> Vec<&'static str> {
        callsite_of::<L>()
            .meta()
            .fields()
            .iter()
            .map(|f| f.name())
            .collect()
    }
}

impl<Svc, L: LogStores> tower_layer::Layer<Svc> for RequestSpanLayer<L> {
    type Service = RequestSpanService<Svc>;

    fn layer(&self, inner: Svc) -> Self::Service {
        RequestSpanService {
            inner,
            callsite: callsite_of::<L>(),
            record: record_changed::<L>,
        }
    }
}

impl<L> Clone for RequestSpanLayer<L> {
    fn clone(&self) -> Self {
        Self {
            _stores: PhantomData,
        }
    }
}

impl<L> fmt::Debug for RequestSpanLayer<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSpanLayer").finish_non_exhaustive()
    }
}

/// The service of [`RequestSpanLayer`]: calls the inner service inside the request's span.
///
/// # Examples
///
/// ```
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let service = tower::service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>("served")
/// });
/// let service = cls_core::logging::RequestSpanLayer::new().layer(service);
/// let answer = service.oneshot(http::Request::new(())).await.unwrap();
/// assert_eq!(answer, "served");
/// # }
/// ```
pub struct RequestSpanService<Svc> {
    inner: Svc,
    callsite: &'static SpanCallsite,
    record: RecordFn,
}

/// Records the fields whose values changed since they were last recorded.
type RecordFn = fn(&Span, &mut Vec<(&'static str, u64)>);

impl<Svc, B> tower_service::Service<http::Request<B>> for RequestSpanService<Svc>
where
    Svc: tower_service::Service<http::Request<B>>,
{
    type Response = Svc::Response;
    type Error = Svc::Error;
    type Future = RequestSpanFuture<Svc::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let span = self.callsite.open();
        let mut recorded = Vec::new();
        if !span.is_disabled() {
            span.record("method", display(req.method()));
            span.record("uri", display(req.uri()));
            (self.record)(&span, &mut recorded);
        }
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        RequestSpanFuture {
            inner,
            span,
            recorded,
            record: self.record,
        }
    }
}

impl<Svc: Clone> Clone for RequestSpanService<Svc> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            callsite: self.callsite,
            record: self.record,
        }
    }
}

impl<Svc: fmt::Debug> fmt::Debug for RequestSpanService<Svc> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSpanService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RequestSpanService`]: polls the inner future inside the
    /// request's span, and records the fields that changed when the response is ready.
    ///
    /// # Examples
    ///
    /// ```
    /// use tower::{Layer, Service};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let service = tower::service_fn(|_req: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(7)
    /// });
    /// let mut service = cls_core::logging::RequestSpanLayer::new().layer(service);
    /// let future: cls_core::logging::RequestSpanFuture<_> = service.call(http::Request::new(()));
    /// assert_eq!(future.await.unwrap(), 7);
    /// # }
    /// ```
    pub struct RequestSpanFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        recorded: Vec<(&'static str, u64)>,
        record: RecordFn,
    }
}

impl<F: Future> Future for RequestSpanFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let output = std::task::ready!(this.inner.poll(cx));
        if !this.span.is_disabled() {
            (this.record)(this.span, this.recorded);
        }
        Poll::Ready(output)
    }
}

impl<F> fmt::Debug for RequestSpanFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSpanFuture")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

/// Records `request_id` and the store fields of `L` whose values differ from the ones in
/// `recorded` (compared by a hash of their text, so nothing is kept but the hash).
fn record_changed<L: LogStores>(span: &Span, recorded: &mut Vec<(&'static str, u64)>) {
    visit_context::<L>(&mut |key: &'static str, value: &dyn fmt::Display| {
        let mut hasher = TextHasher(std::collections::hash_map::DefaultHasher::new());
        let _ = fmt::write(&mut hasher, format_args!("{value}"));
        let hash = hasher.0.finish();
        match recorded.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) if *old == hash => return,
            Some((_, old)) => *old = hash,
            None => recorded.push((key, hash)),
        }
        span.record(key, display(value));
    });
}

/// Hashes the text written to it.
struct TextHasher(std::collections::hash_map::DefaultHasher);

impl fmt::Write for TextHasher {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write(s.as_bytes());
        Ok(())
    }
}

/// The callsite of the request span of one list of store types: its metadata names the
/// fields, which tracing requires to be `'static`, so it is made once per list and kept.
pub(crate) struct SpanCallsite {
    /// Set once, right after the callsite is made: the metadata names the callsite itself.
    metadata: OnceLock<Metadata<'static>>,
    /// What the dispatchers said about the span: 0 never, 1 sometimes, 2 always.
    interest: AtomicU8,
}

impl Callsite for SpanCallsite {
    fn set_interest(&self, interest: Interest) {
        let value = if interest.is_never() {
            0
        } else if interest.is_always() {
            2
        } else {
            1
        };
        self.interest.store(value, Ordering::Relaxed);
    }

    fn metadata(&self) -> &Metadata<'_> {
        self.meta()
    }
}

impl SpanCallsite {
    fn meta(&self) -> &Metadata<'static> {
        self.metadata
            .get()
            .expect("the metadata is set before the callsite is shared")
    }

    /// A new span with every field declared and none recorded, or a disabled span when no
    /// subscriber wants it.
    fn open(&'static self) -> Span {
        if Level::INFO > LevelFilter::current() {
            return Span::none();
        }
        let meta = self.meta();
        let enabled = match self.interest.load(Ordering::Relaxed) {
            0 => false,
            2 => true,
            _ => tracing::dispatcher::get_default(|dispatch| dispatch.enabled(meta)),
        };
        if !enabled {
            return Span::none();
        }
        // Every field declared, none given: one `None` per field.
        const NONE: [Option<&'static (dyn tracing::Value + 'static)>; 32] = [None; 32];
        let count = meta.fields().len();
        if count <= NONE.len() {
            Span::new(meta, &meta.fields().value_set_all(&NONE[..count]))
        } else {
            Span::new(meta, &meta.fields().value_set_all(&vec![None; count]))
        }
    }
}

/// The callsite for `L`, made and registered with tracing the first time a layer of `L` is
/// built (a lock when a service is built, never per request).
fn callsite_of<L: LogStores>() -> &'static SpanCallsite {
    static CALLSITES: OnceLock<Mutex<HashMap<TypeId, &'static SpanCallsite>>> = OnceLock::new();
    let map = CALLSITES.get_or_init(Mutex::default);
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(callsite) = map.get(&TypeId::of::<L>()) {
        return callsite;
    }
    let mut names = vec!["method", "uri", "request_id"];
    names.extend(L::log_keys());
    let names: &'static [&'static str] = Vec::leak(names);
    let callsite: &'static SpanCallsite = Box::leak(Box::new(SpanCallsite {
        metadata: OnceLock::new(),
        interest: AtomicU8::new(1),
    }));
    let metadata = Metadata::new(
        "request",
        "cls_core::logging",
        Level::INFO,
        Some(file!()),
        Some(line!()),
        Some(module_path!()),
        FieldSet::new(names, Identifier(callsite)),
        Kind::SPAN,
    );
    if callsite.metadata.set(metadata).is_err() {
        unreachable!("the callsite was made just above");
    }
    callsite::register(callsite);
    map.insert(TypeId::of::<L>(), callsite);
    callsite
}
