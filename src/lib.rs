//! The unpublished workspace package: it owns the runnable `examples/` and the
//! behaviour-named integration tests in `tests/`. The library itself is `cls-core`.

/// The README's Rust examples, compiled and run as doctests so the README cannot drift
/// from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
