//! The inbound half of `#[cls(propagate)]`: a request's `baggage` headers into a fresh store.

use http::{HeaderMap, HeaderName};

use crate::w3c::Baggage;
use crate::{ClsStore, FieldTag};

/// The header W3C Baggage travels in.
pub(crate) const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// Fills the `#[cls(propagate)]` fields of `store` from every `baggage` header of a request
/// (combined as one list, as RFC 7230 does), before the setup runs.
///
/// Only declared keys are used; a key appearing twice keeps its first valid member. What is
/// not used is dropped without a trace: the whole header past the W3C limits (8,192 bytes,
/// 64 members; nothing partial), an invalid member (bad escape, control character,
/// non-UTF-8), and a value that does not parse as its field's type. Nothing is logged (this
/// module has no logging dependency), so nothing a client sent can reach a log line from
/// here. A request without `baggage` costs one header lookup.
pub(crate) fn fill_from_baggage<S: ClsStore>(headers: &HeaderMap, store: &mut S) {
    if !headers.contains_key(BAGGAGE) {
        return;
    }
    let Ok(baggage) = Baggage::parse_all(headers.get_all(BAGGAGE).iter()) else {
        return;
    };
    for member in &baggage {
        // `Ok(false)`: not a declared key; `Err`: did not parse. Both leave the field as is.
        let _ = crate::set_tagged(store, FieldTag::Propagate, member.key(), member.value());
    }
}
