//! Memory: a store is dropped exactly once, when the last context, task or snapshot using it
//! ends, including when a context panics or is cancelled; and reads and unshared writes
//! allocate nothing. (That nothing grows with the number of contexts created is proven in
//! `test_heap_baseline.rs`, alone in its binary.)

#[macro_use]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::{pending, Future};
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use cls_core::{path, Cls, ClsStore};
use common::panic_of;
use tokio::sync::oneshot;
use tokio::task::yield_now;

/// Counts the allocations made by each thread, so that tests running in parallel threads do
/// not see each other's.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // A const-initialized thread-local without destructor: reaching it never allocates.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting only touches a thread-local `Cell`.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: the caller's contract is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Calls `f` and returns how many allocations this thread made meanwhile.
fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// The number of live instances of a store, over all its copies.
#[derive(Debug, Default)]
struct LiveCounter {
    live: AtomicIsize,
    went_negative: AtomicBool,
}

/// A field that counts the live instances of the store that holds it: creating or cloning
/// it adds one, dropping it removes one. Its `Default` counts nothing.
#[derive(Debug, Default)]
struct Tracked(Option<Arc<LiveCounter>>);

impl Tracked {
    fn new(counter: &Arc<LiveCounter>) -> Self {
        counter.live.fetch_add(1, Ordering::SeqCst);
        Self(Some(Arc::clone(counter)))
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        match &self.0 {
            Some(counter) => Self::new(counter),
            None => Self(None),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(counter) = &self.0 {
            if counter.live.fetch_sub(1, Ordering::SeqCst) <= 0 {
                counter.went_negative.store(true, Ordering::SeqCst);
            }
        }
    }
}

#[derive(ClsStore, Clone, Default)]
struct Inner {
    id: u64,
}

/// A store without `#[cls(local)]` fields: carried by reference count.
#[derive(ClsStore, Clone, Default)]
struct MemStore {
    tracked: Tracked,
    inner: Inner,
    n: u64,
}

/// A store with a `#[cls(local)]` field: carried as a copy.
#[derive(ClsStore, Clone, Default)]
struct LocalMemStore {
    tracked: Tracked,
    #[cls(local)]
    tx: Option<u32>,
}

const MEM: Cls<MemStore> = Cls::new();
const LOCAL: Cls<LocalMemStore> = Cls::new();

fn counter() -> Arc<LiveCounter> {
    Arc::default()
}

fn live(counter: &LiveCounter) -> isize {
    counter.live.load(Ordering::SeqCst)
}

fn mem_store(counter: &Arc<LiveCounter>) -> MemStore {
    MemStore {
        tracked: Tracked::new(counter),
        ..MemStore::default()
    }
}

fn local_store(counter: &Arc<LiveCounter>) -> LocalMemStore {
    LocalMemStore {
        tracked: Tracked::new(counter),
        tx: Some(1),
    }
}

#[track_caller]
fn assert_all_dropped(counter: &LiveCounter) {
    assert_eq!(live(counter), 0, "instances of the store are still alive");
    assert!(
        !counter.went_negative.load(Ordering::SeqCst),
        "an instance was dropped twice"
    );
}

#[test]
fn a_store_is_dropped_when_its_sync_context_ends() {
    let counter = counter();
    MEM.run_with_sync(mem_store(&counter), || {
        assert_eq!(live(&counter), 1);
        MEM.run_sync(|| {
            // Shared with the enclosing context until written.
            assert_eq!(live(&counter), 1);
            MEM.set::<path!(n)>(1);
            assert_eq!(live(&counter), 2);
        });
        assert_eq!(live(&counter), 1);
        MEM.set::<path!(n)>(2);
        assert_eq!(live(&counter), 1);
        MEM.enter_with(mem_store(&counter));
        assert_eq!(live(&counter), 1);
    });
    assert_all_dropped(&counter);
}

#[test]
fn a_store_kept_by_snapshots_is_dropped_with_the_last_of_them() {
    let counter = counter();
    let snapshot = MEM.run_with_sync(mem_store(&counter), cls_core::snapshot);
    assert_eq!(live(&counter), 1);
    let clone = snapshot.clone();
    drop(snapshot);
    assert_eq!(live(&counter), 1);
    clone.run_sync(|| {
        MEM.set::<path!(n)>(1);
        assert_eq!(live(&counter), 2);
    });
    assert_eq!(live(&counter), 1);
    let bound = clone.run(async {});
    drop(clone);
    assert_eq!(live(&counter), 1);
    drop(bound);
    assert_all_dropped(&counter);
}

#[test]
fn a_store_is_dropped_when_its_sync_context_panics() {
    let counter = counter();
    panic_of(|| {
        MEM.run_with_sync(mem_store(&counter), || {
            MEM.run_sync(|| {
                MEM.set::<path!(n)>(1);
                panic!("boom");
            })
        })
    });
    assert_all_dropped(&counter);
}

#[test]
fn replaced_stores_and_values_are_dropped_once() {
    let counter = counter();
    let other = self::counter();
    // Outside a context, the store given to `try_enter_with` is dropped.
    assert!(MEM.try_enter_with(mem_store(&counter)).is_err());
    assert_all_dropped(&counter);

    MEM.run_with_sync(mem_store(&counter), || {
        MEM.set::<path!(tracked)>(Tracked::new(&other));
        assert_eq!((live(&counter), live(&other)), (0, 1));
        MEM.update::<path!(tracked), _>(|tracked| *tracked = Tracked::new(&counter));
        assert_eq!((live(&counter), live(&other)), (1, 0));
        MEM.enter_with(MemStore::default());
        assert_eq!(live(&counter), 0);
    });
    assert_all_dropped(&counter);
    assert_all_dropped(&other);
}

on_both_runtimes! {
    async fn a_store_shared_with_tasks_is_dropped_once_when_the_last_task_ends() {
        let counter = counter();
        let waiting = MEM
            .run_with(mem_store(&counter), async {
                let waiting: Vec<_> = (0..4_u64)
                    .map(|i| {
                        let (go_tx, go_rx) = oneshot::channel::<()>();
                        let task = cls_core::spawn(async move {
                            go_rx.await.unwrap();
                            if i % 2 == 0 {
                                MEM.set::<path!(n)>(i);
                            }
                            yield_now().await;
                        });
                        (go_tx, task)
                    })
                    .collect();
                let blocking = cls_core::spawn_blocking(|| MEM.get::<path!(n)>());
                assert_eq!(blocking.await.unwrap(), 0);
                // The tasks share this store: no copy yet.
                assert_eq!(live(&counter), 1);
                // This context writes, so it gets its own copy.
                MEM.set::<path!(n)>(100);
                assert_eq!(live(&counter), 2);
                waiting
            })
            .await;
        // The context's copy is gone; the tasks still hold the original.
        assert_eq!(live(&counter), 1);
        for (go_tx, task) in waiting {
            go_tx.send(()).unwrap();
            task.await.unwrap();
        }
        assert_all_dropped(&counter);
    }

    async fn a_store_with_local_fields_is_copied_into_other_work_and_every_copy_is_dropped() {
        let counter = counter();
        LOCAL
            .run_with(local_store(&counter), async {
                let (go_tx, go_rx) = oneshot::channel::<()>();
                let task = cls_core::spawn(async move {
                    go_rx.await.unwrap();
                    LOCAL.get::<path!(tx)>()
                });
                // The task got a copy with the local field reset.
                assert_eq!(live(&counter), 2);
                let snapshot = cls_core::snapshot();
                assert_eq!(live(&counter), 3);
                let blocking = cls_core::spawn_blocking(|| LOCAL.get::<path!(tx)>());
                assert_eq!(blocking.await.unwrap(), None);
                assert_eq!(cls_core::bind(async { LOCAL.get::<path!(tx)>() }).await, None);
                assert_eq!(live(&counter), 3);
                go_tx.send(()).unwrap();
                assert_eq!(task.await.unwrap(), None);
                assert_eq!(live(&counter), 2);
                drop(snapshot);
                assert_eq!(live(&counter), 1);
            })
            .await;
        assert_all_dropped(&counter);
    }

    async fn cancelled_and_panicked_contexts_drop_their_store() {
        let counter = counter();

        // Aborted task.
        let (started_tx, started_rx) = oneshot::channel();
        let task = tokio::spawn(MEM.run_with(mem_store(&counter), async move {
            started_tx.send(()).unwrap();
            pending::<()>().await;
        }));
        started_rx.await.unwrap();
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        assert_all_dropped(&counter);

        // Panicked task, after sharing its store with a nested context.
        let task = tokio::spawn(MEM.run_with(mem_store(&counter), async {
            MEM.run(async {
                MEM.set::<path!(n)>(1);
                yield_now().await;
                panic!("boom");
            })
            .await;
        }));
        assert!(task.await.unwrap_err().is_panic());
        assert_all_dropped(&counter);

        // Dropped by a timeout mid-await, inside a carried context.
        let outer = MEM.run_with(mem_store(&counter), async {
            let bound = cls_core::bind(pending::<()>());
            let inner = MEM.run(pending::<()>());
            let both = async { tokio::join!(bound, inner) };
            assert!(tokio::time::timeout(Duration::from_millis(1), both).await.is_err());
        });
        outer.await;
        assert_all_dropped(&counter);

        // Never polled.
        drop(MEM.run_with(mem_store(&counter), async {}));
        assert_all_dropped(&counter);
    }
}

/// Reads, writes and `is_active` on an unshared store, a `u64` two segments deep.
fn read_and_write(rounds: u64) {
    for i in 0..rounds {
        black_box(MEM.get::<path!(inner.id)>());
        black_box(MEM.try_get::<path!(n)>().unwrap());
        MEM.with::<path!(inner.id), _>(|id| black_box(*id));
        MEM.set::<path!(inner.id)>(i);
        MEM.try_set::<path!(n)>(i).unwrap();
        MEM.update::<path!(inner.id), _>(|id| *id += 1);
        black_box(MEM.is_active());
    }
}

#[test]
fn reads_and_unshared_writes_allocate_nothing() {
    MEM.run_with_sync(MemStore::default(), || {
        assert_eq!(allocations_during(|| read_and_write(1_000)), 0);
        assert_eq!(MEM.get::<path!(inner.id)>(), 1_000);
    });
}

#[test]
fn a_nested_context_allocates_nothing_until_written_and_then_writes_in_place() {
    MEM.run_with_sync(MemStore::default(), || {
        // A nested context shares the store: a reference count, no allocation.
        assert_eq!(allocations_during(|| MEM.run_sync(|| ())), 0);
        let allocations = allocations_during(|| {
            MEM.run_sync(|| {
                black_box(MEM.get::<path!(inner.id)>());
                MEM.run_sync(|| black_box(MEM.get::<path!(n)>()));
            });
        });
        assert_eq!(allocations, 0);

        MEM.run_sync(|| {
            // The first write copies the shared store; after that it is unshared.
            MEM.set::<path!(inner.id)>(1);
            assert_eq!(allocations_during(|| read_and_write(1_000)), 0);
        });

        // Once the nested context that shared the store has ended, it is unshared again.
        MEM.run_sync(|| black_box(MEM.get::<path!(n)>()));
        assert_eq!(allocations_during(|| read_and_write(1_000)), 0);
    });
}

struct NoopWaker;

impl Wake for NoopWaker {
    fn wake(self: Arc<Self>) {}
}

/// Pending `n` times, waking itself each time, then ready.
struct YieldTimes(u32);

impl Future for YieldTimes {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn polling_a_context_future_allocates_nothing() {
    let waker = Waker::from(Arc::new(NoopWaker));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(MEM.run_with(MemStore::default(), async {
        for i in 0..100 {
            read_and_write(1);
            MEM.set::<path!(n)>(i);
            YieldTimes(1).await;
        }
        MEM.get::<path!(n)>()
    }));
    let mut output = None;
    let allocations = allocations_during(|| {
        while output.is_none() {
            if let Poll::Ready(n) = fut.as_mut().poll(&mut cx) {
                output = Some(n);
            }
        }
    });
    assert_eq!(allocations, 0);
    assert_eq!(output, Some(99));
}

on_both_runtimes! {
    async fn reads_and_unshared_writes_in_an_async_context_allocate_nothing() {
        MEM.run_with(MemStore::default(), async {
            for _ in 0..3 {
                // Counted between awaits only: the task may move to another thread at each.
                assert_eq!(allocations_during(|| read_and_write(100)), 0);
                yield_now().await;
            }
        })
        .await;
    }
}

#[test]
fn entering_a_context_allocates_nothing_with_one_store_type_or_two() {
    let mut one = MEM.context(MemStore::default());
    let mut two = MEM
        .context(MemStore::default())
        .join(LOCAL.context(LocalMemStore::default()));
    // The first write of each copies nothing: the stores are unshared.
    one.enter_sync(|| read_and_write(1));
    two.enter_sync(|| read_and_write(1));
    assert_eq!(
        allocations_during(|| {
            for _ in 0..100 {
                one.enter_sync(|| read_and_write(10));
                two.enter_sync(|| {
                    read_and_write(10);
                    black_box(LOCAL.is_active());
                });
            }
        }),
        0
    );
    // The last round set the id to 9, then added one: the writes landed in the context.
    assert_eq!(one.enter_sync(|| MEM.get::<path!(inner.id)>()), 10);
}
