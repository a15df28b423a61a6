//! `Cls::exit` and `exit_sync`: code that runs outside the context of one store type while
//! the contexts of other store types stay, as Node's `AsyncLocalStorage.exit`.

#[macro_use]
mod common;

use cls_core::{path, ClsErrorKind};
use common::{app, trace, AppStore, CLS, TRACE};
use tokio::task::yield_now;

on_both_runtimes! {
    async fn inside_exit_the_store_type_is_inactive_and_the_others_stay() {
        let seen = TRACE
            .run_with(trace(7), CLS.run_with(app("req-1", 1), async {
                CLS.exit(async {
                    yield_now().await;
                    (CLS.is_active(), TRACE.get::<path!(trace_id)>())
                })
                .await
            }))
            .await;
        assert_eq!(seen, (false, 7));
    }

    async fn reads_and_writes_inside_exit_fail_as_outside_any_context() {
        CLS.run_with(app("req-1", 1), async {
            CLS.exit(async {
                assert_eq!(
                    CLS.try_get::<path!(request_id)>().unwrap_err().kind(),
                    ClsErrorKind::NoContext
                );
                assert_eq!(
                    CLS.try_set::<path!(step)>(9).unwrap_err().kind(),
                    ClsErrorKind::NoContext
                );
                assert_eq!(
                    CLS.try_enter_with(AppStore::default()).unwrap_err().kind(),
                    ClsErrorKind::NoContext
                );
                yield_now().await;
            })
            .await;
            assert_eq!(CLS.get::<path!(step)>(), 0, "nothing was written");
            assert_eq!(CLS.get::<path!(request_id)>(), "req-1");
        })
        .await;
    }

    async fn the_context_is_back_untouched_when_exit_ends() {
        CLS.run_with(app("req-1", 1), async {
            CLS.set::<path!(step)>(3);
            CLS.exit(async {
                // A context opened inside is a new one, and ends with its future.
                CLS.run_with(app("inside", 2), async {
                    CLS.set::<path!(step)>(8);
                    yield_now().await;
                })
                .await;
            })
            .await;
            assert_eq!(CLS.get::<path!(request_id)>(), "req-1");
            assert_eq!(CLS.get::<path!(step)>(), 3);
        })
        .await;
    }

    async fn run_inside_exit_starts_from_default() {
        CLS.run_with(app("req-1", 1), async {
            let seen = CLS
                .exit(async { CLS.run(async { CLS.get::<path!(request_id)>() }).await })
                .await;
            assert_eq!(seen, "");
        })
        .await;
    }

    async fn work_spawned_inside_exit_carries_the_other_store_types_only() {
        let seen = TRACE
            .run_with(trace(7), CLS.run_with(app("req-1", 1), async {
                CLS.exit(async {
                    cls_core::spawn(async { (CLS.is_active(), TRACE.get::<path!(trace_id)>()) })
                        .await
                        .unwrap()
                })
                .await
            }))
            .await;
        assert_eq!(seen, (false, 7));
    }

    async fn a_snapshot_taken_inside_exit_does_not_bring_the_hidden_store_back() {
        let snapshot = CLS
            .run_with(app("req-1", 1), async { CLS.exit(async { cls_core::snapshot() }).await })
            .await;
        // Run where another context of the type is active: the snapshot hides it too,
        // since a snapshot brings exactly what it captured.
        let seen = CLS
            .run_with(app("elsewhere", 2), async {
                snapshot.run(async { CLS.is_active() }).await
            })
            .await;
        assert!(!seen);
    }

    async fn a_cancelled_exit_future_restores_the_context() {
        CLS.run_with(app("req-1", 1), async {
            let mut exit = Box::pin(CLS.exit(std::future::pending::<()>()));
            let polled = futures_poll_once(exit.as_mut()).await;
            assert!(polled.is_pending());
            drop(exit);
            assert_eq!(CLS.get::<path!(request_id)>(), "req-1");
        })
        .await;
    }
}

#[test]
fn exit_sync_hides_the_store_type_for_the_call_only() {
    CLS.run_with_sync(app("req-1", 1), || {
        TRACE.run_with_sync(trace(7), || {
            let inside = CLS.exit_sync(|| (CLS.is_active(), TRACE.get::<path!(trace_id)>()));
            assert_eq!(inside, (false, 7));
            assert_eq!(CLS.get::<path!(request_id)>(), "req-1");
        });
    });
}

#[test]
fn a_panic_inside_exit_sync_restores_the_context() {
    CLS.run_with_sync(app("req-1", 1), || {
        let message = common::panic_of(|| CLS.exit_sync(|| panic!("boom")));
        assert_eq!(message, "boom");
        assert!(CLS.is_active());
        assert_eq!(CLS.get::<path!(request_id)>(), "req-1");
    });
}

#[test]
fn exit_outside_any_context_is_harmless() {
    assert!(!CLS.exit_sync(|| CLS.is_active()));
    assert!(!CLS.is_active());
}

/// Polls `fut` once and returns what it said.
async fn futures_poll_once<F: std::future::Future + Unpin>(
    mut fut: F,
) -> std::task::Poll<F::Output> {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(std::future::Future::poll(std::pin::Pin::new(&mut fut), cx))
    })
    .await
}

#[test]
fn an_exit_future_says_so_in_its_debug_output() {
    let fut = CLS.exit(async {});
    assert_eq!(
        format!("{fut:?}"),
        "Scoped { stores: [\"exit(AppStore)\"], completed: false }"
    );
}
