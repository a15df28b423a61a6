//! Code generation for `#[derive(ClsStore)]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{DeriveInput, GenericParam, Ident};

use crate::ast::Store;
use crate::path::name_type;

/// Expands the derive. Mistakes become compile errors on their tokens; when the struct's
/// shape is right, the full impl is still emitted so that one mistake does not cause a
/// cascade of follow-on errors where the store is used.
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    match Store::from_syn(input) {
        Ok(store) => impl_store(&store),
        Err((err, store)) => {
            let fallback = store.as_ref().map(impl_store);
            let err = err.to_compile_error();
            quote!(#err #fallback)
        }
    }
}

fn impl_store(store: &Store<'_>) -> TokenStream {
    let input = store.input;
    let ident = &input.ident;
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let field_trait = format_ident!("ClsFieldOf{}", ident);
    let name = ident.to_string();
    let store_where = where_self(
        input,
        &quote!(::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static),
    );
    let field_where = where_self(input, &quote!('static));

    let listed = store
        .fields
        .iter()
        .map(|f| format!("`{}`", f.ident))
        .collect::<Vec<_>>()
        .join(", ");
    let note = if listed.is_empty() {
        format!("`{name}` has no fields")
    } else {
        format!("the fields of `{name}` are: {listed}")
    };
    let message = format!("no field `{{Name}}` in `{name}`");
    let label =
        format!("`{name}` has no such field (the name is spelled out letter by letter above)");

    let field_impls = store.fields.iter().map(|field| {
        let member = field.ident;
        let ty = field.ty;
        let seg = name_type(member);
        // `do_not_recommend`: an unknown field would otherwise also list these impls one by
        // one, a second, noisier copy of the note that names the fields.
        quote! {
            #[automatically_derived]
            #[diagnostic::do_not_recommend]
            impl #impl_generics #field_trait<#seg> for #ident #ty_generics #field_where {
                type Type = #ty;
                #[inline]
                fn field(&self) -> &#ty {
                    &self.#member
                }
                #[inline]
                fn field_mut(&mut self) -> &mut #ty {
                    &mut self.#member
                }
            }
        }
    });

    let resolve_impl = resolve_impl(input, &field_trait);

    let nested_has_local = store.fields.iter().map(|field| {
        let ty = field.ty;
        if field.attrs.local.is_some() {
            quote!(true)
        } else {
            quote!((&::cls_core::__private::Probe::<#ty>::NEW).field_kind().has_local())
        }
    });
    let reset = store.fields.iter().map(|field| {
        let member = field.ident;
        let ty = field.ty;
        match &field.attrs.local {
            // Spanned on the attribute, so a field type without `Default` is reported there.
            Some(local) => {
                let default = local_default(local, ty);
                quote!(self.#member = #default();)
            }
            None => quote! {
                (&::cls_core::__private::Probe::<#ty>::NEW).field_kind().reset_local(&mut self.#member);
            },
        }
    });

    let (visit_tagged, tagged_keys, set_tagged) = tagged_bodies(store);
    let (propagate_keys, propagate_key_checks) = crate::key_tree::propagate_keys(store);
    let carry_clone = carry_clone_body(store);
    let dynamic = dynamic_impl(store);
    let paths = paths_fn(store);

    quote! {
        #[allow(non_camel_case_types, non_snake_case)]
        const _: () = {
            #[allow(unused_imports)]
            use ::cls_core::__private::{
                CloneKind as _, JsonKind as _, LeafKind as _, NestedKind as _, NoJsonKind as _,
                NoKeyTree as _, NotCloneKind as _, OptionTagKind as _, StoreTagKind as _,
                ValueTagKind as _,
            };

            #[doc(hidden)]
            #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
            pub trait #field_trait<Name> {
                type Type: 'static;
                fn field(&self) -> &Self::Type;
                fn field_mut(&mut self) -> &mut Self::Type;
            }

            #(#field_impls)*

            #resolve_impl

            #dynamic

            // `do_not_recommend`: `Cls<Wrap<Rc<u8>>>` is then one error in `ClsStore`'s words,
            // not one per unmet bound (`Send`, `Sync`), each explaining this impl.
            #[automatically_derived]
            #[diagnostic::do_not_recommend]
            impl #impl_generics ::cls_core::__private::ClsStore for #ident #ty_generics #store_where {
                #paths
            }

            #[automatically_derived]
            impl #impl_generics ::cls_core::__private::DerivedStore for #ident #ty_generics #store_where {
                #[inline]
                fn __store_name() -> &'static str {
                    #name
                }
                #[inline]
                fn __has_local() -> bool {
                    false #(|| #nested_has_local)*
                }
                #[inline]
                fn __reset_local(&mut self) {
                    #(#reset)*
                }
                #[inline]
                fn __carry_clone(&self) -> Self {
                    #carry_clone
                }
                #[inline]
                fn __visit_tagged(
                    &self,
                    tag: ::cls_core::__private::FieldTag,
                    visitor: &mut dyn ::cls_core::__private::TagVisitor,
                ) {
                    #visit_tagged
                }
                fn __tagged_keys(
                    tag: ::cls_core::__private::FieldTag,
                    keys: &mut ::std::vec::Vec<&'static str>,
                ) {
                    #tagged_keys
                }
                const __PROPAGATE_KEYS: &'static ::cls_core::__private::KeyTree = #propagate_keys;
                fn __set_tagged(
                    &mut self,
                    tag: ::cls_core::__private::FieldTag,
                    key: &str,
                    value: &str,
                ) -> ::core::result::Result<bool, ::cls_core::__private::SetTaggedError> {
                    #set_tagged
                }
            }

            #propagate_key_checks
        };
    }
}

/// The struct's where clause plus `Self: bounds`, spelled with the struct's type, for a generic
/// struct. The `ClsStore` impls are bounded by the supertraits of `ClsStore`,
/// `Wrap<T>: Clone + Send + Sync + 'static`, so that `#[derive(ClsStore, Clone)] struct
/// Wrap<T> { inner: T }` compiles and `Wrap<T>` is a store for exactly the `T` that make it
/// one, whatever bounds its own `Clone` impl asks for (serde bounds its impls from the fields
/// in the same spirit). The field impls need `'static` only.
///
/// A struct without generics gets nothing added: a bound with nothing generic in it that fails
/// is an error of its own, which would double the missing-`Clone` error.
fn where_self(input: &DeriveInput, bounds: &TokenStream) -> TokenStream {
    let ident = &input.ident;
    let (_, ty_generics, where_clause) = input.generics.split_for_impl();
    if input.generics.params.is_empty() {
        return quote!(#where_clause);
    }
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    predicates.push(quote!(#ident #ty_generics: #bounds));
    quote!(where #(#predicates),*)
}

/// `impl Resolve<Cons<Name, Rest>> for Store`: the first segment names a field through the
/// struct's own field trait (whose message lists the fields), the rest resolves in the
/// field's type.
///
/// `do_not_recommend` keeps rustc from explaining a failed path through this impl ("required
/// for `User` to implement `Resolve<…>`", with advice about derive bounds that does not
/// apply): the error is the field trait's (an unknown field) or `Resolve`'s own message (a
/// path past a leaf), and nothing else.
fn resolve_impl(input: &DeriveInput, field_trait: &Ident) -> TokenStream {
    let ident = &input.ident;
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let mut generics = input.generics.clone();
    generics
        .params
        .push(GenericParam::Type(syn::parse_quote!(__ClsName)));
    generics
        .params
        .push(GenericParam::Type(syn::parse_quote!(__ClsRest)));
    generics
        .make_where_clause()
        .predicates
        .push(syn::parse_quote!(Self: #field_trait<__ClsName>));
    generics
        .make_where_clause()
        .predicates
        .push(syn::parse_quote!(
            <Self as #field_trait<__ClsName>>::Type: ::cls_core::__private::Resolve<__ClsRest>
        ));
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #impl_generics ::cls_core::__private::Resolve<::cls_core::__private::Cons<__ClsName, __ClsRest>>
            for #ident #ty_generics #where_clause
        {
            type Value = <<Self as #field_trait<__ClsName>>::Type as ::cls_core::__private::Resolve<__ClsRest>>::Value;
            #[inline]
            fn resolve(&self) -> &Self::Value {
                ::cls_core::__private::Resolve::<__ClsRest>::resolve(#field_trait::<__ClsName>::field(self))
            }
            #[inline]
            fn resolve_mut(&mut self) -> &mut Self::Value {
                ::cls_core::__private::Resolve::<__ClsRest>::resolve_mut(#field_trait::<__ClsName>::field_mut(self))
            }
        }
    }
}

/// `DynStore`: the fields reached by name at run time (`get_json`, fixtures).
fn dynamic_impl(store: &Store<'_>) -> TokenStream {
    let input = store.input;
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let names: Vec<String> = store
        .fields
        .iter()
        .map(|f| f.ident.unraw().to_string())
        .collect();
    let refs = store.fields.iter().zip(&names).map(|(field, key)| {
        let member = field.ident;
        let ty = field.ty;
        let shown = type_text(ty);
        let terminal = is_terminal(ty);
        let generic = mentions_type_param(ty, &input.generics);
        quote! {
            #key => ::core::option::Option::Some(::cls_core::__private::FieldRef {
                store: (&::cls_core::__private::Probe::<#ty>::NEW).field_kind().as_store(&self.#member),
                json: (&::cls_core::__private::Probe::<#ty>::NEW).json_kind().as_json(&self.#member),
                ty: #shown,
                terminal: #terminal,
                generic: #generic,
            }),
        }
    });
    let store_muts = store.fields.iter().zip(&names).map(|(field, key)| {
        let member = field.ident;
        let ty = field.ty;
        quote! {
            #key => ::core::option::Option::Some(
                (&::cls_core::__private::Probe::<#ty>::NEW).field_kind().as_store_mut(&mut self.#member),
            ),
        }
    });
    let json_muts = store.fields.iter().zip(&names).map(|(field, key)| {
        let member = field.ident;
        let ty = field.ty;
        quote! {
            #key => ::core::option::Option::Some(
                (&::cls_core::__private::Probe::<#ty>::NEW).json_kind().as_json_mut(&mut self.#member),
            ),
        }
    });
    let name = ident.to_string();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::cls_core::__private::DynStore for #ident #ty_generics #where_clause {
            fn dyn_name(&self) -> &'static str {
                #name
            }
            fn dyn_field_names(&self) -> &'static [&'static str] {
                &[#(#names),*]
            }
            fn dyn_field(&self, name: &str) -> ::core::option::Option<::cls_core::__private::FieldRef<'_>> {
                match name {
                    #(#refs)*
                    _ => ::core::option::Option::None,
                }
            }
            fn dyn_store_mut(
                &mut self,
                name: &str,
            ) -> ::core::option::Option<::core::option::Option<&mut dyn ::cls_core::__private::DynStore>> {
                match name {
                    #(#store_muts)*
                    _ => ::core::option::Option::None,
                }
            }
            fn dyn_json_mut(
                &mut self,
                name: &str,
            ) -> ::core::option::Option<::core::option::Option<&mut dyn ::cls_core::__private::JsonLeaf>> {
                match name {
                    #(#json_muts)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    }
}

/// `ClsStore::paths`: every dotted path, nested stores expanded, computed once.
fn paths_fn(store: &Store<'_>) -> TokenStream {
    let entries = store.fields.iter().map(|field| {
        let key = field.ident.unraw().to_string();
        let ty = field.ty;
        quote!((#key, (&::cls_core::__private::Probe::<#ty>::NEW).field_kind().paths()))
    });
    if store.input.generics.type_params().next().is_none() {
        quote! {
            fn paths() -> &'static [&'static str] {
                static PATHS: ::cls_core::__private::OnceLock<::std::vec::Vec<&'static str>> =
                    ::cls_core::__private::OnceLock::new();
                PATHS.get_or_init(|| ::cls_core::__private::expand_paths(&[#(#entries),*]))
            }
        }
    } else {
        // A `static` in a generic impl is one item for every instantiation, and the paths
        // of `Wrap<A>` and `Wrap<B>` differ: they are kept per type instead.
        quote! {
            fn paths() -> &'static [&'static str] {
                ::cls_core::__private::paths_of::<Self>(|| {
                    ::cls_core::__private::expand_paths(&[#(#entries),*])
                })
            }
        }
    }
}

/// The field's type as a user wrote it, for messages: `Terminal<Arc<Pool>>`.
fn type_text(ty: &syn::Type) -> String {
    let raw = quote!(#ty).to_string();
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let prev = text.chars().last();
            let next = chars.peek().copied();
            let glue = matches!(prev, Some('<' | '&' | ':' | '(' | '['))
                || matches!(next, Some('<' | '>' | ',' | ':' | ')' | ']' | ';'));
            if !glue {
                text.push(' ');
            }
        } else {
            text.push(c);
        }
    }
    text
}

/// Whether the field's type is spelled `Terminal<...>` (any path ending in `Terminal`).
fn is_terminal(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Terminal"),
        _ => false,
    }
}

/// Whether the field's type names one of the store's type parameters: its traits are then
/// unknown where the derive's code is checked.
fn mentions_type_param(ty: &syn::Type, generics: &syn::Generics) -> bool {
    fn walk(tokens: TokenStream, params: &[&Ident]) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => params.iter().any(|p| **p == ident),
            proc_macro2::TokenTree::Group(group) => walk(group.stream(), params),
            _ => false,
        })
    }
    let params: Vec<&Ident> = generics.type_params().map(|p| &p.ident).collect();
    !params.is_empty() && walk(quote!(#ty), &params)
}

/// `DerivedStore::__carry_clone`: when every field that is not `#[cls(local)]` is `Clone` (decided
/// at compile time), a copy field by field in which local fields, here and in nested stores,
/// are built with `Default` and never cloned; otherwise the store's own `Clone` followed by a
/// reset of the local fields.
fn carry_clone_body(store: &Store<'_>) -> TokenStream {
    let cloned: Vec<_> = store
        .fields
        .iter()
        .filter(|f| f.attrs.local.is_none())
        .map(|f| f.ty)
        .collect();
    let tuple = cloned
        .iter()
        .rev()
        .fold(quote!(()), |rest, ty| quote!((#ty, #rest)));
    let fields = store.fields.iter().map(|field| {
        let member = field.ident;
        let ty = field.ty;
        if let Some(local) = &field.attrs.local {
            let default = local_default(local, ty);
            quote!(#member: #default())
        } else {
            quote! {
                #member: (&::cls_core::__private::Probe::<#ty>::NEW)
                    .field_kind()
                    .carry(&self.#member, |leaf| {
                        (&::cls_core::__private::Probe::<#ty>::NEW).clone_kind().clone_leaf(leaf)
                    })
            }
        }
    });
    quote! {
        if (&::cls_core::__private::Probe::<#tuple>::NEW).clone_kind().is_clone() {
            Self { #(#fields),* }
        } else {
            ::cls_core::__private::carry_by_clone(self)
        }
    }
}

/// `local_default::<Ty>`, spanned on the field's type so that a type without `Default` is
/// reported there, once (both uses carry the same span, so rustc reports one error). `self`
/// and the call's parentheses keep the derive's own hygiene.
fn local_default(local: &syn::Path, ty: &syn::Type) -> TokenStream {
    quote_spanned! {local.span().resolved_at(ty.span())=>
        ::cls_core::__private::local_default::<#ty>
    }
}

/// `DerivedStore::__visit_tagged`, `__tagged_keys` and `__set_tagged`: the tagged fields of
/// this struct, in declaration order, then recursing into each untagged field that is a
/// nested store (a tagged field is a leaf, or a compile error). The tag check of a tagged
/// field is spanned on its type, so a type without the traits its tag needs, or a nested
/// store, is reported on the field.
fn tagged_bodies(store: &Store<'_>) -> (TokenStream, TokenStream, TokenStream) {
    let mut visits = Vec::new();
    let mut keys = Vec::new();
    let mut sets = Vec::new();
    for field in &store.fields {
        let member = field.ident;
        let ty = field.ty;
        // The checked call is spanned on the field's type, so a type without the traits
        // its tag needs, or a nested store, is reported there.
        let probe = quote_spanned! {ty.span()=>
            (&&&::cls_core::__private::Probe::<#ty>::NEW).tag_kind()
        };
        if let Some(log) = &field.attrs.log {
            let key = log.key(member);
            let log = quote_spanned!(ty.span()=> #probe.visit_log);
            visits.push(quote! {
                if tag == ::cls_core::__private::FieldTag::Log {
                    #log(&self.#member, #key, visitor);
                }
            });
            keys.push(quote! {
                if tag == ::cls_core::__private::FieldTag::Log {
                    keys.push(#key);
                }
            });
        }
        if let Some(propagate) = &field.attrs.propagate {
            let key = propagate.key(member);
            let propagate = quote_spanned!(ty.span()=> #probe.propagate());
            visits.push(quote! {
                if tag == ::cls_core::__private::FieldTag::Propagate {
                    #propagate.visit(&self.#member, #key, visitor);
                }
            });
            keys.push(quote! {
                if tag == ::cls_core::__private::FieldTag::Propagate {
                    keys.push(#key);
                }
            });
            sets.push(quote! {
                if tag == ::cls_core::__private::FieldTag::Propagate && key == #key {
                    return #propagate.set(&mut self.#member, #key, value);
                }
            });
        }
        if field.attrs.log.is_none() && field.attrs.propagate.is_none() {
            visits.push(quote! {
                (&::cls_core::__private::Probe::<#ty>::NEW)
                    .field_kind()
                    .visit_tagged(&self.#member, tag, visitor);
            });
            keys.push(quote! {
                (&::cls_core::__private::Probe::<#ty>::NEW).field_kind().tagged_keys(tag, keys);
            });
            sets.push(quote! {
                match (&::cls_core::__private::Probe::<#ty>::NEW)
                    .field_kind()
                    .set_tagged(&mut self.#member, tag, key, value)
                {
                    ::core::result::Result::Ok(false) => {}
                    done => return done,
                }
            });
        }
    }
    let unused = quote!(let _ = (&tag, &visitor););
    let unused_keys = quote!(let _ = (&tag, &keys););
    let unused_set = quote!(let _ = (&tag, &key, &value););
    (
        quote!(#unused #(#visits)*),
        quote!(#unused_keys #(#keys)*),
        quote!(#unused_set #(#sets)* ::core::result::Result::Ok(false)),
    )
}
