//! The `poll` group: per-poll cost of a scope wrapper.

use std::future::Future;
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::harness::{Group, Harness, Term};
use crate::{app_store, Tenant, Trace, CLS, CTX, TENANT, TRACE};

tokio::task_local! {
    static TENANT_KEY: Arc<Tenant>;
    static TRACE_KEY: Arc<Trace>;
}

/// Returns `Pending` (waking itself) `left` times, then `Ready`.
pub(crate) struct PendingN {
    left: u64,
}

impl Future for PendingN {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if self.left == 0 {
            return Poll::Ready(7);
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A waker that does nothing.
fn noop_waker() -> Waker {
    Waker::noop().clone()
}

/// One poll, as an executor does it: a call into the task's (monomorphic) poll.
#[inline(never)]
fn poll_once<F: Future>(fut: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    fut.poll(cx)
}

/// Polls `fut` to completion and returns the time of the polls only.
pub(crate) fn drive<F: Future>(fut: F) -> Duration {
    let waker = noop_waker();
    // The waker's vtable is hidden from the optimizer: the wake stays a real call.
    let mut cx = Context::from_waker(black_box(&waker));
    let mut fut = pin!(fut);
    let start = Instant::now();
    while poll_once(fut.as_mut(), &mut cx).is_pending() {}
    start.elapsed()
}

pub(crate) fn pending(n: u64) -> PendingN {
    PendingN { left: n }
}

pub(crate) fn run(h: &mut Harness) {
    let ctx = Arc::new(app_store());
    let tenant = Arc::new(Tenant { id: 1 });
    let trace = Arc::new(Trace { span: 2 });
    h.run(
        Group::new(
            "poll",
            "per-poll cost of a scope wrapper around a future (n polls)",
        )
        .case("bare future", |n| drive(pending(n)))
        .case("tokio CTX.scope(arc, fut)", |n| {
            drive(CTX.scope(ctx.clone(), pending(n)))
        })
        .case("cls CLS.run_with(store, fut)", |n| {
            drive(CLS.run_with(app_store(), pending(n)))
        })
        .case(
            "cls CLS.run_with(store, fut), 2 other types' contexts outside",
            |n| {
                TENANT.run_with_sync(Tenant { id: 1 }, || {
                    TRACE.run_with_sync(Trace { span: 2 }, || {
                        drive(CLS.run_with(app_store(), pending(n)))
                    })
                })
            },
        )
        .case("tokio 3 nested scopes (3 keys)", |n| {
            drive(TENANT_KEY.scope(
                tenant.clone(),
                TRACE_KEY.scope(trace.clone(), CTX.scope(ctx.clone(), pending(n))),
            ))
        })
        .case("cls 3 nested run_with (3 store types)", |n| {
            drive(TENANT.run_with(
                Tenant { id: 1 },
                TRACE.run_with(Trace { span: 2 }, CLS.run_with(app_store(), pending(n))),
            ))
        })
        .target(
            "cls overhead / tokio overhead (per poll)",
            Term::Overhead {
                wrapped: 2,
                bare: 0,
            },
            Term::Overhead {
                wrapped: 1,
                bare: 0,
            },
            1.5,
        )
        .target(
            "cls overhead, 2 other types active / none active",
            Term::Overhead {
                wrapped: 3,
                bare: 0,
            },
            Term::Overhead {
                wrapped: 2,
                bare: 0,
            },
            1.25,
        )
        .target(
            "3 nested: cls overhead / tokio overhead",
            Term::Overhead {
                wrapped: 5,
                bare: 0,
            },
            Term::Overhead {
                wrapped: 4,
                bare: 0,
            },
            1.5,
        ),
    );
}
