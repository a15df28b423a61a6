//! Panics and cancellation: a panic inside a context, sync or async, and a context future
//! dropped before it completes restore the previous state. A cancelled context future drops
//! its inner future with its own context still installed, so destructors can read it.

#[macro_use]
mod common;

use std::future::{pending, Future};
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use cls_core::{path, Cls, ClsStore};
use common::{app, panic_message, panic_of, trace, CLS, TRACE};
use tokio::sync::oneshot;
use tokio::task::yield_now;

fn view() -> (String, u64) {
    (CLS.get::<path!(request_id)>(), CLS.get::<path!(user.id)>())
}

/// What the destructors of cancelled futures saw of the context.
type Seen = Arc<Mutex<Vec<Result<String, cls_core::ClsErrorKind>>>>;

/// Records, when dropped, the request id of the context it is dropped in.
struct RecordOnDrop {
    seen: Seen,
}

impl RecordOnDrop {
    fn new(seen: &Seen) -> Self {
        Self {
            seen: Arc::clone(seen),
        }
    }
}

impl Drop for RecordOnDrop {
    fn drop(&mut self) {
        // `try_get` rather than `get`: a panic in a destructor run by a cancellation would
        // hide what was seen.
        let seen = CLS.try_get::<path!(request_id)>().map_err(|err| err.kind());
        self.seen.lock().unwrap().push(seen);
    }
}

fn seen_by_destructors(seen: &Seen) -> Vec<Result<String, cls_core::ClsErrorKind>> {
    std::mem::take(&mut *seen.lock().unwrap())
}

/// A future that holds a `RecordOnDrop`, writes to its context, reports that it started,
/// and never completes.
async fn hold_forever(seen: Seen, started: oneshot::Sender<()>) {
    let _guard = RecordOnDrop::new(&seen);
    CLS.set::<path!(user.id)>(99);
    yield_now().await;
    let _ = started.send(());
    pending::<()>().await;
}

/// Spawns plain tasks (which carry nothing) until every worker has had a chance to run
/// one, and asserts none of them sees a context.
async fn assert_workers_are_clean() {
    for _ in 0..32 {
        let active = tokio::spawn(async { (CLS.is_active(), TRACE.is_active()) });
        assert_eq!(active.await.unwrap(), (false, false));
    }
}

on_both_runtimes! {
    async fn a_panic_in_a_context_task_leaves_the_worker_clean() {
        let task = tokio::spawn(CLS.run_with(app("doomed", 1), async {
            yield_now().await;
            CLS.set::<path!(user.id)>(2);
            panic!("boom in a context");
        }));
        let err = task.await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(panic_message(&*err.into_panic()), "boom in a context");
        assert!(!CLS.is_active());
        assert_workers_are_clean().await;
    }

    async fn a_panic_in_a_spawned_child_leaves_the_parent_context_unchanged() {
        TRACE
            .run_with(trace(1), CLS.run_with(app("parent", 1), async {
                let child = cls_core::spawn(async {
                    CLS.enter_with(app("child", 2));
                    TRACE.set::<path!(trace_id)>(2);
                    yield_now().await;
                    panic!("boom in a child");
                });
                assert!(child.await.unwrap_err().is_panic());
                assert_eq!(view(), ("parent".to_owned(), 1));
                assert_eq!(TRACE.get::<path!(trace_id)>(), 1);
            }))
            .await;
        assert_workers_are_clean().await;
    }

    async fn a_context_future_dropped_by_select_restores_the_previous_state() {
        let seen = Seen::default();
        CLS.run_with(app("outer", 1), async {
            let (started_tx, started_rx) = oneshot::channel();
            tokio::select! {
                biased;
                () = CLS.run_with(app("inner", 2), hold_forever(seen.clone(), started_tx)) => {
                    unreachable!()
                }
                started = started_rx => started.unwrap(),
            }
            assert_eq!(view(), ("outer".to_owned(), 1));
            yield_now().await;
            assert_eq!(view(), ("outer".to_owned(), 1));

            // The same with a nested `run`, which shares the outer store until it writes.
            let (started_tx, started_rx) = oneshot::channel();
            tokio::select! {
                biased;
                () = CLS.run(hold_forever(seen.clone(), started_tx)) => unreachable!(),
                started = started_rx => started.unwrap(),
            }
            assert_eq!(view(), ("outer".to_owned(), 1));
        })
        .await;
        assert!(!CLS.is_active());

        // At the top level, nothing is left active.
        let (started_tx, started_rx) = oneshot::channel();
        tokio::select! {
            biased;
            () = CLS.run_with(app("top", 3), hold_forever(seen.clone(), started_tx)) => {
                unreachable!()
            }
            started = started_rx => started.unwrap(),
        }
        assert!(!CLS.is_active());
        assert_eq!(
            seen_by_destructors(&seen),
            [Ok("inner".to_owned()), Ok("outer".to_owned()), Ok("top".to_owned())]
        );
    }

    async fn a_context_future_dropped_by_timeout_restores_the_previous_state() {
        let seen = Seen::default();
        CLS.run_with(app("outer", 1), async {
            let (started_tx, started_rx) = oneshot::channel();
            let inner = CLS.run_with(app("inner", 2), hold_forever(seen.clone(), started_tx));
            // The inner future never completes, so the timeout always wins.
            let result = tokio::time::timeout(Duration::from_millis(1), inner).await;
            assert!(result.is_err());
            started_rx.await.unwrap();
            assert_eq!(view(), ("outer".to_owned(), 1));
        })
        .await;
        assert!(!CLS.is_active());
        assert_eq!(seen_by_destructors(&seen), [Ok("inner".to_owned())]);
    }

    async fn an_aborted_context_task_drops_its_future_inside_its_context() {
        let seen = Seen::default();
        let (started_tx, started_rx) = oneshot::channel();
        let task = tokio::spawn(CLS.run_with(app("aborted", 1), hold_forever(seen.clone(), started_tx)));
        started_rx.await.unwrap();
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_eq!(seen_by_destructors(&seen), [Ok("aborted".to_owned())]);
        assert!(!CLS.is_active());
        assert_workers_are_clean().await;
    }

    async fn an_aborted_spawned_task_drops_its_future_inside_the_carried_context() {
        let seen = Seen::default();
        CLS.run_with(app("parent", 1), async {
            let (started_tx, started_rx) = oneshot::channel();
            let guard_seen = seen.clone();
            let task = cls_core::spawn(async move {
                let _guard = RecordOnDrop::new(&guard_seen);
                CLS.set::<path!(request_id)>("child".to_owned());
                started_tx.send(()).unwrap();
                pending::<()>().await;
            });
            started_rx.await.unwrap();
            task.abort();
            assert!(task.await.unwrap_err().is_cancelled());
            assert_eq!(view(), ("parent".to_owned(), 1));
        })
        .await;
        assert_eq!(seen_by_destructors(&seen), [Ok("child".to_owned())]);
        assert_workers_are_clean().await;
    }

    async fn a_cancelled_bound_future_drops_its_future_inside_the_carried_context() {
        let seen = Seen::default();
        let guard_seen = seen.clone();
        let bound = CLS.run_with_sync(app("bound", 1), || {
            cls_core::bind(async move {
                let _guard = RecordOnDrop::new(&guard_seen);
                pending::<()>().await;
            })
        });
        let result = tokio::time::timeout(Duration::from_millis(1), bound).await;
        assert!(result.is_err());
        assert!(!CLS.is_active());
        assert_eq!(seen_by_destructors(&seen), [Ok("bound".to_owned())]);
    }

    async fn a_context_future_dropped_before_its_first_poll_drops_its_future_inside_its_context() {
        let seen = Seen::default();
        let guard = RecordOnDrop::new(&seen);
        let never_polled = CLS.run_with(app("never-polled", 1), async move {
            let _guard = guard;
        });
        drop(never_polled);
        assert!(!CLS.is_active());
        assert_eq!(seen_by_destructors(&seen), [Ok("never-polled".to_owned())]);
    }
}

#[test]
fn a_panic_in_run_with_sync_restores_the_previous_state() {
    CLS.run_with_sync(app("outer", 1), || {
        let message = panic_of(|| {
            CLS.run_with_sync(app("inner", 2), || {
                CLS.set::<path!(user.id)>(3);
                panic!("boom in run_with_sync");
            })
        });
        assert_eq!(message, "boom in run_with_sync");
        assert_eq!(view(), ("outer".to_owned(), 1));
    });
    let message = panic_of(|| CLS.run_with_sync(app("top", 1), || panic!("boom at top level")));
    assert_eq!(message, "boom at top level");
    assert!(!CLS.is_active());
}

#[test]
fn a_panic_in_run_sync_restores_the_previous_state() {
    CLS.run_with_sync(app("outer", 1), || {
        panic_of(|| {
            CLS.run_sync(|| {
                CLS.set::<path!(user.id)>(3);
                CLS.enter_with(app("entered", 4));
                panic!("boom in run_sync");
            })
        });
        assert_eq!(view(), ("outer".to_owned(), 1));
        // The outer store is writable again.
        CLS.set::<path!(user.id)>(5);
        assert_eq!(view(), ("outer".to_owned(), 5));
    });
    panic_of(|| CLS.run_sync(|| panic!("boom at top level")));
    assert!(!CLS.is_active());
}

#[test]
fn a_panic_in_a_snapshot_run_restores_the_previous_state() {
    let snapshot = CLS.run_with_sync(app("captured", 1), cls_core::snapshot);
    TRACE.run_with_sync(trace(1), || {
        panic_of(|| snapshot.run_sync(|| panic!("boom in a snapshot")));
        assert_eq!(TRACE.get::<path!(trace_id)>(), 1);
        assert!(!CLS.is_active());
    });
    assert!(!TRACE.is_active());
}

struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn a_panic_while_polling_a_context_future_restores_the_previous_state() {
    let waker = Waker::from(Arc::new(NoopWaker));
    let mut cx = Context::from_waker(&waker);
    CLS.run_with_sync(app("outer", 1), || {
        let mut fut = pin!(CLS.run_with(app("inner", 2), async {
            CLS.set::<path!(user.id)>(3);
            panic!("boom in a poll");
        }));
        let result = panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)));
        assert_eq!(panic_message(&*result.unwrap_err()), "boom in a poll");
        assert_eq!(view(), ("outer".to_owned(), 1));
    });
    assert!(!CLS.is_active());
}

#[test]
fn a_context_future_dropped_mid_await_restores_the_previous_state_when_polled_by_hand() {
    let waker = Waker::from(Arc::new(NoopWaker));
    let mut cx = Context::from_waker(&waker);
    let seen = Seen::default();
    CLS.run_with_sync(app("outer", 1), || {
        let (_started_tx, started_rx) = oneshot::channel::<()>();
        let guard = RecordOnDrop::new(&seen);
        let mut fut = Box::pin(CLS.run_with(app("inner", 2), async move {
            let _guard = guard;
            started_rx.await.unwrap_err();
        }));
        assert_eq!(fut.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(view(), ("outer".to_owned(), 1));
        drop(fut);
        assert_eq!(view(), ("outer".to_owned(), 1));
    });
    assert_eq!(seen_by_destructors(&seen), [Ok("inner".to_owned())]);
}

static ARMED: AtomicBool = AtomicBool::new(false);

/// Panics in `clone` once armed.
#[derive(Debug, Default)]
struct Flaky;

impl Clone for Flaky {
    fn clone(&self) -> Self {
        assert!(!ARMED.swap(false, Ordering::SeqCst), "clone failed");
        Flaky
    }
}

#[derive(ClsStore, Clone, Debug, Default)]
struct Fragile {
    n: u64,
    flaky: Flaky,
}

const FRAGILE: Cls<Fragile> = Cls::new();

#[test]
fn a_clone_that_panics_during_a_write_leaves_the_store_shared_and_the_snapshot_untouched() {
    FRAGILE.run_sync(|| {
        let snapshot = cls_core::snapshot();
        ARMED.store(true, Ordering::SeqCst);
        let failed = panic::catch_unwind(AssertUnwindSafe(|| FRAGILE.set::<path!(n)>(1)));
        assert!(failed.is_err());
        // The next write copies again instead of writing into the store the snapshot holds.
        FRAGILE.set::<path!(n)>(2);
        assert_eq!(FRAGILE.get::<path!(n)>(), 2);
        assert_eq!(snapshot.run_sync(|| FRAGILE.get::<path!(n)>()), 0);
    });
}

/// What the panic hook of [`a_panic_hook_can_capture_the_context_even_inside_update`] saw,
/// by thread: other tests of this binary may panic while it is installed.
type HookSeen = Mutex<
    Vec<(
        std::thread::ThreadId,
        Result<Vec<u64>, cls_core::ClsErrorKind>,
    )>,
>;
static HOOK_SEEN: HookSeen = Mutex::new(Vec::new());

#[test]
fn a_panic_hook_can_capture_the_context_even_inside_update() {
    // A crash reporter's hook records the context of the panic. With `snapshot()` a panic
    // inside `update` would panic again in the hook and abort the process;
    // `try_snapshot()` says why it cannot capture instead.
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|_| {
        let captured = cls_core::try_snapshot()
            .map(|snapshot| {
                snapshot.run_sync(|| CLS.try_get::<path!(user.id)>().ok().into_iter().collect())
            })
            .map_err(|err| err.kind());
        let me = std::thread::current().id();
        HOOK_SEEN.lock().unwrap().push((me, captured));
    }));
    CLS.run_with_sync(app("req-1", 7), || {
        let _ = panic::catch_unwind(|| panic!("outside update"));
        let _ = panic::catch_unwind(|| CLS.update::<path!(step), _>(|_| panic!("inside update")));
    });
    panic::set_hook(previous);
    let me = std::thread::current().id();
    let seen: Vec<_> = HOOK_SEEN
        .lock()
        .unwrap()
        .iter()
        .filter(|(thread, _)| *thread == me)
        .map(|(_, captured)| captured.clone())
        .collect();
    assert_eq!(
        seen,
        [Ok(vec![7]), Err(cls_core::ClsErrorKind::ReadWhileUpdating)]
    );
    CLS.assert_inactive();
}
