//! The `sync_scope` group: enter + exit of a synchronous scope.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use cls_core::{Cls, ClsStore};

use crate::harness::{Group, Harness, Term};

/// The small store of the enter+exit group.
#[derive(ClsStore, Clone, Default)]
struct Small {
    id: u64,
}

const SMALL: Cls<Small> = Cls::new();

tokio::task_local! {
    static SMALL_KEY: Arc<Small>;
    static COPY_KEY: u64;
}

pub(crate) fn run(h: &mut Harness) {
    let small = Arc::new(Small { id: 1 });
    h.run(
        Group::new(
            "sync_scope",
            "run_with_sync enter+exit (small store) vs tokio sync_scope",
        )
        .case("tokio SMALL_KEY.sync_scope(arc.clone(), f)", |n| {
            let start = Instant::now();
            for _ in 0..n {
                SMALL_KEY.sync_scope(black_box(&small).clone(), || black_box(0_u64));
            }
            start.elapsed()
        })
        .case("cls SMALL.run_with_sync(Small { id }, f)", |n| {
            let start = Instant::now();
            for i in 0..n {
                SMALL.run_with_sync(Small { id: black_box(i) }, || black_box(0_u64));
            }
            start.elapsed()
        })
        .case(
            "tokio SMALL_KEY.sync_scope(Arc::new(Small { id }), f)",
            |n| {
                let start = Instant::now();
                for i in 0..n {
                    SMALL_KEY.sync_scope(Arc::new(Small { id: black_box(i) }), || black_box(0_u64));
                }
                start.elapsed()
            },
        )
        .case("tokio COPY_KEY.sync_scope(i, f), a Copy u64", |n| {
            let start = Instant::now();
            for i in 0..n {
                COPY_KEY.sync_scope(black_box(i), || black_box(0_u64));
            }
            start.elapsed()
        })
        .case(
            "cls SMALL.run_sync(f) inside a Small context (shares the Arc)",
            |n| {
                SMALL.run_with_sync(Small { id: 1 }, || {
                    let start = Instant::now();
                    for _ in 0..n {
                        SMALL.run_sync(|| black_box(0_u64));
                    }
                    start.elapsed()
                })
            },
        )
        .target(
            "cls run_with_sync / tokio sync_scope(arc.clone())",
            Term::Case(1),
            Term::Case(0),
            3.0,
        )
        .info(
            "cls run_with_sync / tokio sync_scope(Arc::new(..))",
            Term::Case(1),
            Term::Case(2),
        ),
    );
}
