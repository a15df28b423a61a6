//! `#[cls(propagate)]` across services: two axum servers on loopback, A calling B through
//! `PropagateLayer::with_store`, the fields arriving in B's store from the `baggage` header,
//! typed, allow-listed and validated; and what a hostile `baggage` sent to A comes to.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use cls_core::web::{self, ClsLayer, PropagateLayer, RequestInfo, SetupFn};
use cls_core::{path, Cls, ClsStore, FieldTag, Nil};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tower::{service_fn, Layer, ServiceExt};

#[derive(ClsStore, Clone, Default)]
struct AppStore {
    #[cls(propagate)]
    tenant: String,
    #[cls(propagate = "user.id")]
    user_id: Option<u64>,
    /// Never leaves the process.
    request_note: String,
}

const CLS: Cls<AppStore> = Cls::new();

const TIMEOUT: Duration = Duration::from_secs(30);
const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

type Sender = http2::SendRequest<Empty<Bytes>>;

/// What a handler saw, one `key=value` per line, in a fixed order.
fn seen_here(headers: &http::HeaderMap) -> String {
    let (tenant, user, note) = CLS.with::<Nil, _>(|s| {
        (
            s.tenant.clone(),
            s.user_id
                .map_or_else(|| "none".to_owned(), |u| u.to_string()),
            s.request_note.clone(),
        )
    });
    let (trace, parent) = web::trace_context().map_or_else(
        || ("none".to_owned(), "none".to_owned()),
        |t| (t.trace_id().to_string(), t.parent_id().to_string()),
    );
    let baggage: Vec<&str> = headers
        .get_all("baggage")
        .iter()
        .map(|v| v.to_str().unwrap_or("<bytes>"))
        .collect();
    format!(
        "tenant={tenant}\nuser={user}\nnote={note}\ntrace={trace}\nparent={parent}\nbaggage={}",
        baggage.join(" | ")
    )
}

fn field<'a>(seen: &'a str, key: &str) -> &'a str {
    seen.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no `{key}` in {seen:?}"))
}

/// Both services' layer: the setup runs after the baggage was read, so it sees (and could
/// check) the propagated fields; it writes a field that is never propagated.
fn cls_layer() -> ClsLayer<AppStore, web::MakeUuidV4, SetupFn<SetupFnPtr, Body>> {
    // The refusal type is the layer's: a response.
    #[allow(clippy::result_large_err)]
    fn setup(_: &RequestInfo, store: &mut AppStore) -> Result<(), Response<Body>> {
        store.request_note = format!("setup saw tenant {:?}", store.tenant);
        Ok(())
    }
    ClsLayer::<AppStore>::new().setup(setup as SetupFnPtr)
}

type SetupFnPtr = fn(&RequestInfo, &mut AppStore) -> Result<(), Response<Body>>;

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// One HTTP/2 connection (prior knowledge); clone the sender for concurrent streams.
async fn connect(addr: SocketAddr) -> Sender {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    sender
}

async fn exchange(mut sender: Sender, request: Request<Empty<Bytes>>) -> (StatusCode, String) {
    sender.ready().await.unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// B: answers with what its store and headers saw.
fn service_b() -> Router {
    Router::new()
        .route(
            "/seen",
            get(|headers: http::HeaderMap| async move { seen_here(&headers) }),
        )
        .layer(cls_layer())
}

/// A: `/call` calls B's `/seen` through `PropagateLayer::new().with_store::<AppStore>()`
/// over a shared HTTP/2 connection and answers with B's view; `/seen` answers with A's own.
fn service_a(b: Sender, b_addr: SocketAddr) -> Router {
    async fn call(State((b, b_addr)): State<(Sender, SocketAddr)>, uri: http::Uri) -> String {
        // `?nested`: the tenant overridden by a nested `run_with` and the user id by `set`
        // before the call; `?other`: `baggage: other=1` on the outbound request.
        let query = uri.query().unwrap_or_default();
        let client = PropagateLayer::new()
            .with_store::<AppStore>()
            .layer(service_fn(move |request: Request<Empty<Bytes>>| {
                let b = b.clone();
                async move { Ok::<_, Infallible>(exchange(b, request).await) }
            }));
        let mut request = Request::get(format!("http://{b_addr}/seen"));
        if query == "other" {
            request = request.header("baggage", "other=1");
        }
        let request = request.body(Empty::new()).unwrap();
        let (status, body) = if query == "nested" {
            let mut store = CLS.get::<Nil>();
            store.tenant = "nested-tenant".into();
            CLS.run_with(store, async {
                CLS.set::<path!(user_id)>(Some(99));
                client.oneshot(request).await
            })
            .await
        } else {
            client.oneshot(request).await
        }
        .unwrap();
        assert_eq!(status, StatusCode::OK);
        body
    }
    Router::new()
        .route("/call", get(call))
        .route(
            "/seen",
            get(|headers: http::HeaderMap| async move { seen_here(&headers) }),
        )
        .layer(cls_layer())
        .with_state((b, b_addr))
}

/// A and B on loopback, and a client connection to A.
async fn two_services() -> (SocketAddr, Sender) {
    let b_addr = serve(service_b()).await;
    let b = connect(b_addr).await;
    let a_addr = serve(service_a(b, b_addr)).await;
    (a_addr, connect(a_addr).await)
}

fn to_a(a: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Request<Empty<Bytes>> {
    let mut request = Request::get(format!("http://{a}{path}"));
    for (name, value) in headers {
        request = request.header(*name, HeaderValue::from_str(value).unwrap());
    }
    request.body(Empty::new()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_sees_the_propagated_fields_of_a_and_a_child_trace() {
    tokio::time::timeout(TIMEOUT, async {
        let (a, client) = two_services().await;
        let inbound = [
            (
                "baggage",
                "tenant=acme%20corp,user.id=42,request_note=forged",
            ),
            ("traceparent", PARENT),
        ];

        // A itself: the fields came from the baggage before the setup ran; the
        // non-propagated field is the setup's, not the client's.
        let (status, seen_by_a) = exchange(client.clone(), to_a(a, "/seen", &inbound)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(field(&seen_by_a, "tenant"), "acme corp");
        assert_eq!(field(&seen_by_a, "user"), "42");
        assert_eq!(field(&seen_by_a, "note"), "setup saw tenant \"acme corp\"");

        let (status, seen_by_b) = exchange(client.clone(), to_a(a, "/call", &inbound)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(field(&seen_by_b, "tenant"), "acme corp");
        assert_eq!(field(&seen_by_b, "user"), "42");
        // B's own setup wrote its note; A's never travelled.
        assert_eq!(field(&seen_by_b, "note"), "setup saw tenant \"acme corp\"");
        assert_eq!(
            field(&seen_by_b, "baggage"),
            "tenant=acme%20corp,user.id=42"
        );
        assert_eq!(field(&seen_by_b, "trace"), TRACE_ID);
        let parent = field(&seen_by_b, "parent");
        assert_eq!(parent.len(), 16);
        assert_ne!(parent, PARENT_ID);
        assert_ne!(parent, "0000000000000000");
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_are_read_at_call_time_and_existing_baggage_is_merged() {
    tokio::time::timeout(TIMEOUT, async {
        let (a, client) = two_services().await;
        let inbound = [
            ("baggage", "tenant=acme,user.id=42"),
            ("traceparent", PARENT),
        ];

        let (_, nested) = exchange(client.clone(), to_a(a, "/call?nested", &inbound)).await;
        assert_eq!(field(&nested, "tenant"), "nested-tenant");
        assert_eq!(field(&nested, "user"), "99");

        let (_, merged) = exchange(client.clone(), to_a(a, "/call?other", &inbound)).await;
        assert_eq!(field(&merged, "baggage"), "other=1,tenant=acme,user.id=42");
        assert_eq!(field(&merged, "tenant"), "acme");

        // Without baggage, `user.id` is `None` and is not sent; the empty tenant is.
        let (_, bare) = exchange(client.clone(), to_a(a, "/call", &[])).await;
        assert_eq!(field(&bare, "baggage"), "tenant=");
        assert_eq!(field(&bare, "user"), "none");
        assert_eq!(field(&bare, "trace"), "none");
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_never_cross() {
    tokio::time::timeout(TIMEOUT, async {
        let (a, client) = two_services().await;
        let calls = (0..1000_u64).map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let baggage = format!("tenant=t-{i},user.id={i}");
                let (status, seen) =
                    exchange(client, to_a(a, "/call", &[("baggage", &baggage)])).await;
                assert_eq!(status, StatusCode::OK);
                (i, seen)
            })
        });
        let mut crossed = 0;
        let mut answered = 0;
        for call in futures_util::future::join_all(calls).await {
            let (i, seen) = call.unwrap();
            answered += 1;
            if field(&seen, "tenant") != format!("t-{i}") || field(&seen, "user") != i.to_string() {
                crossed += 1;
            }
        }
        assert_eq!(answered, 1000);
        assert_eq!(crossed, 0);
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_baggage_is_dropped_and_the_request_served() {
    tokio::time::timeout(TIMEOUT, async {
        let (a, client) = two_services().await;
        let members = |n: usize| {
            let mut list = String::from("tenant=acme,user.id=5");
            for i in 2..n {
                list += &format!(",m{i}=1");
            }
            list
        };
        let mut large = String::from("tenant=acme,user.id=5,pad=");
        large.extend(std::iter::repeat_n('x', 9000 - large.len()));
        assert_eq!(large.len(), 9000);
        let (at_limit, over_limit) = (members(64), members(65));
        assert_eq!(over_limit.split(',').count(), 65);
        // (baggage, tenant, user): what A's store holds afterwards.
        let cases: [(&str, &str, &str); 11] = [
            (&large, "", "none"),
            (&over_limit, "", "none"),
            (&members(181), "", "none"),
            (&at_limit, "acme", "5"),
            ("tenant=%ZZ,user.id=5", "", "5"),
            ("tenant=%FF,user.id=5", "", "5"),
            ("tenant=a%0Ab,user.id=5", "", "5"),
            ("tenant=acme,tenant=evil", "acme", "none"),
            ("tenant=acme,user.id=abc", "acme", "none"),
            ("user.id=-1,user.id=7", "", "none"),
            ("", "", "none"),
        ];
        for (baggage, tenant, user) in cases {
            let (status, seen) =
                exchange(client.clone(), to_a(a, "/seen", &[("baggage", baggage)])).await;
            let shown: String = baggage.chars().take(40).collect();
            assert_eq!(status, StatusCode::OK, "baggage {shown:?}");
            assert_eq!(field(&seen, "tenant"), tenant, "baggage {shown:?}");
            assert_eq!(field(&seen, "user"), user, "baggage {shown:?}");
        }
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "current_thread")]
async fn several_inbound_headers_are_one_list() {
    let service = cls_layer().layer(service_fn(|request: Request<()>| async move {
        Ok::<_, Infallible>(Response::new(Body::from(seen_here(request.headers()))))
    }));
    let request = Request::get("/")
        .header("baggage", "other=1")
        .header("baggage", "tenant=acme")
        .header("baggage", "user.id=3;ttl=30")
        .body(())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let seen = String::from_utf8(body.to_vec()).unwrap();
    assert_eq!(field(&seen, "tenant"), "acme");
    assert_eq!(field(&seen, "user"), "3");
}

/// What a `PropagateLayer` with the store sends, given the request's own `baggage`.
async fn sent(store: Option<AppStore>, existing: &[&str]) -> Vec<String> {
    let client = PropagateLayer::new()
        .with_store::<AppStore>()
        .layer(service_fn(|request: Request<()>| async move {
            let sent = request
                .headers()
                .get_all("baggage")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect::<Vec<_>>();
            Ok::<_, Infallible>(sent)
        }));
    let mut request = Request::get("/");
    for value in existing {
        request = request.header("baggage", *value);
    }
    let call = client.oneshot(request.body(()).unwrap());
    match store {
        Some(store) => CLS.run_with(store, call).await.unwrap(),
        None => call.await.unwrap(),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn outbound_baggage_merges_within_the_limits() {
    let store = || AppStore {
        tenant: "acme".into(),
        user_id: Some(7),
        request_note: "private".into(),
    };
    // No store active: the request is untouched.
    assert!(sent(None, &[]).await.is_empty());
    assert_eq!(sent(None, &["other=1"]).await, ["other=1"]);
    // An existing member keeps its value; several headers become one.
    assert_eq!(
        sent(Some(store()), &["tenant=theirs", "k=v"]).await,
        ["tenant=theirs,k=v,user.id=7"]
    );
    // 64 members already: nothing added, nothing changed.
    let full: Vec<String> = (0..64).map(|i| format!("m{i}=1")).collect();
    let full = full.join(",");
    assert_eq!(sent(Some(store()), &[&full]).await, [full]);
    // Ten bytes short of the limit: `,tenant=acme` (12) is left out whole, `,user.id=7`
    // (10) fits exactly.
    let mut near = String::from("pad=");
    near.extend(std::iter::repeat_n('x', 8192 - 10 - 4));
    let got = sent(Some(store()), &[&near]).await;
    assert!(
        got[0].ends_with("xx,user.id=7"),
        "{} bytes sent",
        got[0].len()
    );
    assert_eq!(got[0].len(), 8192);
    // Eight bytes short: neither fits, and the header is as it was.
    near.extend(std::iter::repeat_n('x', 2));
    assert_eq!(near.len(), 8192 - 8);
    let got = sent(Some(store()), &[&near]).await;
    assert!(got == [near], "{} bytes sent", got[0].len());
    // A value with a control character is not sent; the others are.
    let mut odd = store();
    odd.tenant = "a\nb".into();
    assert_eq!(sent(Some(odd), &[]).await, ["user.id=7"]);
    // The fields a layer sends are those `tagged_keys` lists.
    assert_eq!(
        cls_core::tagged_keys::<AppStore>(FieldTag::Propagate),
        ["tenant", "user.id"]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn an_async_setup_sees_the_propagated_fields() {
    let layer = ClsLayer::<AppStore>::new().setup_async(|_: RequestInfo| async {
        let tenant = CLS.get::<path!(tenant)>();
        CLS.set::<path!(request_note)>(format!("async setup saw tenant {tenant:?}"));
        Ok::<(), Response<Body>>(())
    });
    let service = layer.layer(service_fn(|request: Request<()>| async move {
        Ok::<_, Infallible>(Response::new(Body::from(seen_here(request.headers()))))
    }));
    let request = Request::get("/")
        .header("baggage", "tenant=acme,user.id=9")
        .body(())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let seen = String::from_utf8(body.to_vec()).unwrap();
    assert_eq!(field(&seen, "note"), "async setup saw tenant \"acme\"");
    assert_eq!(field(&seen, "user"), "9");
}

/// A second store type, sent by the same layer after the first.
#[derive(ClsStore, Clone, Default)]
struct JobStore {
    #[cls(propagate = "job")]
    job: u32,
}

#[tokio::test(flavor = "current_thread")]
async fn a_layer_sends_the_fields_of_each_active_store_in_order() {
    let client = PropagateLayer::new()
        .with_store::<AppStore>()
        .with_store::<JobStore>()
        .layer(service_fn(|request: Request<()>| async move {
            Ok::<_, Infallible>(request.headers().get("baggage").cloned())
        }));
    let store = AppStore {
        tenant: "acme".into(),
        ..AppStore::default()
    };
    let job = Cls::<JobStore>::new();
    let only_job = job
        .run_with(
            JobStore { job: 3 },
            client.clone().oneshot(Request::new(())),
        )
        .await
        .unwrap();
    assert_eq!(only_job.unwrap(), "job=3");
    let both = CLS
        .run_with(
            store,
            job.run_with(JobStore { job: 4 }, client.oneshot(Request::new(()))),
        )
        .await
        .unwrap();
    assert_eq!(both.unwrap(), "tenant=acme,job=4");
}
