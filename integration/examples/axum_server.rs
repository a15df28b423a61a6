//! An axum service with one context per request: a tenant read in `setup`, a handler and a
//! streamed body that read the id and the tenant without parameters, an outbound call
//! that carries the id to the next service through `PropagateLayer`, and an audit line
//! written by `after()` work once the response is sent. Its log lines go through
//! `ClsFormat`, so every line written inside a request ends with its id and tenant.
//!
//! By default it starts on a free loopback port, sends itself a few requests, prints what
//! each one saw and exits:
//!
//! ```text
//! cargo run --example axum_server
//! cargo run --example axum_server -- --serve     # keeps serving; try curl -H 'x-tenant: acme'
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use cls_core::logging::ClsFormat;
use cls_core::web::{self, ClsLayer, PropagateLayer, RequestInfo, X_REQUEST_ID};
use cls_core::{path, Cls, ClsStore};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tower::{service_fn, Layer, ServiceExt};

/// What the application keeps per request, beside the id and the request itself.
#[derive(ClsStore, Clone, Default)]
struct AppStore {
    #[cls(log)]
    tenant: String,
    lines: u32,
}

const CLS: Cls<AppStore> = Cls::new();

/// What a log line of this service starts with: every line of a request carries its id.
fn log_prefix() -> String {
    let id = web::request_id().map_or_else(|| "-".to_owned(), |id| id.to_string());
    let tenant = CLS.try_get::<path!(tenant)>().unwrap_or_default();
    format!("[{id} {tenant}]")
}

/// The tenant comes from a header; without one, the request is refused before any handler.
// A setup answers with a whole `Response`, as a handler does.
#[allow(clippy::result_large_err)]
fn tenant_from_header(req: &RequestInfo, store: &mut AppStore) -> Result<(), Response<Body>> {
    let tenant = req.headers().get("x-tenant").and_then(|v| v.to_str().ok());
    store.tenant = tenant
        .ok_or_else(|| {
            let mut refused = Response::new(Body::from("an x-tenant header is required\n"));
            *refused.status_mut() = StatusCode::UNAUTHORIZED;
            refused
        })?
        .to_owned();
    Ok(())
}

/// The audit trail, written after each `/orders` response is sent.
type Audit = mpsc::UnboundedSender<String>;

async fn orders(audit: Audit) -> String {
    let route = web::request().and_then(|req| req.matched_path().map(str::to_owned));
    // The client does not wait for this: it runs once the response is sent, still
    // inside (a copy of) this request's context.
    tracing::info!(
        route = route.as_deref().unwrap_or_default(),
        "listing orders"
    );
    web::after(async move {
        tracing::info!("response sent; writing the audit line");
        let line = format!("{} audit: orders listed", log_prefix());
        audit.send(line).unwrap();
    });
    format!(
        "{} orders, route {}\n",
        log_prefix(),
        route.unwrap_or_default()
    )
}

/// Lines produced after the handler returned, each one in the request's context.
async fn report() -> Body {
    let lines = futures_util::stream::iter(0..3).then(|_| async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let n = CLS.update::<path!(lines), _>(|n| {
            *n += 1;
            *n
        });
        tracing::info!(line = n, "report line produced after the handler returned");
        Ok::<_, Infallible>(Bytes::from(format!("{} report line {n}\n", log_prefix())))
    });
    Body::from_stream(lines)
}

/// Calls `/whoami` on the same server, as a call to another service would. The client
/// goes through `PropagateLayer`, which puts the current request's id on the outbound
/// request: nothing here passes it.
async fn outbound(addr: SocketAddr) -> String {
    let client = PropagateLayer::new().layer(service_fn(move |request| send(addr, request)));
    let request = Request::get("/whoami")
        .header("host", "localhost")
        .header("x-tenant", CLS.get::<path!(tenant)>())
        .body(Empty::<Bytes>::new())
        .unwrap();
    tracing::info!("calling /whoami");
    let (_, body) = client.oneshot(request).await.unwrap();
    format!("{} called /whoami, which saw: {body}", log_prefix())
}

async fn whoami() -> String {
    format!("{}\n", log_prefix())
}

fn app(addr: SocketAddr, audit: Audit) -> Router {
    Router::new()
        .route("/orders", get(move || orders(audit.clone())))
        .route("/report", get(report))
        .route("/outbound", get(move || outbound(addr)))
        .route("/whoami", get(whoami))
        .layer(ClsLayer::<AppStore>::new().setup(tenant_from_header))
}

/// One request on a fresh connection, with a bound on how long it may take.
async fn send(
    addr: SocketAddr,
    request: Request<Empty<Bytes>>,
) -> Result<(Response<()>, String), Infallible> {
    let exchange = async {
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let response = sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((
            Response::from_parts(parts, ()),
            String::from_utf8_lossy(&body).into_owned(),
        ))
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the request timed out")
        .expect("the request failed");
    Ok(answer)
}

#[tokio::main]
async fn main() {
    // Every line written inside a request ends with `request_id=… tenant=…`.
    tracing_subscriber::fmt()
        .event_format(
            ClsFormat::new(tracing_subscriber::fmt::format().without_time())
                .with_store::<AppStore>(),
        )
        .init();

    let serve_forever = std::env::args().any(|arg| arg == "--serve");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (audit, mut audited) = mpsc::unbounded_channel();
    let server = tokio::spawn({
        let app = app(addr, audit);
        async move { axum::serve(listener, app).await }
    });
    println!("listening on http://{addr}");

    if serve_forever {
        server.await.unwrap().unwrap();
        return;
    }

    let requests: [(&str, &[(&str, &str)]); 5] = [
        (
            "/orders",
            &[("x-tenant", "acme"), ("x-request-id", "lb-7f3a")],
        ),
        (
            "/orders",
            &[("x-tenant", "acme"), ("x-request-id", "bad id\"")],
        ),
        ("/report", &[("x-tenant", "globex")]),
        ("/outbound", &[("x-tenant", "initech")]),
        ("/orders", &[]),
    ];
    for (path, headers) in requests {
        let mut request = Request::get(path).header("host", "localhost");
        for (name, value) in headers {
            request = request.header(*name, HeaderValue::from_str(value).unwrap());
        }
        let Ok((response, body)) = send(addr, request.body(Empty::new()).unwrap()).await;
        println!(
            "\nGET {path} {headers:?}\n  -> {} x-request-id: {}",
            response.status(),
            response.headers()[X_REQUEST_ID].to_str().unwrap(),
        );
        for line in body.lines() {
            println!("  {line}");
        }
    }

    // Each `/orders` request that got past the setup left one audit line, written once
    // its response was sent.
    println!("\nwritten after the responses:");
    for _ in 0..2 {
        let line = tokio::time::timeout(Duration::from_secs(10), audited.recv())
            .await
            .expect("the audit line was not written")
            .unwrap();
        println!("  {line}");
    }
    server.abort();
}
