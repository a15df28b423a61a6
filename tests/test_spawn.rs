//! Propagation: `spawn`, `spawn_blocking`, snapshots and `bind` carry every active store
//! type; `#[cls(local)]` fields are not carried (the receiving side sees their `Default`),
//! while a nested `run` in the same task inherits them. A plain `tokio::spawn` carries
//! nothing.

#[macro_use]
mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use cls_core::{path, Cls, ClsStore, Scoped, Snapshot};
use common::{app, trace, tx_store, AppStore, TraceStore, TxStore, CLS, TRACE, TX};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{yield_now, JoinSet, LocalSet};

/// What the receiving side sees of both store types; `None` for a store type that is not
/// active.
#[derive(Debug, PartialEq, Eq)]
struct View {
    request_id: Option<String>,
    user_id: Option<u64>,
    /// `#[cls(local)]` in the nested `Session` store.
    token: Option<Option<String>>,
    /// `#[cls(local)]` in `TxStore` itself.
    tx: Option<Option<u32>>,
    trace_id: Option<u64>,
}

fn view() -> View {
    View {
        request_id: TX.try_get::<path!(request_id)>().ok(),
        user_id: TX.try_get::<path!(session.user_id)>().ok(),
        token: TX.try_get::<path!(session.token)>().ok(),
        tx: TX.try_get::<path!(tx)>().ok(),
        trace_id: TRACE.try_get::<path!(trace_id)>().ok(),
    }
}

/// The view in the task that opened the contexts: local fields included.
fn view_in_the_same_task() -> View {
    View {
        request_id: Some("req-1".to_owned()),
        user_id: Some(7),
        token: Some(Some("token-7".to_owned())),
        tx: Some(Some(41)),
        trace_id: Some(9),
    }
}

/// The view in carried work: every store type, local fields at their `Default`.
fn view_when_carried() -> View {
    View {
        token: Some(None),
        tx: Some(None),
        ..view_in_the_same_task()
    }
}

fn nothing_active() -> View {
    View {
        request_id: None,
        user_id: None,
        token: None,
        tx: None,
        trace_id: None,
    }
}

/// Runs `fut` inside a `TxStore` context (with its local fields set) and a `TraceStore`
/// context, the two store types carried by the tests below.
fn in_both_contexts<F: Future>(fut: F) -> Scoped<Scoped<F>> {
    TRACE.run_with(trace(9), TX.run_with(tx_store("req-1", 7), fut))
}

/// The synchronous twin of [`in_both_contexts`].
fn in_both_contexts_sync<R>(f: impl FnOnce() -> R) -> R {
    TRACE.run_with_sync(trace(9), || TX.run_with_sync(tx_store("req-1", 7), f))
}

on_both_runtimes! {
    async fn spawn_carries_every_store_type_but_not_local_fields() {
        in_both_contexts(async {
            let seen = cls_core::spawn(async {
                yield_now().await;
                view()
            })
            .await
            .unwrap();
            assert_eq!(seen, view_when_carried());
            // The spawning task keeps its local fields.
            assert_eq!(view(), view_in_the_same_task());
        })
        .await;
    }

    async fn spawn_blocking_carries_every_store_type_but_not_local_fields() {
        in_both_contexts(async {
            let seen = cls_core::spawn_blocking(view).await.unwrap();
            assert_eq!(seen, view_when_carried());
            assert_eq!(view(), view_in_the_same_task());
        })
        .await;
    }

    async fn snapshot_carries_every_store_type_but_not_local_fields() {
        let snapshot = in_both_contexts(async { cls_core::snapshot() }).await;
        assert_eq!(view(), nothing_active());
        assert_eq!(snapshot.run_sync(view), view_when_carried());
        let seen = snapshot
            .run(async {
                yield_now().await;
                view()
            })
            .await;
        assert_eq!(seen, view_when_carried());
        // Also in another task, and on the blocking pool.
        let moved = snapshot.clone();
        let seen = tokio::spawn(async move { moved.run(async { view() }).await });
        assert_eq!(seen.await.unwrap(), view_when_carried());
        let moved = snapshot.clone();
        let seen = tokio::task::spawn_blocking(move || moved.run_sync(view));
        assert_eq!(seen.await.unwrap(), view_when_carried());
        assert_eq!(view(), nothing_active());
    }

    async fn bind_carries_every_store_type_into_a_join_set() {
        let mut set = JoinSet::new();
        in_both_contexts(async {
            for _ in 0..3 {
                set.spawn(cls_core::bind(async {
                    yield_now().await;
                    view()
                }));
            }
        })
        .await;
        while let Some(seen) = set.join_next().await {
            assert_eq!(seen.unwrap(), view_when_carried());
        }
    }

    async fn bind_carries_every_store_type_through_a_channel_to_another_task() {
        type Job = (Pin<Box<dyn Future<Output = View> + Send>>, oneshot::Sender<View>);
        let (jobs_tx, mut jobs_rx) = mpsc::channel::<Job>(4);
        // The worker runs in a context of its own: a bound future sees only what it carries.
        let worker = tokio::spawn(TX.run_with(tx_store("worker", 1), async move {
            while let Some((job, reply)) = jobs_rx.recv().await {
                reply.send(job.await).unwrap();
            }
            view()
        }));

        let (reply_tx, reply_rx) = oneshot::channel();
        in_both_contexts(async {
            let job = cls_core::bind(async {
                yield_now().await;
                view()
            });
            jobs_tx.send((Box::pin(job), reply_tx)).await.unwrap();
        })
        .await;
        assert_eq!(reply_rx.await.unwrap(), view_when_carried());

        // Bound where only `TraceStore` is active: the worker's `TxStore` stays hidden.
        let (reply_tx, reply_rx) = oneshot::channel();
        let job = TRACE.run_with_sync(trace(9), || cls_core::bind(async { view() }));
        jobs_tx.send((Box::pin(job), reply_tx)).await.unwrap();
        let expected = View {
            trace_id: Some(9),
            ..nothing_active()
        };
        assert_eq!(reply_rx.await.unwrap(), expected);

        drop(jobs_tx);
        let worker_view = worker.await.unwrap();
        assert_eq!(worker_view.request_id.as_deref(), Some("worker"));
        assert_eq!(worker_view.trace_id, None);
    }

    async fn local_fields_are_inherited_by_a_nested_run_in_the_same_task() {
        in_both_contexts(async {
            let seen = TX
                .run(async {
                    yield_now().await;
                    view()
                })
                .await;
            assert_eq!(seen, view_in_the_same_task());
            assert_eq!(TX.run_sync(view), view_in_the_same_task());
            // Work spawned from the nested context still leaves them behind.
            let seen = TX
                .run(async { cls_core::spawn(async { view() }).await.unwrap() })
                .await;
            assert_eq!(seen, view_when_carried());
        })
        .await;
    }

    async fn local_fields_written_in_spawned_work_stay_there() {
        in_both_contexts(async {
            let seen = cls_core::spawn(async {
                TX.set::<path!(tx)>(Some(1));
                TX.set::<path!(session.token)>(Some("child".to_owned()));
                // Spawned work is a task of its own: its local fields are its own too, and
                // its own spawns leave them behind.
                let grandchild = cls_core::spawn(async { view() }).await.unwrap();
                (view(), grandchild)
            })
            .await
            .unwrap();
            assert_eq!(seen.0.tx, Some(Some(1)));
            assert_eq!(seen.0.token, Some(Some("child".to_owned())));
            assert_eq!(seen.1, view_when_carried());
            assert_eq!(view(), view_in_the_same_task());
        })
        .await;
    }

    async fn plain_tokio_spawn_carries_nothing() {
        in_both_contexts(async {
            let seen = tokio::spawn(async { (CLS.is_active(), TX.is_active(), TRACE.is_active()) });
            assert_eq!(seen.await.unwrap(), (false, false, false));
            let seen = tokio::task::spawn_blocking(|| (TX.is_active(), TRACE.is_active()));
            assert_eq!(seen.await.unwrap(), (false, false));
        })
        .await;
    }

    async fn spawning_outside_any_context_carries_nothing() {
        assert_eq!(cls_core::spawn(async { view() }).await.unwrap(), nothing_active());
        assert_eq!(cls_core::spawn_blocking(view).await.unwrap(), nothing_active());
        assert_eq!(cls_core::bind(async { view() }).await, nothing_active());
        let snapshot = cls_core::snapshot();
        assert_eq!(snapshot.run_sync(view), nothing_active());
        // An empty snapshot also hides the contexts active where it runs.
        let seen = in_both_contexts(async { snapshot.run(async { view() }).await }).await;
        assert_eq!(seen, nothing_active());
    }

    async fn the_innermost_context_of_each_type_is_carried() {
        let outer = TRACE.run_with(trace(1), TX.run_with(tx_store("outer", 1), async {
            in_both_contexts(async { cls_core::spawn(async { view() }).await.unwrap() }).await
        }));
        assert_eq!(outer.await, view_when_carried());
    }

    async fn each_snapshot_run_starts_from_the_captured_state() {
        let snapshot = CLS
            .run_with(app("captured", 1), async {
                let snapshot = cls_core::snapshot();
                // Writes made after the snapshot was taken are not in it.
                CLS.set::<path!(user.id)>(2);
                CLS.enter_with(app("entered", 3));
                snapshot
            })
            .await;
        let read = || (CLS.get::<path!(request_id)>(), CLS.get::<path!(user.id)>());
        let captured = ("captured".to_owned(), 1);

        snapshot.run_sync(|| CLS.set::<path!(user.id)>(10));
        assert_eq!(snapshot.run_sync(read), captured);
        snapshot
            .run(async {
                CLS.enter_with(app("in-run", 11));
                yield_now().await;
                CLS.set::<path!(step)>(12);
            })
            .await;
        assert_eq!(snapshot.run(async move { read() }).await, captured);

        let clone = snapshot.clone();
        clone.run_sync(|| CLS.update::<path!(request_id), _>(|id| id.push_str("-clone")));
        assert_eq!(clone.run_sync(read), captured);
        assert_eq!(snapshot.run_sync(|| CLS.get::<path!(step)>()), 0);

        // Runs of one snapshot in concurrent tasks are independent too.
        let tasks: Vec<_> = (0..8_u64)
            .map(|i| {
                let snapshot = snapshot.clone();
                tokio::spawn(async move {
                    snapshot
                        .run(async move {
                            assert_eq!(read(), ("captured".to_owned(), 1));
                            CLS.set::<path!(user.id)>(100 + i);
                            yield_now().await;
                            read()
                        })
                        .await
                })
            })
            .collect();
        for (i, task) in (0..8_u64).zip(tasks) {
            assert_eq!(task.await.unwrap(), ("captured".to_owned(), 100 + i));
        }
        assert_eq!(snapshot.run_sync(read), captured);
    }

    async fn a_snapshot_run_hides_the_contexts_active_where_it_runs() {
        let only_trace = TRACE.run_with(trace(9), async { cls_core::snapshot() }).await;
        let seen = TX
            .run_with(tx_store("elsewhere", 1), async {
                let seen = only_trace.run(async { view() }).await;
                // And the context it ran in is back after.
                assert_eq!(TX.get::<path!(request_id)>(), "elsewhere");
                seen
            })
            .await;
        let expected = View {
            trace_id: Some(9),
            ..nothing_active()
        };
        assert_eq!(seen, expected);
    }

    async fn futures_returned_by_run_with_and_run_are_send() {
        let fut = CLS.run_with(app("req-1", 1), async {
            yield_now().await;
            CLS.run(async { CLS.get::<path!(request_id)>() }).await
        });
        assert_send(&fut);
        assert_eq!(tokio::spawn(fut).await.unwrap(), "req-1");

        let fut = CLS.run(async { CLS.get::<path!(user.id)>() });
        assert_send(&fut);
        assert_eq!(tokio::spawn(fut).await.unwrap(), 0);

        let fut = cls_core::bind(async {});
        assert_send(&fut);
        let fut = cls_core::snapshot().run(async {});
        assert_send(&fut);
    }
}

/// `spawn_local` runs on the thread of the `LocalSet`; `bind` carries the contexts there.
async fn bind_carries_every_store_type_into_spawn_local_case() {
    let local = LocalSet::new();
    local
        .run_until(async {
            let handle = in_both_contexts_sync(|| {
                tokio::task::spawn_local(cls_core::bind(async {
                    yield_now().await;
                    view()
                }))
            });
            assert_eq!(handle.await.unwrap(), view_when_carried());
            // Unbound, `spawn_local` carries nothing.
            let handle = in_both_contexts_sync(|| tokio::task::spawn_local(async { view() }));
            assert_eq!(handle.await.unwrap(), nothing_active());
        })
        .await;
}

#[tokio::test(flavor = "current_thread")]
async fn bind_carries_every_store_type_into_spawn_local_on_current_thread() {
    bind_carries_every_store_type_into_spawn_local_case().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_carries_every_store_type_into_spawn_local_on_multi_thread() {
    bind_carries_every_store_type_into_spawn_local_case().await;
}

#[test]
fn snapshot_run_sync_carries_every_store_type_but_not_local_fields() {
    let snapshot = TRACE.run_with_sync(trace(9), || {
        TX.run_with_sync(tx_store("req-1", 7), cls_core::snapshot)
    });
    assert_eq!(view(), nothing_active());
    assert_eq!(snapshot.run_sync(view), view_when_carried());
    // Sent to a plain thread.
    let seen = std::thread::spawn(move || snapshot.run_sync(view))
        .join()
        .unwrap();
    assert_eq!(seen, view_when_carried());
}

fn assert_send<T: Send>(_: &T) {}
fn assert_clone_send_sync<T: Clone + Send + Sync + 'static>() {}
fn assert_copy_send_sync<T: Copy + Send + Sync + 'static>() {}

#[test]
fn snapshot_is_clone_send_and_sync() {
    assert_clone_send_sync::<Snapshot>();
}

#[test]
fn cls_handle_is_copy_send_and_sync() {
    assert_copy_send_sync::<Cls<AppStore>>();
    assert_copy_send_sync::<Cls<TxStore>>();
    assert_copy_send_sync::<Cls<TraceStore>>();
    assert_eq!(std::mem::size_of::<Cls<AppStore>>(), 0);
}

// --- A spawned task's own writes -----------------------------------------------------------

#[derive(ClsStore, Clone, Debug, Default)]
struct Job {
    step: u32,
    name: String,
}

const JOB: Cls<Job> = Cls::new();

on_both_runtimes! {
    /// A task spawned with one store type builds its frame anew for each poll: what one poll
    /// writes (copy-on-write, `enter_with`) must still be there in the next.
    async fn writes_in_a_spawned_task_are_kept_from_one_poll_to_the_next() {
        let parent = Job {
            step: 1,
            name: "parent".to_owned(),
        };
        JOB.run_with(parent, async {
            let task = cls_core::spawn(async {
                JOB.set::<path!(step)>(2);
                yield_now().await;
                assert_eq!(JOB.get::<path!(step)>(), 2);
                JOB.enter_with(Job {
                    step: 3,
                    name: "entered".to_owned(),
                });
                yield_now().await;
                JOB.update::<path!(step), _>(|step| *step += 1);
                yield_now().await;
                (JOB.get::<path!(step)>(), JOB.get::<path!(name)>())
            });
            assert_eq!(task.await.unwrap(), (4, "entered".to_owned()));
            assert_eq!(JOB.get::<path!(step)>(), 1);
            assert_eq!(JOB.get::<path!(name)>(), "parent");
        })
        .await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_write_in_a_spawned_task_that_then_panics_never_reaches_the_parent() {
    JOB.run_with(Job::default(), async {
        let task = cls_core::spawn(async {
            JOB.set::<path!(step)>(9);
            yield_now().await;
            panic!("the job failed");
        });
        assert!(task.await.unwrap_err().is_panic());
        assert_eq!(JOB.get::<path!(step)>(), 0);
    })
    .await;
    JOB.assert_inactive();
}

// --- Local fields are reset, never cloned -----------------------------------------------------

/// A store declared by a `macro_rules!`, with a `#[cls(local)]` field of a `$ty` type: the
/// derive's generated `self` must keep its own hygiene.
macro_rules! store_with_local {
    ($name:ident, $local:ty) => {
        #[derive(ClsStore, Clone, Default)]
        struct $name {
            id: u64,
            #[cls(local)]
            tx: $local,
        }
    };
}

store_with_local!(MacroStore, Option<u32>);

const MACRO: Cls<MacroStore> = Cls::new();

#[test]
fn a_store_declared_by_a_macro_resets_its_local_fields_when_carried() {
    let store = MacroStore { id: 1, tx: Some(9) };
    let carried = MACRO.run_with_sync(store, || {
        cls_core::snapshot().run_sync(|| (MACRO.get::<path!(id)>(), MACRO.get::<path!(tx)>()))
    });
    assert_eq!(carried, (1, None));
}

static TX_CLONES: AtomicUsize = AtomicUsize::new(0);

/// A transaction handle that counts its clones: carried work must never clone it.
#[derive(Debug, Default)]
struct TxHandle(Option<u32>);

impl Clone for TxHandle {
    fn clone(&self) -> Self {
        TX_CLONES.fetch_add(1, Ordering::SeqCst);
        TxHandle(self.0)
    }
}

#[derive(ClsStore, Clone, Debug, Default)]
struct WithTx {
    request_id: String,
    #[cls(local)]
    tx: TxHandle,
}

const WITH_TX: Cls<WithTx> = Cls::new();

#[tokio::test(flavor = "current_thread")]
async fn carrying_a_store_never_clones_its_local_fields() {
    let store = WithTx {
        request_id: "req-1".to_owned(),
        tx: TxHandle(Some(7)),
    };
    WITH_TX
        .run_with(store, async {
            let before = TX_CLONES.load(Ordering::SeqCst);
            let seen = cls_core::spawn(async {
                (
                    WITH_TX.get::<path!(request_id)>(),
                    WITH_TX.with::<path!(tx), _>(|tx| tx.0),
                )
            })
            .await
            .unwrap();
            assert_eq!(seen, ("req-1".to_owned(), None));
            let snapshot = cls_core::snapshot();
            assert_eq!(
                snapshot.run_sync(|| WITH_TX.with::<path!(tx), _>(|tx| tx.0)),
                None
            );
            let bound = cls_core::bind(async { WITH_TX.with::<path!(tx), _>(|tx| tx.0) });
            assert_eq!(bound.await, None);
            assert_eq!(
                TX_CLONES.load(Ordering::SeqCst),
                before,
                "a local field was cloned"
            );
            // The context itself still has it.
            assert_eq!(WITH_TX.with::<path!(tx), _>(|tx| tx.0), Some(7));
        })
        .await;
}

/// The local field sits in a nested store; the outer store has none of its own.
#[derive(ClsStore, Clone, Debug, Default)]
struct Outer {
    id: u32,
    inner: WithTx,
}

const OUTER: Cls<Outer> = Cls::new();

#[test]
fn carrying_never_clones_a_local_field_of_a_nested_store() {
    let store = Outer {
        id: 5,
        inner: WithTx {
            request_id: "req-9".to_owned(),
            tx: TxHandle(Some(7)),
        },
    };
    OUTER.run_with_sync(store, || {
        let before = TX_CLONES.load(Ordering::SeqCst);
        let seen = cls_core::snapshot().run_sync(|| {
            (
                OUTER.get::<path!(id)>(),
                OUTER.get::<path!(inner.request_id)>(),
                OUTER.with::<path!(inner.tx), _>(|tx| tx.0),
            )
        });
        assert_eq!(seen, (5, "req-9".to_owned(), None));
        assert_eq!(
            TX_CLONES.load(Ordering::SeqCst),
            before,
            "a local field was cloned"
        );
    });
}

/// A store with a hand-written `Clone` and a field that is not `Clone`: it must still
/// derive, and carried work still sees its local field reset.
#[derive(ClsStore, Default)]
struct Stats {
    hits: AtomicU64,
    #[cls(local)]
    tx: Option<u8>,
}

impl Clone for Stats {
    fn clone(&self) -> Self {
        Stats {
            hits: AtomicU64::new(self.hits.load(Ordering::SeqCst)),
            tx: self.tx,
        }
    }
}

const STATS: Cls<Stats> = Cls::new();

#[test]
fn a_store_with_a_field_that_is_not_clone_is_carried_with_its_local_field_reset() {
    let store = Stats {
        hits: AtomicU64::new(3),
        tx: Some(1),
    };
    let seen = STATS.run_with_sync(store, || {
        cls_core::snapshot().run_sync(|| {
            (
                STATS.with::<path!(hits), _>(|h| h.load(Ordering::SeqCst)),
                STATS.get::<path!(tx)>(),
            )
        })
    });
    assert_eq!(seen, (3, None));
}
