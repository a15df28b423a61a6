//! The `spawn_mt` group: spawn + join inside a context with one store type, on a
//! multi-thread runtime (2 workers); the loops are `spawn_ct`'s.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::harness::{Group, Harness, Term};
use crate::spawn_ct::{cls_spawn_loop, tokio_spawn_loop};
use crate::{app_store, CLS};

pub(crate) fn run(h: &mut Harness) {
    if !h.wants("spawn_mt") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("build a multi-thread runtime");
    // The loop runs in a task on a worker, as a request handler would.
    #[allow(clippy::disallowed_methods)]
    let on_worker = |loop_: Pin<Box<dyn Future<Output = Duration> + Send>>| {
        rt.block_on(async {
            tokio::spawn(CLS.run_with(app_store(), loop_))
                .await
                .unwrap()
        })
    };
    h.run(
        Group::new(
            "spawn_mt",
            "spawn + join inside a context, multi_thread runtime (2 workers)",
        )
        .case("tokio::spawn(fut).await", |n| {
            on_worker(Box::pin(tokio_spawn_loop::<0>(n)))
        })
        .case("cls_core::spawn(fut).await (carries the context)", |n| {
            on_worker(Box::pin(cls_spawn_loop(n)))
        })
        .target("cls spawn / tokio spawn", Term::Case(1), Term::Case(0), 1.1),
    );
}
