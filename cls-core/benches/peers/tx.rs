//! The `tx` group: ambient transactions on a real SQLite file against a hand-passed
//! `Transaction`, `tx.conn()` alone, and a `Lazy` read against a plain `get`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cls_core::tx::{TxError, TxHost};
use cls_core::{path, Cls, ClsStore, Lazy};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Pool, Sqlite};

use crate::harness::{Group, Harness, Term};

/// A store with a value computed on first use, beside a plain one.
#[derive(ClsStore, Clone, Default)]
struct LazyStore {
    plain: u64,
    computed: Lazy<u64>,
}

const LAZY: Cls<LazyStore> = Cls::new();

/// A removed-on-drop directory for the benchmark's database file.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn sqlite_pool(dir: &TempDir) -> Pool<Sqlite> {
    let options = SqliteConnectOptions::new()
        .filename(dir.0.join("bench.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .expect("open the benchmark's SQLite file");
    sqlx::query("create table rows (id integer not null, note text not null)")
        .execute(&pool)
        .await
        .expect("create the table");
    pool
}

const INSERT: &str = "insert into rows (id, note) values (?, 'bench')";

/// `n` single-row inserts in one transaction, passed by hand: the peer.
async fn inserts_by_hand(pool: &Pool<Sqlite>, n: u64) -> Duration {
    let mut transaction = pool.begin().await.expect("begin");
    let start = Instant::now();
    for i in 0..n {
        sqlx::query(INSERT)
            .bind(i as i64)
            .execute(&mut *transaction)
            .await
            .expect("insert");
    }
    let elapsed = start.elapsed();
    transaction.commit().await.expect("commit");
    elapsed
}

/// The same inserts, each asking the host for the transaction's connection.
async fn inserts_ambient(host: &TxHost<Sqlite>, n: u64) -> Duration {
    host.transaction(async {
        let start = Instant::now();
        for i in 0..n {
            sqlx::query(INSERT)
                .bind(i as i64)
                .execute(&mut *host.conn().await?)
                .await
                .map_err(TxError::from)?;
        }
        Ok::<_, TxError>(start.elapsed())
    })
    .await
    .expect("the benchmark's transaction commits")
}

/// `n` calls of `tx.conn()` inside one transaction: the lock and the deref.
async fn conns(host: &TxHost<Sqlite>, n: u64) -> Duration {
    host.transaction(async {
        let start = Instant::now();
        for _ in 0..n {
            let conn = host.conn().await?;
            black_box(&*conn);
        }
        Ok::<_, TxError>(start.elapsed())
    })
    .await
    .expect("a transaction that only asks for its connection commits")
}

pub(crate) fn run(h: &mut Harness) {
    if !h.wants("tx") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a current-thread runtime");
    let dir = TempDir(std::env::temp_dir().join(format!("cls-bench-tx-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("create the benchmark's directory");
    let pool = rt.block_on(sqlite_pool(&dir));
    let host = TxHost::new(pool.clone());

    h.run(
        Group::new(
            "tx",
            "single-row inserts in one SQLite transaction, tx.conn(), and a Lazy read",
        )
        .case("sqlx insert on a hand-passed &mut Transaction", |n| {
            rt.block_on(inserts_by_hand(&pool, n))
        })
        .case("cls insert on tx.conn() inside tx.transaction", |n| {
            rt.block_on(inserts_ambient(&host, n))
        })
        .case("cls tx.conn() inside tx.transaction", |n| {
            rt.block_on(conns(&host, n))
        })
        .case("cls LAZY.get::<path!(plain)>()", |n| {
            LAZY.run_with_sync(LazyStore::default(), || {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(LAZY.get::<path!(plain)>());
                }
                start.elapsed()
            })
        })
        .case("cls Lazy read after init (with + get)", |n| {
            let store = LazyStore::default();
            rt.block_on(store.computed.get_or_init(|| async { 7 }));
            LAZY.run_with_sync(store, || {
                let start = Instant::now();
                for _ in 0..n {
                    black_box(LAZY.with::<path!(computed), _>(|lazy| lazy.get().copied()));
                }
                start.elapsed()
            })
        })
        .target(
            "ambient inserts / hand-passed inserts",
            Term::Case(1),
            Term::Case(0),
            1.05,
        )
        .target_ns("tx.conn() inside a transaction", Term::Case(2), 100.0)
        .target("Lazy read / get", Term::Case(4), Term::Case(3), 2.0),
    );
}
