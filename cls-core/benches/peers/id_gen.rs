//! The `id_gen` group: making a request id, text included.
//!
//! The peer is what tower-http's `MakeRequestUuid` does per request. The aim is
//! ~30 ns per id, about a tenth of that peer here: hence the 0.1 limit.

use std::hint::black_box;

use cls_core::web::{uuid_v4, uuid_v7};
use rand::Rng;

use crate::harness::{Group, Harness, Term};

/// What tower-http's `MakeRequestUuid` does for every request.
fn tower_http_style() -> http::HeaderValue {
    match http::HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        Ok(value) => value,
        Err(_) => unreachable!("a UUID is a valid header value"),
    }
}

/// `uuid`'s own cost: the id and its text in a stack buffer, no allocation.
fn uuid_crate_text() -> [u8; 36] {
    let mut text = [0; 36];
    uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
    text
}

/// The randomness of one id from the thread-local generator, and nothing else.
fn random_128() -> u128 {
    let mut rng = rand::rng();
    (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
}

pub(crate) fn run(h: &mut Harness) {
    h.run(
        Group::new(
            "id_gen",
            "a new request id (UUID text in a header value) vs uuid::Uuid::new_v4()",
        )
        .case(
            "uuid new_v4 (default features) -> String -> HeaderValue",
            |n| time_unrolled!(n, black_box(tower_http_style())),
        )
        .case("cls web::uuid_v4() -> RequestId", |n| {
            time_unrolled!(n, black_box(uuid_v4()))
        })
        .case("cls web::uuid_v7() -> RequestId", |n| {
            time_unrolled!(n, black_box(uuid_v7()))
        })
        .case("uuid new_v4 (default features), text on the stack", |n| {
            time_unrolled!(n, black_box(uuid_crate_text()))
        })
        .case(
            "cls web::uuid_v4().header_value() (the layer's echo)",
            |n| time_unrolled!(n, black_box(uuid_v4().header_value())),
        )
        .case("floor: 128 bits from rand::rng()", |n| {
            time_unrolled!(n, black_box(random_128()))
        })
        .target(
            "cls uuid_v4 / tower-http style uuid header",
            Term::Case(1),
            Term::Case(0),
            0.1,
        )
        .info(
            "cls uuid_v4 / uuid new_v4 text only",
            Term::Case(1),
            Term::Case(3),
        )
        .info("cls uuid_v7 / cls uuid_v4", Term::Case(2), Term::Case(1))
        .info(
            "cls uuid_v4 + header_value / peer",
            Term::Case(4),
            Term::Case(0),
        )
        .info("randomness / cls uuid_v4", Term::Case(5), Term::Case(1)),
    );
}
