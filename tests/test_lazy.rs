//! `Lazy<T>`: a store field computed at most once per context, shared by every copy of the
//! store made from that context.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cls_core::{path, Cls, ClsStore, Lazy};

#[derive(ClsStore, Clone, Default)]
struct RequestStore {
    user_id: u64,
    user: Lazy<String>,
    #[cls(local)]
    local_user: Lazy<String>,
}

const CLS: Cls<RequestStore> = Cls::new();

/// Every test ends well within this, or fails instead of hanging.
const BOUND: Duration = Duration::from_secs(20);

fn request(user_id: u64) -> RequestStore {
    RequestStore {
        user_id,
        ..RequestStore::default()
    }
}

/// The request's user, loaded on first use; counts the loads.
async fn current_user(loads: &AtomicUsize) -> String {
    CLS.get::<path!(user)>()
        .get_or_init(|| async {
            loads.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            format!("user {}", CLS.get::<path!(user_id)>())
        })
        .await
        .clone()
}

async fn one_initialiser_for_100_concurrent_first_uses() {
    let loads = Arc::new(AtomicUsize::new(0));
    let seen = CLS
        .run_with(request(7), async {
            let tasks: Vec<_> = (0..100)
                .map(|_| {
                    let loads = loads.clone();
                    cls_core::spawn(async move { current_user(&loads).await })
                })
                .collect();
            let mut seen = Vec::new();
            for task in tasks {
                seen.push(task.await.unwrap());
            }
            seen
        })
        .await;
    assert_eq!(seen.len(), 100);
    assert!(seen.iter().all(|user| user == "user 7"));
    assert_eq!(loads.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn initialiser_runs_once_under_100_concurrent_first_uses_current_thread() {
    tokio::time::timeout(BOUND, one_initialiser_for_100_concurrent_first_uses())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn initialiser_runs_once_under_100_concurrent_first_uses_multi_thread() {
    tokio::time::timeout(BOUND, one_initialiser_for_100_concurrent_first_uses())
        .await
        .unwrap();
}

async fn spawned_task_initialises_for_the_request() {
    let loads = AtomicUsize::new(0);
    let (from_task, in_request, local) = CLS
        .run_with(request(3), async {
            let from_task = cls_core::spawn(async {
                let user = CLS.get::<path!(user)>();
                user.get_or_init(|| async { "loaded by a task".to_owned() })
                    .await
                    .clone()
            })
            .await
            .unwrap();
            // The `#[cls(local)]` copy the task saw was a fresh cell: the request's is empty.
            cls_core::spawn(async {
                let local = CLS.get::<path!(local_user)>();
                local.get_or_init(|| async { "task only".to_owned() }).await;
            })
            .await
            .unwrap();
            let local = CLS.with::<path!(local_user), _>(|cell| cell.get().cloned());
            (from_task, current_user(&loads).await, local)
        })
        .await;
    assert_eq!(from_task, "loaded by a task");
    assert_eq!(in_request, "loaded by a task");
    assert_eq!(
        loads.load(Ordering::SeqCst),
        0,
        "the request's initialiser never ran"
    );
    assert_eq!(local, None);
}

#[tokio::test(flavor = "current_thread")]
async fn value_initialised_in_a_spawned_task_is_seen_by_the_request_current_thread() {
    tokio::time::timeout(BOUND, spawned_task_initialises_for_the_request())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn value_initialised_in_a_spawned_task_is_seen_by_the_request_multi_thread() {
    tokio::time::timeout(BOUND, spawned_task_initialises_for_the_request())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_initialiser_leaves_it_empty_and_the_request_usable() {
    let loads = AtomicUsize::new(0);
    let user = CLS
        .run_with(request(5), async {
            let panicked = cls_core::spawn(async {
                CLS.get::<path!(user)>()
                    .get_or_init(|| async { panic!("the user service is down") })
                    .await
                    .clone()
            })
            .await;
            assert!(panicked.unwrap_err().is_panic());
            assert_eq!(CLS.with::<path!(user), _>(|cell| cell.get().cloned()), None);
            current_user(&loads).await
        })
        .await;
    assert_eq!(user, "user 5");
    assert_eq!(loads.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn cancelled_initialiser_leaves_it_empty() {
    let loads = AtomicUsize::new(0);
    let user = CLS
        .run_with(request(6), async {
            let cell = CLS.get::<path!(user)>();
            let cancelled = tokio::time::timeout(
                Duration::from_millis(10),
                cell.get_or_init(std::future::pending::<String>),
            )
            .await;
            assert!(cancelled.is_err());
            assert_eq!(cell.get(), None);
            current_user(&loads).await
        })
        .await;
    assert_eq!(user, "user 6");
}

#[tokio::test(flavor = "current_thread")]
async fn failed_try_init_leaves_it_empty() {
    CLS.run_with(request(1), async {
        let cell = CLS.get::<path!(user)>();
        let failed = cell
            .get_or_try_init(|| async { Err::<String, _>("offline") })
            .await;
        assert_eq!(failed, Err("offline"));
        assert_eq!(cell.get(), None);
        let loaded = cell
            .get_or_try_init(|| async { Ok::<_, &str>("back".to_owned()) })
            .await;
        assert_eq!(loaded.map(String::as_str), Ok("back"));
        // The store's own field is the same cell.
        assert_eq!(
            CLS.with::<path!(user), _>(|cell| cell.get().cloned())
                .as_deref(),
            Some("back")
        );
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn nested_run_shares_and_run_with_starts_empty() {
    let loads = AtomicUsize::new(0);
    CLS.run_with(request(2), async {
        let nested = CLS.run(current_user(&loads)).await;
        assert_eq!(nested, "user 2");
        assert_eq!(current_user(&loads).await, "user 2");
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "the nested run's value is the request's"
        );

        let fresh = CLS.run_with(request(9), current_user(&loads)).await;
        assert_eq!(fresh, "user 9");
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        assert_eq!(
            current_user(&loads).await,
            "user 2",
            "the outer value is untouched"
        );
    })
    .await;
}
