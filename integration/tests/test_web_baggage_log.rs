//! What a `ClsLayer` tells the logs about inbound `baggage` it drops: one `debug` event per
//! drop, naming the reason, with the client's bytes only ever escaped and cut short. A real
//! axum server on loopback, on a current-thread runtime so the test's subscriber sees the
//! server's events.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use cls_core::web::ClsLayer;
use cls_core::{Cls, ClsStore, Nil};
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tracing_subscriber::fmt::MakeWriter;

#[derive(ClsStore, Clone, Default)]
struct AppStore {
    #[cls(propagate)]
    tenant: String,
    #[cls(propagate = "user.id")]
    user_id: Option<u64>,
}

const CLS: Cls<AppStore> = Cls::new();

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

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap());
        String::from_utf8(bytes).expect("log lines are UTF-8")
    }
}

/// Sends one request with the given `baggage` values (one header each) and returns the body
/// (the store as the handler saw it) and the log lines written meanwhile.
async fn send(
    addr: std::net::SocketAddr,
    capture: &Capture,
    baggage: &[&[u8]],
) -> (String, String) {
    tokio::time::timeout(Duration::from_secs(30), exchange(addr, capture, baggage))
        .await
        .expect("the server answered in time")
}

async fn exchange(
    addr: std::net::SocketAddr,
    capture: &Capture,
    baggage: &[&[u8]],
) -> (String, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let mut request = Request::get("/").header("host", "a");
    for value in baggage {
        request = request.header("baggage", http::HeaderValue::from_bytes(value).unwrap());
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "a bad baggage never refuses the request"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (String::from_utf8(body.to_vec()).unwrap(), capture.take())
}

#[tokio::test(flavor = "current_thread")]
async fn each_dropped_member_is_one_escaped_debug_event() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let app = Router::new()
        .route(
            "/",
            get(|| async {
                CLS.with::<Nil, _>(|s| format!("tenant={:?} user={:?}", s.tenant, s.user_id))
            }),
        )
        .layer(ClsLayer::<AppStore>::new());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // A clean header: nothing to report.
    let (seen, logs) = send(addr, &capture, &[b"tenant=acme,user.id=7"]).await;
    assert_eq!(seen, r#"tenant="acme" user=Some(7)"#);
    assert!(!logs.contains("cls_core::web::baggage"), "{logs}");

    // A decoded newline, an unparsable id, its duplicate (the first wins, even when it does
    // not parse) and an invalid escape, over two headers.
    let (seen, logs) = send(
        addr,
        &capture,
        &[b"tenant=a%0Aforged-line,user.id=abc", b"user.id=5, x=%ZZ"],
    )
    .await;
    assert_eq!(seen, r#"tenant="" user=None"#);
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("cls_core::web::baggage"))
        .collect();
    assert_eq!(lines.len(), 4, "one event per drop: {logs}");
    assert!(lines.iter().all(|l| l.contains("DEBUG")), "{logs}");
    assert!(
        lines[0].contains(r#""tenant=a%0Aforged-line""#) && lines[0].contains("control character"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("same key"), "{}", lines[1]);
    assert!(lines[2].contains("`%` escape"), "{}", lines[2]);
    assert!(
        lines[3].contains("`user.id`") && !lines[3].contains("abc"),
        "the parse error names the key, never the value: {}",
        lines[3]
    );
    assert!(
        !logs.lines().any(|l| l.starts_with("forged-line")),
        "{logs}"
    );

    // Raw bytes that are not even UTF-8 are shown escaped.
    let (_, logs) = send(addr, &capture, &[b"tenant=\xff\xfe\tx"]).await;
    assert!(logs.contains(r#""tenant=\xff\xfe\tx""#), "{logs}");
    assert!(!logs.contains('\t'), "no raw control byte: {logs:?}");

    // Past the limits: one event, and nothing is used.
    let many = (0..65)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join(",");
    let header = format!("tenant=acme,{many}");
    let (seen, logs) = send(addr, &capture, &[header.as_bytes()]).await;
    assert_eq!(seen, r#"tenant="" user=None"#);
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("cls_core::web::baggage"))
        .collect();
    assert_eq!(lines.len(), 1, "{logs}");
    assert!(
        lines[0].contains("66 list members") && lines[0].contains("no member used"),
        "{}",
        lines[0]
    );
}
