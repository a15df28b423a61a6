//! `#[cls(propagate)]` across services: two axum servers on loopback, A calling B through
//! `PropagateLayer::with_store`, the fields arriving in B's store from the `baggage` header,
//! typed, allow-listed and validated; and what a hostile `baggage` sent to A comes to.
//!
//! A calls B twice over: through hyper-util's HTTP/2 client (`/call`) and through a tonic
//! `Channel` (`/grpc`), B answering the RPC from a tonic server with the same `ClsLayer`.
//! Each leg is asserted the same way. B's gRPC service is written by hand with a codec
//! whose messages are UTF-8 strings, so no protobuf compiler or build script is needed.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use bytes::{Buf, BufMut, Bytes};
use cls_core::web::{self, ClsLayer, PropagateLayer, RequestInfo, SetupFn};
use cls_core::{path, Cls, ClsStore, FieldTag, Nil};
use http::uri::PathAndQuery;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http2;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::Status;
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
type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// A's two ways of calling B: HTTP through hyper-util's client, gRPC through a tonic `Channel`.
const LEGS: [&str; 2] = ["/call", "/grpc"];

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

/// Both services' layer, for axum (`B` = axum's `Body`) and for tonic (its `Body`): the
/// setup runs after the baggage was read, so it sees (and could check) the propagated
/// fields; it writes a field that is never propagated.
fn cls_layer<B: 'static>() -> ClsLayer<AppStore, web::MakeUuidV4, SetupFn<SetupFnPtr<B>, B>> {
    // The refusal type is the layer's: a response.
    #[allow(clippy::result_large_err)]
    fn setup<B>(_: &RequestInfo, store: &mut AppStore) -> Result<(), Response<B>> {
        store.request_note = format!("setup saw tenant {:?}", store.tenant);
        Ok(())
    }
    ClsLayer::<AppStore>::new().setup(setup::<B> as SetupFnPtr<B>)
}

type SetupFnPtr<B> = fn(&RequestInfo, &mut AppStore) -> Result<(), Response<B>>;

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
        .layer(cls_layer::<Body>())
}

/// gRPC messages that are UTF-8 strings, as they are on the wire.
#[derive(Clone, Copy, Debug, Default)]
struct Utf8Codec;

impl Codec for Utf8Codec {
    type Encode = String;
    type Decode = String;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self {
        Self
    }

    fn decoder(&mut self) -> Self {
        Self
    }
}

impl Encoder for Utf8Codec {
    type Item = String;
    type Error = Status;

    fn encode(&mut self, item: String, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(item.as_bytes());
        Ok(())
    }
}

impl Decoder for Utf8Codec {
    type Item = String;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<String>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| Status::internal("the message is not UTF-8"))
    }
}

/// B's one RPC: answers with what its store and its request metadata saw.
const SEEN_RPC: &str = "/cls.test.Seen/Seen";

/// B's gRPC service, dispatching on the method path as generated code does.
#[derive(Clone, Debug)]
struct SeenService;

impl NamedService for SeenService {
    const NAME: &'static str = "cls.test.Seen";
}

impl tower::Service<Request<tonic::body::Body>> for SeenService {
    type Response = Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<tonic::body::Body>) -> Self::Future {
        async fn seen(request: tonic::Request<String>) -> Result<tonic::Response<String>, Status> {
            let headers = request.metadata().clone().into_headers();
            Ok(tonic::Response::new(seen_here(&headers)))
        }
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(Utf8Codec);
            Ok(match request.uri().path() {
                SEEN_RPC => grpc.unary(service_fn(seen), request).await,
                _ => Status::unimplemented("no such method").into_http(),
            })
        })
    }
}

/// B's gRPC side: a tonic server on loopback with the same layer on its builder.
async fn serve_grpc_b() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        Server::builder()
            .layer(cls_layer::<tonic::body::Body>())
            .add_service(SeenService)
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    addr
}

/// How A reaches B: a shared HTTP/2 connection to B's axum server, and a tonic `Channel`
/// to B's gRPC server.
#[derive(Clone)]
struct ToB {
    /// hyper-util's pooled client, HTTP/2 (prior knowledge), as a service would hold one.
    http: HttpClient,
    http_addr: SocketAddr,
    grpc: Channel,
}

impl ToB {
    /// B's view, asked over HTTP through `PropagateLayer::new().with_store::<AppStore>()`;
    /// `other` puts `baggage: other=1` on the outbound request.
    async fn over_http(&self, other: bool) -> String {
        let client = PropagateLayer::new()
            .with_store::<AppStore>()
            .layer(self.http.clone());
        let mut request = Request::get(format!("http://{}/seen", self.http_addr));
        if other {
            request = request.header("baggage", "other=1");
        }
        let response = client
            .oneshot(request.body(Empty::new()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    /// B's view, asked by RPC through the same layer on a tonic `Channel`; `other` puts
    /// `baggage: other=1` in the outbound request's metadata.
    async fn over_grpc(&self, other: bool) -> String {
        let client = PropagateLayer::new()
            .with_store::<AppStore>()
            .layer(self.grpc.clone());
        let mut grpc = tonic::client::Grpc::new(client);
        let mut request = tonic::Request::new(String::new());
        if other {
            request
                .metadata_mut()
                .insert("baggage", MetadataValue::from_static("other=1"));
        }
        grpc.ready().await.unwrap();
        grpc.unary(request, PathAndQuery::from_static(SEEN_RPC), Utf8Codec)
            .await
            .unwrap()
            .into_inner()
    }
}

/// A: `/call` asks B's view over HTTP, `/grpc` over gRPC, and answers with it; `/seen`
/// answers with A's own.
fn service_a(b: ToB) -> Router {
    async fn call(State(b): State<ToB>, uri: http::Uri) -> String {
        // `?nested`: the tenant overridden by a nested `run_with` and the user id by `set`
        // before the call; `?other`: `baggage: other=1` on the outbound request.
        let query = uri.query().unwrap_or_default();
        let other = query == "other";
        let ask = async {
            if uri.path() == "/grpc" {
                b.over_grpc(other).await
            } else {
                b.over_http(other).await
            }
        };
        if query == "nested" {
            let mut store = CLS.get::<Nil>();
            store.tenant = "nested-tenant".into();
            CLS.run_with(store, async {
                CLS.set::<path!(user_id)>(Some(99));
                ask.await
            })
            .await
        } else {
            ask.await
        }
    }
    Router::new()
        .route("/call", get(call))
        .route("/grpc", get(call))
        .route(
            "/seen",
            get(|headers: http::HeaderMap| async move { seen_here(&headers) }),
        )
        .layer(cls_layer::<Body>())
        .with_state(b)
}

/// A and B (HTTP and gRPC) on loopback, and a client connection to A.
async fn two_services() -> (SocketAddr, Sender) {
    let http_addr = serve(service_b()).await;
    let grpc_addr = serve_grpc_b().await;
    let grpc = Channel::from_shared(format!("http://{grpc_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let b = ToB {
        http: Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build_http(),
        http_addr,
        grpc,
    };
    let a_addr = serve(service_a(b)).await;
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

        for leg in LEGS {
            let (status, seen_by_b) = exchange(client.clone(), to_a(a, leg, &inbound)).await;
            assert_eq!(status, StatusCode::OK, "{leg}");
            assert_eq!(field(&seen_by_b, "tenant"), "acme corp", "{leg}");
            assert_eq!(field(&seen_by_b, "user"), "42", "{leg}");
            // B's own setup wrote its note; A's never travelled.
            assert_eq!(
                field(&seen_by_b, "note"),
                "setup saw tenant \"acme corp\"",
                "{leg}"
            );
            assert_eq!(
                field(&seen_by_b, "baggage"),
                "tenant=acme%20corp,user.id=42",
                "{leg}"
            );
            assert_eq!(field(&seen_by_b, "trace"), TRACE_ID, "{leg}");
            let parent = field(&seen_by_b, "parent");
            assert_eq!(parent.len(), 16, "{leg}");
            assert_ne!(parent, PARENT_ID, "{leg}");
            assert_ne!(parent, "0000000000000000", "{leg}");
        }
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

        for leg in LEGS {
            let (_, nested) =
                exchange(client.clone(), to_a(a, &format!("{leg}?nested"), &inbound)).await;
            assert_eq!(field(&nested, "tenant"), "nested-tenant", "{leg}");
            assert_eq!(field(&nested, "user"), "99", "{leg}");

            let (_, merged) =
                exchange(client.clone(), to_a(a, &format!("{leg}?other"), &inbound)).await;
            assert_eq!(
                field(&merged, "baggage"),
                "other=1,tenant=acme,user.id=42",
                "{leg}"
            );
            assert_eq!(field(&merged, "tenant"), "acme", "{leg}");

            // Without baggage, `user.id` is `None` and is not sent; the empty tenant is.
            let (_, bare) = exchange(client.clone(), to_a(a, leg, &[])).await;
            assert_eq!(field(&bare, "baggage"), "tenant=", "{leg}");
            assert_eq!(field(&bare, "user"), "none", "{leg}");
            assert_eq!(field(&bare, "trace"), "none", "{leg}");
        }
    })
    .await
    .expect("timed out");
}

/// `calls` concurrent calls to A's `leg`, each with a tenant and user id of its own, and
/// how many of B's answers showed another call's.
async fn crossed_among_concurrent_calls(leg: &'static str, calls: u64) -> usize {
    let (a, client) = two_services().await;
    let spawned = (0..calls).map(|i| {
        let client = client.clone();
        tokio::spawn(async move {
            let baggage = format!("tenant=t-{i},user.id={i}");
            let (status, seen) = exchange(client, to_a(a, leg, &[("baggage", &baggage)])).await;
            assert_eq!(status, StatusCode::OK);
            (i, seen)
        })
    });
    let mut crossed = 0;
    let mut answered = 0;
    for call in futures_util::future::join_all(spawned).await {
        let (i, seen) = call.unwrap();
        answered += 1;
        if field(&seen, "tenant") != format!("t-{i}") || field(&seen, "user") != i.to_string() {
            crossed += 1;
        }
    }
    assert_eq!(answered, calls);
    crossed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_never_cross() {
    let crossed = tokio::time::timeout(TIMEOUT, crossed_among_concurrent_calls("/call", 1000));
    assert_eq!(crossed.await.expect("timed out"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_grpc_calls_never_cross() {
    let crossed = tokio::time::timeout(TIMEOUT, crossed_among_concurrent_calls("/grpc", 1000));
    assert_eq!(crossed.await.expect("timed out"), 0);
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

/// A store nested through a type parameter bounded by `ClsStore`: the derive of a generic
/// struct cannot check a field whose type names `T` at compile time (a `const _` cannot
/// name `T`), so `WithExtra<Tenanted>` compiles with `tenant` twice. Any other repeat,
/// within a struct, across nested stores, or in a generic struct's other fields, is a
/// compile error: see `tests/ui/propagate-key-repeated-*.rs`.
/// (Without the bound, `extra` would be a leaf, its fields neither visited nor checked.)
#[derive(ClsStore, Clone, Default)]
struct Tenanted {
    #[cls(propagate)]
    tenant: String,
}

#[derive(ClsStore, Clone, Default)]
struct WithExtra<T: ClsStore> {
    #[cls(propagate)]
    tenant: String,
    extra: T,
}

#[derive(ClsStore, Clone, Default)]
struct Extra {
    #[cls(propagate)]
    extra: u32,
}

#[cfg(debug_assertions)]
#[test]
fn a_key_repeated_through_a_type_parameter_stops_the_layers_in_debug_builds() {
    type Repeating = WithExtra<Tenanted>;
    assert_eq!(
        cls_core::tagged_keys::<Repeating>(FieldTag::Propagate),
        ["tenant", "tenant"]
    );
    let message = |payload: Box<dyn std::any::Any + Send>| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    };
    let client = std::panic::catch_unwind(|| PropagateLayer::new().with_store::<Repeating>());
    let shown = message(client.expect_err("PropagateLayer::with_store refuses it"));
    assert!(
        shown
            .starts_with("the baggage key `tenant` is used by two `#[cls(propagate)]` fields of `"),
        "{shown}"
    );
    assert!(shown.contains("WithExtra<"), "{shown}");
    let server = std::panic::catch_unwind(ClsLayer::<Repeating>::new);
    assert_eq!(
        message(server.expect_err("ClsLayer::new refuses it")),
        shown
    );
    // Without the repeat, both build.
    type Distinct = WithExtra<Extra>;
    assert_eq!(
        cls_core::tagged_keys::<Distinct>(FieldTag::Propagate),
        ["tenant", "extra"]
    );
    let _ = PropagateLayer::new().with_store::<Distinct>();
    let _ = ClsLayer::<Distinct>::new();
}
