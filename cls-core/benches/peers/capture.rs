//! The `capture` group: `snapshot()` (what every spawn, `bind` and snapshot does first)
//! with two store types active, as the nesting around it grows.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::contexts::nest_levels;
use crate::harness::{Group, Harness, Term};
use crate::{app_store, Trace, CLS, TRACE};

/// `n` snapshots taken and dropped.
#[inline(never)]
fn snapshot_loop(n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(cls_core::snapshot());
    }
    start.elapsed()
}

/// `n` snapshots, each from a new nested context: every one is a new head over the run.
#[inline(never)]
fn fresh_head_snapshot_loop(n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(CLS.run_sync(cls_core::snapshot));
    }
    start.elapsed()
}

/// A `Trace` context with `levels` nested `AppStore` contexts inside it, then `body`.
fn nested_app_inside_trace(levels: usize, body: &mut dyn FnMut() -> Duration) -> Duration {
    fn nest(levels: usize, body: &mut dyn FnMut() -> Duration) -> Duration {
        match levels {
            0 => body(),
            _ => CLS.run_with_sync(app_store(), || nest(levels - 1, body)),
        }
    }
    TRACE.run_with_sync(Trace { span: 2 }, || nest(levels, body))
}

pub(crate) fn run(h: &mut Harness) {
    h.run(
        Group::new(
            "capture",
            "snapshot() with two store types active, by nesting depth",
        )
        .case("Trace, then 1 AppStore context", |n| {
            nested_app_inside_trace(1, &mut || snapshot_loop(n))
        })
        .case("Trace, then 100 nested AppStore contexts", |n| {
            nested_app_inside_trace(100, &mut || snapshot_loop(n))
        })
        .case("a new run_sync over Trace and 1 AppStore context", |n| {
            nested_app_inside_trace(1, &mut || fresh_head_snapshot_loop(n))
        })
        .case(
            "a new run_sync over Trace and 100 nested AppStore contexts",
            |n| nested_app_inside_trace(100, &mut || fresh_head_snapshot_loop(n)),
        )
        .case("1 level of (AppStore, Tenant, Trace)", |n| {
            nest_levels(1, &mut || snapshot_loop(n))
        })
        .case(
            "100 levels of (AppStore, Tenant, Trace), interleaved",
            |n| nest_levels(100, &mut || snapshot_loop(n)),
        )
        .target(
            "100 nested contexts of one type / 1",
            Term::Case(1),
            Term::Case(0),
            1.25,
        )
        .target(
            "a new head each time: 100 nested contexts of one type / 1",
            Term::Case(3),
            Term::Case(2),
            1.25,
        )
        .info(
            "100 interleaved levels of three types / 1 level",
            Term::Case(5),
            Term::Case(4),
        ),
    );
}
