//! `cls_core::otel::context`: the current cls context as an `opentelemetry::Context`.

use std::fmt;

use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::trace::{SpanContext, TraceFlags, TraceState};
use opentelemetry::{Context, Key, StringValue};

use crate::w3c::TraceContext;
use crate::{FieldTag, TagVisitor};

/// The current OpenTelemetry context with the current cls context added: the
/// `#[cls(propagate)]` fields as OTel baggage and, with the `tower` feature, the inbound
/// trace context of the request being served as the remote parent span.
///
/// Where `opentelemetry::Context::current()` knows only what was attached to it, this one
/// also carries what the code runs inside: give it to an OTel tracer
/// (`tracer.start_with_context(name, &otel::context())`) so the spans it starts are children
/// of the caller's span, or to an OTel propagator (`inject_context`) so a client
/// instrumented with OpenTelemetry sends the fields and the trace on.
///
/// - **Baggage.** Every `#[cls(propagate)]` field of every store type whose context is
///   active here (found with [`visit_current_tagged`](crate::visit_current_tagged); no
///   store type to name), under its key, its value as its `Display` writes it. An
///   `Option` field is left out while `None`; a value with a control character is left
///   out, as [`BaggageEncoder`](crate::w3c::BaggageEncoder) leaves it out of a header.
///   When two store types have a field under one key, the innermost context's wins. The
///   entries of the current OTel baggage are kept, except those whose key a cls field
///   has: cls's value wins. cls's entries go in first, so when the W3C limits (64 entries,
///   8,192 bytes, which OTel's `Baggage` enforces) cut the list, existing entries are the
///   ones left out. A store being changed by an [`update`](crate::Cls::update) on this
///   thread (this is called from inside its closure) adds nothing.
/// - **Remote span context** (feature `tower`). When the request being served came with a
///   valid `traceparent` ([`web::trace_context`](crate::web::trace_context)) and the OTel
///   context has no span yet, the context gets the caller's span as its remote parent:
///   [`span_context`] of it (the trace id, the caller's parent id as span id, the sampled
///   flag, `is_remote`, the `tracestate`). A span already in the OTel context (one a
///   tracing layer or the code itself made current) is left as it is.
///
/// Outside any cls context (and outside a request, with `tower`), it is
/// `Context::current()`, unchanged. Nothing is added to the OTel context when there is
/// nothing to add: the cost is then one walk of the active contexts. Otherwise one `String`
/// per field, the baggage's map, and a copy of the existing entries.
///
/// # Examples
///
/// ```
/// use cls_core::{otel, Cls, ClsStore};
/// use opentelemetry::baggage::BaggageExt;
/// use opentelemetry::{Context, KeyValue};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(propagate)]
///     tenant: String,
///     #[cls(propagate = "user.id")]
///     user_id: Option<u64>,
///     note: String, // never leaves the process
/// }
///
/// // Baggage already in the OTel context: kept, unless a cls field has the key.
/// let _guard = Context::current_with_baggage([
///     KeyValue::new("tenant", "stale"),
///     KeyValue::new("region", "eu"),
/// ])
/// .attach();
///
/// let store = AppStore { tenant: "acme corp".into(), user_id: Some(7), note: "x".into() };
/// let cx = Cls::<AppStore>::new().run_with_sync(store, otel::context);
/// let baggage = cx.baggage();
/// assert_eq!(baggage.get("tenant").map(|v| v.as_str()), Some("acme corp"));
/// assert_eq!(baggage.get("user.id").map(|v| v.as_str()), Some("7"));
/// assert_eq!(baggage.get("region").map(|v| v.as_str()), Some("eu"));
/// assert_eq!(baggage.len(), 3);
///
/// // Outside any cls context: the current OTel context as it is.
/// assert_eq!(otel::context().baggage().get("tenant").map(|v| v.as_str()), Some("stale"));
/// ```
///
/// With a tracer and a propagator (opentelemetry-sdk's), inside a request served by
/// [`ClsLayer`](crate::web::ClsLayer) (feature `tower`):
///
/// ```
/// # #[cfg(feature = "tower")]
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::collections::HashMap;
/// use std::convert::Infallible;
///
/// use cls_core::web::ClsLayer;
/// use cls_core::{otel, ClsStore};
/// use http_body_util::BodyExt;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
/// use tower::{service_fn, Layer, ServiceExt};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(propagate)]
///     tenant: String,
/// }
///
/// let service = ClsLayer::<AppStore>::new().layer(service_fn(|_: http::Request<()>| async {
///     let cx = otel::context();
///     assert!(cx.span().span_context().is_remote());
///     // What an OTel-instrumented client would send to the next service.
///     let mut headers = HashMap::new();
///     TraceContextPropagator::new().inject_context(&cx, &mut headers);
///     BaggagePropagator::new().inject_context(&cx, &mut headers);
///     let sent = format!("{} {}", headers["traceparent"], headers["baggage"]);
///     Ok::<_, Infallible>(http::Response::new(sent))
/// }));
/// let request = http::Request::get("/")
///     .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
///     .header("baggage", "tenant=acme")
///     .body(())?;
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let sent = runtime.block_on(async {
///     let body = service.oneshot(request).await?.into_body();
///     Ok::<_, Box<dyn std::error::Error>>(body.collect().await?.to_bytes())
/// })?;
/// // The remote parent is the caller's span: a tracer would start a child of it.
/// assert_eq!(sent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 tenant=acme");
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "tower"))]
/// # fn main() {}
/// ```
#[must_use]
pub fn context() -> Context {
    let current = Context::current();
    let mut fields = Fields {
        baggage: Baggage::new(),
    };
    // An error names a store being updated on this thread, which added nothing: the others
    // did, and that is what the caller gets.
    let _ = crate::visit_current_tagged(FieldTag::Propagate, &mut fields);
    let cx = if fields.baggage.is_empty() {
        current
    } else {
        merge(&current, fields.baggage)
    };
    #[cfg(feature = "tower")]
    let cx = with_remote_parent(cx);
    cx
}

/// `ours` with the entries of `current`'s baggage whose keys it lacks, in `current`.
fn merge(current: &Context, mut ours: Baggage) -> Context {
    for (key, (value, metadata)) in current.baggage() {
        if ours.get(key.as_str()).is_none() {
            // Refused past the limits: cls's entries, already in, are the ones that stay.
            let _ = ours.insert_with_metadata(key.clone(), value.clone(), metadata.clone());
        }
    }
    current.with_baggage(ours)
}

/// The request's inbound trace context as the remote parent, when the context has no span.
#[cfg(feature = "tower")]
fn with_remote_parent(cx: Context) -> Context {
    use opentelemetry::trace::TraceContextExt;

    if cx.has_active_span() {
        return cx;
    }
    match crate::web::trace_context() {
        Some(trace) => cx.with_remote_span_context(span_context(&trace)),
        None => cx,
    }
}

/// Collects the visited fields as baggage entries, the first value of a key winning.
struct Fields {
    baggage: Baggage,
}

impl Fields {
    fn add(&mut self, key: &'static str, value: String) {
        if self.baggage.get(key).is_none() {
            // Refused only past the W3C limits (keys are checked by the derive).
            let _ = self
                .baggage
                .insert(Key::from_static_str(key), StringValue::from(value));
        }
    }
}

impl TagVisitor for Fields {
    fn visit(&mut self, key: &'static str, value: &dyn fmt::Display) {
        let text = value.to_string();
        if !text.contains(char::is_control) {
            self.add(key, text);
        }
    }

    fn visit_str(&mut self, key: &'static str, value: &str) {
        if !value.contains(char::is_control) {
            self.add(key, value.to_owned());
        }
    }

    fn visit_u64(&mut self, key: &'static str, value: u64) {
        self.add(key, value.to_string());
    }

    fn visit_i64(&mut self, key: &'static str, value: i64) {
        self.add(key, value.to_string());
    }
}

/// The OpenTelemetry `SpanContext` of a W3C trace context received from a caller: the
/// same trace id, the caller's parent id as the span id, the sampled flag, `is_remote`,
/// and the `tracestate`.
///
/// What opentelemetry-sdk's `TraceContextPropagator` extracts from the same headers, made
/// from a [`TraceContext`] already parsed (by [`ClsLayer`](crate::web::ClsLayer), or with
/// [`TraceContext::parse`]) instead of from the headers again. Flags other than `sampled`
/// are dropped, as level 1 of the specification asks of anything that forwards them. A
/// `tracestate` that OTel's `TraceState` refuses (its checks differ slightly from this
/// crate's) becomes an empty one; the span context stays. [`context`] uses it for the
/// request being served.
///
/// # Examples
///
/// ```
/// use cls_core::{otel, w3c::TraceContext};
///
/// let mut trace = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
/// trace.set_tracestate(["congo=t61rcWkgMzE"])?;
/// let span = otel::span_context(&trace);
/// assert_eq!(span.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(span.span_id().to_string(), "00f067aa0ba902b7");
/// assert!(span.is_sampled() && span.is_remote() && span.is_valid());
/// assert_eq!(span.trace_state().header(), "congo=t61rcWkgMzE");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn span_context(trace: &TraceContext) -> SpanContext {
    let flags = if trace.sampled() {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::NOT_SAMPLED
    };
    let state = trace
        .tracestate()
        .and_then(|state| state.parse().ok())
        .unwrap_or(TraceState::NONE);
    SpanContext::new(
        opentelemetry::trace::TraceId::from_bytes(trace.trace_id().to_bytes()),
        opentelemetry::trace::SpanId::from_bytes(trace.parent_id().to_bytes()),
        flags,
        true,
        state,
    )
}
