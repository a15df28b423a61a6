//! The unpublished workspace package: it owns the runnable `examples/` and the
//! behaviour-named integration tests in `tests/`. The library itself is `cls-core`.
