//! Scenarios found in review, each once a way for safe code to corrupt a store or to see a
//! wrong result; kept so they stay fixed.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use cls_core::{path, Cls, ClsStore};

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

#[test]
fn sharing_a_sync_store_from_inside_with_copies_it_instead_of_moving_it() {
    let store = Logged {
        log: Log(Mutex::new(vec![1])),
    };
    LOGGED.run_with_sync(store, || {
        LOGGED.with::<path!(log), _>(|log| {
            let snapshot = cls_core::snapshot();
            *log.0.lock().unwrap() = vec![2, 3];
            let seen = snapshot
                .run_sync(|| LOGGED.with::<path!(log), _>(|log| log.0.lock().unwrap().clone()));
            assert_eq!(seen, [1], "the snapshot has the store as it was");
        });
        let now = LOGGED.with::<path!(log), _>(|log| log.0.lock().unwrap().clone());
        assert_eq!(now, [2, 3], "the context kept writing its own store");
    });
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
fn a_clone_that_panics_during_copy_on_write_leaves_the_store_shared() {
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

#[derive(ClsStore, Clone, Default)]
struct A {
    a: u8,
}

#[derive(ClsStore, Clone, Default)]
struct B {
    b: u8,
}

#[derive(ClsStore, Clone, Default)]
struct Wrap<T: ClsStore + Default> {
    inner: T,
}

#[test]
fn paths_of_a_generic_store_are_kept_per_instantiation() {
    assert_eq!(Wrap::<A>::paths(), ["inner", "inner.a"]);
    assert_eq!(Wrap::<B>::paths(), ["inner", "inner.b"]);
    assert_eq!(Wrap::<A>::paths(), ["inner", "inner.a"]);
}

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

#[derive(ClsStore, Clone, Debug, Default)]
struct Job {
    step: u32,
    name: String,
}

const JOB: Cls<Job> = Cls::new();

/// A task spawned with one store type builds its frame anew for each poll: what one poll
/// writes (copy-on-write, `enter_with`) must still be there in the next.
async fn writes_survive_across_polls() {
    let parent = Job {
        step: 1,
        name: "parent".to_owned(),
    };
    JOB.run_with(parent, async {
        let task = cls_core::spawn(async {
            JOB.set::<path!(step)>(2);
            tokio::task::yield_now().await;
            assert_eq!(JOB.get::<path!(step)>(), 2);
            JOB.enter_with(Job {
                step: 3,
                name: "entered".to_owned(),
            });
            tokio::task::yield_now().await;
            JOB.update::<path!(step), _>(|step| *step += 1);
            tokio::task::yield_now().await;
            (JOB.get::<path!(step)>(), JOB.get::<path!(name)>())
        });
        assert_eq!(task.await.unwrap(), (4, "entered".to_owned()));
        assert_eq!(JOB.get::<path!(step)>(), 1);
        assert_eq!(JOB.get::<path!(name)>(), "parent");
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_spawned_task_keeps_its_writes_across_polls_current_thread() {
    writes_survive_across_polls().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_task_keeps_its_writes_across_polls_multi_thread() {
    writes_survive_across_polls().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_spawned_task_that_panics_after_a_write_leaves_the_parent_untouched() {
    JOB.run_with(Job::default(), async {
        let task = cls_core::spawn(async {
            JOB.set::<path!(step)>(9);
            tokio::task::yield_now().await;
            panic!("the job failed");
        });
        assert!(task.await.unwrap_err().is_panic());
        assert_eq!(JOB.get::<path!(step)>(), 0);
    })
    .await;
    JOB.assert_inactive();
}

static TX_CLONES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

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

/// A store with a hand-written `Clone` and a field that is not `Clone`: it must still
/// derive, and carried work still sees its local field reset.
#[derive(ClsStore, Default)]
struct Stats {
    hits: std::sync::atomic::AtomicU64,
    #[cls(local)]
    tx: Option<u8>,
}

impl Clone for Stats {
    fn clone(&self) -> Self {
        Stats {
            hits: std::sync::atomic::AtomicU64::new(self.hits.load(Ordering::SeqCst)),
            tx: self.tx,
        }
    }
}

const STATS: Cls<Stats> = Cls::new();

#[test]
fn a_store_with_a_hand_written_clone_and_a_non_clone_field_is_carried() {
    let store = Stats {
        hits: std::sync::atomic::AtomicU64::new(3),
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

static RESHARES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

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
    static KEPT: std::cell::RefCell<Option<cls_core::Snapshot>> = const { std::cell::RefCell::new(None) };
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
