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
/// A `const _` cannot name a generic struct's parameters, so a generic struct is checked
/// against a tree of its own keys and of the nested fields whose types mention none of its
/// parameters (nor `Self`); only a store brought in through a parameter escapes, and
/// `ClsLayer::new` and `PropagateLayer::with_store` check that case in debug builds. Its
/// whole tree is still built, so a non-generic store nesting it is checked in full.
pub(crate) fn propagate_keys(store: &Store<'_>) -> (TokenStream, TokenStream) {
    let input = store.input;
    let ident = &input.ident;
    let name = ident.to_string();
    let generic = !input.generics.params.is_empty();
    let mut own = Vec::new();
    let mut nested = Vec::new();
    // The nested fields a generic struct's checks can name, with their spans.
    let mut concrete = Vec::new();
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
        let entry = quote! {
            (#field_name, <::cls_core::__private::KeyProbe<#ty>>::PROPAGATE_KEYS)
        };
        if !generic || !mentions_parameters(ty, &input.generics) {
            concrete.push((entry.clone(), ty.span()));
        }
        nested.push(entry);
    }
    let tree = quote! {
        &::cls_core::__private::KeyTree {
            store: #name,
            fields: &[#(#own),*],
            nested: &[#(#nested),*],
        }
    };
    let checks = concrete.iter().enumerate().map(|(at, (_, span))| {
        if generic {
            let entries = concrete.iter().map(|(entry, _)| entry);
            quote_spanned! {*span=>
                const _: () = {
                    const TREE: &::cls_core::__private::KeyTree = &::cls_core::__private::KeyTree {
                        store: #name,
                        fields: &[#(#own),*],
                        nested: &[#(#entries),*],
                    };
                    ::cls_core::__private::check_nested_keys(TREE, #at)
                };
            }
        } else {
            quote_spanned! {*span=>
                const _: () = ::cls_core::__private::check_nested_keys(
                    <#ident as ::cls_core::__private::DerivedStore>::__PROPAGATE_KEYS,
                    #at,
                );
            }
        }
    });
    (tree, quote!(#(#checks)*))
}

/// Whether `ty` names one of `generics`' parameters (type, const or lifetime) or `Self`,
/// which an item outside the struct's impl cannot name. By token, so it may say yes to a
/// path that merely shares a parameter's name: that field is then left to the debug check.
fn mentions_parameters(ty: &syn::Type, generics: &syn::Generics) -> bool {
    fn walk(tokens: TokenStream, names: &[String]) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => {
                ident == "Self" || names.iter().any(|name| ident == name)
            }
            proc_macro2::TokenTree::Group(group) => walk(group.stream(), names),
            proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_) => false,
        })
    }
    let names: Vec<String> = generics
        .params
        .iter()
        .map(|param| match param {
            syn::GenericParam::Type(param) => param.ident.to_string(),
            syn::GenericParam::Const(param) => param.ident.to_string(),
            syn::GenericParam::Lifetime(param) => param.lifetime.ident.to_string(),
        })
        .collect();
    walk(quote!(#ty), &names)
}
