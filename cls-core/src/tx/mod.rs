//! Ambient database transactions on sqlx: the service layer opens a transaction, and the
//! repositories it calls run their statements in it without the transaction being passed
//! down.
//!
//! This is `@nestjs-cls/transactional` for sqlx: a [`TxHost`] per database,
//! [`transaction`](TxHost::transaction) and [`transaction_with`](TxHost::transaction_with)
//! with the seven [`Propagation`] modes, and [`conn`](TxHost::conn) to reach the connection
//! statements should run on, wherever the calling code is.
//!
//! ```
//! use cls_core::tx::{Propagation, TxError, TxHost};
//! use sqlx::Sqlite;
//!
//! async fn place_order(tx: &TxHost<Sqlite>, id: i64) -> Result<(), TxError> {
//!     tx.transaction(async {
//!         insert_order(tx, id).await?; // same transaction, no parameter passed
//!         // An optional step in a savepoint: its failure undoes only its own work.
//!         let gift = tx.transaction_with(Propagation::Nested, insert_order(tx, id));
//!         assert!(gift.await.is_err()); // a duplicate id
//!         Ok(())
//!     })
//!     .await
//! }
//!
//! async fn insert_order(tx: &TxHost<Sqlite>, id: i64) -> Result<(), TxError> {
//!     sqlx::query("insert into orders(id) values (?)").bind(id).execute(&mut *tx.conn().await?).await?;
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), TxError> {
//! # let file = std::env::temp_dir().join(format!("cls-tx-doc-{}.db", std::process::id()));
//! # let _ = std::fs::remove_file(&file);
//! # let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&file).create_if_missing(true)
//! #     .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
//! let pool = sqlx::SqlitePool::connect_with(options).await?;
//! let tx = TxHost::new(pool);
//! # sqlx::raw_sql("create table orders(id integer primary key)")
//! #     .execute(&mut *tx.conn().await?).await?;
//! place_order(&tx, 1).await?;
//! let orders: i64 = sqlx::query_scalar("select count(*) from orders").fetch_one(&mut *tx.conn().await?).await?;
//! assert_eq!(orders, 1);
//! # drop(tx);
//! # let _ = std::fs::remove_file(&file);
//! # Ok(())
//! # }
//! ```
//!
//! # What holds
//!
//! Each is proven on SQLite and on Postgres by `integration/tests/test_tx_sqlite.rs`
//! and `test_tx_postgres.rs` in the repository (the scenarios are in `tx_common` beside them).
//!
//! - **Each transactional call runs in its own child context**, whatever the mode: two
//!   calls `join!`ed with no transaction around them get a transaction each; inside one
//!   transaction, joined branches share it and their statements take turns on its one
//!   connection (a [`TxConn`] holds the turn until it is dropped).
//! - **A live transaction is never carried into spawned work**: [`conn`](TxHost::conn) in
//!   a task spawned from inside a transaction fails with
//!   [`NotCarried`](TxErrorKind::NotCarried) rather than silently autocommitting; the task
//!   can open its own [`RequiresNew`](Propagation::RequiresNew) transaction.
//! - **Failure, panic and cancellation roll back.** A call that began a transaction
//!   commits only when its future returns `Ok`; on `Err`, on a panic, and when the future is
//!   dropped (a `timeout`), the transaction rolls back before its connection returns to the
//!   pool, which stays usable.
//! - **Rollback-only.** A joined call that fails marks the transaction rollback-only: the
//!   owner rolls back and returns [`UnexpectedRollback`](TxErrorKind::UnexpectedRollback)
//!   even if it swallowed the failure (Spring's rule, where nestjs-cls commits).
//! - **`Nested` is a savepoint** issued by the host (`SAVEPOINT`, `RELEASE SAVEPOINT`,
//!   `ROLLBACK TO SAVEPOINT`): a failing nested call undoes only its own work. It never
//!   turns silently into a new transaction.
//! - **No deadlock on the connection**: inside [`with_conn`](TxHost::with_conn), asking for
//!   the connection again fails at once with [`Reentrant`](TxErrorKind::Reentrant).
//!
//! # SQLite's single writer
//!
//! Use file databases in WAL mode: `sqlite::memory:` in sqlx is a shared-cache database
//! whose lock conflicts fail at once. Transactions begin with `BEGIN IMMEDIATE`, so one
//! that waits for the writer waits before doing anything. SQLite has one writer per file:
//! a `RequiresNew` call (or a write in a `NotSupported` call) made while the calling code
//! holds an open write transaction on the same file cannot get the lock until that
//! transaction ends, which it will not do while it waits. It fails with
//! [`NoSecondConnection`](TxErrorKind::NoSecondConnection) after the busy timeout (sqlx's
//! default is 5 s; `SqliteConnectOptions::busy_timeout`), never hangs. Postgres has no such
//! limit; there, a `RequiresNew` fails that way only when the pool has no second
//! connection within its acquire timeout.

mod conn;
mod database;
mod error;
mod host;
mod level;
mod propagation;
mod scope;
mod tenants;

pub use self::conn::TxConn;
pub use self::database::TxDatabase;
pub use self::error::{TxError, TxErrorKind};
pub use self::host::TxHost;
pub use self::propagation::Propagation;
pub use self::tenants::{ConnectOptionsOf, TenantPools};

/// Pins the output type of a `#[transactional]` function's body, so that `?` inside it
/// converts into the function's error type.
#[doc(hidden)]
pub fn __typed_body<R, F: std::future::Future<Output = R>>(body: F) -> F {
    body
}
