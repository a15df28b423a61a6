//! `cls_core` against its peers, each measured side by side with the peer in the same run.
//!
//! Run `cargo bench -p cls-core` (all groups, under ten seconds of measuring) or
//! `cargo bench -p cls-core -- KEY` for the groups whose key contains `KEY`: `read`,
//! `write`, `poll`, `sync_scope`, `spawn_ct`, `spawn_mt`, `depth`, `contexts`, `capture`,
//! `context`, `json`; with `--features tower`, `id_gen`; with `--features axum`, `web`
//! (the layer against tower-http's request-id pair; `benches/web_throughput.sh` measures the
//! same over loopback); with `--features w3c`, `w3c` (with `--features opentelemetry`,
//! against opentelemetry-sdk's `BaggagePropagator` too); with `--features tracing`, `logging`; with
//! `--features sqlx-sqlite`, `tx`.
//! `cargo test -p cls-core --benches` runs every routine a few times, unmeasured.
//!
//! # How it measures
//!
//! A small harness (`harness.rs`), no criterion: each case is a routine that repeats
//! one operation `n` times and times only that loop (entering the scope, building the
//! future or nesting the contexts happens outside the clock). `n` is calibrated so that a
//! sample takes ~2 ms. The cases of a group then take turns, one sample each per round,
//! 51 rounds, the order rotating each round, so that the noise of a shared 2-core machine
//! hits the candidate and its peer alike. Results and inputs go through
//! `std::hint::black_box`, which also acts as a memory clobber, so the context is looked up
//! again on every iteration and nothing is hoisted out of the loop or optimized away.
//!
//! # How to read the tables
//!
//! - `median ns`: median over the samples of the time per operation.
//! - `vs peer`: that median divided by the median of the group's first case, the peer.
//! - `spread`: interquartile range of the samples, as a percentage of the median: how noisy
//!   the case was in this run.
//! - `p10 ns`: the 10th percentile of the samples, the ones that ran undisturbed. When other
//!   builds keep both cores busy the samples split into "alone" and "sharing the core", the
//!   median jumps between the two from run to run, and this column is the steady one;
//!   `BENCH_STAT=floor` then judges the `->` lines on it (see `harness.rs`).
//! - `->` lines: the ratios the targets are about. The two ns figures are the medians of
//!   the numerator and the denominator; the ratio is the median of the per-round ratios
//!   (both sides sampled back to back), which cancels the slow and fast phases this
//!   machine drifts through. An overhead is `wrapped - bare` within a round: the per-poll
//!   cost of a scope wrapper. A line with a limit is a target (`MET` when the ratio is at
//!   most the limit); the others are there to explain the targets. The summary at the end
//!   repeats every target.
//!
//! The limits are the issue's; "flat" and "does not grow" are read as at most 1.25x, a
//! margin for noise.
//!
//! Sub-nanosecond reads move by a few tenths of a ns from one build to the next (code
//! placement), and the machine drifts between phases; compare ratios within a run, not ns
//! across runs. `BENCH_RAW=1` prints every sample to stderr.
//!
//! # Layout
//!
//! One file per group, named by its key (`read.rs`, `write.rs`, … `json.rs`); this file
//! holds what several groups share (the stores, the tokio peer's task-locals, the unrolled
//! timing loop), checks that the routines read what they should, and runs the groups in
//! order.

mod harness;

use std::sync::Arc;
use std::time::Duration;

use cls_core::{path, Cls, ClsStore};
use harness::Harness;

/// Copies of the operation per iteration of a nanosecond-scale loop.
const UNROLL: u64 = 16;

/// Runs `$op` about `n` times, 16 copies per loop iteration, and returns the time of `n`.
///
/// A one-operation loop is so short that where it lands in a 64-byte fetch block (which
/// changes from build to build) moves it by up to ~1 ns, even between loops whose
/// instructions are the same; sixteen copies per iteration make that negligible.
macro_rules! time_unrolled {
    ($n:expr, $op:expr) => {{
        let n: u64 = $n;
        let iterations = n.div_ceil($crate::UNROLL);
        let start = ::std::time::Instant::now();
        for _ in 0..iterations {
            $op;
            $op;
            $op;
            $op;
            $op;
            $op;
            $op;
            $op;
            $op;
            $op;
            $op;
            $op;
            $op;
            $op;
            $op;
            $op;
        }
        // `iterations * UNROLL` is `n` rounded up; scale back to `n` operations.
        start
            .elapsed()
            .mul_f64(n as f64 / (iterations * $crate::UNROLL) as f64)
    }};
}

// The groups, declared after `time_unrolled!` so that they can use it.
mod capture;
mod context;
mod contexts;
mod depth;
#[cfg(feature = "tower")]
mod id_gen;
mod json;
#[cfg(feature = "tracing")]
mod logging;
mod poll;
mod read;
mod spawn_ct;
mod spawn_mt;
mod sync_scope;
#[cfg(feature = "sqlx-sqlite")]
mod tx;
#[cfg(feature = "w3c")]
mod w3c;
#[cfg(feature = "axum")]
mod web;
mod write;

#[derive(ClsStore, Clone, Default)]
struct User {
    id: u64,
    name: String,
}

/// The store of the read, write, poll and spawn groups; the tokio peer holds the same type
/// in an `Arc`.
#[derive(ClsStore, Clone, Default)]
struct AppStore {
    request_id: String,
    user: User,
}

/// Two more store types, for contexts of other types active at the same time.
#[derive(ClsStore, Clone, Default)]
struct Tenant {
    id: u64,
}

#[derive(ClsStore, Clone, Default)]
struct Trace {
    span: u64,
}

const CLS: Cls<AppStore> = Cls::new();
const TENANT: Cls<Tenant> = Cls::new();
const TRACE: Cls<Trace> = Cls::new();

tokio::task_local! {
    static CTX: Arc<AppStore>;
}

const USER_ID: u64 = 42;

fn app_store() -> AppStore {
    AppStore {
        request_id: "req-1".to_owned(),
        user: User {
            id: USER_ID,
            name: "ada".to_owned(),
        },
    }
}

fn main() {
    // The `contexts` group nests 3,000 contexts by recursion: give it room.
    std::thread::Builder::new()
        .name("bench".to_owned())
        .stack_size(64 << 20)
        .spawn(run_all)
        .expect("spawn the bench thread")
        .join()
        .expect("the bench thread panicked");
}

fn run_all() {
    sanity_checks();
    let mut h = Harness::from_args();
    read::run(&mut h);
    write::run(&mut h);
    poll::run(&mut h);
    sync_scope::run(&mut h);
    spawn_ct::run(&mut h);
    spawn_mt::run(&mut h);
    depth::run(&mut h);
    contexts::run(&mut h);
    capture::run(&mut h);
    context::run(&mut h);
    json::run(&mut h);
    #[cfg(feature = "tower")]
    id_gen::run(&mut h);
    #[cfg(feature = "w3c")]
    w3c::run(&mut h);
    #[cfg(feature = "tracing")]
    logging::run(&mut h);
    #[cfg(feature = "axum")]
    web::run(&mut h);
    #[cfg(feature = "sqlx-sqlite")]
    tx::run(&mut h);
    h.finish();
}

/// The values the routines read are the ones they should read.
fn sanity_checks() {
    CTX.sync_scope(Arc::new(app_store()), || {
        assert_eq!(read::tokio_user_id(), USER_ID);
    });
    CLS.run_with_sync(app_store(), || {
        assert_eq!(read::cls_user_id(), USER_ID);
        CLS.set::<path!(user.id)>(7);
        CLS.update::<path!(user.id), _>(|id| *id += 1);
        assert_eq!(CLS.get::<path!(user.id)>(), 8);
    });
    depth::DEEP.run_with_sync(depth::deep_store(), || {
        let read = [
            depth::DEEP.get::<path!(v)>(),
            depth::DEEP.get::<path!(d2.v)>(),
            depth::DEEP.get::<path!(d2.d3.v)>(),
            depth::DEEP.get::<path!(d2.d3.d4.v)>(),
            depth::DEEP.get::<path!(d2.d3.d4.d5.v)>(),
            depth::DEEP.get::<path!(d2.d3.d4.d5.d6.v)>(),
        ];
        assert_eq!(read, [1, 2, 3, 4, 5, 6]);
    });
    let innermost = &mut || {
        assert_eq!(CLS.get::<path!(request_id)>(), "innermost");
        Duration::ZERO
    };
    // The innermost `AppStore` context wins, behind frames of other types.
    contexts::nest_levels(10, &mut || {
        let store = AppStore {
            request_id: "innermost".to_owned(),
            ..app_store()
        };
        CLS.run_with_sync(store, || contexts::nest_other_types(10, innermost))
    });
}
