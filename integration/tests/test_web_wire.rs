//! `ClsLayer` on the wire, beyond `tests/test_web_layer.rs`: HTTP/2 streams, server-sent
//! events, 10,000 requests over HTTP/1.1 keep-alive and HTTP/2, hostile id headers by
//! property test, panicking setups, `tower::buffer::Buffer` placement, and a plain tower
//! service whose error reaches hyper.

// A setup answers with a whole `Response`, as a handler does; clippy would have the error
// boxed in a named function's signature.
#![allow(clippy::result_large_err)]

use std::collections::HashSet;
use std::convert::Infallible;
use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use cls_core::web::{self, ClsLayer, RequestInfo};
use cls_core::{path, Cls, ClsStore};
use futures_util::StreamExt;
use http::{HeaderValue, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Barrier;
use tower::Layer;

#[derive(ClsStore, Clone, Default)]
struct WireStore {
    tenant: String,
    frames: u32,
}

const CLS: Cls<WireStore> = Cls::new();

/// Bound on every network step a test takes, so that a hang fails instead of blocking CI.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What code inside a request reads: its id and tenant, as `id|tenant`.
fn seen() -> String {
    let id = web::request_id().map_or_else(|| "none".to_owned(), |id| id.to_string());
    let tenant = CLS
        .try_get::<path!(tenant)>()
        .unwrap_or_else(|_| "none".to_owned());
    format!("{id}|{tenant}")
}

fn tenant_of(req: &RequestInfo) -> String {
    let tenant = req.headers().get("x-tenant").and_then(|v| v.to_str().ok());
    tenant.unwrap_or("anonymous").to_owned()
}

fn tenant_setup(req: &RequestInfo, store: &mut WireStore) -> Result<(), Response<Body>> {
    store.tenant = tenant_of(req);
    Ok(())
}

/// Makes every streamed body of a test wait for the others, so that they are all in
/// flight at once; `None` lets each go at its own pace.
type Together = Option<Arc<Barrier>>;

/// The handler's view (`id|tenant|METHOD path version;`), then three chunks produced after
/// it returned, each `id|tenant|n;`, where each chunk counts itself in the store: a chunk
/// sees the write of the one before.
async fn stream(State(together): State<Together>) -> Body {
    let req = web::request().expect("inside a request");
    let head = format!(
        "{}|{} {} {:?};",
        seen(),
        req.method(),
        req.uri().path(),
        req.version()
    );
    CLS.set::<path!(frames)>(10);
    let chunks = futures_util::stream::iter(0..3).then(move |chunk| {
        let together = together.clone();
        async move {
            match (&together, chunk) {
                (Some(barrier), 0) => {
                    barrier.wait().await;
                }
                _ => tokio::task::yield_now().await,
            }
            let n = CLS.update::<path!(frames), _>(|n| {
                *n += 1;
                *n
            });
            Ok::<_, Infallible>(Bytes::from(format!("{}|{n};", seen())))
        }
    });
    Body::from_stream(
        futures_util::stream::once(async move { Ok(Bytes::from(head)) }).chain(chunks),
    )
}

/// What [`stream`] answers for a request with this id and tenant.
fn streamed(id: &str, tenant: &str, version: Version) -> String {
    let head = format!("{id}|{tenant}|GET /stream {version:?};");
    let chunks: String = (11..=13).map(|n| format!("{id}|{tenant}|{n};")).collect();
    head + &chunks
}

fn app(together: Together) -> Router {
    Router::new()
        .route("/stream", get(stream))
        .route("/seen", get(|| async { seen() }))
        .route("/inbound", get(inbound))
        .layer(ClsLayer::<WireStore>::new().setup(tenant_setup))
        .with_state(together)
}

/// The `x-request-id` values in the request the handler got and in the request info, as
/// `handler [..]; info [..]`, non-UTF-8 bytes escaped.
async fn inbound(headers: http::HeaderMap) -> String {
    let values = |headers: &http::HeaderMap| -> Vec<String> {
        headers
            .get_all("x-request-id")
            .iter()
            .map(|v| v.as_bytes().escape_ascii().to_string())
            .collect()
    };
    let info = web::request().expect("inside a request");
    format!(
        "handler {:?}; info {:?}",
        values(&headers),
        values(info.headers())
    )
}

/// An axum server on loopback: HTTP/1.1, and HTTP/2 with prior knowledge (h2c).
async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn tcp(addr: SocketAddr) -> TokioIo<TcpStream> {
    let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
        .await
        .expect("connecting timed out")
        .unwrap();
    TokioIo::new(stream)
}

/// One HTTP/1.1 keep-alive connection.
async fn connect_h1(addr: SocketAddr) -> http1::SendRequest<Empty<Bytes>> {
    let (sender, connection) = tokio::time::timeout(TIMEOUT, http1::handshake(tcp(addr).await))
        .await
        .expect("handshake timed out")
        .unwrap();
    tokio::spawn(connection);
    sender
}

/// One HTTP/2 connection (prior knowledge); clone the sender to open concurrent streams.
async fn connect_h2(addr: SocketAddr) -> http2::SendRequest<Empty<Bytes>> {
    let handshake = http2::handshake(TokioExecutor::new(), tcp(addr).await);
    let (sender, connection) = tokio::time::timeout(TIMEOUT, handshake)
        .await
        .expect("handshake timed out")
        .unwrap();
    tokio::spawn(connection);
    sender
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn id(&self) -> &str {
        self.headers["x-request-id"].to_str().unwrap()
    }
}

fn request(addr: SocketAddr, path: &str, headers: &[(&str, HeaderValue)]) -> Request<Empty<Bytes>> {
    // HTTP/2 wants the scheme and authority in the URI; HTTP/1.1 sends the path only.
    let mut request = Request::get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, value.clone());
    }
    request.body(Empty::new()).unwrap()
}

async fn answer(response: Response<hyper::body::Incoming>) -> Answer {
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn send_h1(
    sender: &mut http1::SendRequest<Empty<Bytes>>,
    request: Request<Empty<Bytes>>,
) -> Answer {
    tokio::time::timeout(TIMEOUT, async {
        sender.ready().await.unwrap();
        answer(sender.send_request(request).await.unwrap()).await
    })
    .await
    .expect("request timed out")
}

async fn send_h2(
    mut sender: http2::SendRequest<Empty<Bytes>>,
    request: Request<Empty<Bytes>>,
) -> Answer {
    tokio::time::timeout(TIMEOUT, async {
        sender.ready().await.unwrap();
        answer(sender.send_request(request).await.unwrap()).await
    })
    .await
    .expect("request timed out")
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap()
}

/// `STREAMS` requests at once on one HTTP/2 connection, which hyper serves each on a task
/// of its own; every body waits for all the others before its first counted chunk, so all
/// are in flight together. Each sees its own id, request and store, in the handler and in
/// every chunk.
async fn http2_streams_of_one_connection_each_see_their_own_request() {
    const STREAMS: usize = 32;
    let addr = serve(app(Some(Arc::new(Barrier::new(STREAMS))))).await;
    let sender = connect_h2(addr).await;
    let streams: Vec<_> = (0..STREAMS)
        .map(|stream| {
            let sender = sender.clone();
            tokio::spawn(async move {
                let tenant = format!("t{stream}");
                let mut headers = vec![("x-tenant", value(&tenant))];
                let own_id = (stream % 2 == 0).then(|| format!("h2-{stream}"));
                if let Some(id) = &own_id {
                    headers.push(("x-request-id", value(id)));
                }
                let answer = send_h2(sender, request(addr, "/stream", &headers)).await;
                assert_eq!(answer.status, StatusCode::OK);
                let id = answer.id().to_owned();
                match own_id {
                    Some(own) => assert_eq!(id, own),
                    None => assert_eq!(id.len(), 36, "a generated id"),
                }
                assert_eq!(answer.body, streamed(&id, &tenant, Version::HTTP_2));
                id
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for stream in streams {
        assert!(ids.insert(stream.await.unwrap()), "ids are unique");
    }
    assert_eq!(ids.len(), STREAMS);
}

#[tokio::test(flavor = "current_thread")]
async fn http2_streams_of_one_connection_each_see_their_own_request_current_thread() {
    http2_streams_of_one_connection_each_see_their_own_request().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_streams_of_one_connection_each_see_their_own_request_multi_thread() {
    http2_streams_of_one_connection_each_see_their_own_request().await;
}

/// Server-sent events produced after the handler returned: each reads its request's id
/// and store when it is produced, and counts itself, so each sees the `set` of the one
/// before.
fn events() -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    CLS.set::<path!(frames)>(0);
    let events = futures_util::stream::iter(0..4).then(|_| async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let n = CLS.update::<path!(frames), _>(|n| {
            *n += 1;
            *n
        });
        Ok(Event::default().data(format!("{}|{n}", seen())))
    });
    Sse::new(events)
}

/// The `data` lines of an event stream.
fn data_lines(body: &str) -> Vec<&str> {
    body.lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_events_each_carry_their_own_request() {
    const CLIENTS: usize = 8;
    let app = Router::new()
        .route("/events", get(|| async { events() }))
        .layer(ClsLayer::<WireStore>::new().setup(tenant_setup));
    let addr = serve(app).await;
    let h2 = connect_h2(addr).await;
    // Half of the clients on connections of their own (HTTP/1.1), half as streams of one
    // HTTP/2 connection.
    let clients: Vec<_> = (0..2 * CLIENTS)
        .map(|client| {
            let h2 = h2.clone();
            tokio::spawn(async move {
                let tenant = format!("sse{client}");
                let id = format!("ev-{client}");
                let headers = [("x-request-id", value(&id)), ("x-tenant", value(&tenant))];
                let request = request(addr, "/events", &headers);
                let answer = if client < CLIENTS {
                    send_h1(&mut connect_h1(addr).await, request).await
                } else {
                    send_h2(h2, request).await
                };
                assert_eq!(answer.headers["content-type"], "text/event-stream");
                assert_eq!(answer.id(), id);
                let expected: Vec<String> = (1..=4).map(|n| format!("{id}|{tenant}|{n}")).collect();
                assert_eq!(data_lines(&answer.body), expected);
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
}

/// 10,000 requests on a multi-thread runtime: 200 HTTP/1.1 keep-alive connections carry
/// 25 requests each, one after the other, while 4 HTTP/2 connections multiplex 1,250
/// streams each, all sent at once. Half bring an id of their own, half get a generated
/// one; every chunk of every streamed body carries its own request's id and tenant, and
/// all ids are distinct. About 410 sockets are open at the peak (client and server ends),
/// well under the usual 1,024 descriptors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_over_http1_keep_alive_and_http2_never_see_each_other() {
    const H1_CONNECTIONS: usize = 200;
    const H1_REQUESTS: usize = 25;
    const H2_CONNECTIONS: usize = 4;
    const H2_STREAMS: usize = 1_250;
    let addr = serve(app(None)).await;

    let expect = |answer: Answer, own_id: Option<String>, tenant: &str, version| {
        assert_eq!(answer.status, StatusCode::OK);
        let id = answer.id().to_owned();
        if let Some(own) = own_id {
            assert_eq!(id, own);
        }
        assert_eq!(answer.body, streamed(&id, tenant, version));
        id
    };
    let headers = |tenant: &str, own_id: &Option<String>| {
        let mut headers = vec![("x-tenant", value(tenant))];
        if let Some(id) = own_id {
            headers.push(("x-request-id", value(id)));
        }
        headers
    };

    let mut tasks = Vec::new();
    for conn in 0..H1_CONNECTIONS {
        tasks.push(tokio::spawn(async move {
            let mut sender = connect_h1(addr).await;
            let mut ids = Vec::with_capacity(H1_REQUESTS);
            for k in 0..H1_REQUESTS {
                let tenant = format!("h1-{conn}-{k}");
                let own_id = (k % 2 == 0).then(|| format!("i{conn}-{k}"));
                let request = request(addr, "/stream", &headers(&tenant, &own_id));
                let answer = send_h1(&mut sender, request).await;
                ids.push(expect(answer, own_id, &tenant, Version::HTTP_11));
            }
            ids
        }));
    }
    for conn in 0..H2_CONNECTIONS {
        let sender = connect_h2(addr).await;
        let streams: Vec<_> = (0..H2_STREAMS)
            .map(|k| {
                let sender = sender.clone();
                tokio::spawn(async move {
                    let tenant = format!("h2-{conn}-{k}");
                    let own_id = (k % 2 == 0).then(|| format!("s{conn}-{k}"));
                    let request = request(addr, "/stream", &headers(&tenant, &own_id));
                    let answer = send_h2(sender, request).await;
                    expect(answer, own_id, &tenant, Version::HTTP_2)
                })
            })
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(H2_STREAMS);
            for stream in streams {
                ids.push(stream.await.unwrap());
            }
            ids
        }));
    }

    let mut ids = HashSet::new();
    for task in tasks {
        for id in task.await.unwrap() {
            assert!(ids.insert(id), "ids are unique");
        }
    }
    assert_eq!(
        ids.len(),
        H1_CONNECTIONS * H1_REQUESTS + H2_CONNECTIONS * H2_STREAMS
    );
    assert_eq!(ids.len(), 10_000);
}

/// Whether the layer's default policy ([`web::Trust::IfValid`]) keeps this id.
fn is_valid_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// Inbound `x-request-id` values: valid ones, and each kind of hostile one. None has
/// whitespace at its ends, which parsers trim, so what is sent is what the server reads.
fn inbound_id() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let hostile_char = || prop::sample::select(&[b' ', b'"', b'=', b'\'', b';', b','][..]);
    let obs_text = prop::collection::vec(prop_oneof![0x80_u8..=0xff, 0x21_u8..=0x7e], 0..16);
    prop_oneof![
        3 => "[A-Za-z0-9._:-]{1,128}".prop_map(String::into_bytes),
        1 => Just(Vec::new()),
        1 => "[A-Za-z0-9._:-]{129,8192}".prop_map(String::into_bytes),
        2 => ("[A-Za-z0-9]{1,8}", hostile_char(), "[A-Za-z0-9]{1,8}").prop_map(|(a, c, b)| {
            let mut id = a.into_bytes();
            id.push(c);
            id.extend(b.into_bytes());
            id
        }),
        1 => ("[A-Za-z0-9._:-]{1,8}", "\"[a-z=]{0,8}\"").prop_map(|(a, q)| (a + &q).into_bytes()),
        2 => (obs_text, 0x80_u8..=0xff, "[a-z0-9]{1,8}").prop_map(|(mut id, high, tail)| {
            id.push(high);
            id.extend(tail.into_bytes());
            id
        }),
    ]
}

/// Hostile inbound ids, drawn at random, over HTTP/1.1 (a connection per case) and over
/// one shared HTTP/2 connection, to one server: it never panics, the response carries one
/// valid id, the handler saw that id, an invalid inbound value is never echoed, and a
/// valid id sent once is kept. A refused value reaches neither the handler's request
/// (which holds the generated id instead) nor the request info (which holds no id).
/// No header, an empty one, 8 KiB, spaces, quotes, `=`, non-UTF-8 bytes, and the header
/// twice.
#[test]
fn hostile_inbound_ids_over_the_wire_never_panic_and_are_never_echoed() {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (addr, h2) = runtime.block_on(async {
        let addr = serve(app(None)).await;
        (addr, connect_h2(addr).await)
    });

    let config = Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    };
    let sent_ids = proptest::collection::vec(inbound_id(), 0..=2);
    let mut runner = TestRunner::new(config);
    let result = runner.run(&sent_ids, |sent| {
        let headers: Vec<(&str, HeaderValue)> = sent
            .iter()
            .map(|bytes| ("x-request-id", HeaderValue::from_bytes(bytes).unwrap()))
            .collect();
        let kept = match sent.as_slice() {
            [only] if is_valid_id(only) => Some(only.clone()),
            _ => None,
        };
        let answers = runtime.block_on(async {
            let mut h1 = connect_h1(addr).await;
            let mut answers = Vec::new();
            for path in ["/seen", "/inbound"] {
                answers.push(send_h1(&mut h1, request(addr, path, &headers)).await);
                answers.push(send_h2(h2.clone(), request(addr, path, &headers)).await);
            }
            answers
        });
        let (seen, inbound) = answers.split_at(2);
        for answer in inbound {
            let id = answer.id();
            let info = match &kept {
                Some(_) => format!("[{id:?}]"),
                None => "[]".to_owned(),
            };
            proptest::prop_assert_eq!(&answer.body, &format!("handler [{id:?}]; info {info}"));
        }
        for answer in seen {
            let echoed = answer.headers.get_all("x-request-id");
            proptest::prop_assert_eq!(answer.status, StatusCode::OK);
            proptest::prop_assert_eq!(echoed.iter().count(), 1);
            let id = answer.headers["x-request-id"].as_bytes();
            proptest::prop_assert!(is_valid_id(id), "{:?}", answer.headers);
            proptest::prop_assert_eq!(&answer.body, &format!("{}|anonymous", answer.id()));
            match &kept {
                Some(kept) => proptest::prop_assert_eq!(id, kept.as_slice()),
                None => {
                    proptest::prop_assert_eq!(id.len(), 36, "a generated id");
                    if sent.iter().any(|sent| sent.as_slice() == id) {
                        return Err(TestCaseError::fail(format!("{sent:?} echoed")));
                    }
                }
            }
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }

    // Still serving, on the shared connection too.
    let last = runtime.block_on(send_h2(h2, request(addr, "/seen", &[])));
    assert_eq!(last.body, format!("{}|anonymous", last.id()));
}

/// Setups that panic for the tenant `panic`, after writing the store.
fn panicking_setup(req: &RequestInfo, store: &mut WireStore) -> Result<(), Response<Body>> {
    store.tenant = tenant_of(req);
    assert_ne!(store.tenant, "panic", "setup panicked on purpose");
    Ok(())
}

async fn panicking_setup_async(req: RequestInfo) -> Result<(), Response<Body>> {
    CLS.set::<path!(tenant)>(tenant_of(&req));
    tokio::task::yield_now().await;
    assert_ne!(
        CLS.get::<path!(tenant)>(),
        "panic",
        "async setup panicked on purpose"
    );
    Ok(())
}

/// A panicking setup under a `CatchPanicLayer` placed outside the `ClsLayer`: the client
/// gets the 500, without an id header (the response is made outside the layer, which
/// never finished opening the request), and the server goes on: the next requests, on
/// the same connection and the same thread, get fresh contexts. The runtime has one
/// thread, so a context left installed by the unwinding would show in the next request
/// and in this test's own task.
async fn a_panicking_setup_answers_500_and_the_next_requests_start_afresh(app: Router) {
    use tower_http::catch_panic::CatchPanicLayer;

    let addr = serve(app.layer(CatchPanicLayer::new())).await;
    let mut conn = connect_h1(addr).await;
    for round in 0..2 {
        let own = format!("ok-{round}");
        let panicked = send_h1(
            &mut conn,
            request(
                addr,
                "/seen",
                &[
                    ("x-request-id", value(&format!("p-{round}"))),
                    ("x-tenant", value("panic")),
                ],
            ),
        )
        .await;
        assert_eq!(panicked.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(panicked.headers.get("x-request-id").is_none());
        assert_eq!(web::request_id(), None);
        assert!(!CLS.is_active());

        let next = send_h1(
            &mut conn,
            request(addr, "/seen", &[("x-request-id", value(&own))]),
        )
        .await;
        assert_eq!((next.status, next.id()), (StatusCode::OK, own.as_str()));
        assert_eq!(next.body, format!("{own}|anonymous"));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_panicking_setup_under_catch_panic_answers_500_and_the_server_goes_on() {
    let app = Router::new()
        .route("/seen", get(|| async { seen() }))
        .layer(ClsLayer::<WireStore>::new().setup(panicking_setup));
    a_panicking_setup_answers_500_and_the_next_requests_start_afresh(app).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_panicking_setup_async_under_catch_panic_answers_500_and_the_server_goes_on() {
    let app = Router::new()
        .route("/seen", get(|| async { seen() }))
        .layer(ClsLayer::<WireStore>::new().setup_async(panicking_setup_async));
    a_panicking_setup_answers_500_and_the_next_requests_start_afresh(app).await;
}

/// How each connection a [`serve_tower`] server accepted ended.
type ConnectionEnds = tokio::sync::mpsc::UnboundedReceiver<Result<(), tower::BoxError>>;

/// A plain tower service (no axum) served by hyper on loopback, HTTP/1.1 or h2c as the
/// client chooses.
async fn serve_tower<S, B>(service: S) -> (SocketAddr, ConnectionEnds)
where
    S: tower::Service<Request<hyper::body::Incoming>, Response = Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<tower::BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<tower::BoxError>,
{
    use hyper_util::server::conn::auto;
    use hyper_util::service::TowerToHyperService;

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (ended, ends) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(service.clone());
            let ended = ended.clone();
            tokio::spawn(async move {
                let result = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                let _ = ended.send(result);
            });
        }
    });
    (addr, ends)
}

/// Answers what its `call` saw and what its future saw, as `call id|tenant; future id|tenant`.
fn probe_service() -> impl tower::Service<
    Request<hyper::body::Incoming>,
    Response = Response<String>,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<Response<String>, Infallible>> + Send,
> + Clone
       + Send
       + 'static {
    tower::service_fn(|_: Request<hyper::body::Incoming>| {
        let at_call = seen();
        async move {
            tokio::task::yield_now().await;
            Ok(Response::new(format!("call {at_call}; future {}", seen())))
        }
    })
}

fn string_setup(req: &RequestInfo, store: &mut WireStore) -> Result<(), Response<String>> {
    store.tenant = tenant_of(req);
    Ok(())
}

/// `tower::buffer::Buffer` calls its inner service on a worker task of its own, and hands
/// the returned future back to the caller, which polls it.
///
/// - A `ClsLayer` below (inside) the buffer: its `call` runs on the worker, opens the
///   context there, and the future it returns carries that context to the caller's task:
///   the inner service sees the request in `call` and in its future.
/// - A `ClsLayer` above (outside) the buffer: the context is installed while the buffer's
///   `call` queues the request, but the inner service's `call` runs later on the worker,
///   outside any context: work done there (reading the id, `cls_core::spawn`) sees no
///   request. Its future is polled inside the layer's future, so it sees the request.
///   axum handlers run in their future, so they would still see it; a service that
///   does its work in `call` would not. Hence: put the layer below any `Buffer`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_below_a_buffer_covers_call_and_future_one_above_only_the_future() {
    use tower::buffer::Buffer;

    let below = Buffer::new(
        ClsLayer::<WireStore>::new()
            .setup(string_setup)
            .layer(probe_service()),
        16,
    );
    let above = ClsLayer::<WireStore>::new()
        .setup(string_setup)
        .layer(Buffer::new(probe_service(), 16));
    let headers = [
        ("x-request-id", value("buf-1")),
        ("x-tenant", value("acme")),
    ];

    let (addr, _) = serve_tower(below).await;
    let answer = send_h1(&mut connect_h1(addr).await, request(addr, "/", &headers)).await;
    assert_eq!(answer.id(), "buf-1");
    assert_eq!(answer.body, "call buf-1|acme; future buf-1|acme");

    let (addr, _) = serve_tower(above).await;
    let answer = send_h1(&mut connect_h1(addr).await, request(addr, "/", &headers)).await;
    assert_eq!(answer.id(), "buf-1");
    assert_eq!(answer.body, "call none|none; future buf-1|acme");
}

/// Whether `error` or one of its sources reads `text`.
fn error_chain_mentions(error: &(dyn std::error::Error + 'static), text: &str) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.to_string().contains(text) {
            return true;
        }
        next = error.source();
    }
    false
}

/// A plain tower service (no axum) that fails on `/fail`, behind a `ClsLayer`, served by
/// hyper: the inner error, made inside the request's context, passes through the layer
/// unchanged to hyper, which ends the exchange as it always does: over HTTP/1.1 the
/// connection closes without a response (the error is what the connection ends with);
/// over HTTP/2 only that stream is reset, and the connection serves the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inner_service_error_reaches_hyper_unchanged() {
    let failing = tower::service_fn(|req: Request<hyper::body::Incoming>| async move {
        tokio::task::yield_now().await;
        if req.uri().path() == "/fail" {
            return Err(format!("failed in {}", seen()));
        }
        Ok(Response::new(seen()))
    });
    let service = ClsLayer::<WireStore>::new()
        .setup(string_setup)
        .layer(failing);
    let (addr, mut ends) = serve_tower(service).await;
    let fail = |id: &str| {
        request(
            addr,
            "/fail",
            &[("x-request-id", value(id)), ("x-tenant", value("acme"))],
        )
    };

    let mut h1 = connect_h1(addr).await;
    let sent = tokio::time::timeout(TIMEOUT, h1.send_request(fail("f-1")))
        .await
        .expect("request timed out");
    let error = sent.expect_err("no response after an inner error");
    assert!(error.is_incomplete_message(), "{error:?}");
    let ended = tokio::time::timeout(TIMEOUT, ends.recv())
        .await
        .expect("the connection ended")
        .unwrap();
    let error = ended.expect_err("the connection ends with the service's error");
    assert!(
        error_chain_mentions(&*error, "failed in f-1|acme"),
        "{error:?}"
    );

    let mut h2 = connect_h2(addr).await;
    let sent = tokio::time::timeout(TIMEOUT, h2.send_request(fail("f-2")))
        .await
        .expect("request timed out");
    let error = sent.expect_err("the stream is reset");
    // hyper resets the stream with INTERNAL_ERROR; `h2::Error` is not nameable here.
    let reset = format!("{:?}", error.source());
    assert!(
        reset.contains("Reset") && reset.contains("INTERNAL_ERROR"),
        "{error:?}"
    );
    let next = send_h2(h2, request(addr, "/ok", &[("x-request-id", value("ok-2"))])).await;
    assert_eq!((next.id(), next.body.as_str()), ("ok-2", "ok-2|anonymous"));
}

/// Records what the context holds when it is dropped.
struct DropProbe(tokio::sync::mpsc::UnboundedSender<String>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        let _ = self.0.send(seen());
    }
}

/// An HTTP/2 client cancels one stream mid-body (RST_STREAM): the server drops that body
/// inside its request's context, so destructors in it see the request, and the other
/// streams of the connection go on, each with its own request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_stream_reset_mid_body_drops_the_body_inside_its_context() {
    let (dropped, mut drops) = tokio::sync::mpsc::unbounded_channel();
    let endless = move || {
        let probe = DropProbe(dropped.clone());
        async move {
            let chunks = futures_util::stream::unfold(probe, |probe| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Some((Ok::<_, Infallible>(Bytes::from(seen() + ";")), probe))
            });
            Body::from_stream(chunks)
        }
    };
    let app = Router::new()
        .route("/endless", get(endless))
        .route("/seen", get(|| async { seen() }))
        .layer(ClsLayer::<WireStore>::new().setup(tenant_setup));
    let addr = serve(app).await;
    let mut h2 = connect_h2(addr).await;

    let headers = [
        ("x-request-id", value("rst-1")),
        ("x-tenant", value("acme")),
    ];
    let response = tokio::time::timeout(
        TIMEOUT,
        h2.send_request(request(addr, "/endless", &headers)),
    )
    .await
    .expect("request timed out")
    .unwrap();
    assert_eq!(response.headers()["x-request-id"], "rst-1");
    let mut body = response.into_body();
    let first = tokio::time::timeout(TIMEOUT, body.frame())
        .await
        .expect("first chunk timed out")
        .unwrap()
        .unwrap();
    assert_eq!(first.into_data().unwrap(), "rst-1|acme;");
    drop(body);

    let seen_at_drop = tokio::time::timeout(TIMEOUT, drops.recv())
        .await
        .expect("the body was dropped")
        .unwrap();
    assert_eq!(seen_at_drop, "rst-1|acme");

    let next = send_h2(
        h2,
        request(addr, "/seen", &[("x-request-id", value("rst-2"))]),
    )
    .await;
    assert_eq!(next.body, "rst-2|anonymous");
}
