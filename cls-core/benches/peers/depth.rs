//! The `depth` group: the same read at path depth 1 to 6.

use std::hint::black_box;
use std::time::Duration;

use cls_core::{path, Cls, ClsStore};

use crate::harness::{Group, Harness, Term};

/// Six nested stores: `v` at depth 1 is `path!(v)`, at depth 6 `path!(d2.d3.d4.d5.d6.v)`.
#[derive(ClsStore, Clone, Default)]
pub(crate) struct D1 {
    v: u64,
    d2: D2,
}

#[derive(ClsStore, Clone, Default)]
pub(crate) struct D2 {
    v: u64,
    d3: D3,
}

#[derive(ClsStore, Clone, Default)]
pub(crate) struct D3 {
    v: u64,
    d4: D4,
}

#[derive(ClsStore, Clone, Default)]
pub(crate) struct D4 {
    v: u64,
    d5: D5,
}

#[derive(ClsStore, Clone, Default)]
pub(crate) struct D5 {
    v: u64,
    d6: D6,
}

#[derive(ClsStore, Clone, Default)]
pub(crate) struct D6 {
    v: u64,
}

pub(crate) const DEEP: Cls<D1> = Cls::new();

pub(crate) fn deep_store() -> D1 {
    let d6 = D6 { v: 6 };
    let d5 = D5 { v: 5, d6 };
    let d4 = D4 { v: 4, d5 };
    let d3 = D3 { v: 3, d4 };
    let d2 = D2 { v: 2, d3 };
    D1 { v: 1, d2 }
}

macro_rules! deep_read_loop {
    ($name:ident, $($path:tt)+) => {
        #[inline(never)]
        fn $name(n: u64) -> Duration {
            time_unrolled!(n, black_box(DEEP.get::<path!($($path)+)>()))
        }
    };
}

deep_read_loop!(read_depth_1, v);
deep_read_loop!(read_depth_2, d2.v);
deep_read_loop!(read_depth_3, d2.d3.v);
deep_read_loop!(read_depth_4, d2.d3.d4.v);
deep_read_loop!(read_depth_5, d2.d3.d4.d5.v);
deep_read_loop!(read_depth_6, d2.d3.d4.d5.d6.v);

pub(crate) fn run(h: &mut Harness) {
    let in_deep = |read: fn(u64) -> Duration| move |n| DEEP.run_with_sync(deep_store(), || read(n));
    h.run(
        Group::new(
            "depth",
            "get of a u64 at path depth 1..6 (nested stores D1..D6)",
        )
        .case("depth 1: path!(v)", in_deep(read_depth_1))
        .case("depth 2: path!(d2.v)", in_deep(read_depth_2))
        .case("depth 3: path!(d2.d3.v)", in_deep(read_depth_3))
        .case("depth 4: path!(d2.d3.d4.v)", in_deep(read_depth_4))
        .case("depth 5: path!(d2.d3.d4.d5.v)", in_deep(read_depth_5))
        .case("depth 6: path!(d2.d3.d4.d5.d6.v)", in_deep(read_depth_6))
        .target("depth 6 / depth 1", Term::Case(5), Term::Case(0), 1.25),
    );
}
