//! The unpublished package of the integrations' tests and examples: the web layer, logging,
//! transactions and W3C propagation, each against real servers, files and clients. Its
//! only code is the README's, run as doc tests; see `tests/` and `examples/`, and
//! `cls-core` for the library.

/// The README's Rust examples, compiled and run as doctests so the README cannot drift
/// from the API. They live here, where every feature and the web stack are dev-dependencies.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
