//! Two services on loopback, A calling B, with the tenant and user id crossing the wire as
//! W3C Baggage and the trace as `traceparent`: no handler passes them.
//!
//! A client sends A a request with `baggage: tenant=acme,user.id=42` and a `traceparent`.
//! A's `ClsLayer` fills A's store from the baggage (only the fields marked
//! `#[cls(propagate)]`, each parsed into its type); A's handler changes the user id, then
//! calls B through `PropagateLayer::new().with_store::<AppStore>()`, which writes the
//! values current at that moment as baggage and a child `traceparent`. B's `ClsLayer`
//! fills B's store the same way, and B answers with what it saw. `note`, which is not
//! propagated, stays in A.
//!
//! ```text
//! cargo run --example two_services
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::http::Request;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use cls_core::web::{self, ClsLayer, PropagateLayer};
use cls_core::{path, Cls, ClsStore};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tower::{service_fn, Layer, ServiceExt};

/// The same store type on both sides: the keys are what the services agree on.
#[derive(ClsStore, Clone, Default)]
struct AppStore {
    /// Baggage key `tenant`.
    #[cls(propagate)]
    tenant: String,
    /// Baggage key `user.id`; not sent while `None`, `Some` when received.
    #[cls(propagate = "user.id")]
    user_id: Option<u64>,
    /// Never leaves the process.
    note: String,
}

const CLS: Cls<AppStore> = Cls::new();

/// One HTTP/1.1 exchange on a new connection; the answer's body as text.
async fn send(addr: SocketAddr, request: Request<Empty<Bytes>>) -> Result<String, Infallible> {
    let exchange = async {
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let body = sender.send_request(request).await?.into_body();
        let body = body.collect().await?.to_bytes();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
            String::from_utf8_lossy(&body).into_owned(),
        )
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the request timed out")
        .expect("the request failed");
    Ok(answer)
}

/// B: answers with its store, its trace context and the baggage header it received.
async fn b_handler(headers: axum::http::HeaderMap) -> String {
    let store = CLS.get::<cls_core::Nil>();
    let trace = web::trace_context().map(|t| format!("{}-{}", t.trace_id(), t.parent_id()));
    format!(
        "B saw tenant={:?} user_id={:?} note={:?}\n  trace (trace id-parent id): {}\n  baggage header: {:?}",
        store.tenant,
        store.user_id,
        store.note,
        trace.unwrap_or_default(),
        headers.get("baggage"),
    )
}

/// A: keeps a note of its own, changes the user id, and calls B.
async fn a_handler(b: SocketAddr) -> String {
    CLS.set::<path!(note)>("private to A".to_owned());
    CLS.set::<path!(user_id)>(Some(7));
    let client = PropagateLayer::new()
        .with_store::<AppStore>()
        .layer(service_fn(move |request| send(b, request)));
    let request = Request::get("/")
        .header("host", b.to_string())
        .body(Empty::new())
        .unwrap();
    client.oneshot(request).await.unwrap()
}

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::main]
async fn main() {
    let b = serve(
        Router::new()
            .route("/", get(b_handler))
            .layer(ClsLayer::<AppStore>::new()),
    )
    .await;
    let a = serve(
        Router::new()
            .route("/", get(move || a_handler(b)))
            .layer(ClsLayer::<AppStore>::new()),
    )
    .await;

    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let request = Request::get("/")
        .header("host", a.to_string())
        .header("baggage", "tenant=acme,user.id=42,note=forged")
        .header("traceparent", traceparent)
        .body(Empty::new())
        .unwrap();
    println!("client -> A: baggage tenant=acme,user.id=42,note=forged; traceparent {traceparent}");
    println!("A sets user_id = Some(7), then calls B");
    let seen = send(a, request).await.unwrap();
    println!("{seen}");
    assert!(
        seen.contains(r#"tenant="acme" user_id=Some(7) note="""#),
        "{seen}"
    );
    assert!(seen.contains("4bf92f3577b34da6a3ce929d0e0e4736-"), "{seen}");
}
