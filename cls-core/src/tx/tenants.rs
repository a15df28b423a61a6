//! `TenantPools`: one pool per tenant, opened on first use, at most `max_open` at a time.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::pool::PoolOptions;
use sqlx::{Connection, Pool};
use tokio::sync::OnceCell;

use crate::tx::{TxDatabase, TxError};

/// The connect options of database `DB` (`SqliteConnectOptions`, `PgConnectOptions`).
pub type ConnectOptionsOf<DB> = <<DB as sqlx::Database>::Connection as Connection>::Options;

type Connect<DB> = dyn Fn(&str) -> Result<ConnectOptionsOf<DB>, TxError> + Send + Sync;
type Validate = dyn Fn(&str) -> bool + Send + Sync;

/// One pool per tenant (a SQLite file, a Postgres database), opened on first use, with at
/// most `max_open` pools open at a time.
///
/// Where a `HashMap<String, Pool>` behind a lock opens a tenant's pool once per racing
/// request and grows without bound, this opens each tenant's pool once however many
/// requests ask at the same time (single flight), and closes the least recently used pool
/// when one more is needed. A closed pool is dropped, not closed under its users: requests
/// still using it finish, and its connections close when the last one does.
///
/// The tenant id usually comes from a request, so it is hostile input: it is checked
/// before anything else, `[a-z0-9_-]{1,64}` unless [`validate`](TenantPools::validate)
/// says otherwise, and an id that fails opens no file and no connection.
///
/// # Examples
///
/// ```
/// use cls_core::tx::{TenantPools, TxError, TxErrorKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), TxError> {
/// // A new in-memory database per tenant here; a file per tenant in a real service.
/// let pools = TenantPools::<sqlx::Sqlite>::new(8, |_tenant| Ok("sqlite::memory:".parse()?));
/// let acme = pools.get("acme").await?;
/// let again = pools.get("acme").await?;
/// assert_eq!(pools.open(), 1);
///
/// let hostile = pools.get("../etc/passwd").await.unwrap_err();
/// assert_eq!(hostile.kind(), TxErrorKind::NoPool);
/// # drop((acme, again));
/// # Ok(())
/// # }
/// ```
pub struct TenantPools<DB: TxDatabase> {
    inner: Arc<Inner<DB>>,
}

struct Inner<DB: TxDatabase> {
    max_open: usize,
    connect: Box<Connect<DB>>,
    validate: Box<Validate>,
    options: PoolOptions<DB>,
    open: Mutex<Open<DB>>,
}

/// The tenants with a pool (or one being opened), and when each was last asked for.
struct Open<DB: TxDatabase> {
    tick: u64,
    pools: HashMap<String, Slot<DB>>,
}

struct Slot<DB: TxDatabase> {
    last_used: u64,
    pool: Arc<OnceCell<Pool<DB>>>,
}

/// The default rule for tenant ids: 1 to 64 of `[a-z0-9_-]`.
fn default_rule(tenant: &str) -> bool {
    (1..=64).contains(&tenant.len())
        && tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl<DB: TxDatabase> TenantPools<DB> {
    /// Pools for tenants, at most `max_open` (at least 1) open at a time; `connect` gives the
    /// connect options of a tenant's database, and is called only for valid ids.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::tx::TenantPools;
    /// use sqlx::sqlite::SqliteConnectOptions;
    ///
    /// let dir = std::env::temp_dir();
    /// let pools = TenantPools::<sqlx::Sqlite>::new(16, move |tenant| {
    ///     Ok(SqliteConnectOptions::new().filename(dir.join(format!("{tenant}.db"))).create_if_missing(true))
    /// });
    /// assert_eq!(pools.open(), 0);
    /// ```
    #[must_use]
    pub fn new(
        max_open: usize,
        connect: impl Fn(&str) -> Result<ConnectOptionsOf<DB>, TxError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                max_open: max_open.max(1),
                connect: Box::new(connect),
                validate: Box::new(default_rule),
                options: PoolOptions::new(),
                open: Mutex::new(Open {
                    tick: 0,
                    pools: HashMap::new(),
                }),
            }),
        }
    }

    /// The same pools, checking tenant ids with `rule` instead of `[a-z0-9_-]{1,64}`.
    ///
    /// Keep the rule strict: the id reaches `connect`, which usually makes a file name or
    /// a database name of it.
    ///
    /// # Panics
    ///
    /// When a pool has already been opened (configure before use).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use cls_core::tx::TenantPools;
    ///
    /// let pools = TenantPools::<sqlx::Sqlite>::new(4, |_| Ok("sqlite::memory:".parse()?))
    ///     .validate(|tenant| tenant.len() == 4 && tenant.bytes().all(|b| b.is_ascii_digit()));
    /// assert!(pools.get("0042").await.is_ok());
    /// assert!(pools.get("acme").await.is_err());
    /// # }
    /// ```
    #[must_use]
    #[track_caller]
    pub fn validate(self, rule: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.configure(|inner| inner.validate = Box::new(rule))
    }

    /// The same pools, each opened with `options` (connections per tenant, timeouts).
    ///
    /// # Panics
    ///
    /// When a pool has already been opened (configure before use).
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::tx::TenantPools;
    /// use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    ///
    /// let pools = TenantPools::<sqlx::Sqlite>::new(4, |t| Ok(SqliteConnectOptions::new().filename(format!("{t}.db"))))
    ///     .pool_options(SqlitePoolOptions::new().max_connections(2));
    /// # drop(pools);
    /// ```
    #[must_use]
    #[track_caller]
    pub fn pool_options(self, options: PoolOptions<DB>) -> Self {
        self.configure(|inner| inner.options = options)
    }

    #[track_caller]
    fn configure(self, change: impl FnOnce(&mut Inner<DB>)) -> Self {
        let mut inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(_) => panic!("configure `TenantPools` before cloning or using it"),
        };
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The pool of `tenant`: the open one, or a new one (the least recently used pool is
    /// closed if `max_open` are open). Requests for a tenant whose pool is being opened
    /// wait for that one instead of opening another.
    ///
    /// # Errors
    ///
    /// [`NoPool`](crate::tx::TxErrorKind::NoPool) for an id that fails the rule (nothing
    /// else happens); what `connect` returns; a [`Database`](crate::tx::TxErrorKind::Database)
    /// error when the pool's first connection fails (the next request tries again).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), cls_core::tx::TxError> {
    /// use cls_core::tx::TenantPools;
    ///
    /// let pools = TenantPools::<sqlx::Sqlite>::new(1, |_| Ok("sqlite::memory:".parse()?));
    /// pools.get("a").await?;
    /// pools.get("b").await?; // closes `a`'s pool: at most one open
    /// assert_eq!(pools.open(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get(&self, tenant: &str) -> Result<Pool<DB>, TxError> {
        if !(self.inner.validate)(tenant) {
            return Err(TxError::no_pool(format!(
                "`{}` is not a valid tenant id",
                tenant.escape_debug().take(80).collect::<String>()
            )));
        }
        let cell = self.slot(tenant);
        let pool = cell
            .get_or_try_init(|| async {
                let options = (self.inner.connect)(tenant)?;
                self.inner
                    .options
                    .clone()
                    .connect_with(options)
                    .await
                    .map_err(TxError::from)
            })
            .await?;
        Ok(pool.clone())
    }

    /// The cell of `tenant`, made (and the least recently used other one dropped) if needed.
    fn slot(&self, tenant: &str) -> Arc<OnceCell<Pool<DB>>> {
        let mut open = self
            .inner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.tick += 1;
        let tick = open.tick;
        if let Some(slot) = open.pools.get_mut(tenant) {
            slot.last_used = tick;
            return slot.pool.clone();
        }
        while open.pools.len() >= self.inner.max_open {
            let oldest = open
                .pools
                .iter()
                .min_by_key(|(_, slot)| slot.last_used)
                .map(|(tenant, _)| tenant.clone());
            match oldest {
                Some(oldest) => drop(open.pools.remove(&oldest)),
                None => break,
            }
        }
        let pool = Arc::new(OnceCell::new());
        open.pools.insert(
            tenant.to_owned(),
            Slot {
                last_used: tick,
                pool: pool.clone(),
            },
        );
        pool
    }

    /// How many tenants have a pool open (or being opened): never more than `max_open`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::tx::TenantPools;
    /// # use sqlx::sqlite::SqliteConnectOptions;
    /// let pools = TenantPools::<sqlx::Sqlite>::new(4, |t| Ok(SqliteConnectOptions::new().filename(format!("{t}.db"))));
    /// assert_eq!(pools.open(), 0);
    /// ```
    #[must_use]
    pub fn open(&self) -> usize {
        self.inner
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pools
            .len()
    }
}

impl<DB: TxDatabase> Clone for TenantPools<DB> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<DB: TxDatabase> fmt::Debug for TenantPools<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantPools")
            .field("max_open", &self.inner.max_open)
            .field("open", &self.open())
            .finish_non_exhaustive()
    }
}
