//! The `json` group: paths given as strings.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cls_core::{path, Cls, ClsStore};

use crate::harness::{Group, Harness, Term};
use crate::USER_ID;

/// A serde user, for the paths-as-strings group.
#[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
struct JsonUser {
    id: u64,
    name: String,
}

/// A store whose rest is small.
#[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
struct SmallJson {
    request_id: String,
    user: JsonUser,
}

/// The same, carrying a 1,000-element vector elsewhere: reading or writing `user.id` as
/// JSON must not cost more for it.
#[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
struct BigJson {
    request_id: String,
    user: JsonUser,
    history: Vec<u64>,
}

const SMALL_JSON: Cls<SmallJson> = Cls::new();
const BIG_JSON: Cls<BigJson> = Cls::new();

fn big_json() -> BigJson {
    BigJson {
        request_id: "req-1".to_owned(),
        user: JsonUser {
            id: USER_ID,
            name: "ada".to_owned(),
        },
        history: (0..1_000).collect(),
    }
}

fn small_json() -> SmallJson {
    SmallJson {
        request_id: "req-1".to_owned(),
        user: JsonUser {
            id: USER_ID,
            name: "ada".to_owned(),
        },
    }
}

pub(crate) fn run(h: &mut Harness) {
    h.run(
        Group::new(
            "json",
            "get_json / set_json of user.id vs the typed get, with and without a 1,000-element vector elsewhere",
        )
        .case("cls BIG_JSON.get::<path!(user.id)>()", |n| {
            BIG_JSON.run_with_sync(big_json(), || {
                time_unrolled!(n, black_box(BIG_JSON.get::<path!(user.id)>()))
            })
        })
        .case("cls SMALL_JSON.get_json(\"user.id\")", |n| {
            SMALL_JSON.run_with_sync(small_json(), || time_json_op(n, get_user_id(SMALL_JSON)))
        })
        .case("cls BIG_JSON.get_json(\"user.id\")", |n| {
            BIG_JSON.run_with_sync(big_json(), || time_json_op(n, get_user_id(BIG_JSON)))
        })
        .case("cls SMALL_JSON.set_json(\"user.id\", v), unshared", |n| {
            SMALL_JSON.run_with_sync(small_json(), || time_json_op(n, set_user_id(SMALL_JSON)))
        })
        .case("cls BIG_JSON.set_json(\"user.id\", v), unshared", |n| {
            BIG_JSON.run_with_sync(big_json(), || time_json_op(n, set_user_id(BIG_JSON)))
        })
        .target("get_json with a 1,000-element vector / without", Term::Case(2), Term::Case(1), 1.25)
        .target("get_json / typed get", Term::Case(2), Term::Case(0), 100.0)
        .target("set_json with a 1,000-element vector / without", Term::Case(4), Term::Case(3), 1.25),
    );
}

/// Times `n` calls of `op(i)` inside the current context.
fn time_json_op(n: u64, mut op: impl FnMut(u64)) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        op(i);
    }
    start.elapsed()
}

fn get_user_id<S: ClsStore>(cls: Cls<S>) -> impl FnMut(u64) {
    move |_| {
        black_box(cls.get_json(black_box("user.id")).ok());
    }
}

fn set_user_id<S: ClsStore>(cls: Cls<S>) -> impl FnMut(u64) {
    move |i| {
        let value = serde_json::Value::from(black_box(i));
        black_box(cls.set_json(black_box("user.id"), value).ok());
    }
}
