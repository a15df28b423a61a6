//! `web::after`: work put off until the response is done, over real loopback servers.
//!
//! The loopback tests hold a response open and check that its work has not run yet; on a
//! multi-thread runtime that check can only miss an early start, never fail a correct
//! one. `the_work_waits_for_the_last_frame` proves the order deterministically, on a
//! current-thread runtime where a task spawned too early would run at the next yield.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use cls_core::web::{self, ClsLayer, RequestId, RequestInfo};
use cls_core::{path, Cls, ClsStore, Terminal};
use futures_util::StreamExt;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};

#[derive(ClsStore, Clone, Default)]
struct AfterStore {
    tenant: String,
    step: u32,
    witness: Option<Terminal<Arc<()>>>,
}

const CLS: Cls<AfterStore> = Cls::new();

/// Bound on every wait, so that a hang fails instead of blocking CI.
const TIMEOUT: Duration = Duration::from_secs(20);

type Seen = mpsc::UnboundedSender<String>;

/// What code reads in the current context: `id|tenant|step`.
fn seen() -> String {
    let id = web::request_id().map_or_else(|| "none".to_owned(), |id| id.to_string());
    let tenant = CLS
        .try_get::<path!(tenant)>()
        .unwrap_or_else(|_| "none".into());
    let step = CLS.try_get::<path!(step)>().map_or(0, |step| step);
    format!("{id}|{tenant}|{step}")
}

/// Registers work that reports what it sees, prefixed with `label`.
fn report_after(label: &'static str, to: &Seen) {
    let to = to.clone();
    web::after(async move {
        tokio::task::yield_now().await;
        to.send(format!("{label}:{}", seen())).unwrap();
    });
}

// A setup answers with a whole `Response`, as a handler does.
#[allow(clippy::result_large_err)]
fn tenant_setup(req: &RequestInfo, store: &mut AfterStore) -> Result<(), Response<Body>> {
    let tenant = req.headers().get("x-tenant").and_then(|v| v.to_str().ok());
    store.tenant = tenant.unwrap_or("anonymous").to_owned();
    Ok(())
}

async fn serve(router: Router) -> SocketAddr {
    let app = router.layer(ClsLayer::<AfterStore>::new().setup(tenant_setup));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn next(reports: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(TIMEOUT, reports.recv())
        .await
        .expect("the `after` work did not run")
        .unwrap()
}

/// Sends `GET path` with the given id and tenant on a new connection; returns the
/// response with its body still to read.
async fn get_on(addr: SocketAddr, path: &str, id: &str) -> Response<hyper::body::Incoming> {
    tokio::time::timeout(TIMEOUT, async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::get(path)
            .header("host", "localhost")
            .header("x-request-id", id)
            .header("x-tenant", "acme")
            .body(Empty::<Bytes>::new())
            .unwrap();
        sender.send_request(request).await.unwrap()
    })
    .await
    .expect("the request timed out")
}

/// Writes a raw request and waits for the first bytes of the answer.
async fn raw_request(addr: SocketAddr, path: &str, id: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: x\r\nx-request-id: {id}\r\nx-tenant: acme\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// The work starts only once the body has sent its last frame, and sees the context as
/// it was at the call: a write made after the call is not seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_work_runs_once_the_body_is_done_in_a_copy_of_the_context() {
    let (to, mut reports) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let handler = {
        let release = release.clone();
        move || async move {
            CLS.set::<path!(step)>(1);
            report_after("first", &to);
            CLS.set::<path!(step)>(2);
            report_after("second", &to);
            let chunks = futures_util::stream::unfold(0, move |n| {
                let release = release.clone();
                async move {
                    match n {
                        0 => Some((Ok::<_, Infallible>(Bytes::from("head;")), 1)),
                        1 => {
                            release.notified().await;
                            Some((Ok(Bytes::from(seen())), 2))
                        }
                        _ => None,
                    }
                }
            });
            Body::from_stream(chunks)
        }
    };
    let addr = serve(Router::new().route("/stream", get(handler))).await;

    let response = get_on(addr, "/stream", "a-1").await;
    assert_eq!(response.headers()["x-request-id"], "a-1");
    let mut body = response.into_body();
    let first = tokio::time::timeout(TIMEOUT, body.frame()).await.unwrap();
    assert_eq!(first.unwrap().unwrap().into_data().unwrap(), "head;");
    assert!(
        reports.try_recv().is_err(),
        "the work is started only when the body is done"
    );

    release.notify_one();
    let rest = tokio::time::timeout(TIMEOUT, body.collect()).await.unwrap();
    assert_eq!(rest.unwrap().to_bytes(), "a-1|acme|2");
    let mut both = [next(&mut reports).await, next(&mut reports).await];
    both.sort();
    assert_eq!(both, ["first:a-1|acme|1", "second:a-1|acme|2"]);
}

/// A client that goes away mid-stream: the dropped body starts the work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_work_runs_when_the_client_leaves_mid_stream() {
    let (to, mut reports) = mpsc::unbounded_channel();
    let endless = move || async move {
        report_after("cut", &to);
        let chunks = futures_util::stream::repeat_with(|| Ok::<_, Infallible>(Bytes::from("x")))
            .then(|chunk| async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                chunk
            });
        Body::from_stream(chunks)
    };
    let addr = serve(Router::new().route("/endless", get(endless))).await;

    let mut stream = raw_request(addr, "/endless", "cut-1").await;
    let mut head = vec![0; 256];
    tokio::time::timeout(TIMEOUT, stream.read(&mut head))
        .await
        .unwrap()
        .unwrap();
    assert!(reports.try_recv().is_err(), "the body is still streaming");
    drop(stream);

    assert_eq!(next(&mut reports).await, "cut:cut-1|acme|0");
}

/// The client leaves before the handler answered: the request is cancelled, and its work
/// still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_work_runs_when_the_request_is_cancelled_before_its_response() {
    let (to, mut reports) = mpsc::unbounded_channel();
    let (reached, mut handler_reached) = mpsc::unbounded_channel();
    let stuck = move || async move {
        report_after("cancelled", &to);
        reached.send(()).unwrap();
        std::future::pending::<()>().await;
        "never"
    };
    let addr = serve(Router::new().route("/stuck", get(stuck))).await;

    let stream = raw_request(addr, "/stuck", "gone-1").await;
    tokio::time::timeout(TIMEOUT, handler_reached.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(reports.try_recv().is_err(), "the request is still running");
    drop(stream);

    assert_eq!(next(&mut reports).await, "cancelled:gone-1|acme|0");
}

/// A panic in one piece of work ends that work alone: the other work of the request
/// runs, and the server goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_after_work_is_contained() {
    let (to, mut reports) = mpsc::unbounded_channel();
    let handler = move || async move {
        web::after(async { panic!("after work failed on purpose") });
        report_after("survivor", &to);
        seen()
    };
    let addr = serve(Router::new().route("/", get(handler))).await;

    for id in ["p-1", "p-2"] {
        let response = get_on(addr, "/", id).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("{id}|acme|0"));
        assert_eq!(next(&mut reports).await, format!("survivor:{id}|acme|0"));
    }
}

/// Work registered once the response is done (by a task the request spawned that
/// outlives it) starts at once, in that task's context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_called_once_the_response_is_done_runs_at_once() {
    let (to, mut reports) = mpsc::unbounded_channel();
    let later = Arc::new(Notify::new());
    let handler = {
        let later = later.clone();
        move || async move {
            let later = later.clone();
            cls_core::spawn(async move {
                later.notified().await;
                CLS.set::<path!(step)>(9);
                report_after("late", &to);
            });
            "done"
        }
    };
    let addr = serve(Router::new().route("/", get(handler))).await;

    let response = get_on(addr, "/", "late-1").await;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "done");
    later.notify_one();
    assert_eq!(next(&mut reports).await, "late:late-1|acme|9");
}

/// An async setup that registers work and then refuses the request: the refusal is the
/// response, and the work runs once it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_work_of_a_refused_request_runs() {
    let (to, mut reports) = mpsc::unbounded_channel();
    let layer = ClsLayer::<AfterStore>::new().setup_async(move |_: RequestInfo| {
        let to = to.clone();
        async move {
            report_after("refused", &to);
            Err(Response::builder()
                .status(StatusCode::FORBIDDEN)
                .body(Body::empty())
                .unwrap())
        }
    });
    let app = Router::new()
        .route("/", get(|| async { "unreachable" }))
        .layer(layer);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let response = get_on(addr, "/", "no-1").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()["x-request-id"], "no-1");
    assert_eq!(next(&mut reports).await, "refused:no-1||0");
}

/// Outside a request served by the layer there is no response to wait for: the work
/// starts at once, with the contexts active at the call.
#[tokio::test(flavor = "current_thread")]
async fn after_outside_a_served_request_runs_at_once() {
    let (to, mut reports) = mpsc::unbounded_channel();

    report_after("bare", &to);
    assert_eq!(next(&mut reports).await, "bare:none|none|0");

    let job = web::job_context(Some(RequestId::from_static("job-1")));
    let store = AfterStore {
        tenant: "batch".into(),
        step: 3,
        witness: None,
    };
    job.join(CLS.context(store))
        .run(async { report_after("job", &to) })
        .await;
    assert_eq!(next(&mut reports).await, "job:job-1|batch|3");
}

/// The queued work holds a copy of the request's context, which holds the queue: starting
/// the work must end that cycle, so the request's store is freed once the work is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_work_leaves_nothing_behind() {
    let (to, mut reports) = mpsc::unbounded_channel();
    let (weak_to, mut weak) = mpsc::unbounded_channel();
    let handler = move || async move {
        let witness = Arc::new(());
        weak_to.send(Arc::downgrade(&witness)).unwrap();
        CLS.set::<path!(witness)>(Some(Terminal::new(witness)));
        report_after("held", &to);
        report_after("held", &to);
        "ok"
    };
    let addr = serve(Router::new().route("/", get(handler))).await;

    let response = get_on(addr, "/", "leak-1").await;
    response.into_body().collect().await.unwrap();
    assert_eq!(next(&mut reports).await, "held:leak-1|acme|0");
    assert_eq!(next(&mut reports).await, "held:leak-1|acme|0");
    let witness = weak.recv().await.unwrap();
    tokio::time::timeout(TIMEOUT, async {
        while witness.upgrade().is_some() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("a copy of the request's store outlived its work");
}

async fn yield_a_few_times() {
    for _ in 0..5 {
        tokio::task::yield_now().await;
    }
}

/// A body of two frames, the second held until `release` is notified.
fn held_body(release: Arc<Notify>) -> Body {
    let chunks = futures_util::stream::unfold(0, move |n| {
        let release = release.clone();
        async move {
            match n {
                0 => Some((Ok::<_, Infallible>(Bytes::from("head;")), 1)),
                1 => {
                    release.notified().await;
                    Some((Ok(Bytes::from("tail")), 2))
                }
                _ => None,
            }
        }
    });
    Body::from_stream(chunks)
}

/// In process, on a current-thread runtime: a task spawned before the body's end would
/// run at one of the yields, so the check cannot miss an early start.
#[tokio::test(flavor = "current_thread")]
async fn the_work_waits_for_the_last_frame() {
    use tower::ServiceExt;

    let (to, mut reports) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let handler = {
        let release = release.clone();
        move || async move {
            report_after("ordered", &to);
            held_body(release)
        }
    };
    let app = Router::new()
        .route("/", get(handler))
        .layer(ClsLayer::<AfterStore>::new().setup(tenant_setup));
    let request = Request::get("/")
        .header("x-request-id", "o-1")
        .body(Body::empty())
        .unwrap();
    let mut body = app.oneshot(request).await.unwrap().into_body();
    yield_a_few_times().await;
    assert!(reports.try_recv().is_err(), "started before the response");

    let head = body.frame().await.unwrap().unwrap();
    assert_eq!(head.into_data().unwrap(), "head;");
    yield_a_few_times().await;
    assert!(reports.try_recv().is_err(), "started before the last frame");

    release.notify_one();
    let tail = body.frame().await.unwrap().unwrap();
    assert_eq!(tail.into_data().unwrap(), "tail");
    assert!(body.frame().await.is_none());
    assert_eq!(next(&mut reports).await, "ordered:o-1|anonymous|0");
}

/// A sync setup runs inside the request scope: work it registers waits for the
/// response (here its refusal, held open) and sees the id.
#[tokio::test(flavor = "current_thread")]
// A setup answers with a whole `Response`, as a handler does.
#[allow(clippy::result_large_err)]
async fn after_work_registered_by_a_refusing_sync_setup_waits_for_the_refusal() {
    use tower::ServiceExt;

    let (to, mut reports) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let layer = ClsLayer::<AfterStore>::new().setup({
        let release = release.clone();
        move |_: &RequestInfo, _: &mut AfterStore| {
            report_after("refusal", &to);
            Err(Response::builder()
                .status(StatusCode::FORBIDDEN)
                .body(held_body(release.clone()))
                .unwrap())
        }
    });
    let app = Router::new()
        .route("/", get(|| async { "unreachable" }))
        .layer(layer);
    let request = Request::get("/")
        .header("x-request-id", "s-1")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    yield_a_few_times().await;
    assert!(
        reports.try_recv().is_err(),
        "started before the refusal was sent"
    );

    release.notify_one();
    body.collect().await.unwrap();
    assert_eq!(next(&mut reports).await, "refusal:s-1|none|0");
}

#[derive(ClsStore, Clone, Default)]
struct OtherStore {
    name: String,
}

/// Nested layers, of the same store type and of another: one queue, started once, by
/// the outer body's end.
#[tokio::test(flavor = "current_thread")]
async fn nested_layers_share_one_queue() {
    use tower::ServiceExt;

    let (to, mut reports) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let handler = {
        let release = release.clone();
        move || async move {
            report_after("nested", &to);
            held_body(release)
        }
    };
    let app = Router::new()
        .route("/", get(handler))
        .layer(ClsLayer::<OtherStore>::new())
        .layer(ClsLayer::<AfterStore>::new())
        .layer(ClsLayer::<AfterStore>::new().setup(tenant_setup));
    let request = Request::get("/")
        .header("x-request-id", "n-1")
        .body(Body::empty())
        .unwrap();
    let mut body = app.oneshot(request).await.unwrap().into_body();
    body.frame().await.unwrap().unwrap();
    yield_a_few_times().await;
    assert!(
        reports.try_recv().is_err(),
        "started before the outer body ended"
    );

    release.notify_one();
    body.collect().await.unwrap();
    assert_eq!(next(&mut reports).await, "nested:n-1|anonymous|0");
    yield_a_few_times().await;
    assert!(reports.try_recv().is_err(), "the work ran twice");
}

/// A layer below a scope opened by hand (middleware of your own, or a job calling a
/// service in process) serves a response: work registered below it waits for that
/// response, and sees the scope's id and the store opened by hand.
#[tokio::test(flavor = "current_thread")]
async fn a_layer_below_a_scope_opened_by_hand_defers_the_work_to_its_response() {
    use tower::ServiceExt;

    let (to, mut reports) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let handler = {
        let release = release.clone();
        move || async move {
            report_after("by-hand", &to);
            held_body(release)
        }
    };
    let app = Router::new()
        .route("/", get(handler))
        .layer(ClsLayer::<AfterStore>::new().setup(tenant_setup));
    let store = AfterStore {
        tenant: "opened-by-hand".into(),
        step: 5,
        witness: None,
    };
    let opened = web::job_context(Some(RequestId::from_static("job-9"))).join(CLS.context(store));
    let request = Request::get("/").body(Body::empty()).unwrap();
    let response = opened.run(app.oneshot(request)).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "job-9");
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    yield_a_few_times().await;
    assert!(
        reports.try_recv().is_err(),
        "started before the layer's response ended"
    );

    release.notify_one();
    body.collect().await.unwrap();
    assert_eq!(next(&mut reports).await, "by-hand:job-9|opened-by-hand|5");
}

/// Work registered from a destructor that runs when the body is dropped (the client
/// left) still runs.
#[tokio::test(flavor = "current_thread")]
async fn after_called_from_a_destructor_of_the_body_runs() {
    use tower::ServiceExt;

    struct RegistersOnDrop(Seen);
    impl Drop for RegistersOnDrop {
        fn drop(&mut self) {
            report_after("drop", &self.0);
        }
    }

    let (to, mut reports) = mpsc::unbounded_channel();
    let handler = move || async move {
        let guard = RegistersOnDrop(to.clone());
        let chunks = futures_util::stream::unfold(guard, |guard| async move {
            std::future::pending::<()>().await;
            Some((Ok::<_, Infallible>(Bytes::new()), guard))
        });
        Body::from_stream(chunks)
    };
    let app = Router::new()
        .route("/", get(handler))
        .layer(ClsLayer::<AfterStore>::new().setup(tenant_setup));
    let request = Request::get("/")
        .header("x-request-id", "d-1")
        .body(Body::empty())
        .unwrap();
    let body = app.oneshot(request).await.unwrap().into_body();
    drop(body);
    assert_eq!(next(&mut reports).await, "drop:d-1|anonymous|0");
}
