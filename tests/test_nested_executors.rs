//! Executors nested inside a context: a `LocalSet` driven by `run_until` inside `run_with`,
//! a current-thread runtime's `block_on` inside `run_with_sync`. Their tasks are polled
//! while the driver's context is installed on the thread.
//!
//! The rule, as the README's rules table states it: a task that carries contexts (spawned
//! with `cls_core::spawn`, or wrapped in `cls_core::bind`) installs exactly what it carries
//! on every poll, whoever polls it; a plain task (`tokio::spawn`, `spawn_local`) carries
//! nothing and sees whatever context its executor is polled in. Telling tasks apart on every
//! read would take tokio's task id (`tokio::task::try_id()`, ~5 ns here against ~1.5 ns for
//! a whole read), so the remedy is `bind`.

mod common;

use cls_core::{path, ClsErrorKind};
use common::{app, CLS};
use tokio::runtime::Builder;
use tokio::task::{spawn_local, LocalSet};

/// What a task saw: whether a context was active, and what a write to it returned.
fn probe() -> (bool, Result<(), ClsErrorKind>) {
    let active = CLS.is_active();
    (
        active,
        CLS.try_set::<path!(step)>(9).map_err(|err| err.kind()),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_bound_task_on_a_local_set_inside_a_context_sees_only_what_it_carries() {
    // Bound where no context is active: it carries nothing, so it sees nothing of the
    // context the `LocalSet` is driven in, and cannot write into it.
    let task = cls_core::bind(async { probe() });
    let local = LocalSet::new();
    CLS.run_with(app("driver", 1), async {
        let seen = local
            .run_until(async move { spawn_local(task).await.unwrap() })
            .await;
        assert_eq!(seen, (false, Err(ClsErrorKind::NoContext)));
        assert_eq!(
            CLS.get::<path!(step)>(),
            0,
            "the driver's store is untouched"
        );
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_task_bound_inside_another_context_sees_that_one_not_the_drivers() {
    // Bound inside a context of its own: it carries that one.
    let task = CLS.run_with_sync(app("spawner", 2), || {
        cls_core::bind(async {
            let seen = probe();
            (CLS.get::<path!(request_id)>(), seen)
        })
    });
    let local = LocalSet::new();
    CLS.run_with(app("driver", 1), async {
        let seen = local
            .run_until(async move { spawn_local(task).await.unwrap() })
            .await;
        assert_eq!(seen, ("spawner".to_owned(), (true, Ok(()))));
        assert_eq!(CLS.get::<path!(step)>(), 0, "the write stayed in the task");
    })
    .await;
}

#[test]
fn a_bound_task_on_a_runtime_nested_in_a_sync_context_sees_only_what_it_carries() {
    let runtime = Builder::new_current_thread().build().unwrap();
    let task = cls_core::bind(async { probe() });
    CLS.run_with_sync(app("driver", 1), || {
        let seen = runtime.block_on(async move { tokio::spawn(task).await.unwrap() });
        assert_eq!(seen, (false, Err(ClsErrorKind::NoContext)));
        assert_eq!(
            CLS.get::<path!(step)>(),
            0,
            "the driver's store is untouched"
        );
    });
}

#[tokio::test(flavor = "current_thread")]
async fn a_plain_task_on_a_local_set_sees_the_drivers_context_the_documented_limit() {
    // The limit, pinned so that a change to it is noticed: a plain `spawn_local` task
    // carries nothing, so it runs in whatever context the `LocalSet` is polled in, and its
    // write lands in the driver's store. `bind` (above) is the remedy.
    let local = LocalSet::new();
    CLS.run_with(app("driver", 1), async {
        let seen = local
            .run_until(async { spawn_local(async { probe() }).await.unwrap() })
            .await;
        assert_eq!(seen, (true, Ok(())));
        assert_eq!(CLS.get::<path!(step)>(), 9);
    })
    .await;
}
