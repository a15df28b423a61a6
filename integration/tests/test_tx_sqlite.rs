//! Ambient transactions (`cls_core::tx`) on real SQLite databases: a temp file per test in
//! WAL mode, `BEGIN IMMEDIATE`, a short busy timeout so that the single-writer cases end
//! quickly. The scenarios live in `tx_common` and run on Postgres too.

#[macro_use]
mod tx_common;

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Pool, Sqlite, SqliteConnection};

use tx_common::{TestDb, ACQUIRE_TIMEOUT};

/// How long a second writer waits for SQLite's write lock before `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_millis(300);

/// The same, for tests whose writers queue for it: long enough never to be reached.
const PATIENT_BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// A directory of its own per database, removed when the test ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

impl TestDb for Sqlite {
    const SINGLE_WRITER: bool = true;

    async fn pool(max: u32, patient: bool) -> Option<(Pool<Sqlite>, Box<dyn Send + Sync>)> {
        let dir = std::env::temp_dir().join(format!(
            "cls-tx-sqlite-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        let options = SqliteConnectOptions::new()
            .filename(dir.join("test.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(if patient {
                PATIENT_BUSY_TIMEOUT
            } else {
                BUSY_TIMEOUT
            });
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .expect("open a SQLite file");
        Some((pool, Box::new(TempDir(dir))))
    }

    async fn exec(conn: &mut SqliteConnection, sql: String) -> Result<u64, sqlx::Error> {
        let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(conn)
            .await?;
        Ok(done.rows_affected())
    }

    fn ints(
        conn: &mut SqliteConnection,
        sql: String,
    ) -> impl Future<Output = Result<Vec<i64>, sqlx::Error>> + Send + '_ {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(conn)
    }
}

tx_tests!(sqlx::Sqlite:
    each_mode_inside_a_transaction_that_commits,
    each_mode_inside_a_transaction_that_rolls_back,
    each_mode_alone_with_a_body_that_succeeds,
    each_mode_alone_with_a_body_that_fails,
    swallowed_inner_failure_is_an_unexpected_rollback,
    set_rollback_only_rolls_back_a_successful_body,
    mandatory_outside_and_never_inside_are_errors,
    requires_new_is_independent_both_ways,
    requires_new_on_a_pool_of_one_is_no_second_connection,
    connection_asked_for_again_inside_with_conn_is_reentrant,
    two_joined_branches_share_one_transaction,
    two_joined_calls_without_a_transaction_get_one_each,
    failing_commit_is_a_database_error_and_persists_nothing,
    cancelled_transaction_rolls_back_and_the_pool_stays_healthy,
    panicking_transaction_rolls_back_and_the_pool_stays_healthy,
    spawned_work_does_not_carry_the_transaction,
    nested_three_levels_with_the_middle_failing,
    cancelled_nested_call_is_undone_before_the_next_statement,
    cancelled_joined_call_makes_the_transaction_rollback_only,
    connection_carried_out_of_its_call_is_finished,
    busy_single_writer_is_no_second_connection,
);
tx_stress_test!(sqlx::Sqlite);

/// The host's futures can be spawned on a multi-thread runtime: `transaction`,
/// `transaction_with`, `conn` and `with_conn` (whose closure's future is checked where it
/// is called) are `Send` when what they run is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_futures_are_send() {
    use cls_core::tx::{Propagation, TxError, TxHost};

    let Some((pool, _keep)) = <Sqlite as TestDb>::pool(2, false).await else {
        return;
    };
    let tx = TxHost::new(pool);
    let task = tx.clone();
    let rows = tokio::spawn(async move {
        let inner = task.transaction_with(Propagation::Nested, async {
            task.with_conn(async |conn| {
                sqlx::query("select 1")
                    .execute(conn)
                    .await
                    .map(|done| done.rows_affected())
            })
            .await?
            .map_err(TxError::from)
        });
        task.transaction(inner).await
    });
    assert_eq!(tx_common::bounded(rows).await.unwrap().unwrap(), 0);
}
