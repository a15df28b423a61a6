//! The unpublished workspace package: it owns the core's runnable `examples/` and its
//! behaviour-named tests in `tests/` (the compile-fail tests and the ones Miri runs). The
//! library itself is `cls-core`; the integrations' tests and the README's doc tests are in
//! `integration/`.
