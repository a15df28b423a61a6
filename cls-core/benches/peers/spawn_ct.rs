//! The `spawn_ct` group: spawn + join inside a context with one store type, on a
//! current-thread runtime; and the spawn loops that `spawn_mt` shares.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::harness::{Group, Harness, Term};
use crate::{app_store, AppStore, CLS};

/// The spawned task: ready at once. `PAD` bytes of padding make it as large as another
/// future, to tell the cost of a larger task from the cost of carrying the context.
struct Seven<const PAD: usize>([u8; PAD]);

impl<const PAD: usize> Future for Seven<PAD> {
    type Output = u64;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u64> {
        Poll::Ready(black_box(7))
    }
}

/// What `cls_core::spawn` adds to a task with one store type active: the store's
/// `Arc<dyn _>` (a pointer and its vtable) and the tag of the captured-contexts enum (with
/// more store types, the pointer is to a boxed list instead).
const CARRIED_SIZE: usize = 3 * std::mem::size_of::<usize>();

#[allow(clippy::disallowed_methods)] // The plain `tokio::spawn` is the peer.
pub(crate) async fn tokio_spawn_loop<const PAD: usize>(n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        black_box(tokio::spawn(Seven([0; PAD])).await.unwrap());
    }
    start.elapsed()
}

pub(crate) async fn cls_spawn_loop(n: u64) -> Duration {
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

pub(crate) fn run(h: &mut Harness) {
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
            "tokio::spawn(fut padded by the three words cls carries)",
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
