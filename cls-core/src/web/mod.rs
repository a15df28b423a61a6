//! Request ids and request metadata for tower services (axum, hyper, tonic).
//!
//! A web context starts from two things known when a request arrives: an id that names the
//! request in every log line and in the response, and a description of the request. This
//! module provides both, and the policy that decides whether an id sent by the client is
//! kept.
//!
//! - [`RequestId`]: printable, cheap to clone, ready to put in a header.
//! - [`Trust`]: which inbound ids to keep. The default, [`Trust::IfValid`], keeps 1 to 128
//!   characters of `[A-Za-z0-9._:-]` from a header sent once; anything else (spaces,
//!   quotes, `=`, non-ASCII bytes, kilobytes of text, a repeated header) gets a fresh id, so
//!   a client cannot forge log lines or smuggle text into them.
//! - [`uuid_v4`] and [`uuid_v7`]: fresh ids from a thread-local CSPRNG, with no system call
//!   per id.
//! - [`RequestInfo`]: method, URI, version and headers, plus, with the `axum` feature, the
//!   route pattern (`/users/{id}`) and the peer address.
//! - [`request_id`] and [`request`]: the id and the request being served, read from
//!   anywhere inside the request's scope, with no user store and no parameter.
//! - [`request_context`] and [`job_context`]: open that scope, for an HTTP request or for
//!   work that is not one (a queue consumer, a cron job).
//! - [`ClsLayer`]: the tower layer that does all of this for every request of a server,
//!   with a store of your own type beside the request scope, from the first line of
//!   `call` to the last frame of the response body ([`ClsBody`]).
//! - [`after`]: work that starts once the response is done (an audit record, a cache
//!   refresh), in a copy of the request's context, never delaying the response.
//! - [`PropagateLayer`]: the client side, which puts the current id on outgoing requests.
//!
//! # The layer
//!
//! With axum, `Router::layer(ClsLayer::<AppStore>::new())` covers the routes added
//! before it and the fallbacks (the default 404 included), and runs after routing, so
//! [`RequestInfo::matched_path`] is known; a route added after the call is not covered.
//! `route_layer` skips the fallbacks. A layer around the whole router
//! (`ServiceBuilder::new().layer(..).service(router)`) covers everything but runs before
//! routing; `axum::serve` wants axum's own body back, so map it with
//! `.map_response(|r| r.map(axum::body::Body::new))`, which boxes it. Put it below any
//! `tower::buffer::Buffer`: a buffer calls the service under it on a worker task of its
//! own, so above one, the inner service's `call` runs with no context (only its future,
//! polled by the caller, sees the request). Each request goes through these steps:
//!
//! 1. the id: the inbound one if [`Trust`] keeps it, else a generated one, which also
//!    replaces the inbound header in the request passed on;
//! 2. the store: `S::default()`, then the [`setup`](ClsLayer::setup), which may answer
//!    the request itself (a 401 without a tenant, say; it runs inside the request scope,
//!    so it reads the id), or the
//!    [`setup_async`](ClsLayer::setup_async), which runs inside the new context and may
//!    await;
//! 3. the inner service runs inside the context, then the body is polled in it;
//! 4. the id goes on the response, whatever its status;
//! 5. once the body has sent its last frame (or was dropped), the work registered with
//!    [`after`] starts.
//!
//! See [`ClsLayer`] for an example driving a service, and the workspace's tests for real
//! servers on loopback: `test_web_layer.rs` (extractors, the 404 fallback, streamed
//! bodies, spawned tasks, hostile ids), `test_web_wire.rs` (HTTP/2 streams, server-sent
//! events, 10,000 concurrent requests over HTTP/1.1 keep-alive and HTTP/2, `Buffer`
//! placement), `test_web_grpc.rs` (tonic unary and server-streaming calls, trailers
//! intact) and `test_web_after.rs`.
//!
//! # Deciding a request's id
//!
//! Keep the inbound id when the policy allows it, else generate one, and echo it in the
//! response so that the client can quote it:
//!
//! ```
//! use cls_core::web::{self, RequestId, RequestInfo, Trust, X_REQUEST_ID};
//! use http::{Request, Response};
//!
//! fn request_id(request: &Request<()>, trust: Trust) -> RequestId {
//!     trust
//!         .accept(request.headers(), &X_REQUEST_ID)
//!         .unwrap_or_else(web::uuid_v4)
//! }
//!
//! let from_proxy = Request::get("/orders").header("x-request-id", "lb-7f3a").body(())?;
//! assert_eq!(request_id(&from_proxy, Trust::IfValid).as_str(), "lb-7f3a");
//!
//! // A value made to forge a log line is replaced.
//! let forged = Request::get("/orders")
//!     .header("x-request-id", "ok\" level=admin")
//!     .body(())?;
//! let id = request_id(&forged, Trust::IfValid);
//! assert_eq!(id.as_str().len(), 36);
//!
//! let info = RequestInfo::from_request(&forged);
//! assert_eq!(info.uri().path(), "/orders");
//!
//! let response = Response::builder()
//!     .header(X_REQUEST_ID, id.header_value())
//!     .body(())?;
//! assert_eq!(response.headers()["x-request-id"], id.as_str());
//! # Ok::<(), http::Error>(())
//! ```
//!
//! # Reading the request from anywhere
//!
//! Code deep below a handler asks for the id of the request it serves instead of taking
//! it as a parameter. The same scope opens for a job, so that the job's logs carry an id:
//!
//! ```
//! use cls_core::web::{self, RequestId};
//!
//! fn log_line(message: &str) -> String {
//!     match web::request_id() {
//!         Some(id) => format!("[{id}] {message}"),
//!         None => message.to_owned(),
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), web::InvalidRequestId> {
//! let job = web::job_context(Some(RequestId::new("nightly-export")?));
//! let line = job.run(async { log_line("export started") }).await;
//! assert_eq!(line, "[nightly-export] export started");
//! assert_eq!(log_line("idle"), "idle");
//! # Ok(())
//! # }
//! ```
//!
//! # Choosing a generator
//!
//! [`uuid_v4`] is random; [`uuid_v7`] starts with the time in milliseconds, so ids sort by
//! creation time (useful as a database key or to scan logs). An id of another form is a
//! [`RequestId::new`] away:
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! use cls_core::web::RequestId;
//!
//! static NEXT: AtomicU64 = AtomicU64::new(1);
//! let sequential = || RequestId::new(&format!("web-1-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
//! assert_eq!(sequential()?.as_str(), "web-1-1");
//! assert_eq!(sequential()?.as_str(), "web-1-2");
//! # Ok::<(), cls_core::web::InvalidRequestId>(())
//! ```
//!
//! # Features
//!
//! `tower` enables this module, with `http` and `rand` as dependencies.
//! `axum` adds axum's `MatchedPath` and `ConnectInfo<SocketAddr>` to [`RequestInfo`], and
//! makes [`RequestId`] and [`RequestInfo`] axum extractors (`FromRequestParts`).

#![cfg_attr(docsrs, doc(cfg(feature = "tower")))]

mod after;
mod baggage;
mod body;
#[cfg(feature = "axum")]
mod extract;
mod future;
mod id_gen;
mod layer;
mod make_request_id;
mod propagate;
mod request_id;
mod request_info;
mod scope;
mod service;
mod setup;
mod setup_async;

pub use self::after::after;
pub use self::body::ClsBody;
#[cfg(feature = "axum")]
pub use self::extract::NoRequestContext;
pub use self::future::ResponseFuture;
pub use self::id_gen::{uuid_v4, uuid_v7};
pub use self::layer::ClsLayer;
pub use self::make_request_id::{MakeRequestId, MakeUuidV4};
pub use self::propagate::{PropagateLayer, PropagateService, PropagateStores};
pub use self::request_id::{InvalidRequestId, RequestId, Trust, X_REQUEST_ID};
pub use self::request_info::RequestInfo;
pub use self::scope::{job_context, request, request_context, request_id, trace_context};
pub use self::service::ClsService;
pub use self::setup::{NoSetup, Setup, SetupFn};
pub use self::setup_async::{AsyncSetupFn, SetupFuture};
