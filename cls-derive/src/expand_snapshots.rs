//! Expansion snapshots, in the manner of pin-project-lite's `tests/expand`: each
//! `tests/expand/<case>.rs` holds structs that derive `ClsStore`, and
//! `tests/expand/<case>.expanded.rs` what the derive makes of them, pretty-printed. A change
//! to the derive's output fails here until the snapshots are regenerated with
//! `CLS_EXPAND=overwrite cargo test -p cls-derive`, and then shows as a diff to review.
//!
//! The expansion function is called directly on `proc_macro2` tokens, so neither
//! `cargo-expand` nor a nightly compiler is needed.

use std::fs;
use std::path::{Path, PathBuf};

use quote::quote;

#[test]
fn derive_output_matches_the_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let overwrite = std::env::var_os("CLS_EXPAND").is_some_and(|v| v == "overwrite");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("tests/expand exists")
        .map(|entry| entry.expect("readable directory").path())
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            name.ends_with(".rs") && !name.ends_with(".expanded.rs")
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());

    let mut stale = Vec::new();
    for case in &cases {
        let expanded = expand_file(case);
        let snapshot = case.with_extension("expanded.rs");
        if overwrite {
            fs::write(&snapshot, &expanded).expect("snapshot written");
            continue;
        }
        let expected = fs::read_to_string(&snapshot).unwrap_or_default();
        if expected != expanded {
            let line = first_difference(&expected, &expanded);
            stale.push(format!(
                "{} (first difference at line {line})",
                snapshot.display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "the derive's output changed; review it with `CLS_EXPAND=overwrite cargo test -p cls-derive` \
         and `git diff`:\n  {}",
        stale.join("\n  ")
    );
}

/// The case's items, each struct deriving `ClsStore` followed by its expansion.
fn expand_file(case: &Path) -> String {
    let source = fs::read_to_string(case).expect("case readable");
    let file = syn::parse_file(&source).expect("case parses");
    let mut items = Vec::new();
    for item in file.items {
        let expansion = match &item {
            syn::Item::Struct(item) if derives_cls_store(&item.attrs) => {
                let input: syn::DeriveInput = syn::parse2(quote!(#item)).expect("a derive input");
                Some(crate::expand::derive(&input))
            }
            _ => None,
        };
        items.push(quote!(#item));
        items.extend(expansion);
    }
    let expanded: syn::File = syn::parse2(quote!(#(#items)*)).expect("the expansion parses");
    prettyplease::unparse(&expanded)
}

fn derives_cls_store(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .any(|attr| {
            let mut found = false;
            let _ = attr.parse_nested_meta(|meta| {
                found |= meta.path.is_ident("ClsStore");
                Ok(())
            });
            found
        })
}

/// The 1-based line where two texts first differ (one past the end when only the final
/// newline does).
fn first_difference(expected: &str, actual: &str) -> usize {
    let mut expected_lines = expected.lines();
    let mut actual_lines = actual.lines();
    let mut line = 1;
    loop {
        match (expected_lines.next(), actual_lines.next()) {
            (None, None) => return line,
            (e, a) if e != a => return line,
            _ => line += 1,
        }
    }
}
