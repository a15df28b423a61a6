//! The `web` group: one request through an axum router with a hello route, in process
//! (`oneshot`, then the body collected), on a current-thread runtime.
//!
//! The peer is the bare router; tower-http's `SetRequestIdLayer` + `PropagateRequestIdLayer`
//! pair is the middleware the layer must beat. Every routine builds its requests inside
//! the clock (a `GET /` with an empty body, as hyper hands it over), so a case whose
//! requests carry an inbound `x-request-id` is compared with the bare router given the
//! same requests.
//!
//! The targets are absolute: at most +250 ns per request over the bare router with
//! a generated id (echo and body wrapper on), at most +150 ns with an inbound valid id, and
//! cheaper than the tower-http pair. "No setup configured: no setup cost" is read as: a
//! layer without a setup costs no more than one whose setup does nothing, within 5% of
//! noise; a setup that copies a header into the store shows what a real one adds.
//!
//! The tower-http pair makes its ids with `uuid::Uuid::new_v4()` as its `MakeRequestUuid`
//! does, with `uuid`'s default features (a `getrandom` system call per id); one more case
//! gives it `cls_core::web::uuid_v4` instead, to separate the cost of making an id from
//! the cost of the middleware around it.

use std::convert::Infallible;
use std::fmt::Debug;
use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use cls_core::web::{ClsLayer, RequestInfo, X_REQUEST_ID};
use cls_core::ClsStore;
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt};
use tower_http::request_id::{
    MakeRequestId, MakeRequestUuid, PropagateRequestIdLayer, RequestId as TowerRequestId,
    SetRequestIdLayer,
};

use crate::harness::{Group, Harness, Term};

/// The user's store of the layer: a small one, as a service would derive.
#[derive(ClsStore, Clone, Default)]
struct WebStore {
    tenant: String,
    user_id: u64,
}

/// An inbound id that [`Trust::IfValid`](cls_core::web::Trust::IfValid) keeps.
const INBOUND_ID: &str = "lb-7f3a-0c41-e2d9";

fn hello_router() -> Router {
    Router::new().route("/", get(|| async { "hello" }))
}

/// tower-http's pair as its docs set it up: `SetRequestId` outside, so that
/// `PropagateRequestId` sees the id it made.
fn tower_http_pair<M: MakeRequestId + Clone + Send + Sync + 'static>(make: M) -> Router {
    hello_router()
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(make))
}

/// tower-http's generator interface, with `cls_core`'s id inside.
#[derive(Clone, Copy)]
struct ClsUuidForTowerHttp;

impl MakeRequestId for ClsUuidForTowerHttp {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<TowerRequestId> {
        Some(TowerRequestId::new(cls_core::web::uuid_v4().header_value()))
    }
}

/// The request of every case: `GET /`, empty body, with or without an inbound id.
fn request(inbound: bool) -> Request<Body> {
    let mut request = Request::new(Body::empty());
    if inbound {
        request
            .headers_mut()
            .insert(X_REQUEST_ID, HeaderValue::from_static(INBOUND_ID));
    }
    request
}

/// Sends one request through a clone of `service` and collects the body.
async fn round_trip<S, B>(service: &S, inbound: bool) -> (Response<()>, bytes::Bytes)
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone,
    B: http_body::Body,
    B::Error: Debug,
{
    let response = match service.clone().oneshot(request(inbound)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("collect the body").to_bytes();
    (Response::from_parts(parts, ()), body)
}

/// `n` requests, one after the other, each as a server would handle it: the request
/// built, the service cloned and called, the body collected, everything dropped.
async fn serve_loop<S, B>(service: &S, n: u64, inbound: bool) -> Duration
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone,
    B: http_body::Body,
    B::Error: Debug,
{
    let start = Instant::now();
    for _ in 0..n {
        black_box(round_trip(service, inbound).await);
    }
    start.elapsed()
}

/// The routine of a case served by a router.
fn routine<'a>(
    rt: &'a tokio::runtime::Runtime,
    service: &'a Router,
    inbound: bool,
) -> impl FnMut(u64) -> Duration + 'a {
    move |n| rt.block_on(serve_loop(service, n, inbound))
}

/// What every case answers: the hello body, and the id header where a middleware adds
/// one (the inbound id when there was one, else a 36-character UUID).
fn check<S, B>(rt: &tokio::runtime::Runtime, service: &S, inbound: bool, echoes: bool)
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible> + Clone,
    B: http_body::Body,
    B::Error: Debug,
{
    let (response, body) = rt.block_on(round_trip(service, inbound));
    assert_eq!(body, "hello");
    let id = response.headers().get(X_REQUEST_ID);
    match (echoes, inbound) {
        (false, _) => assert!(id.is_none()),
        (true, true) => assert_eq!(id.expect("an echoed id"), INBOUND_ID),
        (true, false) => assert_eq!(id.expect("a generated id").len(), 36),
    }
}

// A setup's rejection is the inner service's own response type, as the layer's API has it.
#[allow(clippy::result_large_err)]
pub(crate) fn run(h: &mut Harness) {
    if !h.wants("web") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("build a current-thread runtime");

    // `with_state(())` turns the handlers into routes once, as `axum::serve` does;
    // otherwise the router would do it again for every request.
    let bare = hello_router().with_state(());
    let tower_http = tower_http_pair(MakeRequestUuid).with_state(());
    let tower_http_fast_id = tower_http_pair(ClsUuidForTowerHttp).with_state(());
    let cls = hello_router()
        .layer(ClsLayer::<WebStore>::new())
        .with_state(());
    let cls_noop_setup = hello_router()
        .layer(
            ClsLayer::<WebStore>::new()
                .setup(|_: &RequestInfo, _: &mut WebStore| Ok::<(), Response<Body>>(())),
        )
        .with_state(());
    let cls_setup = hello_router().layer(ClsLayer::<WebStore>::new().setup(
        |request: &RequestInfo, store: &mut WebStore| {
            let tenant = request.headers().get("x-tenant");
            store.tenant = tenant
                .and_then(|value| value.to_str().ok())
                .unwrap_or("public")
                .to_owned();
            store.user_id = 7;
            Ok::<(), Response<Body>>(())
        },
    ));
    let cls_setup = cls_setup.with_state(());
    // Around the whole router, the layer's body reaches the caller as it is; under
    // `Router::layer`, axum boxes it into its own `Body` (one allocation per response).
    let cls_whole = ClsLayer::<WebStore>::new().layer(hello_router().with_state(()));

    check(&rt, &bare, false, false);
    check(&rt, &bare, true, false);
    check(&rt, &tower_http, false, true);
    check(&rt, &tower_http, true, true);
    check(&rt, &tower_http_fast_id, false, true);
    check(&rt, &cls, false, true);
    check(&rt, &cls, true, true);
    check(&rt, &cls_noop_setup, false, true);
    check(&rt, &cls_setup, false, true);
    check(&rt, &cls_whole, false, true);

    let case = |service, inbound| routine(&rt, service, inbound);
    h.run(
        Group::new(
            "web",
            "one request through an axum hello route: oneshot + body, current_thread",
        )
        .case("axum Router, hello route", case(&bare, false))
        .case(
            "  same, the request carrying an x-request-id",
            case(&bare, true),
        )
        .case(
            "tower-http SetRequestId(MakeRequestUuid) + PropagateRequestId",
            case(&tower_http, false),
        )
        .case("  same, inbound x-request-id kept", case(&tower_http, true))
        .case(
            "  same, ids from cls uuid_v4 (no system call)",
            case(&tower_http_fast_id, false),
        )
        .case(
            "ClsLayer, generated id, echo, body wrapper",
            case(&cls, false),
        )
        .case("ClsLayer, inbound valid id kept", case(&cls, true))
        .case(
            "ClsLayer, generated id, a setup that does nothing",
            case(&cls_noop_setup, false),
        )
        .case(
            "ClsLayer, generated id, a setup copying a header to the store",
            case(&cls_setup, false),
        )
        .case("ClsLayer around the whole router, generated id", |n| {
            rt.block_on(serve_loop(&cls_whole, n, false))
        })
        .target_ns(
            "cls, generated id - bare",
            Term::Overhead {
                wrapped: 5,
                bare: 0,
            },
            250.0,
        )
        .target_ns(
            "cls, inbound id - bare (same requests)",
            Term::Overhead {
                wrapped: 6,
                bare: 1,
            },
            150.0,
        )
        .target(
            "cls, generated id / tower-http pair",
            Term::Case(5),
            Term::Case(2),
            1.0,
        )
        .info(
            "cls, inbound id / tower-http pair, inbound id",
            Term::Case(6),
            Term::Case(3),
        )
        .target(
            "cls, no setup / cls, a setup that does nothing",
            Term::Case(5),
            Term::Case(7),
            1.05,
        )
        .info_ns(
            "tower-http pair - bare",
            Term::Overhead {
                wrapped: 2,
                bare: 0,
            },
        )
        .info_ns(
            "tower-http pair, inbound id - bare (same requests)",
            Term::Overhead {
                wrapped: 3,
                bare: 1,
            },
        )
        .info_ns(
            "tower-http pair, cls ids - bare",
            Term::Overhead {
                wrapped: 4,
                bare: 0,
            },
        )
        .info(
            "cls, generated id / tower-http pair with cls ids",
            Term::Case(5),
            Term::Case(4),
        )
        .info_ns(
            "cls, setup copying a header - cls, no setup",
            Term::Overhead {
                wrapped: 8,
                bare: 5,
            },
        )
        .info_ns(
            "cls around the whole router - bare",
            Term::Overhead {
                wrapped: 9,
                bare: 0,
            },
        ),
    );
}
