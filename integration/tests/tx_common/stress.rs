//! The stress property: many concurrent requests with random modes and failures, and the
//! model of what they must commit.

use std::sync::Arc;

use cls_core::tx::{Propagation, TxErrorKind};

use super::{kind_of, AppError, Fixture, TestDb, ALL_MODES};

/// One call inside a stress request: its mode, and whether its body fails after inserting.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    mode: Propagation,
    fails: bool,
}

/// One stress request: a call in `mode` that inserts a row, makes its steps (swallowing
/// their failures), then fails or not.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    mode: Propagation,
    steps: Vec<Step>,
    fails: bool,
}

fn opens_transaction(mode: Propagation) -> bool {
    matches!(
        mode,
        Propagation::Required | Propagation::RequiresNew | Propagation::Nested
    )
}

/// `requests` random requests. On a single-writer database a step inside a transaction
/// never asks for a second writer (`RequiresNew`, `NotSupported`): that is a timeout by
/// design (see `busy_single_writer_is_no_second_connection`), not something to model.
pub(crate) fn plan(
    requests: usize,
    single_writer: bool,
) -> impl proptest::strategy::Strategy<Value = Vec<Request>> {
    use proptest::prelude::*;
    let mode = || proptest::sample::select(ALL_MODES.to_vec());
    let step = (mode(), any::<bool>()).prop_map(|(mode, fails)| Step { mode, fails });
    let request = (mode(), proptest::collection::vec(step, 0..4), any::<bool>()).prop_map(
        move |(mode, mut steps, fails)| {
            if single_writer && opens_transaction(mode) {
                for step in &mut steps {
                    if matches!(
                        step.mode,
                        Propagation::RequiresNew | Propagation::NotSupported
                    ) {
                        step.mode = Propagation::Required;
                    }
                }
            }
            Request { mode, steps, fails }
        },
    );
    proptest::collection::vec(request, requests)
}

/// The row id of step `k` (0: the request's own insert) of request `r`.
fn row_id(r: usize, k: usize) -> i64 {
    i64::try_from(r * 10 + k).unwrap()
}

/// The rows the propagation rules say are committed once every request has ended.
pub(crate) fn model(plan: &[Request]) -> Vec<i64> {
    let mut rows = Vec::new();
    for (r, request) in plan.iter().enumerate() {
        if request.mode == Propagation::Mandatory {
            continue; // NotActive: the body never runs
        }
        let steps = request
            .steps
            .iter()
            .enumerate()
            .map(|(k, step)| (row_id(r, k + 1), step));
        if opens_transaction(request.mode) {
            let mut in_transaction = vec![row_id(r, 0)];
            let mut rollback_only = false;
            for (row, step) in steps {
                match step.mode {
                    Propagation::Required | Propagation::Supports | Propagation::Mandatory => {
                        in_transaction.push(row);
                        rollback_only |= step.fails;
                    }
                    Propagation::Nested if !step.fails => in_transaction.push(row),
                    Propagation::RequiresNew if !step.fails => rows.push(row),
                    Propagation::NotSupported => rows.push(row),
                    _ => {} // Never: AlreadyActive; failed savepoints and own transactions
                }
            }
            if !request.fails && !rollback_only {
                rows.extend(in_transaction);
            }
        } else {
            rows.push(row_id(r, 0)); // no transaction: autocommitted
            for (row, step) in steps {
                match step.mode {
                    Propagation::Mandatory => {}
                    Propagation::Required | Propagation::RequiresNew | Propagation::Nested => {
                        if !step.fails {
                            rows.push(row);
                        }
                    }
                    _ => rows.push(row),
                }
            }
        }
    }
    rows.sort_unstable();
    rows
}

async fn run_request<D: TestDb>(db: &Fixture<D>, r: usize, request: &Request) {
    let outcome = db
        .tx
        .transaction_with(request.mode, async {
            db.insert(row_id(r, 0)).await?;
            for (k, step) in request.steps.iter().enumerate() {
                tokio::task::yield_now().await;
                let _swallowed = db
                    .tx
                    .transaction_with(step.mode, async {
                        db.insert(row_id(r, k + 1)).await?;
                        if step.fails {
                            Err(AppError::RollBack)
                        } else {
                            Ok(())
                        }
                    })
                    .await;
            }
            if request.fails {
                Err(AppError::RollBack)
            } else {
                Ok(())
            }
        })
        .await;
    // Only the planned outcomes: a database or pool error would break the model.
    if let Some(kind) = kind_of(&outcome) {
        assert!(
            matches!(
                kind,
                TxErrorKind::NotActive | TxErrorKind::UnexpectedRollback
            ),
            "request {r} ({request:?}) failed with {outcome:?}"
        );
    }
}

/// Runs every request of `plan` concurrently on the current (multi-thread) runtime, at
/// most four inside the database at a time so that a request's second connection is
/// always there (pool of 10), and compares what is committed with the model.
pub(crate) async fn stress<D: TestDb>(plan: Vec<Request>) {
    let Some(db) = Fixture::<D>::open(10, D::DEFAULT_BEGIN, true).await else {
        return;
    };
    let db = Arc::new(db);
    let plan = Arc::new(plan);
    let admitted = Arc::new(tokio::sync::Semaphore::new(4));
    let tasks: Vec<_> = (0..plan.len())
        .map(|r| {
            let (db, plan, admitted) = (db.clone(), plan.clone(), admitted.clone());
            tokio::spawn(async move {
                let _permit = admitted.acquire().await.unwrap();
                run_request(&db, r, &plan[r]).await;
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(db.committed().await, model(&plan));
}

/// Expands the stress property for database `$db`: a few cases of 1,000 requests each.
macro_rules! tx_stress_test {
    ($db:ty) => {
        proptest::proptest! {
            #![proptest_config(proptest::prelude::ProptestConfig {
                cases: 3,
                failure_persistence: None,
                ..proptest::prelude::ProptestConfig::default()
            })]

            #[test]
            fn a_thousand_concurrent_requests_commit_what_the_model_says(
                plan in crate::tx_common::plan(1000, <$db as crate::tx_common::TestDb>::SINGLE_WRITER)
            ) {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(4)
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    tokio::time::timeout(
                        std::time::Duration::from_secs(120),
                        crate::tx_common::stress::<$db>(plan),
                    )
                    .await
                    .expect("the stress run finished in time")
                });
            }
        }
    };
}
