//! The `contexts` group: the read with many live contexts.

use std::time::Duration;

use crate::harness::{Group, Harness, Term};
use crate::read::cls_read_loop;
use crate::{app_store, Tenant, Trace, CLS, TENANT, TRACE};

/// `levels` nested contexts of `AppStore`, then `body`.
fn nest_same(levels: usize, body: &mut dyn FnMut() -> Duration) -> Duration {
    if levels == 0 {
        return body();
    }
    CLS.run_with_sync(app_store(), || nest_same(levels - 1, body))
}

/// `levels` times: a context of `AppStore`, then `Tenant` and `Trace` inside it; then `body`.
/// The innermost `AppStore` frame is two frames from the top.
pub(crate) fn nest_levels(levels: usize, body: &mut dyn FnMut() -> Duration) -> Duration {
    if levels == 0 {
        return body();
    }
    CLS.run_with_sync(app_store(), || {
        TENANT.run_with_sync(Tenant { id: 1 }, || {
            TRACE.run_with_sync(Trace { span: 2 }, || nest_levels(levels - 1, body))
        })
    })
}

/// `frames` contexts of `Tenant` and `Trace` by turns, then `body`.
pub(crate) fn nest_other_types(frames: usize, body: &mut dyn FnMut() -> Duration) -> Duration {
    match frames {
        0 => body(),
        _ if frames % 2 == 0 => {
            TENANT.run_with_sync(Tenant { id: 1 }, || nest_other_types(frames - 1, body))
        }
        _ => TRACE.run_with_sync(Trace { span: 2 }, || nest_other_types(frames - 1, body)),
    }
}

pub(crate) fn run(h: &mut Harness) {
    h.run(
        Group::new(
            "contexts",
            "get::<path!(user.id)>() with many live contexts",
        )
        .case("1 AppStore context", |n| {
            nest_same(1, &mut || cls_read_loop(n))
        })
        .case("1,000 nested AppStore contexts", |n| {
            nest_same(1_000, &mut || cls_read_loop(n))
        })
        .case("1 level of (AppStore, Tenant, Trace)", |n| {
            nest_levels(1, &mut || cls_read_loop(n))
        })
        .case(
            "1,000 levels of (AppStore, Tenant, Trace): 3,000 contexts",
            |n| nest_levels(1_000, &mut || cls_read_loop(n)),
        )
        .case("AppStore outside 8 contexts of other types", |n| {
            CLS.run_with_sync(app_store(), || {
                nest_other_types(8, &mut || cls_read_loop(n))
            })
        })
        .case("AppStore outside 1,000 contexts of other types", |n| {
            CLS.run_with_sync(app_store(), || {
                nest_other_types(1_000, &mut || cls_read_loop(n))
            })
        })
        .target(
            "1,000 AppStore contexts / 1",
            Term::Case(1),
            Term::Case(0),
            1.25,
        )
        .target(
            "1,000 levels / 1 level of (AppStore, Tenant, Trace)",
            Term::Case(3),
            Term::Case(2),
            1.25,
        )
        .target(
            "2 other-type frames on top / none",
            Term::Case(2),
            Term::Case(0),
            1.3,
        )
        .info(
            "8 other-type frames on top / none",
            Term::Case(4),
            Term::Case(0),
        )
        .info(
            "1,000 other-type frames on top / none",
            Term::Case(5),
            Term::Case(0),
        ),
    );
}
