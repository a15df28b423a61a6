//! `ClsLayer` in front of a tonic gRPC server, and `PropagateLayer` on a tonic `Channel`,
//! over loopback HTTP/2.
//!
//! The service is written by hand, with a codec whose messages are UTF-8 strings, so no
//! protobuf compiler or build script is needed: `tonic::server::Grpc` frames the messages
//! and the status, exactly as generated code would.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BufMut};
use cls_core::web::{self, ClsLayer, PropagateLayer, RequestId, RequestInfo};
use cls_core::{path, Cls, ClsStore};
use futures_util::{Stream, StreamExt};
use http::uri::PathAndQuery;
use tokio::net::TcpListener;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::{Code, Status};

#[derive(ClsStore, Clone, Default)]
struct GrpcStore {
    tenant: String,
    messages: u32,
}

const CLS: Cls<GrpcStore> = Cls::new();

/// Bound on every RPC a test makes, so that a hang fails instead of blocking CI.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What code inside an RPC reads: its id and tenant, as `id|tenant`.
fn seen() -> String {
    let id = web::request_id().map_or_else(|| "none".to_owned(), |id| id.to_string());
    let tenant = CLS
        .try_get::<path!(tenant)>()
        .unwrap_or_else(|_| "none".to_owned());
    format!("{id}|{tenant}")
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

const HELLO: &str = "/cls.test.Greeter/Hello";
const COUNT: &str = "/cls.test.Greeter/Count";

/// Unary: answers `hello NAME from id|tenant at PATH`; the name `missing` is `NOT_FOUND`.
async fn hello(request: tonic::Request<String>) -> Result<tonic::Response<String>, Status> {
    tokio::task::yield_now().await;
    let name = request.into_inner();
    if name == "missing" {
        return Err(Status::not_found(format!("no {name} for {}", seen())));
    }
    let path = web::request().map(|req| req.uri().path().to_owned());
    Ok(tonic::Response::new(format!(
        "hello {name} from {} at {}",
        seen(),
        path.unwrap_or_default()
    )))
}

type Messages = Pin<Box<dyn Stream<Item = Result<String, Status>> + Send>>;

/// Server streaming: `N` sends N messages `id|tenant|n`, each produced after the handler
/// returned and counting itself in the store (so each sees the `set` before it); `N!`
/// then fails with `NOT_FOUND`, whose trailers carry what the failing step saw.
async fn count(request: tonic::Request<String>) -> Result<tonic::Response<Messages>, Status> {
    let asked = request.into_inner();
    let fails = asked.ends_with('!');
    let n: u32 = asked
        .trim_end_matches('!')
        .parse()
        .map_err(|_| Status::invalid_argument("not a count"))?;
    CLS.set::<path!(messages)>(0);
    let messages = futures_util::stream::iter(0..n).then(|_| async {
        tokio::task::yield_now().await;
        let n = CLS.update::<path!(messages), _>(|n| {
            *n += 1;
            *n
        });
        Ok(format!("{}|{n}", seen()))
    });
    let failure = futures_util::stream::iter(fails.then_some(())).map(|()| {
        let mut metadata = MetadataMap::new();
        metadata.insert("x-seen", seen().parse().unwrap());
        Err(Status::with_metadata(
            Code::NotFound,
            "ran out of numbers",
            metadata,
        ))
    });
    Ok(tonic::Response::new(Box::pin(messages.chain(failure))))
}

/// The service, dispatching on the method path as generated code does.
#[derive(Clone, Debug)]
struct Greeter;

impl NamedService for Greeter {
    const NAME: &'static str = "cls.test.Greeter";
}

impl tower::Service<http::Request<tonic::body::Body>> for Greeter {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(Utf8Codec);
            let response = match request.uri().path() {
                HELLO => grpc.unary(tower::service_fn(hello), request).await,
                COUNT => {
                    grpc.server_streaming(tower::service_fn(count), request)
                        .await
                }
                _ => Status::unimplemented("no such method").into_http(),
            };
            Ok(response)
        })
    }
}

/// The tenant from the `x-tenant` metadata; `blocked` is refused with a gRPC status.
// The setup's signature is the layer's: it answers with a whole response.
#[allow(clippy::result_large_err)]
fn tenant_setup(
    req: &RequestInfo,
    store: &mut GrpcStore,
) -> Result<(), http::Response<tonic::body::Body>> {
    let tenant = req.headers().get("x-tenant").and_then(|v| v.to_str().ok());
    if tenant == Some("blocked") {
        return Err(Status::permission_denied("tenant blocked").into_http());
    }
    store.tenant = tenant.unwrap_or("anonymous").to_owned();
    Ok(())
}

/// A tonic server on loopback with the layer on its builder.
async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        Server::builder()
            .layer(ClsLayer::<GrpcStore>::new().setup(tenant_setup))
            .add_service(Greeter)
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    addr
}

async fn channel(addr: SocketAddr) -> Channel {
    let endpoint = Channel::from_shared(format!("http://{addr}")).unwrap();
    tokio::time::timeout(TIMEOUT, endpoint.connect())
        .await
        .expect("connecting timed out")
        .unwrap()
}

fn request(message: &str, metadata: &[(&'static str, &str)]) -> tonic::Request<String> {
    let mut request = tonic::Request::new(message.to_owned());
    for (key, value) in metadata {
        request
            .metadata_mut()
            .insert(*key, MetadataValue::try_from(*value).unwrap());
    }
    request
}

/// The `x-request-id` the server put in the response's metadata.
fn echoed_id(metadata: &MetadataMap) -> String {
    metadata
        .get("x-request-id")
        .expect("the id is echoed")
        .to_str()
        .unwrap()
        .to_owned()
}

async fn call_hello<T>(
    grpc: &mut tonic::client::Grpc<T>,
    request: tonic::Request<String>,
) -> Result<tonic::Response<String>, Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::ResponseBody: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as hyper::body::Body>::Error: Into<tower::BoxError>,
{
    tokio::time::timeout(TIMEOUT, async {
        grpc.ready()
            .await
            .map_err(|e| Status::unavailable(e.into().to_string()))?;
        grpc.unary(request, PathAndQuery::from_static(HELLO), Utf8Codec)
            .await
    })
    .await
    .expect("the RPC timed out")
}

/// Reads a server stream to its end: the messages, then the final status (`Ok` with the
/// trailers, or the error status).
async fn call_count(
    grpc: &mut tonic::client::Grpc<Channel>,
    request: tonic::Request<String>,
) -> (String, Vec<String>, Result<MetadataMap, Status>) {
    tokio::time::timeout(TIMEOUT, async {
        grpc.ready().await.unwrap();
        let response = grpc
            .server_streaming(request, PathAndQuery::from_static(COUNT), Utf8Codec)
            .await
            .unwrap();
        let id = echoed_id(response.metadata());
        let mut stream = response.into_inner();
        let mut messages = Vec::new();
        let end = loop {
            match stream.message().await {
                Ok(Some(message)) => messages.push(message),
                Ok(None) => break Ok(stream.trailers().await.unwrap().expect("trailers")),
                Err(status) => break Err(status),
            }
        };
        (id, messages, end)
    })
    .await
    .expect("the RPC timed out")
}

/// A unary RPC and server-streaming RPCs behind `Server::builder().layer(ClsLayer..)`:
/// the handler and every streamed message see the request's id (kept from the inbound
/// metadata, or generated and echoed in the response metadata) and its store; the status
/// arrives intact, in the trailers of a stream that fails midway and of one that ends
/// well, and in a trailers-only answer from the handler or the setup. Several streams
/// share the client's one HTTP/2 connection at once, each with its own request.
async fn grpc_handlers_and_streamed_messages_see_their_own_request() {
    let addr = serve().await;
    let mut grpc = tonic::client::Grpc::new(channel(addr).await);

    let kept = call_hello(
        &mut grpc,
        request("ada", &[("x-request-id", "g-1"), ("x-tenant", "acme")]),
    )
    .await
    .unwrap();
    assert_eq!(echoed_id(kept.metadata()), "g-1");
    assert_eq!(
        kept.into_inner(),
        format!("hello ada from g-1|acme at {HELLO}")
    );

    let generated = call_hello(&mut grpc, request("bob", &[])).await.unwrap();
    let id = echoed_id(generated.metadata());
    assert_eq!(id.len(), 36);
    assert_eq!(
        generated.into_inner(),
        format!("hello bob from {id}|anonymous at {HELLO}")
    );

    let missing = call_hello(&mut grpc, request("missing", &[("x-request-id", "g-2")]))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(missing.message(), "no missing for g-2|anonymous");
    assert_eq!(echoed_id(missing.metadata()), "g-2");

    let refused = call_hello(
        &mut grpc,
        request("eve", &[("x-request-id", "g-3"), ("x-tenant", "blocked")]),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(echoed_id(refused.metadata()), "g-3");

    let (id, messages, end) = call_count(
        &mut grpc,
        request("3", &[("x-request-id", "s-1"), ("x-tenant", "acme")]),
    )
    .await;
    assert_eq!(id, "s-1");
    assert_eq!(messages, ["s-1|acme|1", "s-1|acme|2", "s-1|acme|3"]);
    let trailers = end.expect("the stream ends well");
    assert_eq!(trailers.get("grpc-status").unwrap(), "0");

    let (id, messages, end) = call_count(
        &mut grpc,
        request("2!", &[("x-request-id", "s-2"), ("x-tenant", "acme")]),
    )
    .await;
    assert_eq!(id, "s-2");
    assert_eq!(messages, ["s-2|acme|1", "s-2|acme|2"]);
    let failed = end.expect_err("the stream fails after two messages");
    assert_eq!(failed.code(), Code::NotFound);
    assert_eq!(failed.message(), "ran out of numbers");
    assert_eq!(failed.metadata().get("x-seen").unwrap(), "s-2|acme");

    let streams: Vec<_> = (0..16)
        .map(|stream| {
            let mut grpc = grpc.clone();
            tokio::spawn(async move {
                let tenant = format!("t{stream}");
                let own = format!("c-{stream}");
                let metadata = [("x-request-id", own.as_str()), ("x-tenant", &tenant)];
                let (id, messages, end) = call_count(&mut grpc, request("4", &metadata)).await;
                assert_eq!(id, own);
                let expected: Vec<_> = (1..=4).map(|n| format!("{own}|{tenant}|{n}")).collect();
                assert_eq!(messages, expected);
                assert!(end.is_ok());
            })
        })
        .collect();
    for stream in streams {
        stream.await.unwrap();
    }
}

#[tokio::test(flavor = "current_thread")]
async fn grpc_handlers_and_streamed_messages_see_their_own_request_current_thread() {
    grpc_handlers_and_streamed_messages_see_their_own_request().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_handlers_and_streamed_messages_see_their_own_request_multi_thread() {
    grpc_handlers_and_streamed_messages_see_their_own_request().await;
}

/// `PropagateLayer` on a tonic `Channel`: an RPC made inside a job's scope carries the
/// job's id to the server, which keeps it; outside any scope nothing is added, and the
/// server generates an id of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagate_layer_on_a_channel_carries_the_id_to_the_grpc_server() {
    let addr = serve().await;
    let client = tower::ServiceBuilder::new()
        .layer(PropagateLayer::new())
        .service(channel(addr).await);
    let mut grpc = tonic::client::Grpc::new(client);

    let job = web::job_context(Some(RequestId::from_static("job-7")));
    let answer = job
        .run(call_hello(
            &mut grpc,
            request("ada", &[("x-tenant", "acme")]),
        ))
        .await
        .unwrap();
    assert_eq!(echoed_id(answer.metadata()), "job-7");
    assert_eq!(
        answer.into_inner(),
        format!("hello ada from job-7|acme at {HELLO}")
    );

    let outside = call_hello(&mut grpc, request("bob", &[])).await.unwrap();
    let id = echoed_id(outside.metadata());
    assert_ne!(id, "job-7");
    assert_eq!(
        outside.into_inner(),
        format!("hello bob from {id}|anonymous at {HELLO}")
    );
}
