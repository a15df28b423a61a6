//! `#[cls_core::transactional]` on a real database file: the body runs as
//! `host.transaction_with(mode, ..)`, with the host taken from a parameter or from `self`.

// Generated code must not trip a user's lints: the attribute is used here under strict ones.
#![deny(warnings, unused_qualifications, clippy::pedantic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cls_core::transactional;
use cls_core::tx::{TxError, TxErrorKind, TxHost};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Sqlite, SqlitePool};

struct Db {
    tx: TxHost<Sqlite>,
    pool: SqlitePool,
    log: Arc<Mutex<Vec<String>>>,
    file: std::path::PathBuf,
}

impl Drop for Db {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.file.display()));
        }
    }
}

async fn db(name: &str) -> Db {
    let file = std::env::temp_dir().join(format!("cls-tx-macro-{}-{name}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let pool = SqlitePool::connect_with(options).await.unwrap();
    sqlx::query("create table items (id integer primary key)")
        .execute(&pool)
        .await
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let record = log.clone();
    let tx = TxHost::new(pool.clone())
        .on_statement(move |sql| record.lock().unwrap().push(sql.to_owned()));
    Db {
        tx,
        pool,
        log,
        file,
    }
}

impl Db {
    async fn committed(&self) -> Vec<i64> {
        sqlx::query_scalar("select id from items order by id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    fn statements(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    /// The host named through `self`, the default mode.
    #[transactional(host = self.tx)]
    async fn insert_all(&self, ids: &[i64]) -> Result<usize, TxError> {
        for id in ids {
            insert(&self.tx, *id).await?;
        }
        if ids.contains(&13) {
            return Err(TxError::no_pool("unlucky"));
        }
        Ok(ids.len())
    }
}

/// The host named by a parameter, and an explicit mode.
#[transactional(host = tx, propagation = Nested)]
async fn optional_insert(tx: &TxHost<Sqlite>, id: i64, fail: bool) -> Result<(), TxError> {
    insert(tx, id).await?;
    if fail {
        return Err(TxError::no_pool("optional step failed"));
    }
    Ok(())
}

#[transactional(host = tx, propagation = Propagation::Mandatory)]
async fn must_join(tx: &TxHost<Sqlite>) -> Result<bool, TxError> {
    Ok(tx.is_active())
}

async fn insert(tx: &TxHost<Sqlite>, id: i64) -> Result<(), TxError> {
    sqlx::query("insert into items (id) values (?)")
        .bind(id)
        .execute(&mut *tx.conn().await?)
        .await?;
    Ok(())
}

async fn bounded<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), fut)
        .await
        .expect("the test finished in time")
}

#[tokio::test(flavor = "current_thread")]
async fn the_body_commits_on_ok_and_rolls_back_on_err() {
    let db = db("commit").await;
    bounded(async {
        assert_eq!(db.insert_all(&[1, 2]).await.unwrap(), 2);
        assert_eq!(
            db.insert_all(&[3, 13]).await.unwrap_err().kind(),
            TxErrorKind::NoPool
        );
    })
    .await;
    assert_eq!(db.committed().await, [1, 2]);
    assert_eq!(
        db.statements(),
        ["BEGIN IMMEDIATE", "COMMIT", "BEGIN IMMEDIATE", "ROLLBACK"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mode_given_is_the_mode_used() {
    let db = db("mode").await;
    bounded(async {
        assert_eq!(
            must_join(&db.tx).await.unwrap_err().kind(),
            TxErrorKind::NotActive
        );
        let outer = db
            .tx
            .transaction(async {
                insert(&db.tx, 1).await?;
                optional_insert(&db.tx, 2, false).await?;
                assert!(optional_insert(&db.tx, 3, true).await.is_err());
                assert!(must_join(&db.tx).await?);
                Ok::<_, TxError>(())
            })
            .await;
        outer.unwrap();
    })
    .await;
    assert_eq!(db.committed().await, [1, 2]);
    assert_eq!(
        db.statements(),
        [
            "BEGIN IMMEDIATE",
            "SAVEPOINT cls_tx_1",
            "RELEASE SAVEPOINT cls_tx_1",
            "SAVEPOINT cls_tx_2",
            "ROLLBACK TO SAVEPOINT cls_tx_2",
            "RELEASE SAVEPOINT cls_tx_2",
            "COMMIT",
        ]
    );
}
