//! The scenarios every database runs: one `pub(crate) async fn` per behaviour, expanded
//! into tests by `tx_tests!`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cls_core::tx::{Propagation, TxError, TxErrorKind};

use super::{kind_of, AppError, Fixture, TestDb, ALL_MODES};

/// Inside an outer transaction that inserts 1, a call in `mode` inserts 2; the outer then
/// commits or rolls back. Checks the inner call's outcome, what is committed, and the
/// statements issued.
pub(crate) async fn mode_inside_transaction<D: TestDb>(mode: Propagation, outer_commits: bool) {
    let db = fixture!(D, 3);
    let inner = Arc::new(Mutex::new(None));
    let seen = inner.clone();
    let outer = db
        .tx
        .transaction(async {
            db.insert(1).await?;
            let result = db
                .tx
                .transaction_with(mode, async { db.insert(2).await })
                .await;
            *seen.lock().unwrap() = Some(result.map_err(|e| e.kind()));
            if outer_commits {
                Ok(())
            } else {
                Err(AppError::RollBack)
            }
        })
        .await;
    assert_eq!(
        outer.is_ok(),
        outer_commits,
        "{mode:?}: the outer outcome, {outer:?}"
    );
    let inner = inner.lock().unwrap().take().expect("the inner call ran");

    let begin = D::DEFAULT_BEGIN.to_owned();
    let end = if outer_commits { "COMMIT" } else { "ROLLBACK" }.to_owned();
    let blocked = D::SINGLE_WRITER;
    // What the inner call returns, whether its row is in the outer transaction, whether it
    // committed on its own, and the statements between the outer BEGIN and its end.
    let (expected_inner, joined, own_commit, between): (
        Result<(), TxErrorKind>,
        bool,
        bool,
        Vec<String>,
    ) = match mode {
        Propagation::Required | Propagation::Mandatory | Propagation::Supports => {
            (Ok(()), true, false, vec![])
        }
        Propagation::Nested => (
            Ok(()),
            true,
            false,
            vec![
                "SAVEPOINT cls_tx_1".into(),
                "RELEASE SAVEPOINT cls_tx_1".into(),
            ],
        ),
        Propagation::Never => (Err(TxErrorKind::AlreadyActive), false, false, vec![]),
        Propagation::RequiresNew if blocked => (
            Err(TxErrorKind::NoSecondConnection),
            false,
            false,
            vec![begin.clone()],
        ),
        Propagation::RequiresNew => (Ok(()), false, true, vec![begin.clone(), "COMMIT".into()]),
        Propagation::NotSupported if blocked => {
            (Err(TxErrorKind::NoSecondConnection), false, false, vec![])
        }
        Propagation::NotSupported => (Ok(()), false, true, vec![]),
    };
    assert_eq!(inner, expected_inner, "{mode:?}: the inner call's outcome");

    let mut expected_rows = Vec::new();
    if outer_commits {
        expected_rows.push(1);
    }
    if (joined && outer_commits) || own_commit {
        expected_rows.push(2);
    }
    assert_eq!(
        db.committed().await,
        expected_rows,
        "{mode:?}: rows after the outer {end}"
    );

    let mut expected_statements = vec![begin];
    expected_statements.extend(between);
    expected_statements.push(end);
    assert_eq!(
        db.statements(),
        expected_statements,
        "{mode:?}: statements issued"
    );
}

/// With no transaction around it, a call in `mode` inserts 2 and succeeds or fails.
pub(crate) async fn mode_alone<D: TestDb>(mode: Propagation, body_succeeds: bool) {
    let db = fixture!(D, 3);
    let result = db
        .tx
        .transaction_with(mode, async {
            db.insert(2).await?;
            if body_succeeds {
                Ok(())
            } else {
                Err(AppError::RollBack)
            }
        })
        .await;
    let begin = D::DEFAULT_BEGIN.to_owned();
    let (outcome, rows, statements): (Result<(), Option<TxErrorKind>>, Vec<i64>, Vec<String>) =
        match mode {
            Propagation::Required | Propagation::RequiresNew | Propagation::Nested
                if body_succeeds =>
            {
                (Ok(()), vec![2], vec![begin, "COMMIT".into()])
            }
            Propagation::Required | Propagation::RequiresNew | Propagation::Nested => {
                (Err(None), vec![], vec![begin, "ROLLBACK".into()])
            }
            Propagation::Mandatory => (Err(Some(TxErrorKind::NotActive)), vec![], vec![]),
            // No transaction: the insert autocommits, whatever the body returns after it.
            _ if body_succeeds => (Ok(()), vec![2], vec![]),
            _ => (Err(None), vec![2], vec![]),
        };
    assert_eq!(
        result.as_ref().map(drop).map_err(|_| kind_of(&result)),
        outcome,
        "{mode:?}: outcome"
    );
    assert_eq!(db.committed().await, rows, "{mode:?}: rows");
    assert_eq!(db.statements(), statements, "{mode:?}: statements issued");
}

pub(crate) async fn each_mode_inside_a_transaction_that_commits<D: TestDb>() {
    for mode in ALL_MODES {
        mode_inside_transaction::<D>(mode, true).await;
    }
}

pub(crate) async fn each_mode_inside_a_transaction_that_rolls_back<D: TestDb>() {
    for mode in ALL_MODES {
        mode_inside_transaction::<D>(mode, false).await;
    }
}

pub(crate) async fn each_mode_alone_with_a_body_that_succeeds<D: TestDb>() {
    for mode in ALL_MODES {
        mode_alone::<D>(mode, true).await;
    }
}

pub(crate) async fn each_mode_alone_with_a_body_that_fails<D: TestDb>() {
    for mode in ALL_MODES {
        mode_alone::<D>(mode, false).await;
    }
}

/// The inner `Required` call fails, the outer swallows the error and returns `Ok`: the
/// commit is refused, nothing is committed.
pub(crate) async fn swallowed_inner_failure_is_an_unexpected_rollback<D: TestDb>() {
    let db = fixture!(D, 2);
    let outer = db
        .tx
        .transaction(async {
            db.insert(1).await?;
            let inner = db
                .tx
                .transaction(async {
                    db.insert(2).await?;
                    Err::<(), _>(AppError::RollBack)
                })
                .await;
            assert!(matches!(inner, Err(AppError::RollBack)));
            Ok(())
        })
        .await;
    assert_eq!(kind_of(&outer), Some(TxErrorKind::UnexpectedRollback));
    assert_eq!(db.committed().await, Vec::<i64>::new());
    assert_eq!(db.statements(), [D::DEFAULT_BEGIN, "ROLLBACK"]);
}

pub(crate) async fn set_rollback_only_rolls_back_a_successful_body<D: TestDb>() {
    let db = fixture!(D, 2);
    assert_eq!(
        db.tx.set_rollback_only().unwrap_err().kind(),
        TxErrorKind::NotActive
    );
    let outer = db
        .tx
        .transaction(async {
            db.insert(1).await?;
            db.tx.set_rollback_only()?;
            Ok::<_, AppError>(())
        })
        .await;
    assert_eq!(kind_of(&outer), Some(TxErrorKind::UnexpectedRollback));
    assert_eq!(db.committed().await, Vec::<i64>::new());
}

pub(crate) async fn mandatory_outside_and_never_inside_are_errors<D: TestDb>() {
    let db = fixture!(D, 2);
    let ran = AtomicU32::new(0);
    let mandatory = db
        .tx
        .transaction_with(Propagation::Mandatory, async {
            ran.fetch_add(1, Ordering::Relaxed);
            Ok::<_, TxError>(())
        })
        .await;
    assert_eq!(mandatory.unwrap_err().kind(), TxErrorKind::NotActive);
    let never = db
        .tx
        .transaction(async {
            let never = db.tx.transaction_with(Propagation::Never, async {
                ran.fetch_add(1, Ordering::Relaxed);
                Ok::<_, TxError>(())
            });
            Ok::<_, TxError>(never.await.unwrap_err().kind())
        })
        .await;
    assert_eq!(never.unwrap(), TxErrorKind::AlreadyActive);
    assert_eq!(ran.load(Ordering::Relaxed), 0, "neither body runs");
}

/// `RequiresNew` commits even when the outer rolls back, and its failure leaves the outer
/// free to commit. The outer begins `DEFERRED` on SQLite and writes only after the inner
/// call ended, so the single writer is free for the inner transaction.
pub(crate) async fn requires_new_is_independent_both_ways<D: TestDb>() {
    let begin = if D::SINGLE_WRITER {
        "BEGIN DEFERRED"
    } else {
        D::DEFAULT_BEGIN
    };
    let db = fixture!(D, 3, begin);
    let outer = db
        .tx
        .transaction(async {
            db.tx
                .transaction_with(Propagation::RequiresNew, async {
                    assert!(db.tx.is_active());
                    db.insert(2).await
                })
                .await?;
            db.insert(1).await?;
            Err::<(), _>(AppError::RollBack)
        })
        .await;
    assert!(matches!(outer, Err(AppError::RollBack)));
    assert_eq!(
        db.committed().await,
        [2],
        "the inner commit survives the outer rollback"
    );

    let outer = db
        .tx
        .transaction(async {
            let inner = db
                .tx
                .transaction_with(Propagation::RequiresNew, async {
                    db.insert(3).await?;
                    Err::<(), _>(AppError::RollBack)
                })
                .await;
            assert!(matches!(inner, Err(AppError::RollBack)));
            db.insert(4).await?;
            Ok::<_, AppError>(())
        })
        .await;
    assert!(
        outer.is_ok(),
        "the inner failure does not touch the outer: {outer:?}"
    );
    assert_eq!(db.committed().await, [2, 4]);
    assert_eq!(
        db.statements(),
        [begin, begin, "COMMIT", "ROLLBACK", begin, begin, "ROLLBACK", "COMMIT"]
    );
}

/// With one connection, held by the outer transaction, `RequiresNew` gets
/// `NoSecondConnection` after the acquire timeout.
pub(crate) async fn requires_new_on_a_pool_of_one_is_no_second_connection<D: TestDb>() {
    let db = fixture!(D, 1);
    let inner = db
        .tx
        .transaction(async {
            db.insert(1).await?;
            let inner = db
                .tx
                .transaction_with(Propagation::RequiresNew, async { db.insert(2).await })
                .await;
            Ok::<_, TxError>(inner.unwrap_err())
        })
        .await
        .unwrap();
    assert_eq!(inner.kind(), TxErrorKind::NoSecondConnection, "{inner}");
    assert!(matches!(inner.as_sqlx(), Some(sqlx::Error::PoolTimedOut)));
    assert_eq!(db.committed().await, [1]);
}

/// Inside `with_conn`, asking for the connection again fails at once, in a transaction
/// and outside one.
pub(crate) async fn connection_asked_for_again_inside_with_conn_is_reentrant<D: TestDb>() {
    let db = fixture!(D, 2);
    let kinds = db
        .tx
        .with_conn(async |_conn| {
            let again = db.tx.conn().await.map(drop).unwrap_err().kind();
            let nested = db.tx.with_conn(async |_| ()).await.unwrap_err().kind();
            (again, nested)
        })
        .await
        .unwrap();
    assert_eq!(kinds, (TxErrorKind::Reentrant, TxErrorKind::Reentrant));

    let kinds = Mutex::new(None);
    let outer = db
        .tx
        .transaction(async {
            db.tx
                .with_conn(async |conn| {
                    D::exec(conn, format!("insert into {} (id) values (1)", db.table)).await?;
                    let again = db.tx.conn().await.map(drop).unwrap_err().kind();
                    let nested = db
                        .tx
                        .transaction_with(Propagation::Nested, async { Ok::<_, TxError>(()) })
                        .await
                        .unwrap_err()
                        .kind();
                    let joined = db
                        .tx
                        .transaction(async { db.insert(2).await })
                        .await
                        .unwrap_err()
                        .kind();
                    *kinds.lock().unwrap() = Some((again, nested, joined));
                    Ok::<_, TxError>(())
                })
                .await?
        })
        .await;
    assert_eq!(
        kinds.lock().unwrap().take(),
        Some((
            TxErrorKind::Reentrant,
            TxErrorKind::Reentrant,
            TxErrorKind::Reentrant
        ))
    );
    // The joined call failed, so the transaction is rollback-only.
    assert_eq!(outer.unwrap_err().kind(), TxErrorKind::UnexpectedRollback);
    let kinds = db
        .tx
        .transaction(async {
            db.tx
                .with_conn(async |_conn| {
                    let again = db.tx.conn().await.map(drop).unwrap_err().kind();
                    Ok::<_, TxError>(again)
                })
                .await?
        })
        .await;
    assert_eq!(kinds.unwrap(), TxErrorKind::Reentrant);
    assert_eq!(db.committed().await, Vec::<i64>::new());
}

/// Two joined branches each insert 100 rows through `conn()` in one transaction: their
/// statements take turns on its connection, and all 200 rows commit together.
pub(crate) async fn two_joined_branches_share_one_transaction<D: TestDb>() {
    let db = fixture!(D, 3);
    let branch = |from: i64| {
        let db = &db;
        async move {
            for id in from..from + 100 {
                db.insert(id).await?;
                tokio::task::yield_now().await;
            }
            Ok::<_, TxError>(())
        }
    };
    db.tx
        .transaction(async {
            let (a, b) = tokio::join!(branch(0), branch(1000));
            a.and(b)
        })
        .await
        .unwrap();
    let committed = db.committed().await;
    assert_eq!(committed.len(), 200);
    assert_eq!(db.statements(), [D::DEFAULT_BEGIN, "COMMIT"]);
}

/// Two transactional calls joined with no transaction around them get a transaction each:
/// one failing leaves the other's row committed.
pub(crate) async fn two_joined_calls_without_a_transaction_get_one_each<D: TestDb>() {
    let db = fixture!(D, 3);
    let (failed, committed) = tokio::join!(
        db.tx.transaction(async {
            db.insert(1).await?;
            Err::<(), _>(AppError::RollBack)
        }),
        db.tx.transaction(async { db.insert(2).await }),
    );
    assert!(matches!(failed, Err(AppError::RollBack)));
    committed.unwrap();
    assert_eq!(db.committed().await, [2]);
}

/// A commit that fails (a deferred foreign key) returns the database error and persists
/// nothing.
pub(crate) async fn failing_commit_is_a_database_error_and_persists_nothing<D: TestDb>() {
    let db = fixture!(D, 2);
    let parent = format!("{}_parent", db.table);
    let child = format!("{}_child", db.table);
    let mut conn = db.tx.conn().await.unwrap();
    D::exec(
        &mut conn,
        format!("create table {parent} (id bigint primary key)"),
    )
    .await
    .unwrap();
    D::exec(
        &mut conn,
        format!(
            "create table {child} (id bigint primary key, parent bigint references {parent}(id) \
             deferrable initially deferred)"
        ),
    )
    .await
    .unwrap();
    drop(conn);
    let outcome = db
        .tx
        .transaction(async {
            db.insert(1).await?;
            let mut conn = db.tx.conn().await?;
            D::exec(
                &mut conn,
                format!("insert into {child} (id, parent) values (1, 42)"),
            )
            .await?;
            Ok::<_, TxError>(())
        })
        .await;
    let err = outcome.unwrap_err();
    assert_eq!(err.kind(), TxErrorKind::Database, "{err}");
    assert!(
        matches!(err.as_sqlx(), Some(sqlx::Error::Database(_))),
        "{err:?}"
    );
    assert_eq!(db.committed().await, Vec::<i64>::new());
    assert_eq!(db.statements(), [D::DEFAULT_BEGIN, "COMMIT"]);
    // The connection is usable again.
    db.tx
        .transaction(async { db.insert(2).await })
        .await
        .unwrap();
    assert_eq!(db.committed().await, [2]);
}

/// A transaction cancelled by a timeout rolls back, and the pool's only connection is
/// healthy for the next one.
pub(crate) async fn cancelled_transaction_rolls_back_and_the_pool_stays_healthy<D: TestDb>() {
    let db = fixture!(D, 1);
    let cancelled = tokio::time::timeout(
        Duration::from_millis(100),
        db.tx.transaction(async {
            db.insert(1).await?;
            std::future::pending::<()>().await;
            Ok::<_, TxError>(())
        }),
    )
    .await;
    assert!(cancelled.is_err(), "the timeout fired");
    assert_eq!(db.statements(), [D::DEFAULT_BEGIN, "ROLLBACK"]);
    db.tx
        .transaction(async { db.insert(2).await })
        .await
        .unwrap();
    assert_eq!(db.committed().await, [2]);
}

/// A panic inside a transaction rolls it back, and the pool's only connection is healthy
/// for the next one.
pub(crate) async fn panicking_transaction_rolls_back_and_the_pool_stays_healthy<D: TestDb>() {
    let db = Arc::new(fixture!(D, 1));
    let task = db.clone();
    let panicked = tokio::spawn(async move {
        task.tx
            .transaction(async {
                task.insert(1).await?;
                if task.tx.is_active() {
                    panic!("a bug in the middle of a transaction");
                }
                Ok::<_, TxError>(())
            })
            .await
    })
    .await;
    assert!(panicked.unwrap_err().is_panic());
    assert_eq!(db.statements(), [D::DEFAULT_BEGIN, "ROLLBACK"]);
    db.tx
        .transaction(async { db.insert(2).await })
        .await
        .unwrap();
    assert_eq!(db.committed().await, [2]);
}

/// Work spawned from inside a transaction does not get it: `conn()` and the joining modes
/// fail with `NotCarried`; it can open its own `RequiresNew`. The outer begins `DEFERRED`
/// on SQLite and has not written, so the single writer is free for the spawned one.
pub(crate) async fn spawned_work_does_not_carry_the_transaction<D: TestDb>() {
    let begin = if D::SINGLE_WRITER {
        "BEGIN DEFERRED"
    } else {
        D::DEFAULT_BEGIN
    };
    let db = Arc::new(fixture!(D, 3, begin));
    let outer = db
        .tx
        .transaction(async {
            let task = db.clone();
            let seen = cls_core::spawn(async move {
                let conn = task.tx.conn().await.map(drop).map_err(|e| e.kind());
                let mut joined = Vec::new();
                for mode in [
                    Propagation::Required,
                    Propagation::Mandatory,
                    Propagation::Supports,
                    Propagation::Nested,
                ] {
                    let result = task
                        .tx
                        .transaction_with(mode, async { task.insert(9).await })
                        .await;
                    joined.push(result.map_err(|e| e.kind()));
                }
                let active = task.tx.is_active();
                let own = task
                    .tx
                    .transaction_with(Propagation::RequiresNew, async { task.insert(2).await })
                    .await;
                (conn, joined, active, own.map_err(|e| e.kind()))
            })
            .await
            .unwrap();
            db.insert(1).await?;
            Ok::<_, TxError>(seen)
        })
        .await
        .unwrap();
    let (conn, joined, active, own) = outer;
    assert_eq!(conn, Err(TxErrorKind::NotCarried));
    assert_eq!(joined, [Err(TxErrorKind::NotCarried); 4]);
    assert!(!active);
    assert_eq!(own, Ok(()));
    assert_eq!(db.committed().await, [1, 2]);
}

/// Three levels, the middle (`Nested`) one failing after its own `Nested` child
/// succeeded: the outer rows commit, the middle's and the child's do not.
pub(crate) async fn nested_three_levels_with_the_middle_failing<D: TestDb>() {
    let db = fixture!(D, 2);
    db.tx
        .transaction(async {
            db.insert(1).await?;
            let middle = db
                .tx
                .transaction_with(Propagation::Nested, async {
                    db.insert(2).await?;
                    db.tx
                        .transaction_with(Propagation::Nested, async { db.insert(3).await })
                        .await?;
                    Err::<(), _>(AppError::RollBack)
                })
                .await;
            assert!(matches!(middle, Err(AppError::RollBack)));
            db.insert(4).await?;
            Ok::<_, AppError>(())
        })
        .await
        .unwrap();
    assert_eq!(db.committed().await, [1, 4]);
    assert_eq!(
        db.statements(),
        [
            D::DEFAULT_BEGIN,
            "SAVEPOINT cls_tx_1",
            "SAVEPOINT cls_tx_2",
            "RELEASE SAVEPOINT cls_tx_2",
            "ROLLBACK TO SAVEPOINT cls_tx_1",
            "RELEASE SAVEPOINT cls_tx_1",
            "COMMIT",
        ]
    );
}

/// A `Nested` call cancelled by a timeout is undone before the transaction goes on.
pub(crate) async fn cancelled_nested_call_is_undone_before_the_next_statement<D: TestDb>() {
    let db = fixture!(D, 2);
    db.tx
        .transaction(async {
            db.insert(1).await?;
            let cancelled = tokio::time::timeout(
                Duration::from_millis(50),
                db.tx.transaction_with(Propagation::Nested, async {
                    db.insert(2).await?;
                    std::future::pending::<()>().await;
                    Ok::<_, TxError>(())
                }),
            )
            .await;
            assert!(cancelled.is_err());
            db.insert(3).await
        })
        .await
        .unwrap();
    assert_eq!(db.committed().await, [1, 3]);
    assert_eq!(
        db.statements(),
        [
            D::DEFAULT_BEGIN,
            "SAVEPOINT cls_tx_1",
            "ROLLBACK TO SAVEPOINT cls_tx_1",
            "RELEASE SAVEPOINT cls_tx_1",
            "COMMIT",
        ]
    );
}

/// A joined call cancelled by a timeout marks the transaction rollback-only.
pub(crate) async fn cancelled_joined_call_makes_the_transaction_rollback_only<D: TestDb>() {
    let db = fixture!(D, 2);
    let outer = db
        .tx
        .transaction(async {
            db.insert(1).await?;
            let cancelled = tokio::time::timeout(
                Duration::from_millis(50),
                db.tx.transaction(async {
                    db.insert(2).await?;
                    std::future::pending::<()>().await;
                    Ok::<_, TxError>(())
                }),
            )
            .await;
            assert!(cancelled.is_err());
            Ok::<_, TxError>(())
        })
        .await;
    assert_eq!(outer.unwrap_err().kind(), TxErrorKind::UnexpectedRollback);
    assert_eq!(db.committed().await, Vec::<i64>::new());
}

/// A connection carried out of its transactional call (in its output) cannot commit the
/// transaction later: the call returns `Finished`, and nothing is committed.
pub(crate) async fn connection_carried_out_of_its_call_is_finished<D: TestDb>() {
    let db = fixture!(D, 2);
    let outcome = db
        .tx
        .transaction(async {
            db.insert(1).await?;
            db.tx.conn().await
        })
        .await;
    assert_eq!(outcome.unwrap_err().kind(), TxErrorKind::Finished);
    assert_eq!(db.committed().await, Vec::<i64>::new());
}

/// On a single-writer database, a `NotSupported` write under an open write transaction
/// fails with `NoSecondConnection` after the busy timeout instead of hanging.
pub(crate) async fn busy_single_writer_is_no_second_connection<D: TestDb>() {
    let db = fixture!(D, 3);
    let inner = db
        .tx
        .transaction(async {
            db.insert(1).await?;
            let new = db
                .tx
                .transaction_with(Propagation::RequiresNew, async { db.insert(2).await })
                .await
                .unwrap_err();
            let autocommit = db
                .tx
                .transaction_with(Propagation::NotSupported, async { db.insert(3).await })
                .await
                .unwrap_err();
            Ok::<_, TxError>((new, autocommit))
        })
        .await
        .unwrap();
    for err in [inner.0, inner.1] {
        assert_eq!(err.kind(), TxErrorKind::NoSecondConnection, "{err}");
        assert!(err.to_string().contains("single writer is busy"), "{err}");
    }
    assert_eq!(db.committed().await, [1]);
}

/// Expands one `#[tokio::test]` per scenario and runtime kind for database `$db`.
macro_rules! tx_tests {
    ($db:ty: $($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "current_thread")]
                async fn current_thread() {
                    crate::tx_common::bounded(crate::tx_common::$scenario::<$db>()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn multi_thread() {
                    crate::tx_common::bounded(crate::tx_common::$scenario::<$db>()).await;
                }
            }
        )*
    };
}
