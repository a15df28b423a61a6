//! The wire formats that carry a context across services: W3C Baggage (the `baggage`
//! header) and W3C Trace Context level 1 (`traceparent` and `tracestate`).
//!
//! These are the codecs alone, pure functions over header values with no dependency:
//! the web layer reads inbound headers with them and writes outbound ones. They follow
//! the specifications exactly where a peer's behaviour depends on it, and are strict
//! where the input is a client's: inbound baggage is client input, to be validated and
//! allow-listed, never trusted for authorization.
//!
//! - [`Baggage`]: the members of one or several `baggage` headers, borrowed, values
//!   percent-decoded; invalid members dropped one by one and listed with the reason
//!   ([`RejectedMember`]); a header past [`MAX_BAGGAGE_BYTES`] or
//!   [`MAX_BAGGAGE_MEMBERS`] refused whole ([`BaggageError`]).
//! - [`BaggageEncoder`]: appends members to an existing `baggage` value without replacing
//!   anything, percent-encoding values as their `Display` writes them, never past the
//!   limits, never a partial member ([`EncodeError`]); text values go faster through
//!   [`push_str`](BaggageEncoder::push_str), which skips `fmt`.
//! - [`TraceContext`]: a parsed `traceparent` ([`TraceId`], [`SpanId`], flags) and its
//!   `tracestate`, checked member by member, kept verbatim or truncated by whole members
//!   to [`MAX_TRACESTATE_BYTES`] and [`MAX_TRACESTATE_MEMBERS`] as the specification
//!   says; [`child`](TraceContext::child) for an outgoing call and
//!   [`traceparent`](TraceContext::traceparent) to write it ([`TraceParent`]).
//!
//! # Round trip
//!
//! ```
//! use cls_core::w3c::{Baggage, BaggageEncoder, TraceContext};
//!
//! // Service A writes its fields, merged with a member already on the request.
//! let mut header = String::from("other=1");
//! let mut encoder = BaggageEncoder::new(&mut header);
//! encoder.push("tenant", "acme corp")?;
//! encoder.push("user.id", &42_u64)?;
//! assert_eq!(header, "other=1,tenant=acme%20corp,user.id=42");
//!
//! // Service B reads the fields it declares, each parsed into its type.
//! let baggage = Baggage::parse(&header)?;
//! let user_id: u64 = baggage.get("user.id").unwrap().parse()?;
//! assert_eq!((baggage.get("tenant"), user_id), (Some("acme corp"), 42));
//!
//! // The trace continues: same trace id, new parent id.
//! let inbound = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
//! let outbound = inbound.child();
//! assert_eq!(outbound.trace_id(), inbound.trace_id());
//! assert_ne!(outbound.parent_id(), inbound.parent_id());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Hostile input
//!
//! Every error's `Display` escapes what came from the peer (`\n`, `\xff`) and cuts it
//! short, so logging a [`RejectedMember`] or an error cannot split or forge a log line.
//! A decoded value never contains a control character. Work is bounded by the limits:
//! a `baggage` header past them is refused after reading at most [`MAX_BAGGAGE_BYTES`] of
//! it, a `tracestate` after [`MAX_TRACESTATE_READ_BYTES`].
//! The workspace's `tests/test_w3c_codec.rs` runs the specifications' examples, the
//! limits at and past the edge, and property tests on arbitrary input.

#![cfg_attr(docsrs, doc(cfg(feature = "w3c")))]

mod baggage;
mod chars;
mod encode;
mod ids;
mod random;
mod trace_context;
mod tracestate;

pub use self::baggage::{
    Baggage, BaggageError, BaggageMember, MemberErrorKind, RejectedMember, MAX_BAGGAGE_BYTES,
    MAX_BAGGAGE_MEMBERS,
};
pub use self::encode::{BaggageEncoder, EncodeError};
pub use self::ids::{SpanId, TraceId};
pub use self::trace_context::{TraceContext, TraceContextError, TraceField, TraceParent};
pub use self::tracestate::{
    TraceStateError, MAX_TRACESTATE_BYTES, MAX_TRACESTATE_MEMBERS, MAX_TRACESTATE_READ_BYTES,
};
