//! Stores and helpers shared by the behaviour tests (`mod common;` in each test file).

// Each test file uses a different part of this module.
#![allow(dead_code, unused_macros)]

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use cls_core::{Cls, ClsStore};

/// Nested in [`AppStore`], reached by two-segment paths such as `path!(user.id)`.
#[derive(ClsStore, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) name: String,
}

/// The main store of the tests. It has no `#[cls(local)]` field, so carrying it into other
/// work shares it (copy-on-write) instead of copying it.
#[derive(ClsStore, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AppStore {
    pub(crate) request_id: String,
    pub(crate) user: User,
    pub(crate) step: u32,
}

/// A second store type, active at the same time as the others.
#[derive(ClsStore, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TraceStore {
    pub(crate) trace_id: u64,
    pub(crate) span: String,
}

/// Nested in [`TxStore`]: a nested store with a `#[cls(local)]` field of its own.
#[derive(ClsStore, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) user_id: u64,
    #[cls(local)]
    pub(crate) token: Option<String>,
}

/// A store with `#[cls(local)]` fields, at the top level and in a nested store: carrying it
/// into other work copies it with those fields reset.
#[derive(ClsStore, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TxStore {
    pub(crate) request_id: String,
    pub(crate) session: Session,
    #[cls(local)]
    pub(crate) tx: Option<u32>,
}

pub(crate) const CLS: Cls<AppStore> = Cls::new();
pub(crate) const TRACE: Cls<TraceStore> = Cls::new();
pub(crate) const TX: Cls<TxStore> = Cls::new();

/// An `AppStore` whose user is `user_id`.
pub(crate) fn app(request_id: &str, user_id: u64) -> AppStore {
    AppStore {
        request_id: request_id.to_owned(),
        user: User {
            id: user_id,
            name: format!("user-{user_id}"),
        },
        step: 0,
    }
}

/// A `TraceStore` with `trace_id`.
pub(crate) fn trace(trace_id: u64) -> TraceStore {
    TraceStore {
        trace_id,
        span: format!("span-{trace_id}"),
    }
}

/// A `TxStore` whose local fields (`tx`, `session.token`) are set.
pub(crate) fn tx_store(request_id: &str, user_id: u64) -> TxStore {
    TxStore {
        request_id: request_id.to_owned(),
        session: Session {
            user_id,
            token: Some(format!("token-{user_id}")),
        },
        tx: Some(41),
    }
}

/// The message of a caught panic.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else {
        String::from("<non-string panic payload>")
    }
}

/// Calls `f`, which must panic, and returns the panic message.
#[track_caller]
pub(crate) fn panic_of<R>(f: impl FnOnce() -> R) -> String {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(payload) => panic_message(&*payload),
    }
}

/// A tiny deterministic pseudo-random generator (xorshift64), so that the tests need no
/// RNG dependency and every run makes the same choices.
#[derive(Debug, Clone)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        // Mix the seed so that small consecutive seeds give unrelated sequences; never 0.
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..bound`.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// Stamps out one test per runtime kind for a guarantee where the kind could matter:
/// `name::current_thread` and `name::multi_thread` (two workers). The body runs in a
/// spawned task, so on the multi-thread runtime it can move between worker threads at every
/// await, as real request handlers do; a panic in it fails the test with its own message.
macro_rules! on_both_runtimes {
    ($($(#[$attr:meta])* async fn $name:ident() $body:block)*) => {$(
        $(#[$attr])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "current_thread")]
            async fn current_thread() {
                if let Err(err) = tokio::spawn(async move $body).await {
                    std::panic::resume_unwind(err.into_panic());
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn multi_thread() {
                if let Err(err) = tokio::spawn(async move $body).await {
                    std::panic::resume_unwind(err.into_panic());
                }
            }
        }
    )*};
}
