//! OpenTelemetry interop: the current context as an `opentelemetry::Context`, and a store
//! filled from one.
//!
//! OpenTelemetry carries baggage as untyped strings in its own `Context`; cls carries
//! typed, allow-listed fields in its stores. This module converts between the two, so a
//! service can use OpenTelemetry's tracers and propagators alongside (or instead of)
//! [`ClsLayer`](crate::web::ClsLayer) and [`PropagateLayer`](crate::web::PropagateLayer):
//!
//! - [`context`]: `opentelemetry::Context::current()` plus the `#[cls(propagate)]` fields
//!   of every active store type as OTel baggage (cls's values win over entries with the
//!   same key), and, with the `tower` feature, the inbound trace context of the request
//!   being served as the remote parent span. Give it to a tracer to start spans that are
//!   children of the caller's, or to a propagator to send the fields on.
//! - [`fill`] (and [`fill_from_baggage`]): the reverse, a store's `#[cls(propagate)]` fields
//!   set from the baggage of an OTel context, each value parsed with `FromStr`, what was
//!   dropped listed in a [`FillReport`].
//! - [`span_context`]: a parsed W3C [`TraceContext`](crate::w3c::TraceContext) as an OTel
//!   `SpanContext`.
//!
//! # Round trip
//!
//! ```
//! use std::collections::HashMap;
//!
//! use cls_core::{otel, Cls, ClsStore};
//! use opentelemetry::propagation::TextMapPropagator;
//! use opentelemetry_sdk::propagation::BaggagePropagator;
//!
//! #[derive(ClsStore, Clone, Default)]
//! struct AppStore {
//!     #[cls(propagate)]
//!     tenant: String,
//!     #[cls(propagate = "user.id")]
//!     user_id: Option<u64>,
//! }
//!
//! // Service A: its fields go out through OpenTelemetry's propagator.
//! let store = AppStore { tenant: "Zürich".into(), user_id: Some(7) };
//! let cx = Cls::<AppStore>::new().run_with_sync(store, otel::context);
//! let mut headers = HashMap::new();
//! BaggagePropagator::new().inject_context(&cx, &mut headers);
//!
//! // Service B: OpenTelemetry extracts, cls fills a fresh store with typed values.
//! let cx = BaggagePropagator::new().extract(&headers);
//! let mut store = AppStore::default();
//! let report = otel::fill(&mut store, &cx);
//! assert_eq!((store.tenant.as_str(), store.user_id), ("Zürich", Some(7)));
//! assert!(report.rejected().is_empty());
//! ```
//!
//! # Which wire code to use
//!
//! Between cls services, [`PropagateLayer`](crate::web::PropagateLayer) and
//! [`ClsLayer`](crate::web::ClsLayer) read and write the headers themselves (and every
//! `baggage` header of a request, where opentelemetry-rust's propagator reads only the
//! first). Use this module where OpenTelemetry is already in the path: a tracer that must
//! parent its spans on the caller, an OTel-instrumented client, a framework that hands
//! you an extracted `opentelemetry::Context`. Both write the same W3C formats, read by
//! either side; one difference: opentelemetry-rust 0.33's `BaggagePropagator` writes `%`
//! unescaped (`50% off` as `50%%20off`). The Baggage grammar admits a raw `%`, but a
//! percent-decoder cannot tell it from a broken escape, and a broken escape (`%ZZ`) is
//! dropped here rather than guessed at, so [`w3c::Baggage`](crate::w3c::Baggage) (and
//! `ClsLayer`) drops that member; it also leaves `\` unescaped, which the grammar does
//! not admit, with the same result. Such a value sent by that propagator arrives intact
//! only through OpenTelemetry's own extraction and [`fill`]. Values sent by cls read back
//! exactly on both sides.
//!
//! # Trust model
//!
//! Baggage is client input: anyone who can send a request can set any key to any value.
//! [`fill`] takes only keys the store declares, parses each value into its field's type
//! and drops what does not parse or holds a control character, so a handler sees a
//! well-formed value, but not a true one: never use a propagated field for
//! authorization (a tenant or user id from baggage says what the caller claims, not who
//! it is), and check or override such fields from authenticated data before relying on
//! them. [`context`] sends every `#[cls(propagate)]` field to whoever receives the OTel
//! context's baggage, so mark only what may leave the process. Reports and errors name
//! keys, never values.

#![cfg_attr(docsrs, doc(cfg(feature = "opentelemetry")))]

mod context;
mod fill;

pub use self::context::{context, span_context};
pub use self::fill::{fill, fill_from_baggage, FillReport, RejectReason, RejectedValue};
