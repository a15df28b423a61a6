//! `cls_core` against its peers, each measured side by side with the peer in the same run.
//!
//! Run `cargo bench -p cls-core` (all groups, under ten seconds of measuring) or
//! `cargo bench -p cls-core -- KEY` for the groups whose key contains `KEY`: `read`,
//! `write`, `poll`, `sync_scope`, `spawn_ct`, `spawn_mt`, `depth`, `contexts`, `json`.
//! `cargo test -p cls-core --benches` runs every routine a few times, unmeasured.
//!
//! # How it measures
//!
//! A small harness (`harness/mod.rs`), no criterion: each case is a routine that repeats
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

mod harness;

use std::future::Future;
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::ptr;
use std::sync::Arc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::{Duration, Instant};

use cls_core::{path, Cls, ClsStore};
use harness::{Group, Harness, Term};

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
        let iterations = n.div_ceil(UNROLL);
        let start = Instant::now();
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
            .mul_f64(n as f64 / (iterations * UNROLL) as f64)
    }};
}

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

/// The small store of the enter+exit group.
#[derive(ClsStore, Clone, Default)]
struct Small {
    id: u64,
}

/// Six nested stores: `v` at depth 1 is `path!(v)`, at depth 6 `path!(d2.d3.d4.d5.d6.v)`.
#[derive(ClsStore, Clone, Default)]
struct D1 {
    v: u64,
    d2: D2,
}

#[derive(ClsStore, Clone, Default)]
struct D2 {
    v: u64,
    d3: D3,
}

#[derive(ClsStore, Clone, Default)]
struct D3 {
    v: u64,
    d4: D4,
}

#[derive(ClsStore, Clone, Default)]
struct D4 {
    v: u64,
    d5: D5,
}

#[derive(ClsStore, Clone, Default)]
struct D5 {
    v: u64,
    d6: D6,
}

#[derive(ClsStore, Clone, Default)]
struct D6 {
    v: u64,
}

const CLS: Cls<AppStore> = Cls::new();
const TENANT: Cls<Tenant> = Cls::new();
const TRACE: Cls<Trace> = Cls::new();
const SMALL: Cls<Small> = Cls::new();
const DEEP: Cls<D1> = Cls::new();

tokio::task_local! {
    static CTX: Arc<AppStore>;
    static TENANT_KEY: Arc<Tenant>;
    static TRACE_KEY: Arc<Trace>;
    static SMALL_KEY: Arc<Small>;
    static COPY_KEY: u64;
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

fn deep_store() -> D1 {
    let d6 = D6 { v: 6 };
    let d5 = D5 { v: 5, d6 };
    let d4 = D4 { v: 4, d5 };
    let d3 = D3 { v: 3, d4 };
    let d2 = D2 { v: 2, d3 };
    D1 { v: 1, d2 }
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
    read(&mut h);
    write(&mut h);
    poll(&mut h);
    sync_scope(&mut h);
    spawn_current_thread(&mut h);
    spawn_multi_thread(&mut h);
    depth(&mut h);
    contexts(&mut h);
    json(&mut h);
    h.finish();
}

/// The values the routines read are the ones they should read.
fn sanity_checks() {
    CTX.sync_scope(Arc::new(app_store()), || {
        assert_eq!(tokio_user_id(), USER_ID);
    });
    CLS.run_with_sync(app_store(), || {
        assert_eq!(cls_user_id(), USER_ID);
        CLS.set::<path!(user.id)>(7);
        CLS.update::<path!(user.id), _>(|id| *id += 1);
        assert_eq!(CLS.get::<path!(user.id)>(), 8);
    });
    DEEP.run_with_sync(deep_store(), || {
        let read = [
            DEEP.get::<path!(v)>(),
            DEEP.get::<path!(d2.v)>(),
            DEEP.get::<path!(d2.d3.v)>(),
            DEEP.get::<path!(d2.d3.d4.v)>(),
            DEEP.get::<path!(d2.d3.d4.d5.v)>(),
            DEEP.get::<path!(d2.d3.d4.d5.d6.v)>(),
        ];
        assert_eq!(read, [1, 2, 3, 4, 5, 6]);
    });
    let innermost = &mut || {
        assert_eq!(CLS.get::<path!(request_id)>(), "innermost");
        Duration::ZERO
    };
    // The innermost `AppStore` context wins, behind frames of other types.
    nest_levels(10, &mut || {
        let store = AppStore {
            request_id: "innermost".to_owned(),
            ..app_store()
        };
        CLS.run_with_sync(store, || nest_other_types(10, innermost))
    });
}

// ---------------------------------------------------------------------------------------
// read: one u64 at depth 2, in a sync scope

#[inline(never)]
fn tokio_user_id() -> u64 {
    CTX.with(|ctx| ctx.user.id)
}

#[inline(never)]
fn cls_user_id() -> u64 {
    CLS.get::<path!(user.id)>()
}

/// The read loops are functions of their own so that cases which differ only in the
/// contexts around them run the very same machine code.
#[inline(never)]
fn tokio_read_loop(n: u64) -> Duration {
    time_unrolled!(n, black_box(CTX.with(|ctx| ctx.user.id)))
}

#[inline(never)]
fn cls_read_loop(n: u64) -> Duration {
    time_unrolled!(n, black_box(CLS.get::<path!(user.id)>()))
}

fn read(h: &mut Harness) {
    let ctx = Arc::new(app_store());
    h.run(
        Group::new(
            "read",
            "get::<path!(user.id)>() (u64, depth 2) vs tokio task_local `with`",
        )
        .case("tokio CTX.with(|c| c.user.id), CTX: Arc<AppStore>", |n| {
            CTX.sync_scope(ctx.clone(), || tokio_read_loop(n))
        })
        .case("cls CLS.get::<path!(user.id)>()", |n| {
            CLS.run_with_sync(app_store(), || cls_read_loop(n))
        })
        .case("tokio, behind a non-inlined call", |n| {
            CTX.sync_scope(ctx.clone(), || {
                time_unrolled!(n, black_box(tokio_user_id()))
            })
        })
        .case("cls, behind a non-inlined call", |n| {
            CLS.run_with_sync(app_store(), || time_unrolled!(n, black_box(cls_user_id())))
        })
        .case("floor: ctx.user.id through a plain &AppStore", |n| {
            let store = app_store();
            time_unrolled!(n, black_box(black_box(&store).user.id))
        })
        .target("cls get / tokio with", Term::Case(1), Term::Case(0), 3.0)
        .target(
            "cls get / tokio with, both behind a call",
            Term::Case(3),
            Term::Case(2),
            3.0,
        ),
    );
}

// ---------------------------------------------------------------------------------------
// write: set and update of a u64 in an unshared store, against the cls read

fn write(h: &mut Harness) {
    h.run(
        Group::new(
            "write",
            "set / update of user.id (unshared store) vs the cls read",
        )
        .case("cls CLS.get::<path!(user.id)>()", |n| {
            CLS.run_with_sync(app_store(), || cls_read_loop(n))
        })
        .case("cls CLS.set::<path!(user.id)>(v)", |n| {
            CLS.run_with_sync(app_store(), || {
                let elapsed = time_unrolled!(n, CLS.set::<path!(user.id)>(black_box(USER_ID + 1)));
                assert_eq!(CLS.get::<path!(user.id)>(), USER_ID + 1);
                elapsed
            })
        })
        .case("cls CLS.update::<path!(user.id), _>(|id| *id += 1)", |n| {
            CLS.run_with_sync(app_store(), || {
                let elapsed =
                    time_unrolled!(n, CLS.update::<path!(user.id), _>(|id| *id += black_box(1)));
                assert_eq!(
                    CLS.get::<path!(user.id)>(),
                    USER_ID + n.div_ceil(UNROLL) * UNROLL
                );
                elapsed
            })
        })
        .target("cls set / cls get", Term::Case(1), Term::Case(0), 5.0)
        .target("cls update / cls get", Term::Case(2), Term::Case(0), 5.0),
    );
}

// ---------------------------------------------------------------------------------------
// poll: per-poll cost of a scope wrapper

/// Returns `Pending` (waking itself) `left` times, then `Ready`.
struct PendingN {
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

fn noop_raw_waker() -> RawWaker {
    fn clone(_: *const ()) -> RawWaker {
        noop_raw_waker()
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    RawWaker::new(ptr::null(), &VTABLE)
}

/// A waker that does nothing (`Waker::noop` needs Rust 1.85; this crate supports 1.78).
fn noop_waker() -> Waker {
    // SAFETY: no function of the vtable touches the data pointer, `clone` returns another
    // such waker, and all of them are thread-safe because they do nothing.
    unsafe { Waker::from_raw(noop_raw_waker()) }
}

/// One poll, as an executor does it: a call into the task's (monomorphic) poll.
#[inline(never)]
fn poll_once<F: Future>(fut: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    fut.poll(cx)
}

/// Polls `fut` to completion and returns the time of the polls only.
fn drive<F: Future>(fut: F) -> Duration {
    let waker = noop_waker();
    // The waker's vtable is hidden from the optimizer: the wake stays a real call.
    let mut cx = Context::from_waker(black_box(&waker));
    let mut fut = pin!(fut);
    let start = Instant::now();
    while poll_once(fut.as_mut(), &mut cx).is_pending() {}
    start.elapsed()
}

fn pending(n: u64) -> PendingN {
    PendingN { left: n }
}

fn poll(h: &mut Harness) {
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

// ---------------------------------------------------------------------------------------
// sync_scope: enter + exit of a synchronous scope

fn sync_scope(h: &mut Harness) {
    let small = Arc::new(Small { id: 1 });
    h.run(
        Group::new(
            "sync_scope",
            "run_with_sync enter+exit (small store) vs tokio sync_scope",
        )
        .case("tokio SMALL_KEY.sync_scope(arc.clone(), f)", |n| {
            let start = Instant::now();
            for _ in 0..n {
                SMALL_KEY.sync_scope(black_box(&small).clone(), || black_box(0_u64));
            }
            start.elapsed()
        })
        .case("cls SMALL.run_with_sync(Small { id }, f)", |n| {
            let start = Instant::now();
            for i in 0..n {
                SMALL.run_with_sync(Small { id: black_box(i) }, || black_box(0_u64));
            }
            start.elapsed()
        })
        .case(
            "tokio SMALL_KEY.sync_scope(Arc::new(Small { id }), f)",
            |n| {
                let start = Instant::now();
                for i in 0..n {
                    SMALL_KEY.sync_scope(Arc::new(Small { id: black_box(i) }), || black_box(0_u64));
                }
                start.elapsed()
            },
        )
        .case("tokio COPY_KEY.sync_scope(i, f), a Copy u64", |n| {
            let start = Instant::now();
            for i in 0..n {
                COPY_KEY.sync_scope(black_box(i), || black_box(0_u64));
            }
            start.elapsed()
        })
        .case(
            "cls SMALL.run_sync(f) inside a Small context (shares the Arc)",
            |n| {
                SMALL.run_with_sync(Small { id: 1 }, || {
                    let start = Instant::now();
                    for _ in 0..n {
                        SMALL.run_sync(|| black_box(0_u64));
                    }
                    start.elapsed()
                })
            },
        )
        .target(
            "cls run_with_sync / tokio sync_scope(arc.clone())",
            Term::Case(1),
            Term::Case(0),
            3.0,
        )
        .info(
            "cls run_with_sync / tokio sync_scope(Arc::new(..))",
            Term::Case(1),
            Term::Case(2),
        ),
    );
}

// ---------------------------------------------------------------------------------------
// spawn: spawn + join inside a context with one store type

/// The spawned task: ready at once. `PAD` bytes of padding make it as large as another
/// future, to tell the cost of a larger task from the cost of carrying the context.
struct Seven<const PAD: usize>([u8; PAD]);

impl<const PAD: usize> Future for Seven<PAD> {
    type Output = u64;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u64> {
        Poll::Ready(black_box(7))
    }
}

/// What `cls_core::spawn` adds to a task with one store type active: the store pointer and
/// its vtable (with more store types it hands tokio a `Scoped`, which is larger).
const CARRIED_SIZE: usize = 2 * std::mem::size_of::<usize>();

#[allow(clippy::disallowed_methods)] // The plain `tokio::spawn` is the peer.
async fn tokio_spawn_loop<const PAD: usize>(n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(tokio::spawn(Seven([0; PAD])).await.unwrap());
    }
    start.elapsed()
}

async fn cls_spawn_loop(n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(cls_core::spawn(Seven([])).await.unwrap());
    }
    start.elapsed()
}

/// What `cls_core::spawn` adds before and after `tokio::spawn`: capture the context into a
/// `Scoped` (`bind`), and drop it.
async fn bind_loop(n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        drop(black_box(cls_core::bind(Seven([]))));
    }
    start.elapsed()
}

/// The floor of carrying a context: the spawned task owns one more strong count of an
/// `Arc`, which is what `cls_core::spawn` gives it for one store type.
#[allow(clippy::disallowed_methods)]
async fn tokio_spawn_arc_loop(n: u64, store: Arc<AppStore>) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let carried = Arc::clone(&store);
        let task = async move {
            let _carried = carried;
            black_box(7_u64)
        };
        black_box(tokio::spawn(task).await.unwrap());
    }
    start.elapsed()
}

/// `cls_core::spawn` without walking the frames: the context was captured once, before.
#[allow(clippy::disallowed_methods)]
async fn snapshot_spawn_loop(n: u64) -> Duration {
    let snapshot = cls_core::snapshot();
    let start = Instant::now();
    for _ in 0..n {
        black_box(tokio::spawn(snapshot.run(Seven([]))).await.unwrap());
    }
    start.elapsed()
}

fn spawn_current_thread(h: &mut Harness) {
    if !h.wants("spawn_ct") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("build a current-thread runtime");
    let in_context = |loop_: Pin<Box<dyn Future<Output = Duration>>>| {
        rt.block_on(CLS.run_with(app_store(), loop_))
    };
    let store = Arc::new(app_store());
    h.run(
        Group::new(
            "spawn_ct",
            "spawn + join inside a context, current_thread runtime",
        )
        .case("tokio::spawn(fut).await", |n| {
            in_context(Box::pin(tokio_spawn_loop::<0>(n)))
        })
        .case("cls_core::spawn(fut).await (carries the context)", |n| {
            in_context(Box::pin(cls_spawn_loop(n)))
        })
        .case(
            "tokio::spawn(fut padded by the two words cls carries)",
            |n| in_context(Box::pin(tokio_spawn_loop::<CARRIED_SIZE>(n))),
        )
        .case("tokio::spawn(fut owning an Arc clone of the store)", |n| {
            in_context(Box::pin(tokio_spawn_arc_loop(n, store.clone())))
        })
        .case(
            "tokio::spawn(snapshot.run(fut)), snapshot taken once",
            |n| in_context(Box::pin(snapshot_spawn_loop(n))),
        )
        .case(
            "cls_core::bind(fut) then drop: capture + release, no spawn",
            |n| in_context(Box::pin(bind_loop(n))),
        )
        .target("cls spawn / tokio spawn", Term::Case(1), Term::Case(0), 1.1)
        .info(
            "tokio spawn of a future padded the same / tokio spawn",
            Term::Case(2),
            Term::Case(0),
        )
        .info(
            "floor: tokio spawn carrying an Arc / tokio spawn",
            Term::Case(3),
            Term::Case(0),
        )
        .info(
            "cls spawn / tokio spawn carrying an Arc",
            Term::Case(1),
            Term::Case(3),
        )
        .info(
            "cls spawn / tokio spawn of a pre-taken snapshot",
            Term::Case(1),
            Term::Case(4),
        ),
    );
}

fn spawn_multi_thread(h: &mut Harness) {
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

// ---------------------------------------------------------------------------------------
// depth: the same read at path depth 1 to 6

macro_rules! deep_read_loop {
    ($name:ident, $($path:tt)+) => {
        #[inline(never)]
        fn $name(n: u64) -> Duration {
            time_unrolled!(n, black_box(DEEP.get::<path!($($path)+)>()))
        }
    };
}

deep_read_loop!(read_depth_1, v);
deep_read_loop!(read_depth_2, d2.v);
deep_read_loop!(read_depth_3, d2.d3.v);
deep_read_loop!(read_depth_4, d2.d3.d4.v);
deep_read_loop!(read_depth_5, d2.d3.d4.d5.v);
deep_read_loop!(read_depth_6, d2.d3.d4.d5.d6.v);

fn depth(h: &mut Harness) {
    let in_deep = |read: fn(u64) -> Duration| move |n| DEEP.run_with_sync(deep_store(), || read(n));
    h.run(
        Group::new(
            "depth",
            "get of a u64 at path depth 1..6 (nested stores D1..D6)",
        )
        .case("depth 1: path!(v)", in_deep(read_depth_1))
        .case("depth 2: path!(d2.v)", in_deep(read_depth_2))
        .case("depth 3: path!(d2.d3.v)", in_deep(read_depth_3))
        .case("depth 4: path!(d2.d3.d4.v)", in_deep(read_depth_4))
        .case("depth 5: path!(d2.d3.d4.d5.v)", in_deep(read_depth_5))
        .case("depth 6: path!(d2.d3.d4.d5.d6.v)", in_deep(read_depth_6))
        .target("depth 6 / depth 1", Term::Case(5), Term::Case(0), 1.25),
    );
}

// ---------------------------------------------------------------------------------------
// contexts: the read with many live contexts

/// `levels` nested contexts of `AppStore`, then `body`.
fn nest_same(levels: usize, body: &mut dyn FnMut() -> Duration) -> Duration {
    if levels == 0 {
        return body();
    }
    CLS.run_with_sync(app_store(), || nest_same(levels - 1, body))
}

/// `levels` times: a context of `AppStore`, then `Tenant` and `Trace` inside it; then `body`.
/// The innermost `AppStore` frame is two frames from the top.
fn nest_levels(levels: usize, body: &mut dyn FnMut() -> Duration) -> Duration {
    if levels == 0 {
        return body();
    }
    CLS.run_with_sync(app_store(), || {
        TENANT.run_with_sync(Tenant { id: 1 }, || {
            TRACE.run_with_sync(Trace { span: 2 }, || nest_levels(levels - 1, body))
        })
    })
}

/// `frames` contexts of `Tenant` and `Trace` by turns, then `body`.
fn nest_other_types(frames: usize, body: &mut dyn FnMut() -> Duration) -> Duration {
    match frames {
        0 => body(),
        _ if frames % 2 == 0 => {
            TENANT.run_with_sync(Tenant { id: 1 }, || nest_other_types(frames - 1, body))
        }
        _ => TRACE.run_with_sync(Trace { span: 2 }, || nest_other_types(frames - 1, body)),
    }
}

fn contexts(h: &mut Harness) {
    h.run(
        Group::new(
            "contexts",
            "get::<path!(user.id)>() with many live contexts",
        )
        .case("1 AppStore context", |n| {
            nest_same(1, &mut || cls_read_loop(n))
        })
        .case("1,000 nested AppStore contexts", |n| {
            nest_same(1_000, &mut || cls_read_loop(n))
        })
        .case("1 level of (AppStore, Tenant, Trace)", |n| {
            nest_levels(1, &mut || cls_read_loop(n))
        })
        .case(
            "1,000 levels of (AppStore, Tenant, Trace): 3,000 contexts",
            |n| nest_levels(1_000, &mut || cls_read_loop(n)),
        )
        .case("AppStore outside 8 contexts of other types", |n| {
            CLS.run_with_sync(app_store(), || {
                nest_other_types(8, &mut || cls_read_loop(n))
            })
        })
        .case("AppStore outside 1,000 contexts of other types", |n| {
            CLS.run_with_sync(app_store(), || {
                nest_other_types(1_000, &mut || cls_read_loop(n))
            })
        })
        .target(
            "1,000 AppStore contexts / 1",
            Term::Case(1),
            Term::Case(0),
            1.25,
        )
        .target(
            "1,000 levels / 1 level of (AppStore, Tenant, Trace)",
            Term::Case(3),
            Term::Case(2),
            1.25,
        )
        .info(
            "2 other-type frames on top / none",
            Term::Case(2),
            Term::Case(0),
        )
        .info(
            "8 other-type frames on top / none",
            Term::Case(4),
            Term::Case(0),
        )
        .info(
            "1,000 other-type frames on top / none",
            Term::Case(5),
            Term::Case(0),
        ),
    );
}

// ---------------------------------------------------------------------------------------
// json: paths given as strings

/// A serde user, for the paths-as-strings group.
#[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
struct JsonUser {
    id: u64,
    name: String,
}

/// A store whose rest is small.
#[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
struct SmallJson {
    request_id: String,
    user: JsonUser,
}

/// The same, carrying a 1,000-element vector elsewhere: reading or writing `user.id` as
/// JSON must not cost more for it.
#[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
struct BigJson {
    request_id: String,
    user: JsonUser,
    history: Vec<u64>,
}

const SMALL_JSON: Cls<SmallJson> = Cls::new();
const BIG_JSON: Cls<BigJson> = Cls::new();

fn big_json() -> BigJson {
    BigJson {
        request_id: "req-1".to_owned(),
        user: JsonUser {
            id: USER_ID,
            name: "ada".to_owned(),
        },
        history: (0..1_000).collect(),
    }
}

fn small_json() -> SmallJson {
    SmallJson {
        request_id: "req-1".to_owned(),
        user: JsonUser {
            id: USER_ID,
            name: "ada".to_owned(),
        },
    }
}

fn json(h: &mut Harness) {
    h.run(
        Group::new(
            "json",
            "get_json / set_json of user.id vs the typed get, with and without a 1,000-element vector elsewhere",
        )
        .case("cls BIG_JSON.get::<path!(user.id)>()", |n| {
            BIG_JSON.run_with_sync(big_json(), || {
                time_unrolled!(n, black_box(BIG_JSON.get::<path!(user.id)>()))
            })
        })
        .case("cls SMALL_JSON.get_json(\"user.id\")", |n| {
            SMALL_JSON.run_with_sync(small_json(), || time_json_op(n, get_user_id(SMALL_JSON)))
        })
        .case("cls BIG_JSON.get_json(\"user.id\")", |n| {
            BIG_JSON.run_with_sync(big_json(), || time_json_op(n, get_user_id(BIG_JSON)))
        })
        .case("cls SMALL_JSON.set_json(\"user.id\", v), unshared", |n| {
            SMALL_JSON.run_with_sync(small_json(), || time_json_op(n, set_user_id(SMALL_JSON)))
        })
        .case("cls BIG_JSON.set_json(\"user.id\", v), unshared", |n| {
            BIG_JSON.run_with_sync(big_json(), || time_json_op(n, set_user_id(BIG_JSON)))
        })
        .target("get_json with a 1,000-element vector / without", Term::Case(2), Term::Case(1), 1.25)
        .target("get_json / typed get", Term::Case(2), Term::Case(0), 100.0)
        .target("set_json with a 1,000-element vector / without", Term::Case(4), Term::Case(3), 1.25),
    );
}

/// Times `n` calls of `op(i)` inside the current context.
fn time_json_op(n: u64, mut op: impl FnMut(u64)) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        op(i);
    }
    start.elapsed()
}

fn get_user_id<S: ClsStore>(cls: Cls<S>) -> impl FnMut(u64) {
    move |_| {
        black_box(cls.get_json(black_box("user.id")).ok());
    }
}

fn set_user_id<S: ClsStore>(cls: Cls<S>) -> impl FnMut(u64) {
    move |i| {
        let value = serde_json::Value::from(black_box(i));
        black_box(cls.set_json(black_box("user.id"), value).ok());
    }
}
