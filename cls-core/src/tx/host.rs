//! `TxHost`: opens, joins and ends transactions, and finds the connection for a statement.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::Pool;

use crate::tx::level::{Abandon, Level, Live, Observer, Participant};
use crate::tx::scope::{self, Change, State};
use crate::tx::{Propagation, TxConn, TxDatabase, TxError, TxErrorKind};

/// Ambient transactions on one database: code inside a transactional call reaches the
/// transaction's connection with [`conn`](TxHost::conn), however deep, without it being
/// passed down.
///
/// Where sqlx's `Pool::begin` hands back a `Transaction` that every callee must take as a
/// parameter, a `TxHost` keeps the transaction in the calling code's context, as
/// `@nestjs-cls/transactional`'s `TransactionHost` does. Cloning is a reference count;
/// clones share transactions. Hold one per database (or per tenant, see
/// [`from_context`](TxHost::from_context)).
///
/// # Examples
///
/// ```
/// use cls_core::tx::{Propagation, TxError, TxHost};
/// use sqlx::Sqlite;
///
/// async fn insert(tx: &TxHost<Sqlite>, id: i64) -> Result<(), TxError> {
///     // No transaction passed: the one of the calling code is found.
///     sqlx::query("insert into orders(id) values (?)").bind(id).execute(&mut *tx.conn().await?).await?;
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), TxError> {
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// let tx = TxHost::new(pool);
/// sqlx::query("create table orders(id integer primary key)").execute(&mut *tx.conn().await?).await?;
///
/// let failed: Result<(), TxError> = tx
///     .transaction(async {
///         insert(&tx, 1).await?;
///         insert(&tx, 1).await // a duplicate: the whole transaction rolls back
///     })
///     .await;
/// assert!(failed.is_err());
///
/// tx.transaction(async { insert(&tx, 2).await }).await?;
/// let ids: Vec<i64> = sqlx::query_scalar("select id from orders").fetch_all(&mut *tx.conn().await?).await?;
/// assert_eq!(ids, [2]);
/// # Ok(())
/// # }
/// ```
pub struct TxHost<DB: TxDatabase> {
    inner: Arc<Inner<DB>>,
}

struct Inner<DB: TxDatabase> {
    /// Tells this host's transactions apart from other hosts' in the context.
    id: u64,
    source: Source<DB>,
    begin: &'static str,
    observer: Option<Observer>,
}

enum Source<DB: TxDatabase> {
    Pool(Pool<DB>),
    Resolve(Arc<dyn Fn() -> Result<Pool<DB>, TxError> + Send + Sync>),
}

static NEXT_HOST: AtomicU64 = AtomicU64::new(1);

impl<DB: TxDatabase> TxHost<DB> {
    /// A host whose transactions and connections come from `pool`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sqlx::Error> {
    /// let tx = cls_core::tx::TxHost::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// assert!(!tx.is_active());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn new(pool: Pool<DB>) -> Self {
        Self::with_source(Source::Pool(pool))
    }

    /// A host that asks `resolve` for the pool whenever it begins a transaction or lends a
    /// pooled connection: the tenant's pool read from the request's store, say.
    ///
    /// Inside a transaction, statements use the transaction's connection and `resolve` is
    /// not called again.
    ///
    /// # Errors
    ///
    /// The host's calls return what `resolve` returns; build it with
    /// [`TxError::no_pool`].
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::tx::{TxError, TxErrorKind, TxHost};
    /// use cls_core::{path, Cls, ClsStore, Terminal};
    /// use sqlx::SqlitePool;
    ///
    /// #[derive(ClsStore, Clone, Default)]
    /// struct AppStore {
    ///     db: Option<Terminal<SqlitePool>>,
    /// }
    ///
    /// const CLS: Cls<AppStore> = Cls::new();
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), TxError> {
    /// let tx = TxHost::from_context(|| {
    ///     CLS.try_get::<path!(db)>()
    ///         .ok()
    ///         .flatten()
    ///         .map(Terminal::into_inner)
    ///         .ok_or_else(|| TxError::no_pool("no database in the request"))
    /// });
    /// assert_eq!(tx.conn().await.unwrap_err().kind(), TxErrorKind::NoPool);
    ///
    /// let store = AppStore { db: Some(Terminal::new(SqlitePool::connect("sqlite::memory:").await?)) };
    /// let in_request = CLS.run_with(store, async { tx.conn().await.is_ok() });
    /// assert!(in_request.await);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn from_context(
        resolve: impl Fn() -> Result<Pool<DB>, TxError> + Send + Sync + 'static,
    ) -> Self {
        Self::with_source(Source::Resolve(Arc::new(resolve)))
    }

    fn with_source(source: Source<DB>) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: NEXT_HOST.fetch_add(1, Ordering::Relaxed),
                source,
                begin: DB::DEFAULT_BEGIN,
                observer: None,
            }),
        }
    }

    /// The same host, beginning transactions with `statement` instead of
    /// [`TxDatabase::DEFAULT_BEGIN`] (`BEGIN IMMEDIATE` on SQLite, `BEGIN` on Postgres):
    /// `"BEGIN ISOLATION LEVEL SERIALIZABLE"`, or SQLite's `"BEGIN DEFERRED"`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cls_core::tx::TxError> {
    /// # use cls_core::tx::{TxError, TxHost};
    /// let tx = TxHost::new(sqlx::SqlitePool::connect("sqlite::memory:").await?)
    ///     .begin_statement("BEGIN DEFERRED");
    /// tx.transaction(async { Ok::<_, TxError>(()) }).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn begin_statement(self, statement: &'static str) -> Self {
        self.configure(|inner| inner.begin = statement)
    }

    /// The same host, calling `observe` with every transaction-control statement it issues
    /// (`BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE SAVEPOINT`,
    /// `ROLLBACK TO SAVEPOINT`), just before issuing it: for logs and tests.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use cls_core::tx::{Propagation, TxError, TxHost};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), TxError> {
    /// let issued = Arc::new(Mutex::new(Vec::new()));
    /// let log = issued.clone();
    /// let tx = TxHost::new(sqlx::SqlitePool::connect("sqlite::memory:").await?)
    ///     .on_statement(move |sql| log.lock().unwrap().push(sql.to_owned()));
    /// tx.transaction(tx.transaction_with(Propagation::Nested, async { Ok::<_, TxError>(()) }))
    ///     .await?;
    /// assert_eq!(
    ///     *issued.lock().unwrap(),
    ///     ["BEGIN IMMEDIATE", "SAVEPOINT cls_tx_1", "RELEASE SAVEPOINT cls_tx_1", "COMMIT"]
    /// );
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn on_statement(self, observe: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.configure(|inner| inner.observer = Some(Arc::new(observe)))
    }

    fn configure(self, change: impl FnOnce(&mut Inner<DB>)) -> Self {
        let mut inner = Inner {
            id: self.inner.id,
            source: match &self.inner.source {
                Source::Pool(pool) => Source::Pool(pool.clone()),
                Source::Resolve(resolve) => Source::Resolve(resolve.clone()),
            },
            begin: self.inner.begin,
            observer: self.inner.observer.clone(),
        };
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The pool this host would use for a call made here: the one given to
    /// [`new`](TxHost::new), or what the resolver of
    /// [`from_context`](TxHost::from_context) returns.
    ///
    /// # Errors
    ///
    /// What the resolver returns.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cls_core::tx::TxError> {
    /// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    /// let tx = cls_core::tx::TxHost::new(pool.clone());
    /// assert_eq!(tx.pool()?.size(), pool.size());
    /// # Ok(())
    /// # }
    /// ```
    pub fn pool(&self) -> Result<Pool<DB>, TxError> {
        match &self.inner.source {
            Source::Pool(pool) => Ok(pool.clone()),
            Source::Resolve(resolve) => resolve(),
        }
    }

    /// Runs `fut` in a transaction: the active one of this host if there is one, else a new
    /// one ([`Propagation::Required`]). Commits on `Ok`, rolls back on `Err`, panic or
    /// cancellation.
    ///
    /// The same as [`transaction_with`](TxHost::transaction_with) with
    /// [`Propagation::Required`]; see there.
    ///
    /// # Errors
    ///
    /// `fut`'s error, or a [`TxError`] converted into `E`: the begin or the commit failed,
    /// or the transaction was marked rollback-only
    /// ([`UnexpectedRollback`](TxErrorKind::UnexpectedRollback)).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cls_core::tx::TxError> {
    /// # use cls_core::tx::{TxError, TxHost};
    /// let tx = TxHost::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// let active = tx.transaction(async { Ok::<_, TxError>(tx.is_active()) }).await?;
    /// assert!(active);
    /// assert!(!tx.is_active());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn transaction<F, T, E>(&self, fut: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<TxError>,
    {
        self.transaction_with(Propagation::Required, fut).await
    }

    /// Runs `fut` as `propagation` says: joining the active transaction, in a new one, in a
    /// savepoint, or outside any (see [`Propagation`]).
    ///
    /// Whatever the mode, `fut` runs in a child context of the calling code: two `join!`ed
    /// calls with no transaction around them get a transaction each; two joined inside one
    /// transaction share it, their statements taking turns on its one connection.
    ///
    /// A call that begins a transaction commits it when `fut` returns `Ok`, and rolls it back
    /// when `fut` returns `Err`, panics, or is dropped before it completes (cancelled by a
    /// `timeout`, say): the rollback happens before the connection goes back to the pool.
    /// A call that joins one and fails (or is cancelled) marks it rollback-only: the
    /// transaction's owner then rolls back even if it swallowed the error, and returns
    /// [`UnexpectedRollback`](TxErrorKind::UnexpectedRollback) (Spring's rule; nestjs-cls
    /// commits). A `Nested` call that fails rolls back to its savepoint and leaves the
    /// transaction usable.
    ///
    /// SQLite has one writer: a `RequiresNew` (or a `NotSupported` write) while the calling
    /// code holds an open write transaction waits for the database's busy timeout, then
    /// fails with [`NoSecondConnection`](TxErrorKind::NoSecondConnection); it never
    /// deadlocks. So does any `RequiresNew` when the pool has no second connection within
    /// its acquire timeout.
    ///
    /// `Nested` calls run one after the other; savepoints of `Nested` calls joined
    /// concurrently inside one transaction would interleave on its connection.
    ///
    /// # Errors
    ///
    /// `fut`'s error, or a [`TxError`] converted into `E`:
    /// [`NotActive`](TxErrorKind::NotActive) for `Mandatory` outside a transaction,
    /// [`AlreadyActive`](TxErrorKind::AlreadyActive) for `Never` inside one,
    /// [`NotCarried`](TxErrorKind::NotCarried) for a joining mode in work spawned from inside
    /// a transaction, [`Reentrant`](TxErrorKind::Reentrant) for `Nested` inside
    /// [`with_conn`](TxHost::with_conn), [`UnexpectedRollback`](TxErrorKind::UnexpectedRollback),
    /// [`NoSecondConnection`](TxErrorKind::NoSecondConnection) and
    /// [`Database`](TxErrorKind::Database) for a failed begin, savepoint or commit.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::tx::{Propagation, TxError, TxErrorKind, TxHost};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), TxError> {
    /// let tx = TxHost::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// let outside = tx.transaction_with(Propagation::Mandatory, async { Ok::<_, TxError>(()) });
    /// assert_eq!(outside.await.unwrap_err().kind(), TxErrorKind::NotActive);
    ///
    /// let swallowed = tx.transaction(async {
    ///     let inner = tx.transaction(async { Err::<(), _>(TxError::no_pool("inner failure")) });
    ///     let _ = inner.await; // swallowed, but the transaction is now rollback-only
    ///     Ok::<_, TxError>(())
    /// });
    /// assert_eq!(swallowed.await.unwrap_err().kind(), TxErrorKind::UnexpectedRollback);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn transaction_with<F, T, E>(&self, propagation: Propagation, fut: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<TxError>,
    {
        // Boxed: the call's own future would otherwise hold `fut` several times over (one
        // per mode's path), and transactional calls nested a few levels deep would multiply
        // that into futures too large for a thread's stack. One allocation per call is
        // nothing beside the statements a transaction issues.
        let fut = Box::pin(fut);
        let here = scope::here(self.inner.id);
        let level = self.level_of(&here.state);
        match (propagation, level) {
            (
                Propagation::Required | Propagation::Supports | Propagation::Mandatory,
                Some(level),
            ) => {
                return self.join(level, fut).await;
            }
            (Propagation::Nested, Some(_)) if here.lent => {
                return Err(TxError::new(TxErrorKind::Reentrant).into());
            }
            (Propagation::Nested, Some(level)) => return self.savepoint(level, fut).await,
            (Propagation::Never, Some(_)) => {
                return Err(TxError::new(TxErrorKind::AlreadyActive).into());
            }
            _ => {}
        }
        let joining = matches!(
            propagation,
            Propagation::Required
                | Propagation::Supports
                | Propagation::Mandatory
                | Propagation::Nested
        );
        if joining && here.not_carried {
            return Err(TxError::new(TxErrorKind::NotCarried).into());
        }
        match propagation {
            Propagation::Mandatory => Err(TxError::new(TxErrorKind::NotActive).into()),
            Propagation::Never | Propagation::Supports | Propagation::NotSupported => {
                scope::child(self.inner.id, Change::Suspend, fut).await
            }
            Propagation::Required | Propagation::RequiresNew | Propagation::Nested => {
                self.begin(fut).await
            }
        }
    }

    /// The live level of this host in `state`, if it has one.
    fn level_of(&self, state: &State) -> Option<Arc<Level<DB>>> {
        match state {
            // Host ids are unique, and a host has one database type: the cast never fails.
            State::Live(level) => level.clone().downcast::<Level<DB>>().ok(),
            State::Absent | State::Suspended => None,
        }
    }

    async fn join<F, T, E>(&self, level: Arc<Level<DB>>, fut: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let participant = Participant::arm(&level);
        let out = scope::child(self.inner.id, Change::Keep, fut).await;
        participant.disarm();
        if out.is_err() {
            level.set_rollback_only();
        }
        out
    }

    async fn begin<F, T, E>(&self, fut: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<TxError>,
    {
        let pool = self.pool()?;
        if let Some(observer) = &self.inner.observer {
            observer(self.inner.begin);
        }
        let tx = pool
            .begin_with(self.inner.begin)
            .await
            .map_err(TxError::from)?;
        let live = Arc::new(Live::new(tx, self.inner.observer.clone()));
        let level = Arc::new(Level::new(live, None));
        let abandon = Abandon::arm(&level);
        let out = scope::child(self.inner.id, Change::Enter(level.clone()), fut).await;
        abandon.disarm();
        level.end();
        match out {
            Ok(value) if !level.is_rollback_only() => {
                level.live.finish(true).await?;
                Ok(value)
            }
            Ok(_) => {
                level.live.finish(false).await?;
                Err(TxError::new(TxErrorKind::UnexpectedRollback).into())
            }
            Err(err) => {
                // The call's own error says more than a failed rollback would; a
                // transaction whose rollback failed is dropped, and sqlx rolls it back.
                let _ = level.live.finish(false).await;
                Err(err)
            }
        }
    }

    async fn savepoint<F, T, E>(&self, parent: Arc<Level<DB>>, fut: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<TxError>,
    {
        let live = parent.live.clone();
        let savepoint = live.next_savepoint();
        {
            let mut conn = live.lock().await?;
            live.control(&mut conn, format!("SAVEPOINT cls_tx_{savepoint}"))
                .await?;
        }
        let level = Arc::new(Level::new(live.clone(), Some(savepoint)));
        let abandon = Abandon::arm(&level);
        let out = scope::child(self.inner.id, Change::Enter(level.clone()), fut).await;
        level.end();
        let keep = out.is_ok() && !level.is_rollback_only();
        let ended = async {
            let mut conn = live.lock().await?;
            if keep {
                live.control(&mut conn, format!("RELEASE SAVEPOINT cls_tx_{savepoint}"))
                    .await
            } else {
                live.rollback_to(&mut conn, savepoint).await
            }
        };
        // Still armed while the savepoint ends: a call cancelled here has not completed, so
        // its savepoint is rolled back before the connection's next statement.
        let ended = ended.await;
        abandon.disarm();
        if let Err(err) = ended {
            // The savepoint's work may be in the transaction or not: it must not commit.
            parent.set_rollback_only();
            return Err(err.into());
        }
        match out {
            Ok(_) if !keep => Err(TxError::new(TxErrorKind::UnexpectedRollback).into()),
            out => out,
        }
    }

    /// The connection for a statement made here: the current transaction's, locked until
    /// the returned [`TxConn`] is dropped, or a pooled one outside a transaction.
    ///
    /// Inside one transaction, calls from joined branches wait for each other: one
    /// statement at a time on the one connection, never interleaved.
    ///
    /// # Errors
    ///
    /// [`NotCarried`](TxErrorKind::NotCarried) in work spawned from inside a transaction
    /// (open one there with [`Propagation::RequiresNew`]);
    /// [`Reentrant`](TxErrorKind::Reentrant) inside a [`with_conn`](TxHost::with_conn)
    /// closure; [`Finished`](TxErrorKind::Finished) in a context whose transaction has ended;
    /// outside a transaction, [`NoSecondConnection`](TxErrorKind::NoSecondConnection) when the
    /// pool has none to lend within its acquire timeout, and what a
    /// [`from_context`](TxHost::from_context) resolver returns.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cls_core::tx::TxError> {
    /// # use cls_core::tx::{TxError, TxHost};
    /// let tx = TxHost::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// let one: i64 = tx
    ///     .transaction(async {
    ///         let mut conn = tx.conn().await?;
    ///         Ok::<_, TxError>(sqlx::query_scalar("select 1").fetch_one(&mut *conn).await?)
    ///     })
    ///     .await?;
    /// assert_eq!(one, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn conn(&self) -> Result<TxConn<'_, DB>, TxError> {
        let found = scope::with_here(self.inner.id, |state, lent, not_carried| {
            if lent {
                return Err(TxError::new(TxErrorKind::Reentrant));
            }
            match state {
                State::Live(level) => match level.downcast_ref::<Level<DB>>() {
                    Some(level) if level.is_ended() => Err(TxError::new(TxErrorKind::Finished)),
                    Some(level) => Ok(Some(level.live.clone())),
                    // Host ids are unique, and a host has one database type.
                    None => Ok(None),
                },
                _ if not_carried => Err(TxError::new(TxErrorKind::NotCarried)),
                _ => Ok(None),
            }
        })?;
        match found {
            Some(live) => Ok(TxConn::transaction(live.lock().await?)),
            None => Ok(TxConn::pooled(self.pool()?.acquire().await?)),
        }
    }

    /// Calls `f` with the connection [`conn`](TxHost::conn) would give, and returns its
    /// output: the form that cannot deadlock.
    ///
    /// `f` runs in a child context in which asking for the connection again (`conn`,
    /// `with_conn`, a `Nested` call) fails at once with
    /// [`Reentrant`](TxErrorKind::Reentrant), where holding a [`TxConn`] and calling
    /// `conn()` again inside one transaction would wait for itself.
    ///
    /// # Errors
    ///
    /// As [`conn`](TxHost::conn).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cls_core::tx::TxError> {
    /// use cls_core::tx::{TxError, TxErrorKind, TxHost};
    ///
    /// let tx = TxHost::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// let kind = tx
    ///     .transaction(async {
    ///         tx.with_conn(async |_conn| tx.conn().await.unwrap_err().kind()).await
    ///     })
    ///     .await?;
    /// assert_eq!(kind, TxErrorKind::Reentrant);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn with_conn<R>(
        &self,
        f: impl AsyncFnOnce(&mut DB::Connection) -> R,
    ) -> Result<R, TxError> {
        let mut conn = self.conn().await?;
        Ok(scope::child(self.inner.id, Change::Lend, f(&mut conn)).await)
    }

    /// Whether a transaction of this host is live in the calling code.
    ///
    /// False outside transactional calls, inside `NotSupported` and `Never` calls, and in
    /// work spawned from inside a transaction (which does not carry it).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cls_core::tx::TxError> {
    /// use cls_core::tx::{Propagation, TxError, TxHost};
    ///
    /// let tx = TxHost::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// let seen = tx
    ///     .transaction(async {
    ///         let suspended = tx.transaction_with(Propagation::NotSupported, async {
    ///             Ok::<_, TxError>(tx.is_active())
    ///         });
    ///         Ok::<_, TxError>((tx.is_active(), suspended.await?))
    ///     })
    ///     .await?;
    /// assert_eq!(seen, (true, false));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn is_active(&self) -> bool {
        let here = scope::here(self.inner.id);
        self.level_of(&here.state)
            .is_some_and(|level| !level.is_ended())
    }

    /// Marks the current transaction (or savepoint, inside a `Nested` call) rollback-only:
    /// it will be rolled back, and the call that owns it returns
    /// [`UnexpectedRollback`](TxErrorKind::UnexpectedRollback) even if its body succeeds.
    ///
    /// # Errors
    ///
    /// [`NotActive`](TxErrorKind::NotActive) when no transaction of this host is live here.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cls_core::tx::TxError> {
    /// use cls_core::tx::{TxError, TxErrorKind, TxHost};
    ///
    /// let tx = TxHost::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
    /// let outcome = tx.transaction(async { tx.set_rollback_only() }).await;
    /// assert_eq!(outcome.unwrap_err().kind(), TxErrorKind::UnexpectedRollback);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_rollback_only(&self) -> Result<(), TxError> {
        let here = scope::here(self.inner.id);
        match self.level_of(&here.state) {
            Some(level) if !level.is_ended() => {
                level.set_rollback_only();
                Ok(())
            }
            _ => Err(TxError::new(TxErrorKind::NotActive)),
        }
    }
}

impl<DB: TxDatabase> Clone for TxHost<DB> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<DB: TxDatabase> fmt::Debug for TxHost<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxHost")
            .field("id", &self.inner.id)
            .field("begin", &self.inner.begin)
            .field("is_active", &self.is_active())
            .finish_non_exhaustive()
    }
}
