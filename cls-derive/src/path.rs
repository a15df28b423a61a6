//! `path!(a.b.c)`: parsing, and the spelling of a field name as a type.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{Error, Ident};

/// Expands `path!(...)` to its type, or to a compile error on the offending token.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match parse(input) {
        Ok(segments) => path_type(&segments),
        Err(err) => err.to_compile_error(),
    }
}

/// Reads `ident (. ident)*`, pointing each mistake at the token where it is.
fn parse(input: TokenStream) -> syn::Result<Vec<Ident>> {
    let mut tokens = input.into_iter().peekable();
    let mut segments = Vec::new();
    let mut after_dot: Option<Span> = None;
    loop {
        match tokens.next() {
            None if segments.is_empty() && after_dot.is_none() => {
                return Err(Error::new(
                    Span::call_site(),
                    "expected a path of field names, such as `path!(user.id)`",
                ));
            }
            None => {
                return match after_dot {
                    Some(span) => Err(Error::new(span, "expected a field name after `.`")),
                    None => Ok(segments),
                };
            }
            Some(token) => {
                if !segments.is_empty() && after_dot.is_none() {
                    match &token {
                        TokenTree::Punct(p) if p.as_char() == '.' => {
                            after_dot = Some(p.span());
                            continue;
                        }
                        other => {
                            return Err(Error::new(
                                other.span(),
                                format!("expected `.` between field names, found `{other}`"),
                            ))
                        }
                    }
                }
                segments.push(segment(token, after_dot.is_some())?);
                after_dot = None;
            }
        }
    }
}

/// One field name: an identifier, raw identifiers included.
fn segment(token: TokenTree, after_dot: bool) -> syn::Result<Ident> {
    match token {
        TokenTree::Ident(ident) => {
            if ident.unraw() == "_" {
                return Err(Error::new(ident.span(), "expected a field name, found `_`"));
            }
            Ok(ident)
        }
        TokenTree::Literal(lit) => {
            let text = lit.to_string();
            // `user.0.1` lexes as `user`, `.`, `0.1`: still a tuple index.
            let what = if text.chars().all(|c| c.is_ascii_digit() || c == '.') {
                format!("expected a field name, found `{text}`: paths go through named fields only")
            } else {
                format!("expected a field name, found `{text}`")
            };
            Err(Error::new(lit.span(), what))
        }
        TokenTree::Punct(p) if p.as_char() == '.' => Err(Error::new(
            p.span(),
            if after_dot {
                "expected a field name after `.`, found another `.`"
            } else {
                "expected a field name before `.`"
            },
        )),
        other => Err(Error::new(
            other.span(),
            format!("expected a field name, found `{other}`"),
        )),
    }
}

/// `Cons<name_a, Cons<name_b, Nil>>`.
fn path_type(segments: &[Ident]) -> TokenStream {
    let mut ty = quote!(::cls_core::__private::Nil);
    for ident in segments.iter().rev() {
        let name = name_type(ident);
        ty = quote_spanned!(ident.span()=> ::cls_core::__private::Cons<#name, #ty>);
    }
    ty
}

/// A field name spelled as a type that reads as the name in compiler messages: a tuple of
/// one type per character, `user_id` as `(u, s, e, r, __, i, d)`, and a one-character name
/// as that character's type alone (`x`, not `(x,)`).
pub(crate) fn name_type(ident: &Ident) -> TokenStream {
    let span = ident.span();
    let chars = ident.unraw().to_string();
    let mut parts = chars.chars().map(|c| {
        let name = match c {
            'a'..='z' | 'A'..='Z' => c.to_string(),
            '0'..='9' => format!("_{c}"),
            '_' => "__".to_owned(),
            other => return quote_spanned!(span=> ::cls_core::__private::chars::Ch<#other>),
        };
        let name = Ident::new(&name, span);
        quote_spanned!(span=> ::cls_core::__private::chars::#name)
    });
    if chars.chars().count() == 1 {
        return parts.next().expect("one character");
    }
    quote_spanned!(span=> (#(#parts,)*))
}
