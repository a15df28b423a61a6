//! Copy-on-write contexts: a `set`, `update` or `enter_with` is seen by all later code in the
//! same context (across awaits, in callees, in joined and selected futures, in tasks spawned
//! afterwards) and by nobody else: not the enclosing context once a nested one ends, not
//! tasks spawned before the write, not other tasks. A child task's writes never reach its
//! parent.

#[macro_use]
mod common;

use std::cell::RefCell;
use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cls_core::{path, Cls, ClsStore, Snapshot};
use common::{app, tx_store, AppStore, CLS, TX};
use tokio::sync::{oneshot, Barrier};
use tokio::task::yield_now;

fn user_id() -> u64 {
    CLS.get::<path!(user.id)>()
}

fn request_id() -> String {
    CLS.get::<path!(request_id)>()
}

/// What a test compares: the three fields of `AppStore` the writes below touch.
fn view() -> (String, u64, u32) {
    (request_id(), user_id(), CLS.get::<path!(step)>())
}

async fn user_id_after_an_await() -> u64 {
    yield_now().await;
    user_id()
}

/// Writes to all three fields by `set` and `update`, then replaces the store with one
/// holding the same values by `enter_with`: each kind of write has to stay in this context.
fn write_everything(request_id: &str, user_id: u64, step: u32) {
    CLS.set::<path!(user.id)>(user_id);
    CLS.update::<path!(step), _>(|s| *s = step);
    CLS.set::<path!(request_id)>(request_id.to_owned());
    CLS.enter_with(AppStore {
        step,
        ..app(request_id, user_id)
    });
}

on_both_runtimes! {
    async fn writes_are_seen_across_awaits() {
        CLS.run_with(app("req-1", 1), async {
            CLS.set::<path!(user.id)>(2);
            yield_now().await;
            assert_eq!(user_id(), 2);
            tokio::time::sleep(Duration::from_millis(1)).await;
            assert_eq!(user_id(), 2);

            CLS.update::<path!(request_id), _>(|id| id.push_str("-a"));
            yield_now().await;
            assert_eq!(request_id(), "req-1-a");

            CLS.enter_with(app("req-2", 3));
            tokio::time::sleep(Duration::from_millis(1)).await;
            assert_eq!(view(), ("req-2".to_owned(), 3, 0));
        })
        .await;
        assert!(!CLS.is_active());
    }

    async fn writes_are_seen_by_callees() {
        fn sync_callee() -> (String, u64) {
            (request_id(), user_id())
        }
        async fn async_callee() -> (String, u64) {
            yield_now().await;
            let seen = sync_callee();
            yield_now().await;
            seen
        }

        CLS.run_with(app("req-1", 1), async {
            CLS.set::<path!(user.id)>(2);
            assert_eq!(sync_callee(), ("req-1".to_owned(), 2));
            CLS.update::<path!(request_id), _>(|id| *id = "req-u".to_owned());
            assert_eq!(async_callee().await, ("req-u".to_owned(), 2));
            CLS.enter_with(app("req-e", 3));
            assert_eq!(async_callee().await, ("req-e".to_owned(), 3));
        })
        .await;
    }

    async fn callee_writes_are_seen_by_the_caller_in_the_same_context() {
        async fn callee_that_writes() {
            yield_now().await;
            CLS.set::<path!(step)>(9);
        }

        CLS.run_with(app("req-1", 1), async {
            callee_that_writes().await;
            assert_eq!(CLS.get::<path!(step)>(), 9);
        })
        .await;
    }

    async fn writes_are_seen_in_joined_futures() {
        CLS.run_with(app("req-1", 1), async {
            CLS.set::<path!(user.id)>(2);
            let (written_tx, written_rx) = oneshot::channel();
            let (a, b, c) = tokio::join!(
                user_id_after_an_await(),
                async {
                    // A joined future shares the context: its write is seen by the others.
                    CLS.set::<path!(step)>(7);
                    written_tx.send(()).unwrap();
                    user_id()
                },
                async {
                    written_rx.await.unwrap();
                    CLS.get::<path!(step)>()
                },
            );
            assert_eq!((a, b, c), (2, 2, 7));
            assert_eq!(CLS.get::<path!(step)>(), 7);
        })
        .await;
    }

    async fn writes_are_seen_in_selected_futures() {
        CLS.run_with(app("req-1", 1), async {
            CLS.update::<path!(user.id), _>(|id| *id += 1);
            let seen = tokio::select! {
                biased;
                () = pending::<()>() => unreachable!(),
                seen = async {
                    let seen = user_id_after_an_await().await;
                    CLS.set::<path!(step)>(5);
                    seen
                } => seen,
            };
            assert_eq!(seen, 2);
            assert_eq!(CLS.get::<path!(step)>(), 5);
        })
        .await;
    }

    async fn writes_are_seen_by_tasks_spawned_afterwards() {
        let seen = CLS
            .run_with(app("req-1", 1), async {
                CLS.set::<path!(user.id)>(2);
                let after_set = cls_core::spawn(async { view() });
                CLS.update::<path!(step), _>(|s| *s = 3);
                let after_update = cls_core::spawn(async {
                    yield_now().await;
                    // And from there into a grandchild.
                    cls_core::spawn(async { view() }).await.unwrap()
                });
                CLS.enter_with(app("req-2", 4));
                let after_enter_with = cls_core::spawn(async { view() });
                (
                    after_set.await.unwrap(),
                    after_update.await.unwrap(),
                    after_enter_with.await.unwrap(),
                )
            })
            .await;
        assert_eq!(seen.0, ("req-1".to_owned(), 2, 0));
        assert_eq!(seen.1, ("req-1".to_owned(), 2, 3));
        assert_eq!(seen.2, ("req-2".to_owned(), 4, 0));
    }

    async fn writes_in_a_nested_context_never_reach_the_enclosing_one() {
        CLS.run_with(app("outer", 1), async {
            CLS.set::<path!(step)>(1);

            let inner = CLS
                .run(async {
                    assert_eq!(view(), ("outer".to_owned(), 1, 1));
                    write_everything("run", 2, 2);
                    yield_now().await;
                    view()
                })
                .await;
            assert_eq!(inner, ("run".to_owned(), 2, 2));
            assert_eq!(view(), ("outer".to_owned(), 1, 1));

            let inner = CLS
                .run_with(app("run-with", 3), async {
                    write_everything("run-with-2", 4, 4);
                    yield_now().await;
                    view()
                })
                .await;
            assert_eq!(inner, ("run-with-2".to_owned(), 4, 4));
            assert_eq!(view(), ("outer".to_owned(), 1, 1));

            let inner = CLS.run_sync(|| {
                write_everything("run-sync", 5, 5);
                view()
            });
            assert_eq!(inner, ("run-sync".to_owned(), 5, 5));
            assert_eq!(view(), ("outer".to_owned(), 1, 1));

            // The enclosing context can still write after sharing its store.
            CLS.set::<path!(step)>(6);
            assert_eq!(view(), ("outer".to_owned(), 1, 6));
        })
        .await;
    }

    async fn writes_of_the_enclosing_context_are_not_seen_by_a_nested_context_opened_before() {
        CLS.run_with(app("outer", 1), async {
            let (written_tx, written_rx) = oneshot::channel();
            // `run` takes its copy when it is called, before the write below.
            let nested = CLS.run(async {
                written_rx.await.unwrap();
                view()
            });
            let ((), seen_by_nested) = tokio::join!(
                async {
                    write_everything("outer-2", 2, 2);
                    written_tx.send(()).unwrap();
                },
                nested,
            );
            assert_eq!(seen_by_nested, ("outer".to_owned(), 1, 0));
            assert_eq!(view(), ("outer-2".to_owned(), 2, 2));
        })
        .await;
    }

    async fn writes_are_not_seen_by_tasks_spawned_before_them() {
        CLS.run_with(app("req-1", 1), async {
            let (go_tx, go_rx) = oneshot::channel::<()>();
            let before_set = cls_core::spawn(async {
                go_rx.await.unwrap();
                view()
            });
            CLS.set::<path!(user.id)>(2);
            go_tx.send(()).unwrap();
            assert_eq!(before_set.await.unwrap(), ("req-1".to_owned(), 1, 0));

            let (go_tx, go_rx) = oneshot::channel::<()>();
            let before_update = cls_core::spawn(async {
                go_rx.await.unwrap();
                view()
            });
            CLS.update::<path!(step), _>(|s| *s = 3);
            go_tx.send(()).unwrap();
            assert_eq!(before_update.await.unwrap(), ("req-1".to_owned(), 2, 0));

            let (go_tx, go_rx) = oneshot::channel::<()>();
            let before_enter_with = cls_core::spawn(async {
                go_rx.await.unwrap();
                view()
            });
            CLS.enter_with(app("req-2", 4));
            go_tx.send(()).unwrap();
            assert_eq!(before_enter_with.await.unwrap(), ("req-1".to_owned(), 2, 3));

            assert_eq!(view(), ("req-2".to_owned(), 4, 0));
        })
        .await;
    }

    async fn writes_are_not_seen_by_tasks_spawned_before_them_when_the_store_has_local_fields() {
        TX.run_with(tx_store("req-1", 1), async {
            let (go_tx, go_rx) = oneshot::channel::<()>();
            let task = cls_core::spawn(async {
                go_rx.await.unwrap();
                (TX.get::<path!(request_id)>(), TX.get::<path!(session.user_id)>())
            });
            TX.set::<path!(session.user_id)>(2);
            TX.enter_with(tx_store("req-2", 3));
            go_tx.send(()).unwrap();
            assert_eq!(task.await.unwrap(), ("req-1".to_owned(), 1));
            assert_eq!(TX.get::<path!(request_id)>(), "req-2");
        })
        .await;
    }

    async fn writes_in_one_task_are_never_seen_by_a_sibling_sharing_the_same_store() {
        CLS.run_with(app("parent", 1), async {
            let barrier = Arc::new(Barrier::new(2));
            let writer = cls_core::spawn({
                let barrier = Arc::clone(&barrier);
                async move {
                    write_everything("writer", 2, 2);
                    barrier.wait().await; // the sibling may read now
                    barrier.wait().await; // the sibling has written its own values
                    view()
                }
            });
            let reader = cls_core::spawn({
                let barrier = Arc::clone(&barrier);
                async move {
                    barrier.wait().await;
                    let seen = view();
                    CLS.set::<path!(user.id)>(3);
                    barrier.wait().await;
                    seen
                }
            });
            assert_eq!(reader.await.unwrap(), ("parent".to_owned(), 1, 0));
            assert_eq!(writer.await.unwrap(), ("writer".to_owned(), 2, 2));
            assert_eq!(view(), ("parent".to_owned(), 1, 0));
        })
        .await;
    }

    async fn writes_in_one_task_are_never_seen_by_another_task() {
        let barrier = Arc::new(Barrier::new(2));
        let first = tokio::spawn(CLS.run_with(app("first", 1), {
            let barrier = Arc::clone(&barrier);
            async move {
                barrier.wait().await;
                write_everything("first-2", 11, 11);
                barrier.wait().await;
                view()
            }
        }));
        let second = tokio::spawn(CLS.run_with(app("second", 2), {
            let barrier = Arc::clone(&barrier);
            async move {
                barrier.wait().await;
                write_everything("second-2", 22, 22);
                barrier.wait().await;
                view()
            }
        }));
        assert_eq!(first.await.unwrap(), ("first-2".to_owned(), 11, 11));
        assert_eq!(second.await.unwrap(), ("second-2".to_owned(), 22, 22));
        assert!(!CLS.is_active());
    }

    async fn writes_in_a_child_task_never_reach_its_parent() {
        CLS.run_with(app("parent", 1), async {
            let (written_tx, written_rx) = oneshot::channel::<()>();
            let (done_tx, done_rx) = oneshot::channel::<()>();
            let child = cls_core::spawn(async move {
                write_everything("child", 2, 2);
                written_tx.send(()).unwrap();
                done_rx.await.unwrap();
                view()
            });
            // While the child is alive, after its writes.
            written_rx.await.unwrap();
            assert_eq!(view(), ("parent".to_owned(), 1, 0));
            done_tx.send(()).unwrap();
            assert_eq!(child.await.unwrap(), ("child".to_owned(), 2, 2));
            // And after it ended.
            assert_eq!(view(), ("parent".to_owned(), 1, 0));
        })
        .await;
    }

    async fn writes_in_a_child_task_never_reach_its_parent_when_the_store_has_local_fields() {
        TX.run_with(tx_store("parent", 1), async {
            cls_core::spawn(async {
                TX.set::<path!(session.user_id)>(2);
                TX.set::<path!(tx)>(Some(2));
                TX.set::<path!(session.token)>(Some("child".to_owned()));
                TX.enter_with(tx_store("child", 3));
            })
            .await
            .unwrap();
            assert_eq!(TX.get::<path!(request_id)>(), "parent");
            assert_eq!(TX.get::<path!(session.user_id)>(), 1);
            assert_eq!(TX.get::<path!(tx)>(), Some(41));
            assert_eq!(TX.get::<path!(session.token)>().as_deref(), Some("token-1"));
        })
        .await;
    }

    async fn many_tasks_sharing_a_store_each_write_their_own_copy() {
        CLS.run_with(app("parent", 1), async {
            let barrier = Arc::new(Barrier::new(64));
            let tasks: Vec<_> = (0..64_u64)
                .map(|i| {
                    let barrier = Arc::clone(&barrier);
                    cls_core::spawn(async move {
                        // Every task holds the shared store before any of them writes.
                        barrier.wait().await;
                        if i % 2 == 0 {
                            CLS.set::<path!(user.id)>(100 + i);
                        }
                        yield_now().await;
                        user_id()
                    })
                })
                .collect();
            for (i, task) in (0..64_u64).zip(tasks) {
                let expected = if i % 2 == 0 { 100 + i } else { 1 };
                assert_eq!(task.await.unwrap(), expected);
            }
            assert_eq!(user_id(), 1);
        })
        .await;
    }
}

#[test]
fn writes_in_run_sync_never_reach_the_enclosing_context() {
    let outer = AppStore {
        step: 1,
        ..app("outer", 1)
    };
    CLS.run_with_sync(outer.clone(), || {
        CLS.run_sync(|| {
            write_everything("inner", 2, 2);
            CLS.run_sync(|| write_everything("innermost", 3, 3));
            assert_eq!(view(), ("inner".to_owned(), 2, 2));
        });
        assert_eq!(view(), ("outer".to_owned(), 1, 1));
    });
    assert!(!CLS.is_active());
}

// --- Stores whose fields act when copied or dropped ---------------------------------------

/// A field with interior mutability: a bitwise move of the store while a reference into it
/// is held would let the two copies share (and both free) the vector.
#[derive(Debug, Default)]
struct Log(Mutex<Vec<u64>>);

impl Clone for Log {
    fn clone(&self) -> Self {
        Log(Mutex::new(self.0.lock().unwrap().clone()))
    }
}

#[derive(ClsStore, Clone, Debug, Default)]
struct Logged {
    log: Log,
}

const LOGGED: Cls<Logged> = Cls::new();

fn logged(entries: Vec<u64>) -> Logged {
    Logged {
        log: Log(Mutex::new(entries)),
    }
}

fn read_log() -> Vec<u64> {
    LOGGED.with::<path!(log), _>(|log| log.0.lock().unwrap().clone())
}

#[test]
fn a_snapshot_taken_inside_with_keeps_the_store_as_it_was_while_the_context_writes_on() {
    LOGGED.run_with_sync(logged(vec![1]), || {
        let snapshot = LOGGED.with::<path!(log), _>(|_| cls_core::snapshot());
        LOGGED.set::<path!(log)>(Log(Mutex::new(vec![2, 3])));
        assert_eq!(
            snapshot.run_sync(read_log),
            [1],
            "the snapshot has the store as it was"
        );
        assert_eq!(read_log(), [2, 3], "the context kept writing its own copy");
    });
}

#[test]
fn interior_mutability_reached_through_with_is_shared_by_every_owner_of_the_store() {
    // Copy-on-write covers `set` and `update`. A `Mutex` reached through `with` is one
    // mutex, as in any `Arc<Mutex<_>>`: its owners (here a snapshot) see what is written
    // into it. The same holds for `run_with` and `run_with_sync`.
    LOGGED.run_with_sync(logged(vec![1]), || {
        LOGGED.with::<path!(log), _>(|log| {
            let snapshot = cls_core::snapshot();
            *log.0.lock().unwrap() = vec![2, 3];
            assert_eq!(snapshot.run_sync(read_log), [2, 3]);
        });
        assert_eq!(read_log(), [2, 3]);
    });
}

static RESHARES: AtomicUsize = AtomicUsize::new(0);

/// Shares its context again when dropped: a write must still copy the store once (an
/// earlier version copied again for as long as the destructor kept sharing).
#[derive(Debug, Default)]
struct Resharing;

impl Clone for Resharing {
    fn clone(&self) -> Self {
        RESHARES.fetch_add(1, Ordering::SeqCst);
        // Lets go of the snapshot that shared the store, so that the write's old store is
        // dropped, and its destructor shares the new one again.
        drop(KEPT.with(|kept| kept.borrow_mut().take()));
        Resharing
    }
}

thread_local! {
    static KEPT: RefCell<Option<Snapshot>> = const { RefCell::new(None) };
}

impl Drop for Resharing {
    fn drop(&mut self) {
        if RESHARE_CLS.is_active() {
            KEPT.with(|kept| *kept.borrow_mut() = Some(cls_core::snapshot()));
        }
    }
}

#[derive(ClsStore, Clone, Debug, Default)]
struct Reshared {
    n: u32,
    r: Resharing,
}

const RESHARE_CLS: Cls<Reshared> = Cls::new();

#[test]
fn a_write_copies_a_shared_store_once_even_if_a_destructor_shares_it_again() {
    RESHARE_CLS.run_sync(|| {
        KEPT.with(|kept| *kept.borrow_mut() = Some(cls_core::snapshot()));
        let before = RESHARES.load(Ordering::SeqCst);
        RESHARE_CLS.set::<path!(n)>(1);
        assert_eq!(RESHARES.load(Ordering::SeqCst) - before, 1);
        assert_eq!(RESHARE_CLS.get::<path!(n)>(), 1);
    });
    KEPT.with(|kept| kept.borrow_mut().take());
}
