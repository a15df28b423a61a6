//! The `#[cls(propagate)]` keys of a store as a constant (`DerivedStore::__PROPAGATE_KEYS`),
//! and the compile-time check that a nested store uses none of them again.
//!
//! Within one struct, `ast.rs` reports a repeated key on its token. A nested store is
//! another derive's output, known here only by its type, so the check across nesting runs
//! during constant evaluation instead: `cls_core::__private::check_nested_keys` panics,
//! which rustc reports as an error on the field that holds the nested store.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::ast::Store;

/// The body of `const __PROPAGATE_KEYS` in the `DerivedStore` impl, and the checks to emit
/// beside the impl: one `const _` per field that may be a nested store (every untagged
/// field: whether its type is a store is answered by `KeyProbe` during type checking).
///
/// A generic struct gets no checks: a `const _` cannot name its type parameters. Its tree
/// is still built, so a non-generic store nesting it is checked.
pub(crate) fn propagate_keys(store: &Store<'_>) -> (TokenStream, TokenStream) {
    let input = store.input;
    let ident = &input.ident;
    let name = ident.to_string();
    let mut own = Vec::new();
    let mut nested = Vec::new();
    let mut checks = Vec::new();
    for field in &store.fields {
        let field_name = field.ident.unraw().to_string();
        if let Some(propagate) = &field.attrs.propagate {
            let key = propagate.key(field.ident);
            own.push(quote!((#field_name, #key)));
        }
        if field.attrs.log.is_some() || field.attrs.propagate.is_some() {
            continue;
        }
        let ty = field.ty;
        nested.push(quote! {
            (#field_name, <::cls_core::__private::KeyProbe<#ty>>::PROPAGATE_KEYS)
        });
        if input.generics.params.is_empty() {
            let at = nested.len() - 1;
            checks.push(quote_spanned! {ty.span()=>
                const _: () = ::cls_core::__private::check_nested_keys(
                    <#ident as ::cls_core::__private::DerivedStore>::__PROPAGATE_KEYS,
                    #at,
                );
            });
        }
    }
    let tree = quote! {
        &::cls_core::__private::KeyTree {
            store: #name,
            fields: &[#(#own),*],
            nested: &[#(#nested),*],
        }
    };
    (tree, quote!(#(#checks)*))
}
