//! The procedural macros of `cls-core`: `#[derive(ClsStore)]`, `path!` and `#[transactional]`.
//!
//! Depend on `cls-core` and use them from there (`cls_core::{ClsStore, path}`); the code they
//! generate names only `::cls_core::__private`.

#![forbid(unsafe_code)]

mod ast;
mod attr;
mod expand;
#[cfg(test)]
mod expand_snapshots;
mod key_tree;
mod path;
mod transactional;

use proc_macro::TokenStream;

/// Derives `cls_core::ClsStore`; documented in `cls-core`.
#[proc_macro_derive(ClsStore, attributes(cls))]
pub fn derive_cls_store(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}

/// A typed path to a value inside a store; documented in `cls-core`.
#[proc_macro]
pub fn path(input: TokenStream) -> TokenStream {
    path::expand(input.into()).into()
}

/// Runs the body of an `async fn` as `host.transaction_with(..)`; documented in `cls-core`.
#[proc_macro_attribute]
pub fn transactional(args: TokenStream, item: TokenStream) -> TokenStream {
    transactional::expand(args.into(), item.into()).into()
}
