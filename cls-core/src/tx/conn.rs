//! `TxConn`: the connection statements run on, wherever the calling code is.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;

use crate::tx::level::Locked;
use crate::tx::{TxDatabase, TxHost};

/// The connection a statement should run on: the current transaction's, locked for the
/// caller, or a pooled one outside a transaction. Returned by
/// [`TxHost::conn`](crate::tx::TxHost::conn).
///
/// Where sqlx hands out `&mut Transaction` to be passed down, this is found from the
/// context. Inside a transaction it holds the transaction's lock until it is dropped:
/// joined branches asking for it wait their turn, so keep it for a statement or a few, not
/// across unrelated awaits. Use it as `&mut *conn` wherever sqlx takes an executor.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use cls_core::tx::TxHost;
///
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// let tx = TxHost::new(pool);
/// let mut conn = tx.conn().await?;
/// let two: i64 = sqlx::query_scalar("select 1 + 1").fetch_one(&mut *conn).await?;
/// assert_eq!(two, 2);
/// # Ok(())
/// # }
/// ```
pub struct TxConn<'a, DB: TxDatabase> {
    inner: Inner<DB>,
    _host: PhantomData<&'a TxHost<DB>>,
}

enum Inner<DB: TxDatabase> {
    Transaction(Locked<DB>),
    Pooled(PoolConnection<DB>),
}

impl<DB: TxDatabase> TxConn<'_, DB> {
    pub(crate) fn transaction(locked: Locked<DB>) -> Self {
        Self {
            inner: Inner::Transaction(locked),
            _host: PhantomData,
        }
    }

    pub(crate) fn pooled(conn: PoolConnection<DB>) -> Self {
        Self {
            inner: Inner::Pooled(conn),
            _host: PhantomData,
        }
    }

    /// Whether this is a transaction's connection rather than a pooled one.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cls_core::tx::TxError> {
    /// # use cls_core::tx::TxHost;
    /// # let tx = TxHost::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// assert!(!tx.conn().await?.in_transaction());
    /// let inside = tx.transaction(async { Ok::<_, cls_core::tx::TxError>(tx.conn().await?.in_transaction()) });
    /// assert!(inside.await?);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn in_transaction(&self) -> bool {
        matches!(self.inner, Inner::Transaction(_))
    }
}

impl<DB: TxDatabase> Deref for TxConn<'_, DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match &self.inner {
            Inner::Transaction(conn) => conn,
            Inner::Pooled(conn) => conn,
        }
    }
}

impl<DB: TxDatabase> DerefMut for TxConn<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match &mut self.inner {
            Inner::Transaction(conn) => conn,
            Inner::Pooled(conn) => conn,
        }
    }
}

impl<DB: TxDatabase> fmt::Debug for TxConn<'_, DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxConn")
            .field("in_transaction", &self.in_transaction())
            .finish_non_exhaustive()
    }
}
