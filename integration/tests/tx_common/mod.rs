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

// Declared after `fixture!`, which they use; their own macros reach the test files.
#[macro_use]
mod scenarios;
#[macro_use]
mod stress;

pub(crate) use scenarios::*;
pub(crate) use stress::*;
