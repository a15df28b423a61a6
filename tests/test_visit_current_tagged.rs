//! `cls_core::visit_current_tagged`: the tagged fields of every store type active in the
//! calling code, each store type once, innermost first, without naming the types.

use std::fmt;

use cls_core::{path, Cls, ClsErrorKind, ClsStore, FieldTag};

#[derive(ClsStore, Clone, Default)]
struct AppStore {
    #[cls(propagate)]
    tenant: String,
    #[cls(propagate = "user.id")]
    user_id: Option<u64>,
    note: String,
}

#[derive(ClsStore, Clone, Default)]
struct JobStore {
    #[cls(propagate = "job.id")]
    id: u64,
    #[cls(log)]
    worker: String,
}

const APP: Cls<AppStore> = Cls::new();
const JOB: Cls<JobStore> = Cls::new();

fn app(tenant: &str) -> AppStore {
    AppStore {
        tenant: tenant.into(),
        ..AppStore::default()
    }
}

fn job(id: u64) -> JobStore {
    JobStore {
        id,
        worker: "w1".into(),
    }
}

/// `key=value` for each field visited, in order; the error, if any, by kind and message.
fn visited(tag: FieldTag) -> (Vec<String>, Result<(), (ClsErrorKind, String)>) {
    let mut seen = Vec::new();
    let mut visitor =
        |key: &'static str, value: &dyn fmt::Display| seen.push(format!("{key}={value}"));
    let result = cls_core::visit_current_tagged(tag, &mut visitor)
        .map_err(|err| (err.kind(), err.to_string()));
    (seen, result)
}

#[test]
fn outside_any_context_nothing_is_visited() {
    assert_eq!(visited(FieldTag::Propagate), (vec![], Ok(())));
}

#[test]
fn every_store_type_is_visited_innermost_first() {
    let (seen, result) = APP.run_with_sync(app("acme"), || {
        APP.set::<path!(user_id)>(Some(7));
        JOB.run_with_sync(job(3), || visited(FieldTag::Propagate))
    });
    assert_eq!(result, Ok(()));
    assert_eq!(seen, ["job.id=3", "tenant=acme", "user.id=7"]);
}

#[test]
fn only_fields_with_the_tag_are_visited() {
    let (seen, _) = APP.run_with_sync(app("acme"), || {
        JOB.run_with_sync(job(3), || visited(FieldTag::Log))
    });
    assert_eq!(seen, ["worker=w1"]);
}

#[test]
fn a_store_type_nested_in_itself_is_visited_once_with_its_innermost_store() {
    let (seen, _) = APP.run_with_sync(app("outer"), || {
        APP.run_with_sync(app("inner"), || visited(FieldTag::Propagate))
    });
    assert_eq!(seen, ["tenant=inner"]);

    // The outer `AppStore` sits below a `JobStore` that sits below the inner one.
    let (seen, _) = APP.run_with_sync(app("outer"), || {
        JOB.run_with_sync(job(3), || {
            APP.run_with_sync(app("inner"), || visited(FieldTag::Propagate))
        })
    });
    assert_eq!(seen, ["tenant=inner", "job.id=3"]);
}

#[test]
fn a_store_type_hidden_by_exit_is_not_visited() {
    let (seen, _) = APP.run_with_sync(app("acme"), || {
        JOB.run_with_sync(job(3), || APP.exit_sync(|| visited(FieldTag::Propagate)))
    });
    assert_eq!(seen, ["job.id=3"]);
}

#[test]
fn a_store_being_updated_is_skipped_and_named_the_others_are_visited() {
    let (seen, result) = JOB.run_with_sync(job(3), || {
        APP.run_with_sync(app("acme"), || {
            APP.update::<path!(note), _>(|_| visited(FieldTag::Propagate))
        })
    });
    assert_eq!(seen, ["job.id=3"]);
    let (kind, message) = result.unwrap_err();
    assert_eq!(kind, ClsErrorKind::ReadWhileUpdating);
    assert!(message.contains("AppStore"), "{message}");
}

#[tokio::test(flavor = "current_thread")]
async fn spawned_work_sees_the_store_types_it_carries_current_thread() {
    spawned_work_sees_the_store_types_it_carries().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_work_sees_the_store_types_it_carries_multi_thread() {
    spawned_work_sees_the_store_types_it_carries().await;
}

async fn spawned_work_sees_the_store_types_it_carries() {
    let (carried, plain) = APP
        .run_with(app("acme"), async {
            JOB.run_with(job(3), async {
                let carried = cls_core::spawn(async {
                    tokio::task::yield_now().await;
                    visited(FieldTag::Propagate).0
                });
                let plain = tokio::spawn(async { visited(FieldTag::Propagate).0 });
                (carried.await.unwrap(), plain.await.unwrap())
            })
            .await
        })
        .await;
    assert_eq!(carried, ["job.id=3", "tenant=acme"]);
    assert!(plain.is_empty(), "{plain:?}");
}
