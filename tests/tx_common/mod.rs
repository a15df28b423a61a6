//! The transaction behaviour tests, written once for every database: each database's test
//! file implements [`TestDb`] and expands [`tx_tests!`] (`mod tx_common;`).

// Each database's file uses what its database needs.
#![allow(dead_code, unused_macros)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cls_core::tx::{Propagation, TxDatabase, TxError, TxErrorKind, TxHost};
use sqlx::Pool;

/// Every test ends well within this, or fails instead of hanging.
pub(crate) const BOUND: Duration = Duration::from_secs(20);

/// How long a test pool waits for a free connection before `PoolTimedOut`.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(500);

/// What the shared tests need from a database.
pub(crate) trait TestDb: TxDatabase + Sized {
    /// SQLite: a second writer waits for the first, and gives up after the busy timeout.
    const SINGLE_WRITER: bool;

    /// A pool on a fresh database (or schema), with `max` connections, or `None` when this
    /// machine has no such database server (the caller prints why and skips). `patient`:
    /// a long busy timeout, for tests whose writers queue for SQLite's single writer.
    fn pool(
        max: u32,
        patient: bool,
    ) -> impl Future<Output = Option<(Pool<Self>, Box<dyn Send + Sync>)>> + Send;

    /// Runs statements without binds, returns the rows affected.
    fn exec(
        conn: &mut Self::Connection,
        sql: String,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + '_;

    /// The first column of every row, as integers.
    fn ints(
        conn: &mut Self::Connection,
        sql: String,
    ) -> impl Future<Output = Result<Vec<i64>, sqlx::Error>> + Send + '_;
}

static NEXT_TABLE: AtomicU32 = AtomicU32::new(0);

/// A database with an `items` table (named uniquely per fixture), a host on it that
/// records the transaction-control statements it issues, and the pool behind the host
/// for checking what was committed.
pub(crate) struct Fixture<D: TestDb> {
    pub(crate) tx: TxHost<D>,
    pub(crate) pool: Pool<D>,
    pub(crate) table: String,
    log: Arc<Mutex<Vec<String>>>,
    _keep: Box<dyn Send + Sync>,
}

impl<D: TestDb> Fixture<D> {
    pub(crate) async fn new(max: u32) -> Option<Self> {
        Self::with_begin(max, D::DEFAULT_BEGIN).await
    }

    pub(crate) async fn with_begin(max: u32, begin: &'static str) -> Option<Self> {
        Self::open(max, begin, false).await
    }

    pub(crate) async fn open(max: u32, begin: &'static str, patient: bool) -> Option<Self> {
        let (pool, keep) = D::pool(max, patient).await?;
        let table = format!(
            "items_{}_{}",
            std::process::id(),
            NEXT_TABLE.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = pool.acquire().await.expect("a connection for the schema");
        D::exec(
            &mut conn,
            format!("create table {table} (id bigint primary key)"),
        )
        .await
        .expect("create the items table");
        drop(conn);
        let log = Arc::new(Mutex::new(Vec::new()));
        let record = log.clone();
        let tx = TxHost::new(pool.clone())
            .begin_statement(begin)
            .on_statement(move |sql| record.lock().unwrap().push(sql.to_owned()));
        Some(Self {
            tx,
            pool,
            table,
            log,
            _keep: keep,
        })
    }

    /// Inserts `id` through the host: in the calling code's transaction, if any.
    pub(crate) async fn insert(&self, id: i64) -> Result<(), TxError> {
        let mut conn = self.tx.conn().await?;
        D::exec(
            &mut conn,
            format!("insert into {} (id) values ({id})", self.table),
        )
        .await?;
        Ok(())
    }

    /// The committed ids, read on a connection of its own.
    pub(crate) async fn committed(&self) -> Vec<i64> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .expect("a connection to read back");
        D::ints(
            &mut conn,
            format!("select id from {} order by id", self.table),
        )
        .await
        .expect("read the items back")
    }

    /// The transaction-control statements issued since the last call.
    pub(crate) fn statements(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

/// Runs a test body within [`BOUND`], so a deadlock fails the test instead of hanging it.
pub(crate) async fn bounded<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(BOUND, fut)
        .await
        .expect("the test did not finish in time: something waits forever")
}

/// Opens a fixture, or returns from the test when this machine has no such database.
macro_rules! fixture {
    ($db:ty, $max:expr) => {
        match Fixture::<$db>::new($max).await {
            Some(fixture) => fixture,
            None => return,
        }
    };
    ($db:ty, $max:expr, $begin:expr) => {
        match Fixture::<$db>::with_begin($max, $begin).await {
            Some(fixture) => fixture,
            None => return,
        }
    };
}

pub(crate) const ALL_MODES: [Propagation; 7] = [
    Propagation::Required,
    Propagation::RequiresNew,
    Propagation::Nested,
    Propagation::Mandatory,
    Propagation::Never,
    Propagation::Supports,
    Propagation::NotSupported,
];

/// A test failure that is not a `TxError`: the outer call's way to roll back on purpose.
#[derive(Debug)]
pub(crate) enum AppError {
    Tx(TxError),
    RollBack,
}

impl From<TxError> for AppError {
    fn from(err: TxError) -> Self {
        Self::Tx(err)
    }
}

pub(crate) fn kind_of<T: std::fmt::Debug>(result: &Result<T, AppError>) -> Option<TxErrorKind> {
    match result {
        Err(AppError::Tx(err)) => Some(err.kind()),
        _ => None,
    }
}

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
