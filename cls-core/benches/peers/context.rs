//! The `context` group: entering a live `Context` (what a response body does for every
//! frame), against a poll of a future inside `run_with`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::harness::{Group, Harness, Term};
use crate::poll::{drive, pending};
use crate::{app_store, Trace, CLS, TRACE};

/// `n` entries of `context`, each doing as little as the polled future does.
fn enter_loop(context: &mut cls_core::Context, n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        context.enter_sync(|| black_box(0_u64));
    }
    start.elapsed()
}

pub(crate) fn run(h: &mut Harness) {
    h.run(
        Group::new(
            "context",
            "Context::enter_sync per entry vs a poll of a future inside run_with",
        )
        .case("poll of CLS.run_with(store, fut)", |n| {
            drive(CLS.run_with(app_store(), pending(n)))
        })
        .case("context.enter_sync(f), 1 store type", |n| {
            enter_loop(&mut CLS.context(app_store()), n)
        })
        .case("context.enter_sync(f), 2 store types joined", |n| {
            let mut context = CLS
                .context(app_store())
                .join(TRACE.context(Trace { span: 2 }));
            enter_loop(&mut context, n)
        })
        .target(
            "enter_sync, 1 store type / a poll inside run_with",
            Term::Case(1),
            Term::Case(0),
            1.5,
        )
        .info(
            "enter_sync, 2 store types / a poll inside run_with",
            Term::Case(2),
            Term::Case(0),
        ),
    );
}
