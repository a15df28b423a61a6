//! `TxDatabase`: what the host needs to know about each database it supports.

use std::future::Future;

/// A database a [`TxHost`](crate::tx::TxHost) can run ambient transactions on:
/// `sqlx::Sqlite` (feature `sqlx-sqlite`) and `sqlx::Postgres` (feature `sqlx-postgres`).
///
/// Sealed: the host issues savepoint statements itself, and each database's spelling of
/// them and of `BEGIN` is checked by the tests of that database.
///
/// # Examples
///
/// ```
/// use cls_core::tx::TxDatabase;
///
/// assert_eq!(<sqlx::Sqlite as TxDatabase>::DEFAULT_BEGIN, "BEGIN IMMEDIATE");
/// ```
pub trait TxDatabase: sqlx::Database + private::Sealed {
    /// The statement that begins a transaction unless
    /// [`TxHost::begin_statement`](crate::tx::TxHost::begin_statement) says otherwise.
    ///
    /// SQLite's is `BEGIN IMMEDIATE`: the write lock is taken at the start, so a transaction
    /// that would wait for the single writer waits (up to the busy timeout) before it has
    /// done anything, rather than failing half-way with `SQLITE_BUSY` on its first write.
    const DEFAULT_BEGIN: &'static str;

    /// Runs one statement the host built (savepoints), on the transaction's connection.
    #[doc(hidden)]
    fn execute_control(
        conn: &mut Self::Connection,
        sql: String,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + '_;
}

mod private {
    pub trait Sealed {}
}

#[cfg(feature = "sqlx-sqlite")]
impl private::Sealed for sqlx::Sqlite {}

#[cfg(feature = "sqlx-sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx-sqlite")))]
impl TxDatabase for sqlx::Sqlite {
    const DEFAULT_BEGIN: &'static str = "BEGIN IMMEDIATE";

    async fn execute_control(
        conn: &mut sqlx::SqliteConnection,
        sql: String,
    ) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(conn)
            .await
            .map(drop)
    }
}

#[cfg(feature = "sqlx-postgres")]
impl private::Sealed for sqlx::Postgres {}

#[cfg(feature = "sqlx-postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlx-postgres")))]
impl TxDatabase for sqlx::Postgres {
    const DEFAULT_BEGIN: &'static str = "BEGIN";

    async fn execute_control(
        conn: &mut sqlx::PgConnection,
        sql: String,
    ) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(conn)
            .await
            .map(drop)
    }
}
