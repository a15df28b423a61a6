//! `ClsLayer` over real loopback servers: what each part of a request sees, hostile ids,
//! streamed bodies, setup rejections, nesting and concurrency.

// A setup answers with a whole `Response`, as a handler does; clippy would have the error
// boxed in a named function's signature.
#![allow(clippy::result_large_err)]

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use cls_core::web::{self, ClsLayer, PropagateLayer, RequestId, RequestInfo};
use cls_core::{path, Cls, ClsStore};
use futures_util::StreamExt;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tower::{Layer, ServiceExt};

#[derive(ClsStore, Clone, Default)]
struct WebStore {
    tenant: String,
    chunks: u32,
}

const CLS: Cls<WebStore> = Cls::new();

/// Bound on every request a test sends, so that a hang fails instead of blocking CI.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// What code inside a request reads: its id and tenant, as `id|tenant`.
fn seen() -> String {
    let id = web::request_id().map_or_else(|| "none".to_owned(), |id| id.to_string());
    let tenant = CLS
        .try_get::<path!(tenant)>()
        .unwrap_or_else(|_| "none".to_owned());
    format!("{id}|{tenant}")
}

/// An extractor of the application's own: runs below the layer, before the handler.
struct SeenByExtractor(String);

impl<St: Send + Sync> FromRequestParts<St> for SeenByExtractor {
    type Rejection = Infallible;

    async fn from_request_parts(_parts: &mut Parts, _state: &St) -> Result<Self, Infallible> {
        Ok(Self(seen()))
    }
}

async fn hello(
    SeenByExtractor(extractor): SeenByExtractor,
    id: RequestId,
    info: RequestInfo,
) -> String {
    assert_eq!(web::request_id(), Some(id));
    format!("{extractor};{};{}", seen(), info.uri().path())
}

async fn spawned() -> String {
    cls_core::spawn(async {
        tokio::task::yield_now().await;
        seen()
    })
    .await
    .unwrap()
}

/// Chunks produced after the handler returned, each `id|tenant|n;`; each chunk counts
/// itself in the store, so a chunk sees the write of the one before.
async fn stream() -> Body {
    CLS.set::<path!(chunks)>(10);
    let chunks = futures_util::stream::iter(0..3).then(|_| async {
        tokio::task::yield_now().await;
        let n = CLS.update::<path!(chunks), _>(|n| {
            *n += 1;
            *n
        });
        Ok::<_, Infallible>(Bytes::from(format!("{}|{n};", seen())))
    });
    Body::from_stream(chunks)
}

fn tenant_setup(req: &RequestInfo, store: &mut WebStore) -> Result<(), Response<Body>> {
    let tenant = req.headers().get("x-tenant").and_then(|v| v.to_str().ok());
    if tenant == Some("blocked") {
        return Err(Response::builder()
            .status(StatusCode::FORBIDDEN)
            .body(Body::from(format!("blocked {}", seen())))
            .unwrap());
    }
    store.tenant = tenant.unwrap_or("anonymous").to_owned();
    Ok(())
}

fn app() -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/spawned", get(spawned))
        .route("/stream", get(stream))
        .route("/fixed", get(|| async { "0123456789" }))
        .layer(ClsLayer::<WebStore>::new().setup(tenant_setup))
}

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// One HTTP/1.1 keep-alive connection.
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

async fn send(
    sender: &mut SendRequest<Empty<Bytes>>,
    path: &str,
    headers: &[(&str, HeaderValue)],
) -> Answer {
    let mut request = Request::get(path).header("host", "localhost");
    for (name, value) in headers {
        request = request.header(*name, value.clone());
    }
    let request = request.body(Empty::new()).unwrap();
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        hyper::client::conn::http1::SendRequest::ready(sender)
            .await
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    })
    .await
    .expect("request timed out")
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap()
}

async fn everything_below_the_layer_sees_the_request() {
    let addr = serve(app()).await;
    let mut conn = connect(addr).await;
    let with_id = [
        ("x-request-id", value("lb-7f3a")),
        ("x-tenant", value("acme")),
    ];

    let hello = send(&mut conn, "/hello", &with_id).await;
    assert_eq!(hello.status, StatusCode::OK);
    assert_eq!(hello.id(), "lb-7f3a");
    assert_eq!(hello.body, "lb-7f3a|acme;lb-7f3a|acme;/hello");

    let spawned = send(&mut conn, "/spawned", &with_id).await;
    assert_eq!(spawned.body, "lb-7f3a|acme");

    let streamed = send(&mut conn, "/stream", &with_id).await;
    assert_eq!(
        streamed.body,
        "lb-7f3a|acme|11;lb-7f3a|acme|12;lb-7f3a|acme|13;"
    );

    let missing = send(&mut conn, "/missing", &with_id).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.id(), "lb-7f3a");

    // No inbound id: one is generated, and it is the one the handler saw.
    let generated = send(&mut conn, "/hello", &[]).await;
    assert_eq!(generated.id().len(), 36);
    let id = generated.id().to_owned();
    assert_eq!(
        generated.body,
        format!("{id}|anonymous;{id}|anonymous;/hello")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn everything_below_the_layer_sees_the_request_current_thread() {
    everything_below_the_layer_sees_the_request().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_below_the_layer_sees_the_request_multi_thread() {
    everything_below_the_layer_sees_the_request().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inbound_ids_are_replaced_and_never_echoed() {
    let addr = serve(app()).await;
    let mut conn = connect(addr).await;
    let long = "a".repeat(8 * 1024);
    let hostile: Vec<Vec<(&str, HeaderValue)>> = vec![
        vec![("x-request-id", value("has space"))],
        vec![("x-request-id", value("\"quoted\""))],
        vec![("x-request-id", value("level=admin"))],
        vec![("x-request-id", value(&long))],
        vec![(
            "x-request-id",
            HeaderValue::from_bytes(b"caf\xe9-\xff").unwrap(),
        )],
        vec![
            ("x-request-id", value("one")),
            ("x-request-id", value("two")),
        ],
        vec![("x-request-id", value(""))],
    ];
    let mut ids = HashSet::new();
    for headers in &hostile {
        let answer = send(&mut conn, "/hello", headers).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.headers.get_all("x-request-id").iter().count(), 1);
        let id = answer.id().to_owned();
        assert_eq!(id.len(), 36, "a generated UUID replaced {headers:?}");
        for (_, sent) in headers {
            assert_ne!(id.as_bytes(), sent.as_bytes());
            if let Ok(text) = sent.to_str().map(str::trim) {
                assert!(
                    text.is_empty() || !answer.body.contains(text),
                    "{text:?} echoed"
                );
            }
        }
        assert_eq!(answer.body, format!("{id}|anonymous;{id}|anonymous;/hello"));
        assert!(ids.insert(id));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_fixed_body_keeps_its_content_length() {
    let addr = serve(app()).await;
    let mut conn = connect(addr).await;
    let fixed = send(&mut conn, "/fixed", &[]).await;
    assert_eq!(fixed.headers["content-length"], "10");
    assert!(fixed.headers.get("transfer-encoding").is_none());
    assert_eq!(fixed.body, "0123456789");

    let streamed = send(&mut conn, "/stream", &[]).await;
    assert_eq!(streamed.headers["transfer-encoding"], "chunked");
}

#[tokio::test(flavor = "current_thread")]
async fn setup_rejection_is_the_response_with_the_id() {
    let addr = serve(app()).await;
    let mut conn = connect(addr).await;
    let headers = [
        ("x-request-id", value("req-9")),
        ("x-tenant", value("blocked")),
    ];
    let rejected = send(&mut conn, "/hello", &headers).await;
    assert_eq!(rejected.status, StatusCode::FORBIDDEN);
    assert_eq!(rejected.id(), "req-9");
    // The setup runs inside the request scope, so it reads the id; the store it fills
    // is not installed yet.
    assert_eq!(rejected.body, "blocked req-9|none");

    let generated = send(&mut conn, "/hello", &[("x-tenant", value("blocked"))]).await;
    assert_eq!(generated.status, StatusCode::FORBIDDEN);
    assert_eq!(generated.id().len(), 36);
}

#[tokio::test(flavor = "current_thread")]
async fn an_inner_layer_of_the_same_store_reuses_the_outer_context() {
    let setups = Arc::new(AtomicUsize::new(0));
    let counting = |setups: Arc<AtomicUsize>| {
        move |_: &RequestInfo, store: &mut WebStore| -> Result<(), Response<Body>> {
            setups.fetch_add(1, Ordering::SeqCst);
            store.tenant = "outer".to_owned();
            Ok(())
        }
    };
    let inner = Router::new()
        .route("/hello", get(hello))
        .layer(ClsLayer::<WebStore>::new().setup(counting(setups.clone())));
    let app = Router::new()
        .nest("/api", inner)
        .layer(ClsLayer::<WebStore>::new().setup(counting(setups.clone())));
    let addr = serve(app).await;
    let mut conn = connect(addr).await;

    let answer = send(&mut conn, "/api/hello", &[]).await;
    let id = answer.id().to_owned();
    assert_eq!(answer.headers.get_all("x-request-id").iter().count(), 1);
    assert_eq!(answer.body, format!("{id}|outer;{id}|outer;/api/hello"));
    assert_eq!(setups.load(Ordering::SeqCst), 1);
}

#[derive(ClsStore, Clone, Default)]
struct AuditStore {
    actor: String,
}

const AUDIT: Cls<AuditStore> = Cls::new();

#[tokio::test(flavor = "current_thread")]
async fn an_inner_layer_of_another_store_shares_the_id_and_sees_the_outer_store() {
    let audited = Router::new()
        .route(
            "/who",
            get(|| async { format!("{};{}", seen(), AUDIT.get::<path!(actor)>()) }),
        )
        .layer(ClsLayer::<AuditStore>::new().setup(
            |req: &RequestInfo, store: &mut AuditStore| -> Result<(), Response<Body>> {
                store.actor = format!("actor-of-{}", req.uri().path());
                Ok(())
            },
        ));
    let app = Router::new()
        .nest("/api", audited)
        .layer(ClsLayer::<WebStore>::new().setup(tenant_setup));
    let addr = serve(app).await;
    let mut conn = connect(addr).await;

    let answer = send(&mut conn, "/api/who", &[("x-tenant", value("acme"))]).await;
    let id = answer.id().to_owned();
    assert_eq!(answer.headers.get_all("x-request-id").iter().count(), 1);
    assert_eq!(answer.body, format!("{id}|acme;actor-of-/api/who"));
}

/// 1,000 connections at once, two requests each over keep-alive, half with an id of their
/// own and half with a generated one: every chunk carries its own request's id and tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_never_see_each_other() {
    const CONNECTIONS: usize = 1_000;
    let addr = serve(app()).await;
    let clients = (0..CONNECTIONS).map(|conn| {
        tokio::spawn(async move {
            let mut sender = connect(addr).await;
            let tenant = format!("t{conn}");
            let own_id = format!("c{conn}-0");
            let first = send(
                &mut sender,
                "/stream",
                &[
                    ("x-request-id", value(&own_id)),
                    ("x-tenant", value(&tenant)),
                ],
            )
            .await;
            let second = send(&mut sender, "/stream", &[("x-tenant", value(&tenant))]).await;
            assert_eq!(first.id(), own_id);
            let mut ids = Vec::new();
            for answer in [first, second] {
                let id = answer.id().to_owned();
                let expected: String = (11..=13).map(|n| format!("{id}|{tenant}|{n};")).collect();
                assert_eq!(answer.body, expected);
                ids.push(id);
            }
            ids
        })
    });
    let clients: Vec<_> = clients.collect();
    let mut ids = HashSet::new();
    for client in clients {
        for id in client.await.unwrap() {
            assert!(ids.insert(id), "ids are unique");
        }
    }
    assert_eq!(ids.len(), 2 * CONNECTIONS);
}

/// A server that calls a second loopback server through `PropagateLayer`: the second one
/// sees the first one's id arrive, and keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagate_layer_carries_the_id_to_the_next_server() {
    let downstream = serve(
        Router::new()
            .route("/whoami", get(|| async { seen() }))
            .layer(ClsLayer::<WebStore>::new().setup(tenant_setup)),
    )
    .await;
    let client = PropagateLayer::new().layer(tower::service_fn(
        move |request: Request<Empty<Bytes>>| async move {
            let mut sender = connect(downstream).await;
            sender.send_request(request).await
        },
    ));
    let upstream = Router::new()
        .route(
            "/call",
            get(move || {
                let client = client.clone();
                async move {
                    let request = Request::get("/whoami")
                        .header("host", "localhost")
                        .body(Empty::new())
                        .unwrap();
                    let response = client.oneshot(request).await.unwrap();
                    let body = response.into_body().collect().await.unwrap().to_bytes();
                    format!(
                        "{} -> {}",
                        seen(),
                        String::from_utf8(body.to_vec()).unwrap()
                    )
                }
            }),
        )
        .layer(ClsLayer::<WebStore>::new().setup(tenant_setup));
    let addr = serve(upstream).await;
    let mut conn = connect(addr).await;

    let answer = send(&mut conn, "/call", &[("x-tenant", value("acme"))]).await;
    let id = answer.id().to_owned();
    assert_eq!(answer.body, format!("{id}|acme -> {id}|anonymous"));
}

#[tokio::test(flavor = "current_thread")]
async fn without_a_layer_the_id_extractor_rejects_with_a_500() {
    let app = Router::new().route("/", get(|id: RequestId| async move { id.to_string() }));
    let addr = serve(app).await;
    let mut conn = connect(addr).await;
    let answer = send(&mut conn, "/", &[("x-request-id", value("r-1"))]).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.body.contains("mount `cls_core::web::ClsLayer`"));
}

#[derive(Debug)]
struct AppError;

impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        (StatusCode::CONFLICT, format!("error {}", seen())).into_response()
    }
}

/// Responses made on error paths below the layer (a handler error's `IntoResponse`, a
/// `HandleErrorLayer` timeout response, a `CatchPanicLayer` response, the user fallback)
/// are made inside the request's context and carry its id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_paths_below_the_layer_see_the_request() {
    use axum::error_handling::HandleErrorLayer;
    use tower::ServiceBuilder;
    use tower_http::catch_panic::CatchPanicLayer;

    let timeouts = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
            (StatusCode::REQUEST_TIMEOUT, format!("timeout {}", seen()))
        }))
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(50)));
    let app = Router::new()
        .route("/error", get(|| async { Err::<String, _>(AppError) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route(
            "/panic",
            get(|| async {
                if seen().ends_with("acme") {
                    panic!("handler panicked on purpose");
                }
                "no panic"
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, format!("fallback {}", seen())) })
        .layer(timeouts)
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                Response::builder()
                    .status(StatusCode::INTERNAL_SERVER_ERROR)
                    .body(Body::from(format!("panic {}", seen())))
                    .unwrap()
            },
        ))
        .layer(ClsLayer::<WebStore>::new().setup(tenant_setup));
    let addr = serve(app).await;
    let mut conn = connect(addr).await;
    let headers = [
        ("x-request-id", value("err-1")),
        ("x-tenant", value("acme")),
    ];

    for (path, status, body) in [
        ("/error", StatusCode::CONFLICT, "error err-1|acme"),
        ("/slow", StatusCode::REQUEST_TIMEOUT, "timeout err-1|acme"),
        (
            "/panic",
            StatusCode::INTERNAL_SERVER_ERROR,
            "panic err-1|acme",
        ),
        ("/nowhere", StatusCode::NOT_FOUND, "fallback err-1|acme"),
    ] {
        let answer = send(&mut conn, path, &headers).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (status, body),
            "{path}"
        );
        assert_eq!(answer.id(), "err-1", "{path}");
    }
}

/// `Router::layer` covers the routes added before it; one added after is outside any
/// request context. Wrapping the whole router covers it.
#[tokio::test(flavor = "current_thread")]
async fn a_route_added_after_the_layer_is_uncovered_unless_the_whole_router_is_wrapped() {
    let routes = || Router::new().route("/before", get(|| async { seen() }));
    let after = routes()
        .layer(ClsLayer::<WebStore>::new())
        .route("/after", get(|| async { seen() }));
    let addr = serve(after).await;
    let mut conn = connect(addr).await;
    let headers = [("x-request-id", value("p-1"))];
    assert_eq!(send(&mut conn, "/before", &headers).await.body, "p-1|");
    let uncovered = send(&mut conn, "/after", &headers).await;
    assert_eq!(uncovered.body, "none|none");
    assert!(uncovered.headers.get("x-request-id").is_none());

    // `axum::serve` takes services that answer with axum's own `Body`.
    let whole = ClsLayer::<WebStore>::new()
        .layer(routes().route("/after", get(|| async { seen() })))
        .map_request(|request: Request<Body>| request)
        .map_response(|response| response.map(Body::new));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let make = axum::ServiceExt::<Request<Body>>::into_make_service(whole);
    tokio::spawn(async move { axum::serve(listener, make).await.unwrap() });
    let mut conn = connect(addr).await;
    let covered = send(&mut conn, "/after", &headers).await;
    assert_eq!((covered.body.as_str(), covered.id()), ("p-1|", "p-1"));
}

/// Records what the context holds when it is dropped.
struct DropProbe(tokio::sync::mpsc::UnboundedSender<String>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        let _ = self.0.send(seen());
    }
}

/// The client goes away after the first chunk of an endless body: the body is dropped
/// inside its request's context, so destructors in it see the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_dropped_by_a_client_disconnect_is_dropped_inside_the_context() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
        .layer(ClsLayer::<WebStore>::new().setup(tenant_setup));
    let addr = serve(app).await;

    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"GET /endless HTTP/1.1\r\nhost: x\r\nx-request-id: cut-1\r\nx-tenant: acme\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = vec![0; 512];
    let read = tokio::time::timeout(REQUEST_TIMEOUT, stream.read(&mut head))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&head[..read]).contains("x-request-id: cut-1"));
    drop(stream);

    let seen_at_drop = tokio::time::timeout(REQUEST_TIMEOUT, drops.recv())
        .await
        .expect("the body was dropped")
        .unwrap();
    assert_eq!(seen_at_drop, "cut-1|acme");
}

/// A plain tower service (no axum) that fails: its future ran inside the context, and the
/// error passes through the layer unchanged.
#[tokio::test(flavor = "current_thread")]
async fn an_inner_service_error_passes_through() {
    let failing = tower::service_fn(|_: Request<()>| async {
        Err::<Response<String>, _>(format!("failed in {}", seen()))
    });
    let service = ClsLayer::<WebStore>::new().layer(failing);
    let request = Request::get("/")
        .header("x-request-id", "e-1")
        .body(())
        .unwrap();
    let err = service.oneshot(request).await.unwrap_err();
    assert_eq!(err, "failed in e-1|");
}

/// An async setup runs inside the new context: it writes the store with `set`, reads the
/// id, may refuse; when the client goes away during it, it is dropped inside the context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_async_runs_inside_the_context_and_is_cancelled_cleanly() {
    use tokio::io::AsyncWriteExt;

    let (dropped, mut drops) = tokio::sync::mpsc::unbounded_channel();
    let layer = ClsLayer::<WebStore>::new().setup_async(move |req: RequestInfo| {
        let probe = DropProbe(dropped.clone());
        async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            match req.headers().get("x-tenant").and_then(|v| v.to_str().ok()) {
                Some("slow") => {
                    CLS.set::<path!(tenant)>("slow".to_owned());
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                Some("blocked") => {
                    let refused = Response::builder()
                        .status(StatusCode::FORBIDDEN)
                        .body(Body::from(format!("refused {}", seen())))
                        .unwrap();
                    return Err(refused);
                }
                tenant => CLS.set::<path!(tenant)>(tenant.unwrap_or("anonymous").to_owned()),
            }
            std::mem::forget(probe);
            Ok(())
        }
    });
    let app = Router::new().route("/hello", get(hello)).layer(layer);
    let addr = serve(app).await;
    let mut conn = connect(addr).await;

    let headers = [("x-request-id", value("a-1")), ("x-tenant", value("acme"))];
    let answer = send(&mut conn, "/hello", &headers).await;
    assert_eq!(answer.body, "a-1|acme;a-1|acme;/hello");
    assert_eq!(answer.id(), "a-1");

    let headers = [
        ("x-request-id", value("a-2")),
        ("x-tenant", value("blocked")),
    ];
    let refused = send(&mut conn, "/hello", &headers).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        (refused.body.as_str(), refused.id()),
        ("refused a-2|", "a-2")
    );
    assert_eq!(
        drops.recv().await.unwrap(),
        "a-2|",
        "the refusing setup dropped its probe"
    );

    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nhost: x\r\nx-request-id: a-3\r\nx-tenant: slow\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(stream);
    let seen_at_drop = tokio::time::timeout(REQUEST_TIMEOUT, drops.recv())
        .await
        .expect("the setup was dropped")
        .unwrap();
    assert_eq!(seen_at_drop, "a-3|slow");
}

#[test]
fn request_id_is_none_outside_a_request() {
    assert_eq!(web::request_id(), None);
    assert!(web::request().is_none());
    let mut job = web::job_context(Some(RequestId::from_static("job-1")));
    assert_eq!(
        job.enter_sync(web::request_id),
        Some(RequestId::from_static("job-1"))
    );
    assert!(job.enter_sync(web::request).is_none());
}
