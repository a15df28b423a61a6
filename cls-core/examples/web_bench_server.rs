//! The server that `benches/web_throughput.sh` loads over loopback: an axum hello route,
//! bare, under `ClsLayer`, or under tower-http's request-id pair, on a current-thread
//! runtime (one core, which the script pins it to).
//!
//! ```text
//! cargo run --release -p cls-core --features axum --example web_bench_server -- layer 127.0.0.1:0
//! ```
//!
//! The first argument is the mode (`bare`, `layer` or `tower-http`); the second the
//! address to bind, on loopback (port 0 picks a free port). The server prints
//! `listening on ADDR` once it accepts connections, then serves until killed.
//! A benchmark fixture, not a starting point: see the workspace's `integration/examples/axum_server.rs`.

use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;
use cls_core::web::ClsLayer;
use cls_core::ClsStore;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

/// The same small store as the `web` bench group's.
#[derive(ClsStore, Clone, Default)]
struct WebStore {
    tenant: String,
    user_id: u64,
}

fn router(mode: &str) -> Result<Router, String> {
    let hello = Router::new().route("/", get(|| async { "hello" }));
    match mode {
        "bare" => Ok(hello),
        "layer" => Ok(hello.layer(ClsLayer::<WebStore>::new())),
        "tower-http" => Ok(hello
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))),
        other => Err(format!(
            "unknown mode `{other}`: expected `bare`, `layer` or `tower-http`"
        )),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "layer".to_owned());
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:0".to_owned())
        .parse()?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr} is not a loopback address").into());
    }
    // `axum::serve` calls `with_state(())` itself; the router is served as built.
    let app = router(&mode)?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("listening on {} ({mode})", listener.local_addr()?);
        axum::serve(listener, app).await
    })?;
    Ok(())
}
