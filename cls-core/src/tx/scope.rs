//! The transaction scope: which transaction each host has in the calling code, kept in a
//! private store so that it follows the code exactly as a user's store would.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use crate::{path, Cls, ClsStore, Scoped};

/// What the `tx` module keeps per context, beside the user's own stores.
///
/// `entries` is `#[cls(local)]`: a live transaction never follows spawned work. `carried`
/// is carried, so spawned work knows that a transaction was live where it was spawned and
/// can refuse to autocommit in its place.
#[derive(ClsStore, Clone, Default)]
pub(crate) struct TxScope {
    #[cls(local)]
    entries: Entries,
    carried: Carried,
}

/// The state of each host that has one here, by host id; a handful at most, so a vector.
#[derive(Clone, Default)]
pub(crate) struct Entries(Vec<Entry>);

#[derive(Clone)]
struct Entry {
    host: u64,
    state: State,
    /// Inside a `with_conn` closure, which holds the connection.
    lent: bool,
}

/// The transaction of one host in the calling code.
#[derive(Clone)]
pub(crate) enum State {
    /// No transaction, and none suspended.
    Absent,
    /// The level (transaction or savepoint) that statements here run in, type-erased
    /// because the store is one for every database type.
    Live(Arc<dyn Any + Send + Sync>),
    /// A transaction is suspended here (`RequiresNew` before its own begins,
    /// `NotSupported`, `Never`): statements use pooled connections.
    Suspended,
}

/// Ids of the hosts with a transaction live where this context was copied from.
#[derive(Clone, Default)]
pub(crate) struct Carried(Vec<u64>);

/// Private, so that only this module opens or changes the scope.
const TX: Cls<TxScope> = Cls::new();

/// What the calling code has for one host.
pub(crate) struct Here {
    pub(crate) state: State,
    pub(crate) lent: bool,
    /// A transaction was live where this work was spawned, and none is live here.
    pub(crate) not_carried: bool,
}

/// The state of `host` in the calling code.
pub(crate) fn here(host: u64) -> Here {
    if !TX.is_active() {
        return Here {
            state: State::Absent,
            lent: false,
            not_carried: false,
        };
    }
    let (state, lent) =
        TX.with::<path!(entries), _>(|entries| match entries.0.iter().find(|e| e.host == host) {
            Some(entry) => (entry.state.clone(), entry.lent),
            None => (State::Absent, false),
        });
    let not_carried = matches!(state, State::Absent)
        && TX.with::<path!(carried), _>(|carried| carried.0.contains(&host));
    Here {
        state,
        lent,
        not_carried,
    }
}

/// Calls `f` with what the calling code has for `host` (its state, whether the connection
/// is lent, whether a transaction was not carried here), without cloning the state: the
/// path of every `conn()`.
pub(crate) fn with_here<R>(host: u64, f: impl FnOnce(&State, bool, bool) -> R) -> R {
    if !TX.is_active() {
        return f(&State::Absent, false, false);
    }
    // `f` runs inside the read: reading the scope again there (`carried`) is allowed, and
    // `f` only looks at the state.
    TX.with::<path!(entries), _>(|entries| match entries.0.iter().find(|e| e.host == host) {
        Some(entry) => {
            let not_carried = matches!(entry.state, State::Absent) && carried(host);
            f(&entry.state, entry.lent, not_carried)
        }
        None => f(&State::Absent, false, carried(host)),
    })
}

fn carried(host: u64) -> bool {
    TX.with::<path!(carried), _>(|carried| carried.0.contains(&host))
}

/// How a child context differs from its parent for one host.
pub(crate) enum Change {
    /// Same transaction (a joined call).
    Keep,
    /// Statements run in this level.
    Enter(Arc<dyn Any + Send + Sync>),
    /// Statements use pooled connections.
    Suspend,
    /// The connection is lent to a `with_conn` closure.
    Lend,
}

/// Runs `fut` in a child context of the transaction scope, changed for `host` by `change`.
pub(crate) fn child<F: Future>(host: u64, change: Change, fut: F) -> Scoped<ChildFuture<F>> {
    TX.run(ChildFuture {
        host,
        change: Some(change),
        fut,
    })
}

pin_project_lite::pin_project! {
    /// Applies its change to the child context on the first poll, from inside it, then
    /// polls the inner future.
    pub(crate) struct ChildFuture<F> {
        host: u64,
        change: Option<Change>,
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for ChildFuture<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        if let Some(change) = this.change.take() {
            apply(*this.host, change);
        }
        this.fut.poll(cx)
    }
}

fn apply(host: u64, change: Change) {
    let (state, lent, live) = match change {
        Change::Keep => return,
        Change::Enter(level) => (Some(State::Live(level)), false, Some(true)),
        Change::Suspend => (Some(State::Suspended), false, Some(false)),
        Change::Lend => (None, true, None),
    };
    TX.update::<path!(entries), _>(|entries| {
        let position = match entries.0.iter().position(|e| e.host == host) {
            Some(position) => position,
            None => {
                entries.0.push(Entry {
                    host,
                    state: State::Absent,
                    lent: false,
                });
                entries.0.len() - 1
            }
        };
        let entry = &mut entries.0[position];
        if let Some(state) = state {
            entry.state = state;
        }
        entry.lent = lent;
    });
    if let Some(live) = live {
        TX.update::<path!(carried), _>(|carried| {
            carried.0.retain(|&h| h != host);
            if live {
                carried.0.push(host);
            }
        });
    }
}
