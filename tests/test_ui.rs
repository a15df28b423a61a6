//! Compile-fail tests: each mistake a user can make with the derive or `path!` is a compile
//! error whose exact text is pinned in `tests/ui/*.stderr`. Regenerate with
//! `TRYBUILD=overwrite cargo test --test test_ui`, then read the diff as a user would.
//!
//! The snapshots are rustc's own words, which change between releases, so they are pinned to
//! the compiler they were made with, as thiserror and pin-project-lite do: on any other
//! compiler the test says so and passes without compiling the cases, and a new stable release
//! cannot turn CI red. Moving to a new compiler is a deliberate step: bump `SNAPSHOT_RUSTC`,
//! regenerate, read the diff.

use std::io::Write;
use std::process::Command;

/// The `major.minor` of the rustc the `.stderr` files were made with; any patch release of it
/// runs them, a beta or nightly of it does not.
const SNAPSHOT_RUSTC: &str = "1.95";

#[test]
fn mistakes_are_compile_errors_that_read_well() {
    if let Err(reason) = pinned_compiler() {
        // Straight to stderr: the test harness captures `eprintln!` of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "test_ui: skipped, the snapshots in tests/ui are pinned to rustc {SNAPSHOT_RUSTC} and {reason}"
        );
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}

/// Whether the rustc that trybuild's cargo will run (`$RUSTC`, else `rustc`) is a stable
/// `SNAPSHOT_RUSTC`; the reason when it is not.
fn pinned_compiler() -> Result<(), String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .arg("-V")
        .output()
        .map_err(|err| format!("`{} -V` failed: {err}", rustc.to_string_lossy()))?;
    let version = String::from_utf8_lossy(&output.stdout);
    let version = version.trim();
    // "rustc 1.95.0 (59807616e 2026-04-14)"; a pre-release reads "rustc 1.96.0-beta.3 (...)".
    let number = version.split_whitespace().nth(1).unwrap_or_default();
    let stable = !number.contains('-');
    let release = number
        .rsplit_once('.')
        .map_or("", |(major_minor, _)| major_minor);
    if stable && release == SNAPSHOT_RUSTC {
        Ok(())
    } else {
        Err(format!(
            "this is {version}; run them with `cargo +{SNAPSHOT_RUSTC} test --test test_ui`"
        ))
    }
}
