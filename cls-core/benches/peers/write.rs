//! The `write` group: set and update of a u64 in an unshared store, against the cls read.

use std::hint::black_box;

use cls_core::path;

use crate::harness::{Group, Harness, Term};
use crate::read::cls_read_loop;
use crate::{app_store, CLS, UNROLL, USER_ID};

pub(crate) fn run(h: &mut Harness) {
    h.run(
        Group::new(
            "write",
            "set / update of user.id (unshared store) vs the cls read",
        )
        .case("cls CLS.get::<path!(user.id)>()", |n| {
            CLS.run_with_sync(app_store(), || cls_read_loop(n))
        })
        .case("cls CLS.set::<path!(user.id)>(v)", |n| {
            CLS.run_with_sync(app_store(), || {
                let elapsed = time_unrolled!(n, CLS.set::<path!(user.id)>(black_box(USER_ID + 1)));
                assert_eq!(CLS.get::<path!(user.id)>(), USER_ID + 1);
                elapsed
            })
        })
        .case("cls CLS.update::<path!(user.id), _>(|id| *id += 1)", |n| {
            CLS.run_with_sync(app_store(), || {
                let elapsed =
                    time_unrolled!(n, CLS.update::<path!(user.id), _>(|id| *id += black_box(1)));
                assert_eq!(
                    CLS.get::<path!(user.id)>(),
                    USER_ID + n.div_ceil(UNROLL) * UNROLL
                );
                elapsed
            })
        })
        .target("cls set / cls get", Term::Case(1), Term::Case(0), 5.0)
        .target("cls update / cls get", Term::Case(2), Term::Case(0), 5.0),
    );
}
