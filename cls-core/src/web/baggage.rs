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
/// not used is dropped: the whole header past the W3C limits (8,192 bytes, 64 members;
/// nothing partial), an invalid member (bad escape, control character, non-UTF-8), and a
/// value that does not parse as its field's type. Each drop is a `debug` event (through
/// `tracing` with the `tracing` feature, else through `log` with the `log` feature; neither:
/// silent) that names the reason and shows the member only escaped and cut short, so no
/// byte a client sent reaches a log line raw. A request without `baggage` costs one header
/// lookup.
pub(crate) fn fill_from_baggage<S: ClsStore>(headers: &HeaderMap, store: &mut S) {
    if !headers.contains_key(BAGGAGE) {
        return;
    }
    let baggage = match Baggage::parse_all(headers.get_all(BAGGAGE).iter()) {
        Ok(baggage) => baggage,
        Err(refused) => {
            debug_dropped(format_args!("{refused}; no member used"));
            return;
        }
    };
    for rejected in baggage.rejected() {
        debug_dropped(format_args!("{rejected}"));
    }
    for member in &baggage {
        // `Ok(false)`: not a declared key, left for the services down the line.
        if let Err(unparsable) =
            crate::set_tagged(store, FieldTag::Propagate, member.key(), member.value())
        {
            // The error names the key, never the value.
            debug_dropped(format_args!("inbound baggage member dropped: {unparsable}"));
        }
    }
}

/// One `debug` event for what inbound baggage lost, on whichever logging facade is built in.
#[cfg_attr(
    not(any(feature = "tracing", feature = "log")),
    allow(unused_variables)
)]
fn debug_dropped(message: std::fmt::Arguments<'_>) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "cls_core::web::baggage", "{message}");
    #[cfg(all(feature = "log", not(feature = "tracing")))]
    log::debug!(target: "cls_core::web::baggage", "{message}");
}
