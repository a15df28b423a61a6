//! `TxError`: everything a transactional call can fail with.

use std::error::Error;
use std::fmt;

/// What went wrong in a transactional call or when asking for the connection.
///
/// Where sqlx reports only database and pool errors, this also names the misuses of an
/// ambient transaction (a `Mandatory` call outside one, a connection asked for from spawned
/// work, a swallowed inner failure), each with a message that says what to do. Database
/// errors keep the sqlx error as their [`source`](Error::source).
/// New kinds of failure may be added, so match [`kind`](TxError::kind) with a `_` arm.
///
/// Application error types take it in with `From<TxError>`, which is what
/// [`TxHost::transaction`](crate::tx::TxHost::transaction) asks of them; `TxError` itself
/// also converts from `sqlx::Error`, so it can serve as the error type of simple code.
///
/// # Examples
///
/// ```
/// use cls_core::tx::{TxError, TxErrorKind};
///
/// let err = TxError::from(sqlx::Error::PoolTimedOut);
/// assert_eq!(err.kind(), TxErrorKind::NoSecondConnection);
/// assert!(err.to_string().starts_with("no connection"));
/// ```
#[derive(Debug)]
pub struct TxError {
    kind: TxErrorKind,
    source: Option<Box<dyn Error + Send + Sync + 'static>>,
}

/// The kind of a [`TxError`]: what to match on, where the message is for people.
///
/// # Examples
///
/// ```
/// use cls_core::tx::{TxError, TxErrorKind};
///
/// let err = TxError::no_pool("tenant `acme` is closed");
/// assert_eq!(err.kind(), TxErrorKind::NoPool);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TxErrorKind {
    /// `Propagation::Mandatory` outside a transaction.
    NotActive,
    /// `Propagation::Never` inside a transaction.
    AlreadyActive,
    /// The transaction was marked rollback-only (an inner call that joined it failed, or
    /// [`set_rollback_only`](crate::tx::TxHost::set_rollback_only) was called), yet its body
    /// returned `Ok`: it was rolled back instead of committed.
    UnexpectedRollback,
    /// The connection was asked for through a transaction that has already ended, or was
    /// still held when its call ended (carried out of it): the transaction rolled back.
    Finished,
    /// The connection was asked for in work spawned from inside a transaction: the live
    /// transaction is never carried into spawned work.
    NotCarried,
    /// The connection was asked for again inside a
    /// [`with_conn`](crate::tx::TxHost::with_conn) closure, which already holds it.
    Reentrant,
    /// No second connection could be had within the configured timeout: the pool is
    /// exhausted, or the database's single writer (SQLite) is busy.
    NoSecondConnection,
    /// The database refused a statement; the sqlx error is the source.
    Database,
    /// No pool could be had for this call (a [`from_context`](crate::tx::TxHost::from_context)
    /// resolver failed); the reason is the source.
    NoPool,
}

impl TxError {
    pub(crate) fn new(kind: TxErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of kind [`NoPool`](TxErrorKind::NoPool), for a pool resolver given to
    /// [`TxHost::from_context`](crate::tx::TxHost::from_context) that cannot name a pool
    /// (no tenant in the context, an unknown tenant).
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::tx::{TxError, TxErrorKind};
    ///
    /// let err = TxError::no_pool("no tenant in the request");
    /// assert_eq!(err.to_string(), "no database pool for this call: no tenant in the request");
    /// ```
    pub fn no_pool(reason: impl Into<Box<dyn Error + Send + Sync + 'static>>) -> Self {
        Self {
            kind: TxErrorKind::NoPool,
            source: Some(reason.into()),
        }
    }

    /// What went wrong.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::tx::{TxError, TxErrorKind};
    ///
    /// assert_eq!(TxError::no_pool("closed").kind(), TxErrorKind::NoPool);
    /// ```
    #[must_use]
    pub fn kind(&self) -> TxErrorKind {
        self.kind
    }

    /// The sqlx error behind a [`Database`](TxErrorKind::Database) or
    /// [`NoSecondConnection`](TxErrorKind::NoSecondConnection) error, if there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::tx::TxError;
    ///
    /// let err = TxError::from(sqlx::Error::PoolTimedOut);
    /// assert!(matches!(err.as_sqlx(), Some(sqlx::Error::PoolTimedOut)));
    /// ```
    #[must_use]
    pub fn as_sqlx(&self) -> Option<&sqlx::Error> {
        self.source.as_deref()?.downcast_ref()
    }
}

/// SQLite's result codes for a lock held by another connection (`SQLITE_BUSY` and its
/// extended codes, `SQLITE_LOCKED`), and Postgres's `lock_not_available`. The two code
/// spaces cannot collide: a SQLSTATE always has five characters.
const BUSY_CODES: [&str; 6] = ["5", "261", "517", "773", "6", "55P03"];

impl From<sqlx::Error> for TxError {
    fn from(err: sqlx::Error) -> Self {
        let busy = match &err {
            sqlx::Error::PoolTimedOut => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|c| BUSY_CODES.contains(&&*c)),
            _ => false,
        };
        Self {
            kind: if busy {
                TxErrorKind::NoSecondConnection
            } else {
                TxErrorKind::Database
            },
            source: Some(Box::new(err)),
        }
    }
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = match self.kind {
            TxErrorKind::NotActive => {
                "no transaction is active, and `Propagation::Mandatory` needs one: call it \
                 inside `TxHost::transaction`"
            }
            TxErrorKind::AlreadyActive => {
                "a transaction is active, and `Propagation::Never` refuses to run inside one: \
                 use `Propagation::NotSupported` to run outside it"
            }
            TxErrorKind::UnexpectedRollback => {
                "the transaction was rolled back, not committed: it was marked rollback-only \
                 (a call that joined it failed, or `set_rollback_only` was called), yet its body \
                 returned `Ok`"
            }
            TxErrorKind::Finished => {
                "the transaction has ended, or its connection was still held when its call \
                 ended and it was rolled back: use the connection only inside the call"
            }
            TxErrorKind::NotCarried => {
                "a transaction is active where this work was spawned, but a live transaction is \
                 never carried into spawned work: open one here with `Propagation::RequiresNew`, \
                 or await the work inside the transaction instead of spawning it"
            }
            TxErrorKind::Reentrant => {
                "the connection is already lent to an enclosing `with_conn` closure: use the \
                 connection that closure was given"
            }
            TxErrorKind::NoSecondConnection => "no connection within the configured timeout",
            TxErrorKind::Database => "database error",
            TxErrorKind::NoPool => "no database pool for this call",
        };
        f.write_str(message)?;
        match (&self.source, self.kind) {
            (Some(source), TxErrorKind::NoSecondConnection) => write!(
                f,
                " (the pool is exhausted, or the database's single writer is busy): {source}"
            ),
            (Some(source), _) => write!(f, ": {source}"),
            (None, _) => Ok(()),
        }
    }
}

impl Error for TxError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn Error + 'static))
    }
}
