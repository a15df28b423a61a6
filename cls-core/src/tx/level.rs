//! One open transaction (`Live`) and the levels statements run in (`Level`): the
//! transaction itself, or a savepoint inside it.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

use crate::tx::{TxDatabase, TxError, TxErrorKind};

/// Called with every transaction-control statement a host issues.
pub(crate) type Observer = Arc<dyn Fn(&str) + Send + Sync>;

/// The root transaction's connection, as long as the transaction is open.
pub(crate) enum Slot<DB: TxDatabase> {
    Open(sqlx::Transaction<'static, DB>),
    Ended,
}

/// An open transaction: its one connection, behind an async mutex so that joined branches
/// take turns, and the savepoints to undo before its next statement.
pub(crate) struct Live<DB: TxDatabase> {
    conn: Arc<Mutex<Slot<DB>>>,
    next_savepoint: AtomicU32,
    /// The outermost savepoint whose call was cancelled or panicked: rolled back to before
    /// the connection is used again, or before the commit.
    repair: StdMutex<Option<u32>>,
    /// Whether `repair` holds a savepoint: checked on every lock without taking `repair`.
    repair_pending: AtomicBool,
    observer: Option<Observer>,
}

/// The connection of a live transaction, locked for one user.
pub(crate) type Locked<DB> = OwnedMappedMutexGuard<Slot<DB>, <DB as sqlx::Database>::Connection>;

impl<DB: TxDatabase> Live<DB> {
    pub(crate) fn new(tx: sqlx::Transaction<'static, DB>, observer: Option<Observer>) -> Self {
        Self {
            conn: Arc::new(Mutex::new(Slot::Open(tx))),
            next_savepoint: AtomicU32::new(1),
            repair: StdMutex::new(None),
            repair_pending: AtomicBool::new(false),
            observer,
        }
    }

    pub(crate) fn observe(&self, statement: &str) {
        if let Some(observer) = &self.observer {
            observer(statement);
        }
    }

    /// Waits for the connection, then undoes any abandoned savepoint.
    pub(crate) async fn lock(&self) -> Result<Locked<DB>, TxError> {
        // Uncontended (the usual case), without the lock's future.
        let slot = match self.conn.clone().try_lock_owned() {
            Ok(slot) => slot,
            Err(_) => self.conn.clone().lock_owned().await,
        };
        let mut conn = OwnedMutexGuard::try_map(slot, |slot| match slot {
            Slot::Open(tx) => Some(&mut **tx),
            Slot::Ended => None,
        })
        .map_err(|_| TxError::new(TxErrorKind::Finished))?;
        if let Some(savepoint) = self.take_repair() {
            self.rollback_to(&mut conn, savepoint).await?;
        }
        Ok(conn)
    }

    pub(crate) fn next_savepoint(&self) -> u32 {
        self.next_savepoint.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) async fn control(
        &self,
        conn: &mut DB::Connection,
        sql: String,
    ) -> Result<(), TxError> {
        self.observe(&sql);
        DB::execute_control(conn, sql).await.map_err(TxError::from)
    }

    pub(crate) async fn rollback_to(
        &self,
        conn: &mut DB::Connection,
        savepoint: u32,
    ) -> Result<(), TxError> {
        self.control(conn, format!("ROLLBACK TO SAVEPOINT cls_tx_{savepoint}"))
            .await?;
        self.control(conn, format!("RELEASE SAVEPOINT cls_tx_{savepoint}"))
            .await
    }

    /// Marks a savepoint whose call did not finish; rolling back to the outermost such
    /// savepoint also undoes every one opened after it.
    fn schedule_repair(&self, savepoint: u32) {
        let mut repair = self.repair.lock().unwrap_or_else(PoisonError::into_inner);
        *repair = Some(repair.map_or(savepoint, |s| s.min(savepoint)));
        self.repair_pending.store(true, Ordering::Release);
    }

    fn take_repair(&self) -> Option<u32> {
        if !self.repair_pending.load(Ordering::Relaxed)
            || !self.repair_pending.swap(false, Ordering::Acquire)
        {
            return None;
        }
        self.repair
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Ends the transaction: commits or rolls back, after undoing abandoned savepoints.
    ///
    /// Called when the transaction's call has completed, so every joined branch has too:
    /// a connection still locked was carried out of the call (returned in its output, say).
    /// Waiting for it would wait forever; the transaction instead ends with `Finished`, and
    /// rolls back when that connection is dropped.
    pub(crate) async fn finish(&self, commit: bool) -> Result<(), TxError> {
        let finished = || TxError::new(TxErrorKind::Finished);
        let slot = std::mem::replace(
            &mut *self.conn.try_lock().map_err(|_| finished())?,
            Slot::Ended,
        );
        let Slot::Open(mut tx) = slot else {
            return Err(finished());
        };
        if commit {
            if let Some(savepoint) = self.take_repair() {
                if let Err(err) = self.rollback_to(&mut tx, savepoint).await {
                    // Dropping the transaction rolls it back.
                    self.observe("ROLLBACK");
                    return Err(err);
                }
            }
            self.observe("COMMIT");
            tx.commit().await.map_err(TxError::from)
        } else {
            self.observe("ROLLBACK");
            tx.rollback().await.map_err(TxError::from)
        }
    }

    /// Ends the transaction without waiting: the call that owned it was cancelled or
    /// panicked. sqlx rolls a dropped transaction back before its connection is used again
    /// or returned to the pool. When the connection is locked (a `TxConn` outlived the
    /// call), the rollback happens when that lock is released and the last user drops it.
    fn abandon(&self) {
        if let Ok(mut slot) = self.conn.try_lock() {
            if let Slot::Open(tx) = std::mem::replace(&mut *slot, Slot::Ended) {
                self.observe("ROLLBACK");
                drop(tx);
            }
        }
    }
}

/// The level statements run in: a transaction, or a savepoint inside one.
pub(crate) struct Level<DB: TxDatabase> {
    pub(crate) live: Arc<Live<DB>>,
    savepoint: Option<u32>,
    rollback_only: AtomicBool,
    ended: AtomicBool,
}

impl<DB: TxDatabase> Level<DB> {
    pub(crate) fn new(live: Arc<Live<DB>>, savepoint: Option<u32>) -> Self {
        Self {
            live,
            savepoint,
            rollback_only: AtomicBool::new(false),
            ended: AtomicBool::new(false),
        }
    }

    pub(crate) fn set_rollback_only(&self) {
        self.rollback_only.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_rollback_only(&self) -> bool {
        self.rollback_only.load(Ordering::Relaxed)
    }

    pub(crate) fn end(&self) {
        self.ended.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }
}

/// Armed while a level's call runs; if the call is dropped before it finishes (cancelled,
/// or unwinding from a panic), the level's work is undone.
pub(crate) struct Abandon<DB: TxDatabase> {
    level: Option<Arc<Level<DB>>>,
}

impl<DB: TxDatabase> Abandon<DB> {
    pub(crate) fn arm(level: &Arc<Level<DB>>) -> Self {
        Self {
            level: Some(level.clone()),
        }
    }

    pub(crate) fn disarm(mut self) {
        self.level = None;
    }
}

impl<DB: TxDatabase> Drop for Abandon<DB> {
    fn drop(&mut self) {
        let Some(level) = self.level.take() else {
            return;
        };
        level.end();
        match level.savepoint {
            Some(savepoint) => level.live.schedule_repair(savepoint),
            None => level.live.abandon(),
        }
    }
}

/// Armed while a joined call runs; if the call is dropped before it finishes, the
/// transaction it joined is marked rollback-only, as a failure of the call would.
pub(crate) struct Participant<DB: TxDatabase> {
    level: Option<Arc<Level<DB>>>,
}

impl<DB: TxDatabase> Participant<DB> {
    pub(crate) fn arm(level: &Arc<Level<DB>>) -> Self {
        Self {
            level: Some(level.clone()),
        }
    }

    pub(crate) fn disarm(mut self) {
        self.level = None;
    }
}

impl<DB: TxDatabase> Drop for Participant<DB> {
    fn drop(&mut self) {
        if let Some(level) = self.level.take() {
            level.set_rollback_only();
        }
    }
}
