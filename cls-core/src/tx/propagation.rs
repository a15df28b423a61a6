//! `Propagation`: how a transactional call relates to the transaction around it.

/// How a transactional call relates to the transaction active where it is made; the
/// meanings are Spring's and `@nestjs-cls/transactional`'s.
///
/// "Active" means a transaction of the same [`TxHost`](crate::tx::TxHost) (or a clone of it)
/// in the calling code. Work spawned from inside a transaction has none: asking it to join
/// one (`Required`, `Mandatory`, `Supports`, `Nested`) fails with
/// [`NotCarried`](crate::tx::TxErrorKind::NotCarried) rather than silently running on its
/// own; `RequiresNew`, `NotSupported` and `Never` run there as they do anywhere else.
///
/// # Examples
///
/// ```
/// use cls_core::tx::Propagation;
///
/// assert_eq!(Propagation::default(), Propagation::Required);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Propagation {
    /// Join the active transaction, or begin one when none is active. A failure of the
    /// call marks the joined transaction rollback-only.
    #[default]
    Required,
    /// Always begin a new, independent transaction on a second connection; the active one
    /// (if any) is suspended until the call ends, and neither outcome affects the other.
    RequiresNew,
    /// Inside an active transaction, a savepoint (`SAVEPOINT`, then `RELEASE` on success or
    /// `ROLLBACK TO` on failure): a failure undoes only the call's own work. Outside one,
    /// as `Required`.
    Nested,
    /// Join the active transaction; fail with [`NotActive`](crate::tx::TxErrorKind::NotActive)
    /// when there is none.
    Mandatory,
    /// Run without a transaction; fail with
    /// [`AlreadyActive`](crate::tx::TxErrorKind::AlreadyActive) when one is active.
    Never,
    /// Join the active transaction if there is one, else run without a transaction.
    Supports,
    /// Run without a transaction, suspending the active one until the call ends: its
    /// statements use pooled connections and autocommit.
    NotSupported,
}
