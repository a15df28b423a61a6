//! `cls_core::logging` over real loopback servers: every line written inside a request carries
//! its id and the store's `#[cls(log)]` fields (in spawned tasks, blocking threads, streamed
//! body chunks, `log` records), in text and JSON; none outside; hostile values escaped.
//!
//! One process-wide subscriber (three fmt layers: `ClsFormat`, the same inner format without
//! cls, `ClsJsonFormat`) and one process-wide `log` logger (`ClsLogger` around a recorder and
//! the tracing-log bridge) serve the server tests, which run in parallel: each test's lines
//! are told apart by a marker of its own in the message. Synchronous tests use a subscriber
//! of their own on their thread.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use cls_core::logging::{ClsFormat, ClsJsonFormat, ClsLogger, RequestSpanLayer};
use cls_core::web::{ClsLayer, RequestInfo};
use cls_core::{path, Cls, ClsStore};
use futures_util::StreamExt;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use proptest::prelude::*;
use tokio::net::{TcpListener, TcpStream};
use tracing_subscriber::fmt::format::{Format, Full};
use tracing_subscriber::layer::SubscriberExt;

#[derive(ClsStore, Clone, Default)]
struct LogStore {
    #[cls(log)]
    tenant: String,
    #[cls(log = "user_id")]
    user: Option<u64>,
    /// Never logged: not marked.
    secret: String,
}

const CLS: Cls<LogStore> = Cls::new();

/// A second store type, logged after the first.
#[derive(ClsStore, Clone, Default)]
struct JobStore {
    #[cls(log)]
    job: u32,
}

const JOB: Cls<JobStore> = Cls::new();

/// Bound on every request a test sends, so that a hang fails instead of blocking CI.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------
// Captures

/// A `MakeWriter` target: what a layer writes, kept. The fmt layer writes one event in one
/// `write_all`, so lines of concurrent events never interleave.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// The lines whose text contains `marker`.
    fn lines_with(&self, marker: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| line.contains(marker))
            .map(str::to_owned)
            .collect()
    }
}

/// The inner text format of every test: no time, so that lines compare exactly.
fn inner() -> Format<Full, ()> {
    tracing_subscriber::fmt::format().without_time()
}

/// The captures of a subscriber: `ClsFormat`, the same inner format alone, JSON, and the
/// fields of every `request` span.
#[derive(Clone, Default)]
struct Captures {
    cls: Capture,
    plain: Capture,
    json: Capture,
    spans: SpanFields,
}

/// Each `request` span's fields as `key=value`, in the order recorded.
#[derive(Clone, Default)]
struct SpanFields(Arc<Mutex<HashMap<u64, Vec<String>>>>);

struct FieldList<'a>(&'a mut Vec<String>);

impl tracing::field::Visit for FieldList<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.push(format!("{}={value:?}", field.name()));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanFields {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "request" {
            let mut spans = self.0.lock().unwrap();
            attrs.record(&mut FieldList(spans.entry(id.into_u64()).or_default()));
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(fields) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut FieldList(fields));
        }
    }
}

impl SpanFields {
    /// The fields of the span one of whose fields contains `marker`.
    fn of(&self, marker: &str) -> Vec<String> {
        let spans = self.0.lock().unwrap();
        let mut found = spans
            .values()
            .filter(|f| f.iter().any(|v| v.contains(marker)));
        let fields = found.next().cloned().unwrap_or_default();
        assert!(found.next().is_none(), "one span for {marker}");
        fields
    }
}

fn subscriber(captures: &Captures) -> impl tracing::Subscriber + Send + Sync {
    let (cls, plain, json) = (
        captures.cls.clone(),
        captures.plain.clone(),
        captures.json.clone(),
    );
    tracing_subscriber::registry()
        .with(captures.spans.clone())
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(
                    ClsFormat::new(inner())
                        .with_store::<LogStore>()
                        .with_store::<JobStore>(),
                )
                .with_writer(move || cls.clone()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(inner())
                .with_writer(move || plain.clone()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(
                    ClsJsonFormat::new()
                        .without_time()
                        .with_store::<LogStore>()
                        .with_store::<JobStore>(),
                )
                .with_writer(move || json.clone()),
        )
}

/// What `ClsLogger` passed on: each record's message and key-values, as `message k=v…`.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

/// The process-wide `log` logger: `ClsLogger` around a recorder and the tracing-log bridge.
struct Tee {
    recorder: Arc<Recorder>,
    bridge: tracing_log::LogTracer,
}

impl log::Log for Tee {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        self.recorder.0.lock().unwrap().push(record_line(record));
        self.bridge.log(record);
    }

    fn flush(&self) {}
}

fn record_line(record: &log::Record<'_>) -> String {
    struct Pairs<'a>(&'a mut String);
    impl<'kvs> log::kv::VisitSource<'kvs> for Pairs<'_> {
        fn visit_pair(
            &mut self,
            key: log::kv::Key<'kvs>,
            value: log::kv::Value<'kvs>,
        ) -> Result<(), log::kv::Error> {
            *self.0 += &format!(" {key}={value}");
            Ok(())
        }
    }
    let mut line = record.args().to_string();
    record.key_values().visit(&mut Pairs(&mut line)).unwrap();
    line
}

struct Global {
    captures: Captures,
    recorder: Arc<Recorder>,
}

/// Installs the process-wide subscriber and logger once.
fn global() -> &'static Global {
    static GLOBAL: OnceLock<Global> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let captures = Captures::default();
        tracing::subscriber::set_global_default(subscriber(&captures)).unwrap();
        let recorder = Arc::new(Recorder::default());
        ClsLogger::new(Tee {
            recorder: recorder.clone(),
            bridge: tracing_log::LogTracer::new(),
        })
        .with_store::<LogStore>()
        .init(log::LevelFilter::Trace)
        .unwrap();
        Global { captures, recorder }
    })
}

// ---------------------------------------------------------------------------------------
// Parsing what was written

/// The ` key=value` pairs a text line ends with, values unescaped, as the format writes
/// them; `None` when the tail is not made of well-formed pairs.
fn parse_pairs(tail: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut rest = tail;
    while !rest.is_empty() {
        rest = rest.strip_prefix(' ')?;
        let eq = rest.find('=')?;
        let key = &rest[..eq];
        if key.is_empty() || key.contains([' ', '"']) {
            return None;
        }
        rest = &rest[eq + 1..];
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                let (at, c) = chars.next()?;
                match c {
                    '"' => break at,
                    '\\' => match chars.next()?.1 {
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        'u' => {
                            let open = chars.next()?.1;
                            if open != '{' {
                                return None;
                            }
                            let mut hex = String::new();
                            loop {
                                let c = chars.next()?.1;
                                if c == '}' {
                                    break;
                                }
                                hex.push(c);
                            }
                            out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                        }
                        _ => return None,
                    },
                    c if c.is_control() => return None,
                    c => out.push(c),
                }
            };
            value = out;
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            value = rest[..end].to_owned();
            if value.is_empty() || value.contains(['"', '=', '\\']) {
                return None;
            }
            rest = &rest[end..];
        }
        pairs.push((key.to_owned(), value));
    }
    Some(pairs)
}

/// A line of the cls capture split into the plain format's line and the pairs after it.
fn split_cls_line(cls: &str, plain: &str) -> Vec<(String, String)> {
    let tail = cls
        .strip_prefix(plain)
        .unwrap_or_else(|| panic!("{cls:?} does not start with the plain line {plain:?}"));
    parse_pairs(tail).unwrap_or_else(|| panic!("malformed pairs in {tail:?}"))
}

/// The word after `{marker}:` in a line: where it was logged.
fn place_of<'a>(line: &'a str, marker: &str) -> &'a str {
    let after = line.split_once(&format!("{marker}:")).unwrap().1;
    after.split(' ').next().unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// An object's keys, sorted (serde_json's map is sorted).
fn keys(object: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    object.keys().cloned().collect()
}

fn keys_of(list: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = list.iter().map(|k| (*k).to_owned()).collect();
    keys.sort_unstable();
    keys
}

fn json_lines(capture: &Capture, marker: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    capture
        .lines_with(marker)
        .iter()
        .map(|line| match serde_json::from_str(line).unwrap() {
            serde_json::Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// A loopback server

// A setup answers with a whole `Response`, as a handler does.
#[allow(clippy::result_large_err)]
fn tenant_setup(req: &RequestInfo, store: &mut LogStore) -> Result<(), Response<Body>> {
    let tenant = req.headers().get("x-tenant").and_then(|v| v.to_str().ok());
    store.tenant = tenant.unwrap_or("anonymous").to_owned();
    store.secret = "do-not-log".to_owned();
    Ok(())
}

/// Logs from every place a request's work runs, each line marked `{marker}:{place}`.
async fn everywhere(req: http::Request<Body>) -> Body {
    let marker = header(&req, "x-marker");
    tracing::info!("{marker}:handler");
    CLS.set::<path!(user)>(Some(7));
    tracing::info!("{marker}:after-set");
    let m = marker.clone();
    cls_core::spawn(async move {
        tokio::task::yield_now().await;
        tracing::info!("{m}:spawned");
    })
    .await
    .unwrap();
    let m = marker.clone();
    cls_core::spawn_blocking(move || tracing::info!("{m}:blocking"))
        .await
        .unwrap();
    log::info!("{marker}:log-record");
    let m = marker.clone();
    cls_core::web::after(async move { tracing::info!("{m}:after-response") });
    let chunks = futures_util::stream::iter(0..2).then(move |n| {
        let marker = marker.clone();
        async move {
            tokio::task::yield_now().await;
            tracing::info!("{marker}:chunk{n}");
            Ok::<_, Infallible>(Bytes::from(format!("{n};")))
        }
    });
    Body::from_stream(chunks)
}

/// Logs once, with the tenant and id the client sent as event fields of its own, so that the
/// line can be checked against what the context added.
async fn concurrent(req: http::Request<Body>) -> &'static str {
    let marker = header(&req, "x-marker");
    let sent_tenant = header(&req, "x-tenant");
    let sent_id = header(&req, "x-request-id");
    cls_core::spawn(async move {
        tokio::task::yield_now().await;
        tracing::info!(sent_tenant, sent_id, "{marker}");
    })
    .await
    .unwrap();
    "ok"
}

fn header(req: &http::Request<Body>, name: &str) -> String {
    req.headers()[name].to_str().unwrap().to_owned()
}

/// Sets the user id after the span opened, as authentication would.
async fn in_span(req: http::Request<Body>) -> &'static str {
    let marker = req.uri().query().unwrap().to_owned();
    tracing::info!("{marker}:span-handler");
    CLS.set::<path!(user)>(Some(9));
    "ok"
}

fn app() -> Router {
    Router::new()
        .route("/everywhere", get(everywhere))
        .route("/concurrent", get(concurrent))
        .route(
            "/span",
            get(in_span).layer(RequestSpanLayer::new().with_store::<LogStore>()),
        )
        .layer(ClsLayer::<LogStore>::new().setup(tenant_setup))
}

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn connect(addr: SocketAddr) -> SendRequest<Empty<Bytes>> {
    let (sender, connection) = tokio::time::timeout(REQUEST_TIMEOUT, async {
        let stream = TcpStream::connect(addr).await.unwrap();
        hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap()
    })
    .await
    .expect("connecting timed out");
    tokio::spawn(connection);
    sender
}

/// Sends a GET and returns the response body, once fully received.
async fn send(
    sender: &mut SendRequest<Empty<Bytes>>,
    path: &str,
    headers: &[(&str, &str)],
) -> String {
    let mut request = Request::get(path).header("host", "localhost");
    for (name, value) in headers {
        request = request.header(*name, HeaderValue::from_str(value).unwrap());
    }
    let request = request.body(Empty::new()).unwrap();
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    })
    .await
    .expect("request timed out")
}

// ---------------------------------------------------------------------------------------
// Tests over the server

async fn every_line_of_a_request_carries_its_id_and_fields(marker: &str) {
    let global = global();
    let addr = serve(app()).await;
    let mut sender = connect(addr).await;
    let id = format!("{marker}-id");
    let body = send(
        &mut sender,
        "/everywhere",
        &[
            ("x-marker", marker),
            ("x-tenant", "acme"),
            ("x-request-id", &id),
        ],
    )
    .await;
    assert_eq!(body, "0;1;");
    tracing::info!("{marker}:outside");
    // The `after` work starts once the body is done: wait for its line.
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        let line = format!("{marker}:after-response");
        let captures = &global.captures;
        while [&captures.cls, &captures.plain, &captures.json]
            .iter()
            .any(|capture| capture.lines_with(&line).is_empty())
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the after() work logged nothing");

    let places = [
        "handler",
        "after-set",
        "spawned",
        "blocking",
        "log-record",
        "chunk0",
        "chunk1",
        "after-response",
    ];
    let cls = global.captures.cls.lines_with(&format!("{marker}:"));
    let plain = global.captures.plain.lines_with(&format!("{marker}:"));
    assert_eq!(cls.len(), places.len() + 1, "{cls:#?}");
    assert_eq!(plain.len(), cls.len());
    for (cls_line, plain_line) in cls.iter().zip(&plain) {
        let fields = split_cls_line(cls_line, plain_line);
        let place = place_of(plain_line, marker);
        let expected = match place {
            "outside" => pairs(&[]),
            "handler" => pairs(&[("request_id", &id), ("tenant", "acme")]),
            _ => pairs(&[("request_id", &id), ("tenant", "acme"), ("user_id", "7")]),
        };
        assert_eq!(fields, expected, "line {cls_line:?}");
    }
    let mut seen: Vec<&str> = plain.iter().map(|l| place_of(l, marker)).collect();
    seen.sort_unstable();
    let mut expected: Vec<&str> = places.iter().copied().chain(["outside"]).collect();
    expected.sort_unstable();
    assert_eq!(seen, expected);

    let json = json_lines(&global.captures.json, &format!("{marker}:"));
    assert_eq!(json.len(), places.len() + 1);
    for object in &json {
        let message = object["message"].as_str().unwrap();
        if message.ends_with(":outside") {
            assert_eq!(keys(object), keys_of(&["level", "target", "message"]));
            continue;
        }
        assert_eq!(object["request_id"], id.as_str(), "{object:?}");
        assert_eq!(object["tenant"], "acme");
        assert!(!object.contains_key("secret"));
        if message.ends_with(":handler") {
            assert!(!object.contains_key("user_id"));
        } else {
            assert_eq!(object["user_id"], 7, "{object:?}");
        }
    }

    // The `log` record: `ClsLogger` added the fields as key-values before the bridge.
    let records: Vec<String> = global
        .recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.starts_with(&format!("{marker}:")))
        .cloned()
        .collect();
    assert_eq!(
        records,
        [format!(
            "{marker}:log-record request_id={id} tenant=acme user_id=7"
        )]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn every_line_of_a_request_carries_its_id_and_fields_current_thread() {
    every_line_of_a_request_carries_its_id_and_fields("everywhere-ct").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_of_a_request_carries_its_id_and_fields_multi_thread() {
    every_line_of_a_request_carries_its_id_and_fields("everywhere-mt").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_never_show_each_others_values() {
    const CONNECTIONS: usize = 1_000;
    let marker = "concurrent-marker";
    let global = global();
    let addr = serve(app()).await;
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|n| {
            tokio::spawn(async move {
                let mut sender = connect(addr).await;
                let tenant = format!("t{n}");
                let id = format!("c{n}");
                let body = send(
                    &mut sender,
                    "/concurrent",
                    &[
                        ("x-marker", marker),
                        ("x-tenant", &tenant),
                        ("x-request-id", &id),
                    ],
                )
                .await;
                assert_eq!(body, "ok");
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }

    let lines = json_lines(&global.captures.json, marker);
    assert_eq!(lines.len(), CONNECTIONS);
    let mut tenants = std::collections::HashSet::new();
    for object in &lines {
        assert_eq!(object["tenant"], object["sent_tenant"], "{object:?}");
        assert_eq!(object["request_id"], object["sent_id"], "{object:?}");
        assert!(tenants.insert(object["tenant"].as_str().unwrap().to_owned()));
    }
    for line in global.captures.cls.lines_with(marker) {
        let text = line.split_once(marker).unwrap().1;
        let fields = parse_pairs(text).unwrap();
        let get = |key: &str| &fields.iter().find(|(k, _)| k == key).unwrap().1;
        assert_eq!(get("tenant"), get("sent_tenant"), "{line}");
        assert_eq!(get("request_id"), get("sent_id"), "{line}");
    }
}

// ---------------------------------------------------------------------------------------
// Synchronous tests, each with a subscriber of its own on its thread

/// Runs `f` with a fresh subscriber on this thread; returns what it wrote.
fn captured(f: impl FnOnce()) -> Captures {
    let captures = Captures::default();
    tracing::subscriber::with_default(subscriber(&captures), f);
    captures
}

#[test]
fn lines_outside_a_context_are_the_inner_format_exactly() {
    let captures = captured(|| {
        tracing::info!(count = 3, "listed");
        tracing::warn!(target: "orders", "with \"quotes\" and = signs");
        // A context of another, unlisted store type adds nothing either.
        #[derive(ClsStore, Clone, Default)]
        struct Unlisted {
            #[cls(log)]
            other: u8,
        }
        Cls::<Unlisted>::new().run_sync(|| tracing::info!("unlisted"));
    });
    assert_eq!(captures.cls.text(), captures.plain.text());
    assert_eq!(captures.cls.text().lines().count(), 3);
    let json = json_lines(&captures.json, "");
    assert_eq!(json[0]["count"], 3);
    assert_eq!(json[0]["message"], "listed");
    assert_eq!(json[1]["target"], "orders");
    assert_eq!(json[1]["level"], "WARN");
    assert_eq!(json[2].len(), 3);
}

#[test]
fn a_set_shows_on_later_lines_and_two_store_types_are_in_order() {
    let captures = captured(|| {
        let store = LogStore {
            tenant: "acme".into(),
            ..LogStore::default()
        };
        CLS.run_with_sync(store, || {
            tracing::info!("first");
            JOB.run_with_sync(JobStore { job: 9 }, || {
                CLS.set::<path!(user)>(Some(42));
                tracing::info!("second");
            });
            CLS.set::<path!(tenant)>("globex".into());
            tracing::info!("third");
        });
    });
    let cls: Vec<String> = captures.cls.text().lines().map(str::to_owned).collect();
    let plain: Vec<String> = captures.plain.text().lines().map(str::to_owned).collect();
    assert_eq!(
        split_cls_line(&cls[0], &plain[0]),
        pairs(&[("tenant", "acme")])
    );
    assert_eq!(
        split_cls_line(&cls[1], &plain[1]),
        pairs(&[("tenant", "acme"), ("user_id", "42"), ("job", "9")])
    );
    assert_eq!(
        split_cls_line(&cls[2], &plain[2]),
        pairs(&[("tenant", "globex"), ("user_id", "42")])
    );
    let json = json_lines(&captures.json, "");
    assert_eq!(
        keys(&json[1]),
        keys_of(&["level", "target", "message", "tenant", "user_id", "job"])
    );
    // In the order written: the event's own, then the store types in the order added.
    let raw = captures.json.text();
    let second = raw.lines().nth(1).unwrap();
    let at = |key: &str| second.find(&format!("\"{key}\":")).unwrap();
    assert!(at("level") < at("target") && at("target") < at("message"));
    assert!(at("message") < at("tenant") && at("tenant") < at("user_id"));
    assert!(at("user_id") < at("job"));
}

#[test]
fn a_line_inside_with_or_update_never_panics() {
    let captures = captured(|| {
        let store = LogStore {
            tenant: "acme".into(),
            ..LogStore::default()
        };
        JOB.run_with_sync(JobStore { job: 1 }, || {
            CLS.run_with_sync(store, || {
                CLS.with::<path!(tenant), _>(|_| tracing::info!("inside-with"));
                CLS.update::<path!(tenant), _>(|tenant| {
                    tenant.push_str("-changing");
                    tracing::info!("inside-update");
                });
                JOB.update::<path!(job), _>(|_| tracing::info!("inside-job-update"));
            });
        });
    });
    let cls: Vec<String> = captures.cls.text().lines().map(str::to_owned).collect();
    let plain: Vec<String> = captures.plain.text().lines().map(str::to_owned).collect();
    // Inside `with`: read as usual. Inside `update` of a store type: that store type adds
    // nothing, the other one still does.
    assert_eq!(
        split_cls_line(&cls[0], &plain[0]),
        pairs(&[("tenant", "acme"), ("job", "1")])
    );
    assert_eq!(split_cls_line(&cls[1], &plain[1]), pairs(&[("job", "1")]));
    assert_eq!(
        split_cls_line(&cls[2], &plain[2]),
        pairs(&[("tenant", "acme-changing")])
    );
    assert_eq!(json_lines(&captures.json, "inside").len(), 3);
}

#[test]
fn an_event_field_with_a_store_key_is_written_once_in_json() {
    let captures = captured(|| {
        let store = LogStore {
            tenant: "from-store".into(),
            ..LogStore::default()
        };
        CLS.run_with_sync(store, || tracing::info!(tenant = "from-event", "dup"));
    });
    let line = captures.json.text();
    assert_eq!(line.matches("\"tenant\"").count(), 1, "{line}");
    assert_eq!(json_lines(&captures.json, "dup")[0]["tenant"], "from-event");
}

/// Every key once in a JSON line, counted in the raw text (a JSON parser would merge
/// repeated keys silently): event fields named like the fixed keys are left out, and of
/// two store types with one key the first is written.
#[test]
fn a_json_line_never_has_a_key_twice() {
    #[derive(ClsStore, Clone, Default)]
    struct AlsoTenant {
        #[cls(log = "tenant")]
        name: String,
    }
    const ALSO: Cls<AlsoTenant> = Cls::new();

    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .event_format(
            ClsJsonFormat::new()
                .with_store::<LogStore>()
                .with_store::<AlsoTenant>(),
        )
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let store = LogStore {
            tenant: "first".into(),
            ..LogStore::default()
        };
        let also = AlsoTenant {
            name: "second".into(),
        };
        CLS.run_with_sync(store, || {
            ALSO.run_with_sync(also, || {
                tracing::info!(
                    level = "forged",
                    target = "forged",
                    timestamp = 0,
                    "dup-keys"
                );
            });
        });
    });
    let line = capture.text();
    for key in ["timestamp", "level", "target", "message", "tenant"] {
        assert_eq!(
            line.matches(&format!("\"{key}\":")).count(),
            1,
            "{key} in {line}"
        );
    }
    assert!(!line.contains("forged"), "{line}");
    assert!(line.contains("\"tenant\":\"first\""), "{line}");
}

/// Values that would forge a line, a pair or a JSON key if written raw.
fn hostile_values() -> Vec<String> {
    vec![
        "two\nlines".into(),
        "cr\rlf\r\n".into(),
        "quote\"d".into(),
        "\"}".into(),
        "\",\"admin\":true,\"x\":\"".into(),
        "tenant=evil user_id=0".into(),
        " leading space".into(),
        String::new(),
        "back\\slash\\".into(),
        "\u{1b}[31mred\u{1b}[0m".into(),
        "nul\0byte".into(),
        "line\u{2028}separator\u{85}next".into(),
        "right-to-left\u{202e}override".into(),
        "Zürich ✓".into(),
        "x".repeat(10 * 1024),
    ]
}

fn assert_escaped(tenant: &str) {
    let store = LogStore {
        tenant: tenant.to_owned(),
        user: Some(1),
        ..LogStore::default()
    };
    let captures = captured(|| CLS.run_with_sync(store, || tracing::info!("hostile")));
    let cls = captures.cls.text();
    let plain = captures.plain.text();
    assert_eq!(cls.matches('\n').count(), 1, "{cls:?}");
    assert!(cls.ends_with('\n'));
    let fields = split_cls_line(cls.trim_end_matches('\n'), plain.trim_end_matches('\n'));
    assert_eq!(fields, pairs(&[("tenant", tenant), ("user_id", "1")]));

    let json = captures.json.text();
    assert_eq!(json.matches('\n').count(), 1, "{json:?}");
    let objects = json_lines(&captures.json, "");
    assert_eq!(
        keys(&objects[0]),
        keys_of(&["level", "target", "message", "tenant", "user_id"])
    );
    assert_eq!(objects[0]["tenant"], tenant);
}

#[test]
fn hostile_values_are_escaped_in_text_and_json() {
    for value in hostile_values() {
        assert_escaped(&value);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn no_value_can_add_a_line_or_a_key(tenant in any::<String>()) {
        assert_escaped(&tenant);
    }

    #[test]
    fn no_ascii_or_control_value_can_add_a_line_or_a_key(tenant in "[ -~\t\n\r\u{0}-\u{1f}\u{7f}\"=\\\\]{0,40}") {
        assert_escaped(&tenant);
    }
}

#[test]
fn a_log_record_outside_a_context_passes_through_unchanged() {
    let global = global();
    log::info!(marker = "kv"; "log-outside-marker");
    let records = global.recorder.0.lock().unwrap().clone();
    assert!(
        records.contains(&"log-outside-marker marker=kv".to_owned()),
        "{records:?}"
    );
}

#[test]
fn a_log_record_keeps_its_own_key_values_first_and_wins_a_shared_key() {
    let global = global();
    let store = LogStore {
        tenant: "from-store".into(),
        user: Some(3),
        ..LogStore::default()
    };
    CLS.run_with_sync(store, || log::info!(tenant = "own"; "log-kv-marker"));
    let records = global.recorder.0.lock().unwrap().clone();
    assert!(
        records.contains(&"log-kv-marker tenant=own user_id=3".to_owned()),
        "{records:?}"
    );
}

/// `Display` of a store field runs while the line is written; one that panics is the
/// field's own bug, but one that logs must not deadlock or panic.
#[test]
fn a_field_whose_display_logs_does_not_break_the_line() {
    struct Chatty;
    impl fmt::Display for Chatty {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            tracing::info!("from-display");
            f.write_str("chatty")
        }
    }
    #[derive(ClsStore, Clone, Default)]
    struct ChattyStore {
        #[cls(log)]
        who: Wrapper,
    }
    #[derive(Clone, Default)]
    struct Wrapper;
    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            Chatty.fmt(f)
        }
    }
    let captures = Captures::default();
    let cls = captures.cls.clone();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .event_format(ClsFormat::new(inner()).with_store::<ChattyStore>())
            .with_writer(move || cls.clone()),
    );
    tracing::subscriber::with_default(subscriber, || {
        Cls::<ChattyStore>::new().run_sync(|| tracing::info!("outer"));
    });
    let text = captures.cls.text();
    assert!(text.contains("outer who=chatty"), "{text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_span_declares_the_log_fields_and_records_later_sets() {
    let marker = "span-marker";
    let global = global();
    let addr = serve(app()).await;
    let mut sender = connect(addr).await;
    let path = format!("/span?{marker}");
    let body = send(
        &mut sender,
        &path,
        &[("x-tenant", "acme"), ("x-request-id", "span-id")],
    )
    .await;
    assert_eq!(body, "ok");
    assert_eq!(
        global.captures.spans.of(marker),
        [
            "method=GET".to_owned(),
            format!("uri={path}"),
            "request_id=span-id".to_owned(),
            "tenant=acme".to_owned(),
            // Recorded when the response was ready: set by the handler.
            "user_id=9".to_owned(),
        ]
    );
    // The handler's line is inside the span, and still gets the fields from the context.
    let plain = global.captures.plain.lines_with(&format!("{marker}:"));
    let cls = global.captures.cls.lines_with(&format!("{marker}:"));
    assert_eq!(plain.len(), 1);
    // (Three fmt layers with the same field formatter share one copy of a span's formatted
    // fields in tracing-subscriber, each appending to it: only the start is checked.)
    assert!(plain[0].contains(" request{method=GET "), "{plain:?}");
    assert_eq!(
        split_cls_line(&cls[0], &plain[0]),
        pairs(&[("request_id", "span-id"), ("tenant", "acme")])
    );
}

/// `Compact` wrapped like `Full`: the same output, the fields before the final newline.
#[test]
fn a_compact_inner_format_gets_the_fields_before_the_final_newline() {
    let inner = tracing_subscriber::fmt::format().compact().without_time();
    let (cls, plain) = (Capture::default(), Capture::default());
    let (cls_writer, plain_writer) = (cls.clone(), plain.clone());
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(ClsFormat::new(inner.clone()).with_store::<LogStore>())
                .with_writer(move || cls_writer.clone()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(inner)
                .with_writer(move || plain_writer.clone()),
        );
    let store = LogStore {
        tenant: "acme".into(),
        ..LogStore::default()
    };
    tracing::subscriber::with_default(subscriber, || {
        CLS.run_with_sync(store, || tracing::info!(count = 3, "listed"));
        tracing::info!("outside");
    });
    let (cls, plain) = (cls.text(), plain.text());
    let mut lines = plain.lines();
    let expected = format!(
        "{} tenant=acme\n{}\n",
        lines.next().unwrap(),
        lines.next().unwrap()
    );
    assert_eq!(cls, expected);
}
