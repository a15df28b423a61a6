//! Ambient transactions (`cls_core::tx`) on a real Postgres server: the scenarios of
//! `tx_common`, as on SQLite.
//!
//! The server is named by `CLS_TEST_POSTGRES_URL` (`.ci/postgres` starts a throwaway one
//! and sets it; CI runs these tests under it). Each fixture creates uniquely named tables
//! `items_<pid>_<n>` in that database: point it at a database you can throw away. Without
//! the variable the tests say so and pass, except under CI (`CI` set), where they fail.

#[macro_use]
mod tx_common;

use std::io::Write;
use std::sync::Once;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, Pool, Postgres};

use tx_common::{TestDb, ACQUIRE_TIMEOUT};

const URL_VARIABLE: &str = "CLS_TEST_POSTGRES_URL";

static SKIP_NOTICE: Once = Once::new();

impl TestDb for Postgres {
    const SINGLE_WRITER: bool = false;

    async fn pool(max: u32, _patient: bool) -> Option<(Pool<Postgres>, Box<dyn Send + Sync>)> {
        let Ok(url) = std::env::var(URL_VARIABLE) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {URL_VARIABLE} is not: run the tests under `.ci/postgres`, which \
                 starts a server, so CI never skips the Postgres tests"
            );
            // Written past the test harness's capture, so that it shows in a passing run.
            SKIP_NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "test_tx_postgres: SKIPPED, {URL_VARIABLE} is not set; run \
                     `bash .ci/postgres cargo test --test test_tx_postgres` to start a throwaway \
                     server for them"
                );
            });
            return None;
        };
        let options: PgConnectOptions = url.parse().expect("a valid Postgres URL");
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .unwrap_or_else(|err| {
                panic!("{URL_VARIABLE} is set, but the server cannot be reached: {err}")
            });
        Some((pool, Box::new(())))
    }

    async fn exec(conn: &mut PgConnection, sql: String) -> Result<u64, sqlx::Error> {
        let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(conn)
            .await?;
        Ok(done.rows_affected())
    }

    async fn ints(conn: &mut PgConnection, sql: String) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(conn)
            .await
    }
}

tx_tests!(sqlx::Postgres:
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
);
tx_stress_test!(sqlx::Postgres);
