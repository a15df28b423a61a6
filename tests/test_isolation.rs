//! Isolation: concurrent contexts never observe each other. Thousands of tasks, each in its
//! own context, sleep and yield at pseudo-random points and check their own values every
//! time they resume, also inside nested contexts and tasks they spawn.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use cls_core::path;
use common::{app, trace, XorShift, CLS, TRACE};
use tokio::sync::Barrier;
use tokio::task::{yield_now, JoinHandle};

const TASKS: u64 = 10_000;

/// Suspends the task at a pseudo-random kind of point: not at all, a yield, or a sleep of
/// 0 to 2 ms.
async fn pause(rng: &mut XorShift) {
    match rng.below(4) {
        0 => {}
        1 => yield_now().await,
        _ => tokio::time::sleep(Duration::from_millis(rng.below(3))).await,
    }
}

fn request_id_of(id: u64) -> String {
    format!("req-{id}")
}

/// Asserts that the current contexts are the ones of request `id` with user `user_id`.
#[track_caller]
fn assert_own_values(id: u64, user_id: u64) {
    assert_eq!(CLS.get::<path!(user.id)>(), user_id, "user of request {id}");
    CLS.with::<path!(request_id), _>(|seen| assert_eq!(*seen, request_id_of(id)));
    assert_eq!(TRACE.get::<path!(trace_id)>(), id, "trace of request {id}");
}

/// One request: writes and checks its own values around pseudo-random suspension points,
/// in its own context, in a nested context and in a task it spawns.
async fn request(id: u64) {
    let mut rng = XorShift::new(id);
    for step in 0..3 {
        pause(&mut rng).await;
        assert_own_values(id, id);
        assert_eq!(CLS.get::<path!(step)>(), step);
        CLS.set::<path!(step)>(step + 1);
    }

    let nested_rng = rng.clone();
    CLS.run(async move {
        let mut rng = nested_rng;
        pause(&mut rng).await;
        assert_own_values(id, id);
        CLS.set::<path!(user.id)>(id + TASKS);
        pause(&mut rng).await;
        assert_own_values(id, id + TASKS);
    })
    .await;
    assert_own_values(id, id);

    let child_rng = rng.clone();
    cls_core::spawn(async move {
        let mut rng = child_rng;
        pause(&mut rng).await;
        assert_own_values(id, id);
        CLS.set::<path!(user.id)>(id + 2 * TASKS);
        pause(&mut rng).await;
        assert_own_values(id, id + 2 * TASKS);
    })
    .await
    .unwrap();

    pause(&mut rng).await;
    assert_own_values(id, id);
}

async fn join_all(tasks: Vec<JoinHandle<()>>) {
    for task in tasks {
        if let Err(err) = task.await {
            std::panic::resume_unwind(err.into_panic());
        }
    }
}

on_both_runtimes! {
    async fn concurrent_tasks_each_see_only_their_own_context() {
        let tasks = (0..TASKS)
            .map(|id| {
                let store = app(&request_id_of(id), id);
                tokio::spawn(TRACE.run_with(trace(id), CLS.run_with(store, request(id))))
            })
            .collect();
        join_all(tasks).await;
        assert!(!CLS.is_active());
        assert!(!TRACE.is_active());
    }

    async fn tasks_sharing_their_parent_store_each_see_only_their_own_writes() {
        const CHILDREN: u64 = 1_000;
        let parent = app(&request_id_of(0), 0);
        TRACE
            .run_with(trace(0), CLS.run_with(parent, async {
                // Every child holds the parent's store before any of them writes.
                let barrier = Arc::new(Barrier::new(CHILDREN as usize));
                let tasks = (0..CHILDREN)
                    .map(|i| {
                        let barrier = Arc::clone(&barrier);
                        cls_core::spawn(async move {
                            let mut rng = XorShift::new(i);
                            barrier.wait().await;
                            pause(&mut rng).await;
                            assert_own_values(0, 0);
                            if i % 3 != 0 {
                                CLS.set::<path!(user.id)>(i);
                                pause(&mut rng).await;
                                assert_own_values(0, i);
                            }
                            pause(&mut rng).await;
                            let expected = if i % 3 != 0 { i } else { 0 };
                            assert_own_values(0, expected);
                        })
                    })
                    .collect();
                join_all(tasks).await;
                assert_own_values(0, 0);
            }))
            .await;
    }
}
