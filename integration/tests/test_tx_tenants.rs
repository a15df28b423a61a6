//! Per-tenant databases (`TenantPools`) on real SQLite files, one per tenant, reached
//! through a `TxHost::from_context` that reads the request's pool from its store.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cls_core::tx::{TenantPools, TxError, TxErrorKind, TxHost};
use cls_core::{path, Cls, ClsStore, Terminal};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Sqlite, SqlitePool};

#[derive(ClsStore, Clone, Default)]
struct RequestStore {
    tenant: String,
    db: Option<Terminal<SqlitePool>>,
}

const CLS: Cls<RequestStore> = Cls::new();

/// Every test ends well within this, or fails instead of hanging.
const BOUND: Duration = Duration::from_secs(60);

/// A directory of its own per test, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("cls-tx-tenants-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn files(&self) -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        files
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Pools over one SQLite file per tenant in `dir`, counting the calls of `connect`.
fn tenant_pools(dir: &Path, max_open: usize, connects: Arc<AtomicUsize>) -> TenantPools<Sqlite> {
    let dir = dir.to_owned();
    TenantPools::new(max_open, move |tenant| {
        connects.fetch_add(1, Ordering::SeqCst);
        Ok(SqliteConnectOptions::new()
            .filename(dir.join(format!("{tenant}.db")))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal))
    })
    .pool_options(
        SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30)),
    )
}

/// The host of every request: the pool is the one the request's setup put in its store.
fn request_host() -> TxHost<Sqlite> {
    TxHost::from_context(|| {
        CLS.try_get::<path!(db)>()
            .ok()
            .flatten()
            .map(Terminal::into_inner)
            .ok_or_else(|| TxError::no_pool("the request has no tenant database"))
    })
}

/// One request of `tenant`: inserts a row, and returns the tenants whose rows it can see.
async fn request(
    pools: &TenantPools<Sqlite>,
    tx: &TxHost<Sqlite>,
    tenant: String,
    n: i64,
) -> Result<Vec<String>, TxError> {
    let pool = pools.get(&tenant).await?;
    assert!(pools.open() <= 8, "more pools open than max_open");
    let store = RequestStore {
        tenant,
        db: Some(Terminal::new(pool)),
    };
    CLS.run_with(store, async {
        tx.transaction(async {
            let mut conn = tx.conn().await?;
            sqlx::query(
                "create table if not exists rows (tenant text not null, n integer not null)",
            )
            .execute(&mut *conn)
            .await?;
            sqlx::query("insert into rows (tenant, n) values (?, ?)")
                .bind(CLS.get::<path!(tenant)>())
                .bind(n)
                .execute(&mut *conn)
                .await?;
            let seen: Vec<String> = sqlx::query_scalar("select distinct tenant from rows")
                .fetch_all(&mut *conn)
                .await?;
            Ok(seen)
        })
        .await
    })
    .await
}

/// `request`, tried again when SQLite answers "database is locked" at once: with pools
/// evicted while their last connection is still closing (and checkpointing the file), a
/// new pool for the same tenant can meet that lock for a moment, and SQLite reports it
/// without waiting out the busy timeout. A failed try was rolled back, so retrying adds
/// no row twice; any other error fails the test.
async fn request_retrying_busy(
    pools: &TenantPools<Sqlite>,
    tx: &TxHost<Sqlite>,
    tenant: &str,
    n: i64,
) -> Vec<String> {
    for _ in 0..50 {
        match request(pools, tx, tenant.to_owned(), n).await {
            Ok(seen) => return seen,
            Err(err) if err.kind() == TxErrorKind::NoSecondConnection => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(err) => panic!("request {n} of {tenant} failed: {err}"),
        }
    }
    panic!("request {n} of {tenant} met a locked database 50 times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_tenants_twenty_requests_each_with_eight_pools_open() {
    let dir = TempDir::new("fifty");
    let connects = Arc::new(AtomicUsize::new(0));
    let pools = tenant_pools(&dir.0, 8, connects.clone());
    let tx = request_host();
    let mut tasks = Vec::new();
    for n in 0..20 {
        for t in 0..50 {
            let (pools, tx) = (pools.clone(), tx.clone());
            let tenant = format!("tenant-{t:02}");
            tasks.push(tokio::spawn(async move {
                let seen = request_retrying_busy(&pools, &tx, &tenant, n).await;
                assert_eq!(seen, [tenant], "a request saw another tenant's rows");
            }));
        }
    }
    tokio::time::timeout(BOUND, async {
        for task in tasks {
            task.await.unwrap();
        }
    })
    .await
    .expect("the requests finished in time");
    assert!(pools.open() <= 8);
    assert!(connects.load(Ordering::SeqCst) >= 50);

    // Every tenant's file holds exactly its own 20 rows.
    for t in 0..50 {
        let tenant = format!("tenant-{t:02}");
        let options = SqliteConnectOptions::new().filename(dir.0.join(format!("{tenant}.db")));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        let rows: Vec<(String, i64)> = sqlx::query_as("select tenant, n from rows order by n")
            .fetch_all(&pool)
            .await
            .unwrap();
        let expected: Vec<(String, i64)> = (0..20).map(|n| (tenant.clone(), n)).collect();
        assert_eq!(rows, expected, "the rows of {tenant}");
        pool.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_requests_open_one_pool() {
    let dir = TempDir::new("single-flight");
    let connects = Arc::new(AtomicUsize::new(0));
    let pools = tenant_pools(&dir.0, 8, connects.clone());
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let pools = pools.clone();
            tokio::spawn(async move { pools.get("acme").await.map(drop) })
        })
        .collect();
    tokio::time::timeout(BOUND, async {
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    })
    .await
    .unwrap();
    assert_eq!(connects.load(Ordering::SeqCst), 1);
    assert_eq!(pools.open(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn hostile_tenant_ids_create_no_file_and_open_no_connection() {
    let dir = TempDir::new("hostile");
    let connects = Arc::new(AtomicUsize::new(0));
    let pools = tenant_pools(&dir.0, 8, connects.clone());
    let long = "a".repeat(1024);
    let hostile = [
        "../x",
        "a/b",
        "..",
        "a\0b",
        "",
        "ACME",
        "a b",
        "a.db",
        "é",
        "x\n",
        long.as_str(),
    ];
    for tenant in hostile {
        let err = pools.get(tenant).await.unwrap_err();
        assert_eq!(err.kind(), TxErrorKind::NoPool, "{tenant:?}");
        assert!(
            err.to_string().contains("is not a valid tenant id"),
            "{err}"
        );
        assert!(
            err.to_string().len() < 300,
            "the message quotes at most a prefix of the id"
        );
    }
    assert_eq!(
        connects.load(Ordering::SeqCst),
        0,
        "connect was never called"
    );
    assert_eq!(pools.open(), 0);
    assert_eq!(dir.files(), Vec::<String>::new(), "no file was created");
    assert!(!dir.0.parent().unwrap().join("x.db").exists());
}

#[tokio::test(flavor = "current_thread")]
async fn failed_first_connection_is_tried_again() {
    let dir = TempDir::new("retry");
    let missing = dir.0.join("not-yet");
    let target = missing.clone();
    let pools = TenantPools::<Sqlite>::new(8, move |tenant| {
        Ok(SqliteConnectOptions::new()
            .filename(target.join(format!("{tenant}.db")))
            .create_if_missing(true))
    });
    let err = pools.get("acme").await.unwrap_err();
    assert_eq!(err.kind(), TxErrorKind::Database, "{err}");
    std::fs::create_dir(&missing).unwrap();
    pools.get("acme").await.unwrap();
    assert!(missing.join("acme.db").exists());
}

#[tokio::test(flavor = "current_thread")]
async fn least_recently_used_pool_is_the_one_closed() {
    let dir = TempDir::new("lru");
    let connects = Arc::new(AtomicUsize::new(0));
    let pools = tenant_pools(&dir.0, 2, connects.clone());
    pools.get("a").await.unwrap();
    pools.get("b").await.unwrap();
    pools.get("a").await.unwrap(); // `b` is now the least recently used
    pools.get("c").await.unwrap(); // closes `b`
    assert_eq!(connects.load(Ordering::SeqCst), 3);
    pools.get("a").await.unwrap();
    assert_eq!(connects.load(Ordering::SeqCst), 3, "`a` stayed open");
    pools.get("b").await.unwrap();
    assert_eq!(connects.load(Ordering::SeqCst), 4, "`b` was opened again");
    assert_eq!(pools.open(), 2);
}
