//! The `read` group: one u64 at depth 2, in a sync scope.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use cls_core::path;

use crate::harness::{Group, Harness, Term};
use crate::{app_store, CLS, CTX};

#[inline(never)]
pub(crate) fn tokio_user_id() -> u64 {
    CTX.with(|ctx| ctx.user.id)
}

#[inline(never)]
pub(crate) fn cls_user_id() -> u64 {
    CLS.get::<path!(user.id)>()
}

/// The read loops are functions of their own so that cases which differ only in the
/// contexts around them run the very same machine code.
#[inline(never)]
fn tokio_read_loop(n: u64) -> Duration {
    time_unrolled!(n, black_box(CTX.with(|ctx| ctx.user.id)))
}

#[inline(never)]
pub(crate) fn cls_read_loop(n: u64) -> Duration {
    time_unrolled!(n, black_box(CLS.get::<path!(user.id)>()))
}

pub(crate) fn run(h: &mut Harness) {
    let ctx = Arc::new(app_store());
    h.run(
        Group::new(
            "read",
            "get::<path!(user.id)>() (u64, depth 2) vs tokio task_local `with`",
        )
        .case("tokio CTX.with(|c| c.user.id), CTX: Arc<AppStore>", |n| {
            CTX.sync_scope(ctx.clone(), || tokio_read_loop(n))
        })
        .case("cls CLS.get::<path!(user.id)>()", |n| {
            CLS.run_with_sync(app_store(), || cls_read_loop(n))
        })
        .case("tokio, behind a non-inlined call", |n| {
            CTX.sync_scope(ctx.clone(), || {
                time_unrolled!(n, black_box(tokio_user_id()))
            })
        })
        .case("cls, behind a non-inlined call", |n| {
            CLS.run_with_sync(app_store(), || time_unrolled!(n, black_box(cls_user_id())))
        })
        .case("floor: ctx.user.id through a plain &AppStore", |n| {
            let store = app_store();
            time_unrolled!(n, black_box(black_box(&store).user.id))
        })
        .target("cls get / tokio with", Term::Case(1), Term::Case(0), 3.0)
        .target(
            "cls get / tokio with, both behind a call",
            Term::Case(3),
            Term::Case(2),
            3.0,
        ),
    );
}
