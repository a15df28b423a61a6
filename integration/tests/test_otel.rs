//! OpenTelemetry interop (feature `opentelemetry`): headers written by opentelemetry-sdk's
//! propagators are read by cls (its `w3c` codecs, and a real `ClsLayer` server on
//! loopback); headers written by cls (`BaggageEncoder`, `PropagateLayer`, and
//! `otel::context()` injected by the OTel propagators) are read by them; values that need
//! escaping (non-ASCII, `=`, `%`, spaces) included. Then `otel::context()` and
//! `otel::fill` on their own.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use cls_core::otel::{self, RejectReason};
use cls_core::w3c::{Baggage, BaggageEncoder, MemberErrorKind, TraceContext};
use cls_core::web::{self, ClsLayer, PropagateLayer};
use cls_core::{path, Cls, ClsStore};
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tokio::net::{TcpListener, TcpStream};
use tower::{service_fn, Layer, ServiceExt};

#[derive(ClsStore, Clone, Debug, Default, PartialEq, Eq)]
struct AppStore {
    #[cls(propagate)]
    tenant: String,
    #[cls(propagate = "user.id")]
    user_id: Option<u64>,
    #[cls(propagate)]
    city: String,
    #[cls(propagate)]
    expr: String,
    #[cls(propagate)]
    offer: String,
    #[cls(propagate)]
    words: String,
    /// Never leaves the process.
    note: String,
}

#[derive(ClsStore, Clone, Default)]
struct JobStore {
    #[cls(propagate = "job.id")]
    id: u64,
    #[cls(propagate)]
    tenant: String,
}

const APP: Cls<AppStore> = Cls::new();
const JOB: Cls<JobStore> = Cls::new();

const TIMEOUT: Duration = Duration::from_secs(30);
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const UNSAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
const TRACESTATE: &str = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

/// Values that need escaping, each under its own key: non-ASCII, `=`, `%`, spaces.
const AWKWARD: [(&str, &str); 4] = [
    ("city", "Zürich"),
    ("expr", "a=b=c"),
    ("offer", "50% off"),
    ("words", "two words"),
];

fn store() -> AppStore {
    AppStore {
        tenant: "acme".into(),
        user_id: Some(42),
        city: "Zürich".into(),
        expr: "a=b=c".into(),
        offer: "50% off".into(),
        words: "two words".into(),
        note: "private".into(),
    }
}

/// What the propagated fields of [`store`] are, as baggage entries `key=value`, sorted.
fn expected_entries() -> Vec<String> {
    let mut entries = vec!["tenant=acme".to_owned(), "user.id=42".to_owned()];
    entries.extend(AWKWARD.iter().map(|(k, v)| format!("{k}={v}")));
    entries.sort();
    entries
}

fn otel_entries(cx: &Context) -> Vec<String> {
    let mut entries: Vec<String> = cx
        .baggage()
        .iter()
        .map(|(k, (v, _))| format!("{k}={}", v.as_str()))
        .collect();
    entries.sort();
    entries
}

/// A header map as opentelemetry-sdk's propagators read it.
struct Headers<'h>(&'h HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// What opentelemetry-sdk's propagators write for a context holding the fields of
/// [`store`] as baggage and the caller's span (`TRACE_ID`, `PARENT_ID`, sampled,
/// `TRACESTATE`).
fn otel_headers() -> HashMap<String, String> {
    let span = SpanContext::new(
        TraceId::from_hex(TRACE_ID).unwrap(),
        SpanId::from_hex(PARENT_ID).unwrap(),
        TraceFlags::SAMPLED,
        true,
        TRACESTATE.parse::<TraceState>().unwrap(),
    );
    let mut members = vec![
        KeyValue::new("tenant", "acme"),
        KeyValue::new("user.id", "42"),
    ];
    members.extend(AWKWARD.iter().map(|(k, v)| KeyValue::new(*k, *v)));
    let cx = Context::new()
        .with_baggage(members)
        .with_remote_span_context(span);
    let mut headers = HashMap::new();
    BaggagePropagator::new().inject_context(&cx, &mut headers);
    TraceContextPropagator::new().inject_context(&cx, &mut headers);
    headers
}

/// Both OTel propagators' extraction, as an OTel-instrumented service does it.
fn otel_extract(carrier: &dyn Extractor) -> Context {
    let cx = BaggagePropagator::new().extract_with_context(&Context::new(), carrier);
    TraceContextPropagator::new().extract_with_context(&cx, carrier)
}

/// One line per baggage entry (sorted), then the span context: what an OTel service saw.
fn otel_view(cx: &Context) -> String {
    let span = cx.span().span_context().clone();
    let mut lines: Vec<String> = otel_entries(cx)
        .into_iter()
        .map(|e| format!("baggage {e}"))
        .collect();
    lines.push(format!("trace={}", span.trace_id()));
    lines.push(format!("span={}", span.span_id()));
    lines.push(format!("sampled={}", span.is_sampled()));
    lines.push(format!("remote={}", span.is_remote()));
    lines.push(format!("tracestate={}", span.trace_state().header()));
    lines.join("\n")
}

fn baggage_lines(view: &str) -> Vec<&str> {
    view.lines()
        .filter_map(|l| l.strip_prefix("baggage "))
        .collect()
}

fn field<'a>(view: &'a str, key: &str) -> &'a str {
    view.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no `{key}` in {view:?}"))
}

/// What a handler behind `ClsLayer::<AppStore>` saw: its store and the trace context.
fn cls_view() -> String {
    let store = APP.get::<cls_core::Nil>();
    let trace = web::trace_context();
    format!(
        "tenant={}\nuser.id={:?}\ncity={}\nexpr={}\noffer={}\nwords={}\nnote={}\ntrace={}\nparent={}\nsampled={}\ntracestate={}",
        store.tenant,
        store.user_id,
        store.city,
        store.expr,
        store.offer,
        store.words,
        store.note,
        trace.as_ref().map_or("none".to_owned(), |t| t.trace_id().to_string()),
        trace.as_ref().map_or("none".to_owned(), |t| t.parent_id().to_string()),
        trace.as_ref().is_some_and(TraceContext::sampled),
        trace.as_ref().and_then(TraceContext::tracestate).unwrap_or("none"),
    )
}

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Sends `request` on a new HTTP/1.1 connection to `addr`; the response body as text.
async fn send(addr: SocketAddr, request: Request<Empty<Bytes>>) -> String {
    let exchange = async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .expect("the server answered in time")
}

// ---- OTel writes, cls reads ----------------------------------------------------------

/// opentelemetry-sdk 0.33 also leaves `\`, which no baggage value may hold raw, unescaped:
/// the W3C reader drops that member alone, by the byte, and keeps its neighbours.
#[test]
fn a_backslash_left_raw_by_the_otel_propagator_drops_only_its_member() {
    let cx = Context::new().with_baggage([
        KeyValue::new("path", r"C:\temp"),
        KeyValue::new("tenant", "acme"),
    ]);
    let mut headers = HashMap::new();
    BaggagePropagator::new().inject_context(&cx, &mut headers);
    assert!(
        headers["baggage"].contains(r"C:\temp"),
        "{}",
        headers["baggage"]
    );
    let baggage = Baggage::parse(&headers["baggage"]).unwrap();
    assert_eq!(baggage.get("tenant"), Some("acme"));
    assert_eq!(baggage.get("path"), None);
    let reasons: Vec<_> = baggage.rejected().iter().map(|r| r.reason()).collect();
    assert!(
        matches!(reasons[..], [MemberErrorKind::InvalidValueByte { .. }]),
        "{reasons:?}"
    );
}

#[test]
fn otel_propagator_headers_are_read_by_the_cls_codecs() {
    let headers = otel_headers();
    let baggage = Baggage::parse(&headers["baggage"]).unwrap();
    assert_eq!(baggage.get("tenant"), Some("acme"));
    assert_eq!(baggage.get("user.id"), Some("42"));
    assert_eq!(baggage.get("city"), Some("Zürich"));
    assert_eq!(baggage.get("expr"), Some("a=b=c"));
    assert_eq!(baggage.get("words"), Some("two words"));
    // opentelemetry-sdk 0.33 leaves `%` unescaped: `%%2` is no escape, and a broken escape
    // is dropped rather than guessed at, so the W3C reader drops that one member (and only
    // it).
    assert!(
        headers["baggage"].contains("offer=50%%20off"),
        "{}",
        headers["baggage"]
    );
    assert_eq!(baggage.get("offer"), None);
    let reasons: Vec<_> = baggage.rejected().iter().map(|r| r.reason()).collect();
    assert!(
        matches!(reasons[..], [MemberErrorKind::InvalidPercentEscape { .. }]),
        "{reasons:?}"
    );

    let mut trace = TraceContext::parse(&headers["traceparent"]).unwrap();
    trace
        .set_tracestate([headers["tracestate"].as_str()])
        .unwrap();
    assert_eq!(trace.trace_id().to_string(), TRACE_ID);
    assert_eq!(trace.parent_id().to_string(), PARENT_ID);
    assert!(trace.sampled());
    assert_eq!(trace.tracestate(), Some(TRACESTATE));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_propagator_headers_reach_the_store_of_a_cls_layer_server() {
    let addr = serve(
        Router::new()
            .route("/seen", get(|| async { cls_view() }))
            .layer(ClsLayer::<AppStore>::new()),
    )
    .await;
    let mut request = Request::get(format!("http://{addr}/seen"));
    for (name, value) in otel_headers() {
        request = request.header(name, value);
    }
    let view = send(addr, request.body(Empty::new()).unwrap()).await;

    assert_eq!(field(&view, "tenant"), "acme");
    assert_eq!(field(&view, "user.id"), "Some(42)");
    assert_eq!(field(&view, "city"), "Zürich");
    assert_eq!(field(&view, "expr"), "a=b=c");
    assert_eq!(field(&view, "words"), "two words");
    // Dropped as above (`50%%20off`), the request still served.
    assert_eq!(field(&view, "offer"), "");
    assert_eq!(field(&view, "note"), "");
    assert_eq!(field(&view, "trace"), TRACE_ID);
    assert_eq!(field(&view, "parent"), PARENT_ID);
    assert_eq!(field(&view, "sampled"), "true");
    assert_eq!(field(&view, "tracestate"), TRACESTATE);
}

// ---- cls writes, OTel reads ----------------------------------------------------------

#[test]
fn cls_codec_headers_are_read_by_the_otel_propagators() {
    let mut baggage = String::from("tenant=acme,user.id=42");
    let mut encoder = BaggageEncoder::new(&mut baggage);
    for (key, value) in AWKWARD {
        encoder.push(key, value).unwrap();
    }
    let mut inbound = TraceContext::parse(TRACEPARENT).unwrap();
    inbound.set_tracestate([TRACESTATE]).unwrap();
    let child = inbound.child();
    let carrier: HashMap<String, String> = [
        ("baggage".to_owned(), baggage),
        (
            "traceparent".to_owned(),
            child.traceparent().as_str().to_owned(),
        ),
        (
            "tracestate".to_owned(),
            child.tracestate().unwrap().to_owned(),
        ),
    ]
    .into();

    let view = otel_view(&otel_extract(&carrier));
    assert_eq!(baggage_lines(&view), expected_entries());
    assert_eq!(field(&view, "trace"), TRACE_ID);
    assert_eq!(field(&view, "span"), child.parent_id().to_string());
    assert_ne!(field(&view, "span"), PARENT_ID);
    assert_eq!(field(&view, "sampled"), "true");
    assert_eq!(field(&view, "remote"), "true");
    assert_eq!(field(&view, "tracestate"), TRACESTATE);
}

/// A, a `ClsLayer` service, calls B (an OTel-instrumented server on loopback) twice: through
/// `PropagateLayer`, and with `otel::context()`, a span of an SDK tracer started in it,
/// injected by the OTel propagators. Returns both of B's views and that span's id.
async fn call_b_from_a(b: SocketAddr, traceparent: &str) -> (String, String, String) {
    let client = PropagateLayer::new()
        .with_store::<AppStore>()
        .layer(service_fn(
            move |request: Request<Empty<Bytes>>| async move {
                Ok::<_, Infallible>(send(b, request).await)
            },
        ));
    let a = ClsLayer::<AppStore>::new().layer(service_fn(move |_: Request<()>| {
        let client = client.clone();
        async move {
            APP.enter_with(store());
            let request = Request::get(format!("http://{b}/otel"))
                .body(Empty::new())
                .unwrap();
            let through_layer = client.oneshot(request).await?;

            let provider = SdkTracerProvider::builder().build();
            let tracer = provider.tracer("a");
            let cx = otel::context();
            let span = tracer.start_with_context("call b", &cx);
            let span_id = span.span_context().span_id().to_string();
            let cx = cx.with_span(span);
            let mut headers = HashMap::new();
            TraceContextPropagator::new().inject_context(&cx, &mut headers);
            BaggagePropagator::new().inject_context(&cx, &mut headers);
            let mut request = Request::get(format!("http://{b}/otel"));
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let through_otel = send(b, request.body(Empty::new()).unwrap()).await;
            let answer = format!("{through_layer}\n--\n{through_otel}\n--\n{span_id}");
            Ok::<_, Infallible>(Response::new(answer))
        }
    }));
    let request = Request::get("/")
        .header("traceparent", traceparent)
        .header("tracestate", TRACESTATE)
        .body(())
        .unwrap();
    let body = a.oneshot(request).await.unwrap().into_body();
    let body = body.collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut parts = text.split("\n--\n").map(str::to_owned);
    let (Some(layer), Some(otel), Some(span)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("three parts in {text:?}");
    };
    (layer, otel, span)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagate_layer_and_otel_context_requests_are_read_by_otel_propagators() {
    let b = serve(Router::new().route(
        "/otel",
        get(|headers: HeaderMap| async move { otel_view(&otel_extract(&Headers(&headers))) }),
    ))
    .await;
    let (through_layer, through_otel, span_id) = call_b_from_a(b, TRACEPARENT).await;

    // `PropagateLayer`: every value exact, `%` included; a child of the inbound parent.
    assert_eq!(baggage_lines(&through_layer), expected_entries());
    assert_eq!(field(&through_layer, "trace"), TRACE_ID);
    assert_ne!(field(&through_layer, "span"), PARENT_ID);
    assert_eq!(field(&through_layer, "sampled"), "true");
    assert_eq!(field(&through_layer, "tracestate"), TRACESTATE);

    // `otel::context()` through the OTel propagators: OTel reads what OTel wrote, `%`
    // included; the span that went out is the tracer's, in the caller's trace.
    assert_eq!(baggage_lines(&through_otel), expected_entries());
    assert_eq!(field(&through_otel, "trace"), TRACE_ID);
    assert_eq!(field(&through_otel, "span"), span_id);
    assert_ne!(span_id, PARENT_ID);
    assert_eq!(field(&through_otel, "sampled"), "true");
    assert_eq!(field(&through_otel, "tracestate"), TRACESTATE);
}

// ---- otel::context() -----------------------------------------------------------------

#[test]
fn context_outside_any_cls_context_is_the_current_otel_context() {
    let _guard = Context::new()
        .with_baggage([KeyValue::new("tenant", "otel"), KeyValue::new("k", "v")])
        .attach();
    let cx = otel::context();
    assert_eq!(otel_entries(&cx), ["k=v", "tenant=otel"]);
    assert!(!cx.has_active_span());
    assert!(otel_entries(&Context::new()).is_empty());
    assert!(otel_entries(&APP.exit_sync(otel::context)).len() == 2);
}

#[test]
fn context_adds_the_propagated_fields_and_cls_wins_over_otel_baggage() {
    let mut existing = opentelemetry::baggage::Baggage::new();
    let _ = existing.insert("tenant", "stale");
    let _ = existing.insert_with_metadata("region", "eu", "origin=lb");
    let _guard = Context::new().with_baggage(existing).attach();

    let cx = APP.run_with_sync(store(), otel::context);
    let mut expected = expected_entries();
    expected.push("region=eu".to_owned());
    expected.sort();
    assert_eq!(otel_entries(&cx), expected);
    let region = cx.baggage().get_with_metadata("region").unwrap();
    assert_eq!(region.1.as_str(), "origin=lb");
    // Only the context's copy changed.
    assert_eq!(
        Context::current()
            .baggage()
            .get("tenant")
            .map(|v| v.as_str()),
        Some("stale")
    );
}

/// OTel's `Baggage` refuses entries past its limits: with an OTel baggage already full,
/// cls's fields still go in, and OTel entries are the ones left out.
#[test]
fn context_keeps_the_cls_fields_when_otel_baggage_is_full() {
    let mut existing = opentelemetry::baggage::Baggage::new();
    for i in 0..200 {
        let _ = existing.insert(format!("k{i:03}"), "v");
    }
    let full = existing.len();
    assert!(
        (64..200).contains(&full),
        "OTel's Baggage keeps at least the W3C minimum of 64 entries and has a limit: {full}"
    );
    let _guard = Context::new().with_baggage(existing).attach();

    let cx = APP.run_with_sync(store(), otel::context);
    let entries = otel_entries(&cx);
    for expected in expected_entries() {
        assert!(
            entries.contains(&expected),
            "{expected} missing from {entries:?}"
        );
    }
    assert_eq!(entries.len(), full, "the limit still holds");
}

#[test]
fn context_reads_the_values_at_call_time_and_omits_none() {
    let cx = APP.run_with_sync(AppStore::default(), || {
        APP.set::<path!(tenant)>("acme".into());
        otel::context()
    });
    let entries = otel_entries(&cx);
    assert!(entries.contains(&"tenant=acme".to_owned()), "{entries:?}");
    assert!(
        !entries.iter().any(|e| e.starts_with("user.id=")),
        "{entries:?}"
    );
    assert!(
        !entries.iter().any(|e| e.starts_with("note=")),
        "{entries:?}"
    );
}

#[test]
fn context_carries_every_store_type_the_innermost_winning_a_shared_key() {
    let job = JobStore {
        id: 7,
        tenant: "job-tenant".into(),
    };
    let cx = APP.run_with_sync(store(), || JOB.run_with_sync(job, otel::context));
    let entries = otel_entries(&cx);
    assert!(entries.contains(&"job.id=7".to_owned()), "{entries:?}");
    assert!(
        entries.contains(&"tenant=job-tenant".to_owned()),
        "{entries:?}"
    );
    assert!(entries.contains(&"city=Zürich".to_owned()), "{entries:?}");
}

#[test]
fn context_leaves_out_a_value_with_a_control_character() {
    let mut with_newline = store();
    with_newline.words = "two\nlines".into();
    let cx = APP.run_with_sync(with_newline, otel::context);
    assert_eq!(cx.baggage().get("words"), None);
    assert!(cx.baggage().get("tenant").is_some());
}

/// What `f` returns when called by the handler of a `ClsLayer` service, for a request sent
/// with `headers`.
async fn in_request<T: Send + 'static>(headers: &[(&str, &str)], f: fn() -> T) -> T {
    let out = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&out);
    let service = ClsLayer::<AppStore>::new().layer(service_fn(move |_: Request<()>| {
        *slot.lock().unwrap() = Some(f());
        async { Ok::<_, Infallible>(Response::new(String::new())) }
    }));
    let mut request = Request::get("/");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    service.oneshot(request.body(()).unwrap()).await.unwrap();
    let value = out.lock().unwrap().take();
    value.expect("the handler ran")
}

/// `otel::context()`, and the span an SDK tracer starts in it.
fn context_and_span() -> (Context, opentelemetry_sdk::trace::Span) {
    let cx = otel::context();
    let span = SdkTracerProvider::builder()
        .build()
        .tracer("test")
        .start_with_context("handler", &cx);
    (cx, span)
}

#[tokio::test(flavor = "current_thread")]
async fn context_has_the_inbound_trace_context_as_remote_parent() {
    let (cx, span) = in_request(
        &[("traceparent", TRACEPARENT), ("tracestate", TRACESTATE)],
        context_and_span,
    )
    .await;
    let remote = cx.span().span_context().clone();
    assert!(remote.is_remote() && remote.is_valid() && remote.is_sampled());
    assert_eq!(remote.trace_id().to_string(), TRACE_ID);
    assert_eq!(remote.span_id().to_string(), PARENT_ID);
    assert_eq!(remote.trace_state().header(), TRACESTATE);

    // A tracer makes its span a child of the caller's.
    let data = span
        .exported_data()
        .expect("a sampled parent: the span records");
    assert_eq!(data.span_context.trace_id().to_string(), TRACE_ID);
    assert_eq!(data.parent_span_id.to_string(), PARENT_ID);
    assert!(data.parent_span_is_remote);
}

#[tokio::test(flavor = "current_thread")]
async fn context_carries_an_unsampled_caller_as_unsampled() {
    let (cx, span) = in_request(&[("traceparent", UNSAMPLED)], context_and_span).await;
    assert!(cx.span().span_context().is_remote());
    assert!(!cx.span().span_context().is_sampled());
    assert_eq!(cx.span().span_context().trace_state().header(), "");
    // The SDK's default sampler follows the parent.
    assert!(!span.span_context().is_sampled());
}

#[tokio::test(flavor = "current_thread")]
async fn context_has_no_span_without_a_valid_traceparent() {
    for headers in [
        &[][..],
        &[(
            "traceparent",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        )][..],
    ] {
        let (cx, _) = in_request(headers, context_and_span).await;
        assert!(!cx.has_active_span(), "{headers:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn context_keeps_a_span_already_in_the_otel_context() {
    let (local, seen) = in_request(&[("traceparent", TRACEPARENT)], || {
        let tracer = SdkTracerProvider::builder().build().tracer("test");
        let local = tracer.start_with_context("local root", &Context::new());
        let local_id = local.span_context().span_id();
        let _guard = Context::current_with_span(local).attach();
        (local_id, otel::context().span().span_context().span_id())
    })
    .await;
    assert_eq!(seen, local);
    assert_ne!(seen.to_string(), PARENT_ID);
}

// ---- otel::fill ----------------------------------------------------------------------

#[test]
fn fill_sets_the_declared_fields_from_an_otel_extraction() {
    // OTel's own extraction decodes its `50%%20off` leniently: `%` arrives this way.
    let cx = otel_extract(&otel_headers());
    let mut filled = AppStore::default();
    let report = otel::fill(&mut filled, &cx);
    assert_eq!(
        filled,
        AppStore {
            note: String::new(),
            ..store()
        }
    );
    assert_eq!(report.filled(), 6);
    assert!(report.rejected().is_empty());
}

#[test]
fn fill_reports_values_that_do_not_parse_or_hold_control_characters_by_key() {
    let cx = Context::new().with_baggage([
        KeyValue::new("user.id", "forty-two"),
        KeyValue::new("tenant", "acme\r\nx-admin: true"),
        KeyValue::new("city", "Zürich"),
    ]);
    let mut filled = AppStore::default();
    let report = otel::fill(&mut filled, &cx);
    assert_eq!((filled.user_id, filled.tenant.as_str()), (None, ""));
    assert_eq!(filled.city, "Zürich");
    assert_eq!(report.filled(), 1);
    let rejected: Vec<_> = report
        .rejected()
        .iter()
        .map(|r| (r.key(), r.reason()))
        .collect();
    assert_eq!(
        rejected,
        [
            ("tenant", RejectReason::ControlCharacter),
            ("user.id", RejectReason::DoesNotParse)
        ]
    );
    for rejected in report.rejected() {
        let message = rejected.to_string();
        assert!(
            !message.contains("forty") && !message.contains("admin"),
            "{message}"
        );
    }
}

#[test]
fn fill_ignores_undeclared_keys_and_keeps_other_fields() {
    let cx = Context::new().with_baggage([
        KeyValue::new("note", "from the client"),
        KeyValue::new("other", "1"),
        KeyValue::new("job.id", "x"),
    ]);
    let mut filled = AppStore {
        note: "mine".into(),
        tenant: "kept".into(),
        ..AppStore::default()
    };
    let report = otel::fill(&mut filled, &cx);
    assert_eq!(
        (filled.note.as_str(), filled.tenant.as_str()),
        ("mine", "kept")
    );
    assert_eq!(report, otel::FillReport::default());
}
