//! Compile-fail tests: each mistake a user can make with the derive or `path!` is a compile
//! error whose exact text is pinned in `tests/ui/*.stderr`. Regenerate with
//! `TRYBUILD=overwrite cargo test --test test_ui`, then read the diff as a user would.

#[test]
fn mistakes_are_compile_errors_that_read_well() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
