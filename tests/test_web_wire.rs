//! `ClsLayer` on the wire, beyond `tests/test_web_layer.rs`: HTTP/2 streams, server-sent
//! events, 10,000 requests over HTTP/1.1 keep-alive and HTTP/2, hostile id headers by
//! property test, panicking setups, `tower::buffer::Buffer` placement, and a plain tower
//! service whose error reaches hyper.

// A setup answers with a whole `Response`, as a handler does; clippy would have the error
// boxed in a named function's signature.
#![allow(clippy::result_large_err)]

use std::collections::HashSet;
use std::convert::Infallible;
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
        .layer(ClsLayer::<WireStore>::new().setup(tenant_setup))
        .with_state(together)
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
/// valid id sent once is kept. No header, an empty one, 8 KiB, spaces, quotes, `=`,
/// non-UTF-8 bytes, and the header twice.
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
            let over_h1 = send_h1(
                &mut connect_h1(addr).await,
                request(addr, "/seen", &headers),
            )
            .await;
            let over_h2 = send_h2(h2.clone(), request(addr, "/seen", &headers)).await;
            [over_h1, over_h2]
        });
        for answer in answers {
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
