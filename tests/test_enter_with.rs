//! `enter_with` cannot leak: its effect ends with the enclosing context, so nothing of it
//! remains in the parent context or in the next task polled on the same thread. Outside a
//! context `try_enter_with` returns an error and changes nothing, and `enter_with` panics.

#[macro_use]
mod common;

use std::thread::{self, ThreadId};

use cls_core::{path, ClsErrorKind};
use common::{app, panic_of, trace, AppStore, CLS, TRACE};
use tokio::sync::oneshot;
use tokio::task::yield_now;

fn view() -> (String, u64) {
    (CLS.get::<path!(request_id)>(), CLS.get::<path!(user.id)>())
}

on_both_runtimes! {
    async fn enter_with_is_seen_later_in_its_context() {
        CLS.run_with(app("req-1", 1), async {
            CLS.enter_with(app("entered", 2));
            yield_now().await;
            assert_eq!(view(), ("entered".to_owned(), 2));
            // A task spawned afterwards is given the entered store.
            let seen = cls_core::spawn(async { view() }).await.unwrap();
            assert_eq!(seen, ("entered".to_owned(), 2));
        })
        .await;
    }

    async fn enter_with_ends_with_the_nested_context_that_encloses_it() {
        CLS.run_with(app("parent", 1), async {
            CLS.run(async {
                CLS.enter_with(app("entered-in-run", 2));
                yield_now().await;
                assert_eq!(view(), ("entered-in-run".to_owned(), 2));
            })
            .await;
            assert_eq!(view(), ("parent".to_owned(), 1));

            CLS.run_with(app("nested", 3), async {
                CLS.enter_with(app("entered-in-run-with", 4));
                yield_now().await;
            })
            .await;
            assert_eq!(view(), ("parent".to_owned(), 1));
        })
        .await;
        assert!(!CLS.is_active());
    }

    async fn enter_with_in_a_spawned_task_does_not_reach_the_parent() {
        CLS.run_with(app("parent", 1), async {
            let (entered_tx, entered_rx) = oneshot::channel::<()>();
            let (done_tx, done_rx) = oneshot::channel::<()>();
            let child = cls_core::spawn(async move {
                CLS.enter_with(app("child", 2));
                entered_tx.send(()).unwrap();
                done_rx.await.unwrap();
                view()
            });
            entered_rx.await.unwrap();
            assert_eq!(view(), ("parent".to_owned(), 1));
            done_tx.send(()).unwrap();
            assert_eq!(child.await.unwrap(), ("child".to_owned(), 2));
            assert_eq!(view(), ("parent".to_owned(), 1));
        })
        .await;
    }

    async fn enter_with_only_replaces_the_store_of_its_own_type() {
        TRACE
            .run_with(trace(1), CLS.run_with(app("req-1", 1), async {
                CLS.enter_with(app("entered", 2));
                assert_eq!(TRACE.get::<path!(trace_id)>(), 1);
                TRACE.run(async { TRACE.enter_with(trace(3)) }).await;
                assert_eq!(TRACE.get::<path!(trace_id)>(), 1);
                assert_eq!(view(), ("entered".to_owned(), 2));
            }))
            .await;
    }

    async fn enter_installs_the_default_store() {
        CLS.run_with(app("req-1", 1), async {
            CLS.run(async {
                CLS.enter();
                yield_now().await;
                assert_eq!(view(), (String::new(), 0));
                assert_eq!(CLS.get::<path!(user.name)>(), "");
                assert_eq!(CLS.get::<path!(step)>(), 0);
            })
            .await;
            assert_eq!(view(), ("req-1".to_owned(), 1));
        })
        .await;
    }

    async fn enter_with_in_a_snapshot_run_leaves_the_snapshot_untouched() {
        let snapshot = CLS.run_with(app("captured", 1), async { cls_core::snapshot() }).await;
        snapshot
            .run(async {
                CLS.enter_with(app("entered", 2));
                yield_now().await;
                assert_eq!(view(), ("entered".to_owned(), 2));
            })
            .await;
        assert_eq!(snapshot.run(async { view() }).await, ("captured".to_owned(), 1));
        assert!(!CLS.is_active());
    }
}

/// Task A enters a store and stays suspended while task B, spawned with a plain
/// `tokio::spawn` (which carries nothing), runs; then a task B in its own context. Returns
/// the threads A and the first B ran on.
async fn enter_with_does_not_reach_the_next_task() -> (ThreadId, ThreadId) {
    let (entered_tx, entered_rx) = oneshot::channel::<ThreadId>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let task_a = tokio::spawn(CLS.run_with(app("task-a", 1), async move {
        CLS.enter_with(app("entered-by-a", 2));
        entered_tx.send(thread::current().id()).unwrap();
        done_rx.await.unwrap();
        assert_eq!(view(), ("entered-by-a".to_owned(), 2));
    }));

    let plain_b = tokio::spawn(async move {
        let thread_a = entered_rx.await.unwrap();
        let active = CLS.is_active();
        (thread_a, thread::current().id(), active)
    });
    let (thread_a, thread_b, active_in_b) = plain_b.await.unwrap();
    assert!(
        !active_in_b,
        "a plain task saw the store entered by another task"
    );

    let own_b = tokio::spawn(CLS.run_with(app("task-b", 3), async {
        let first = view();
        yield_now().await;
        (first, view())
    }));
    let own = own_b.await.unwrap();
    assert_eq!(own.0, ("task-b".to_owned(), 3));
    assert_eq!(own.1, ("task-b".to_owned(), 3));
    assert!(!CLS.is_active());

    done_tx.send(()).unwrap();
    task_a.await.unwrap();
    (thread_a, thread_b)
}

#[tokio::test(flavor = "current_thread")]
async fn enter_with_does_not_reach_the_next_task_polled_on_the_same_thread() {
    let (thread_a, thread_b) = enter_with_does_not_reach_the_next_task().await;
    assert_eq!(thread_a, thread_b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_with_does_not_reach_other_tasks_on_a_multi_thread_runtime() {
    enter_with_does_not_reach_the_next_task().await;
}

#[test]
fn enter_with_ends_with_the_sync_context_that_encloses_it() {
    CLS.run_with_sync(app("parent", 1), || {
        CLS.run_sync(|| {
            CLS.enter_with(app("entered", 2));
            assert_eq!(view(), ("entered".to_owned(), 2));
        });
        assert_eq!(view(), ("parent".to_owned(), 1));
    });
    CLS.run_sync(|| CLS.enter_with(app("entered-at-top", 3)));
    assert!(!CLS.is_active());
    assert_eq!(CLS.run_sync(view), (String::new(), 0));
}

#[test]
fn try_enter_with_outside_a_context_returns_no_context_and_changes_nothing() {
    let err = CLS.try_enter_with(app("nowhere", 1)).unwrap_err();
    assert_eq!(err.kind(), ClsErrorKind::NoContext);
    assert_eq!(err.store(), "AppStore");
    assert!(!CLS.is_active());
    assert_eq!(CLS.run_sync(view), (String::new(), 0));

    // Inside a context of another store type only.
    TRACE.run_with_sync(trace(1), || {
        let err = CLS.try_enter_with(app("nowhere", 1)).unwrap_err();
        assert_eq!(err.kind(), ClsErrorKind::NoContext);
        assert!(!CLS.is_active());
        assert_eq!(TRACE.get::<path!(trace_id)>(), 1);
    });
}

#[test]
fn try_enter_with_inside_a_context_replaces_its_store() {
    CLS.run_with_sync(app("req-1", 1), || {
        assert_eq!(CLS.try_enter_with(app("entered", 2)), Ok(()));
        assert_eq!(view(), ("entered".to_owned(), 2));
    });
}

#[test]
fn enter_with_outside_a_context_panics() {
    let message = panic_of(|| CLS.enter_with(app("nowhere", 1)));
    assert!(
        message.contains("no `AppStore` context is active"),
        "unexpected message: {message}"
    );
    let message = panic_of(|| CLS.enter());
    assert!(
        message.contains("no `AppStore` context is active"),
        "unexpected message: {message}"
    );
    assert!(!CLS.is_active());
    assert_eq!(
        CLS.run_sync(|| CLS.get::<path!(step)>()),
        AppStore::default().step
    );
}
