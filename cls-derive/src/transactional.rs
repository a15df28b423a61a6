//! `#[transactional(host = EXPR, propagation = Mode)]`: an `async fn` whose body runs as
//! `EXPR.transaction_with(Propagation::Mode, async { body })`.
//!
//! The function is read at the token level (syn's `full` feature is not needed): its body is
//! the last brace group, its return type the tokens between the `->` that follows the
//! parameter list and the `where` clause or body.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::Error;

/// The argument names, as the user writes them.
const HOST: &str = "host";
const PROPAGATION: &str = "propagation";

/// The modes of `cls_core::tx::Propagation`.
const MODES: [&str; 7] = [
    "Required",
    "RequiresNew",
    "Nested",
    "Mandatory",
    "Never",
    "Supports",
    "NotSupported",
];

const USAGE: &str =
    "`#[transactional(host = EXPR)]` or `#[transactional(host = EXPR, propagation = RequiresNew)]`";

/// Expands the attribute, or to the function unchanged plus a compile error on the
/// offending token (so that one mistake does not cause errors at every call site).
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = parse_args(args).and_then(|args| Ok((args, parse_fn(item.clone())?)));
    match parsed {
        Ok((args, function)) => generate(&args, function),
        Err(err) => {
            let err = err.to_compile_error();
            quote!(#err #item)
        }
    }
}

struct Args {
    host: TokenStream,
    propagation: proc_macro2::Ident,
}

/// Reads `host = EXPR` and an optional `propagation = Mode`, in any order. `EXPR` runs to
/// the next comma outside brackets: wrap an expression with a top-level comma in `(..)`.
fn parse_args(args: TokenStream) -> syn::Result<Args> {
    let mut host = None;
    let mut propagation = None;
    let mut tokens = args.into_iter().peekable();
    while let Some(token) = tokens.next() {
        let TokenTree::Ident(key) = token else {
            return Err(Error::new(
                token.span(),
                format!("expected `host = ..`, found `{token}`; use {USAGE}"),
            ));
        };
        match tokens.next() {
            Some(TokenTree::Punct(eq)) if eq.as_char() == '=' => {}
            _ => {
                return Err(Error::new(
                    key.span(),
                    format!("expected `=` after `{key}`"),
                ))
            }
        }
        let mut value = TokenStream::new();
        while let Some(token) = tokens.peek() {
            if matches!(token, TokenTree::Punct(p) if p.as_char() == ',') {
                tokens.next();
                break;
            }
            value.extend(tokens.next());
        }
        if value.is_empty() {
            return Err(Error::new(
                key.span(),
                format!("expected a value after `{key} =`"),
            ));
        }
        if key == HOST {
            if host.is_some() {
                return Err(Error::new(key.span(), "`host` is given twice"));
            }
            host = Some(value);
        } else if key == PROPAGATION {
            if propagation.is_some() {
                return Err(Error::new(key.span(), "`propagation` is given twice"));
            }
            propagation = Some(mode(value)?);
        } else {
            return Err(Error::new(
                key.span(),
                format!("unknown argument `{key}`; expected `host` or `propagation`"),
            ));
        }
    }
    let Some(host) = host else {
        return Err(Error::new(
            Span::call_site(),
            format!("expected the transaction host: {USAGE}"),
        ));
    };
    Ok(Args {
        host,
        propagation: propagation
            .unwrap_or_else(|| proc_macro2::Ident::new("Required", Span::call_site())),
    })
}

/// One of the seven modes, written alone (`RequiresNew`) or as `Propagation::RequiresNew`.
fn mode(value: TokenStream) -> syn::Result<proc_macro2::Ident> {
    let last = value.clone().into_iter().last();
    match last {
        Some(TokenTree::Ident(ident)) if MODES.iter().any(|m| ident == m) => Ok(ident),
        _ => {
            let span = value
                .into_iter()
                .next()
                .map_or_else(Span::call_site, |t| t.span());
            Err(Error::new(
                span,
                format!(
                    "unknown propagation; expected one of {}",
                    MODES.map(|m| format!("`{m}`")).join(", ")
                ),
            ))
        }
    }
}

/// The parts of the function the expansion needs.
struct Function {
    /// Everything before the body, unchanged.
    signature: TokenStream,
    ret: TokenStream,
    body: proc_macro2::Group,
}

fn parse_fn(item: TokenStream) -> syn::Result<Function> {
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let body = match tokens.pop() {
        Some(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => body,
        Some(other) => {
            return Err(Error::new(
                other.span(),
                "`#[transactional]` applies to an `async fn` with a body",
            ))
        }
        None => {
            return Err(Error::new(
                Span::call_site(),
                "`#[transactional]` applies to an `async fn`",
            ))
        }
    };
    let is = |token: &TokenTree, word: &str| matches!(token, TokenTree::Ident(i) if i == word);
    let Some(fn_at) = tokens.iter().position(|t| is(t, "fn")) else {
        return Err(Error::new(
            body.span_open(),
            "`#[transactional]` applies to an `async fn`",
        ));
    };
    if !tokens[..fn_at].iter().any(|t| is(t, "async")) {
        return Err(Error::new(
            tokens[fn_at].span(),
            "`#[transactional]` applies to an `async fn`: add `async`",
        ));
    }
    let ret = return_type(&tokens[fn_at + 1..]).ok_or_else(|| {
        Error::new(
            tokens[fn_at].span(),
            "`#[transactional]` needs a function returning `Result<T, E>` with `E: From<TxError>`",
        )
    })?;
    Ok(Function {
        signature: tokens.into_iter().collect(),
        ret,
        body,
    })
}

/// The tokens of the return type in `name <generics> (params) -> Ret [where ..]`, if any.
fn return_type(tokens: &[TokenTree]) -> Option<TokenStream> {
    // Skip the generics (`<`..`>`, where `->` inside `Fn() -> T` bounds is not a closer) to
    // the parameter list.
    let mut depth = 0_i32;
    let mut params = None;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' && !after_dash(tokens, i) => depth -= 1,
            TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis && depth == 0 => {
                params = Some(i);
                break;
            }
            _ => {}
        }
    }
    let rest = &tokens[params? + 1..];
    match rest {
        [TokenTree::Punct(dash), TokenTree::Punct(gt), ret @ ..]
            if dash.as_char() == '-' && gt.as_char() == '>' =>
        {
            let end = ret
                .iter()
                .position(|t| matches!(t, TokenTree::Ident(i) if i == "where"))
                .unwrap_or(ret.len());
            let ret: TokenStream = ret[..end].iter().cloned().collect();
            (!ret.is_empty()).then_some(ret)
        }
        _ => None,
    }
}

fn after_dash(tokens: &[TokenTree], i: usize) -> bool {
    i > 0 && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '-')
}

fn generate(args: &Args, function: Function) -> TokenStream {
    let Function {
        signature,
        ret,
        body,
    } = function;
    let host = &args.host;
    let mode = &args.propagation;
    let host_var = quote_spanned!(Span::mixed_site()=> __cls_tx_host);
    quote! {
        #signature {
            let #host_var = &(#host);
            ::cls_core::tx::TxHost::transaction_with(
                #host_var,
                ::cls_core::tx::Propagation::#mode,
                ::cls_core::tx::__typed_body::<#ret, _>(async #body),
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(args: TokenStream, item: TokenStream) -> String {
        let expanded = expand(args, item).to_string();
        let start = expanded.find("compile_error").expect("an error");
        expanded[start..].split(')').next().unwrap().to_owned()
    }

    #[test]
    fn expands_to_transaction_with_the_mode() {
        let out = expand(
            quote!(host = self.tx, propagation = RequiresNew),
            quote!(
                pub async fn save<F: Fn() -> u8>(&self, f: F) -> Result<(), AppError>
                where
                    F: Send,
                {
                    body()
                }
            ),
        )
        .to_string();
        assert!(out.contains("Propagation :: RequiresNew"), "{out}");
        assert!(
            out.contains("__typed_body :: < Result < () , AppError > , _ >"),
            "{out}"
        );
        assert!(out.contains("& (self . tx)"), "{out}");
        assert!(out.contains("where F : Send"), "{out}");
    }

    #[test]
    fn required_by_default() {
        let out = expand(
            quote!(host = TX),
            quote!(
                async fn f() -> Result<u8, E> {
                    Ok(1)
                }
            ),
        )
        .to_string();
        assert!(out.contains("Propagation :: Required ,"), "{out}");
    }

    #[test]
    fn mistakes_name_the_problem() {
        let item = quote!(
            async fn f() -> Result<(), E> {
                Ok(())
            }
        );
        assert!(error_of(quote!(), item.clone()).contains("expected the transaction host"));
        assert!(error_of(quote!(hots = TX), item.clone()).contains("unknown argument `hots`"));
        assert!(
            error_of(quote!(host = TX, propagation = Sometimes), item.clone())
                .contains("unknown propagation")
        );
        assert!(error_of(quote!(host), item.clone()).contains("expected `=` after `host`"));
        assert!(error_of(quote!(host = TX, host = TX), item).contains("given twice"));
        assert!(error_of(
            quote!(host = TX),
            quote!(
                fn f() -> Result<(), E> {
                    Ok(())
                }
            )
        )
        .contains("add `async`"));
        assert!(error_of(
            quote!(host = TX),
            quote!(
                async fn f() {}
            )
        )
        .contains("returning `Result"));
        assert!(error_of(
            quote!(host = TX),
            quote!(
                struct S;
            )
        )
        .contains("with a body"));
    }

    #[test]
    fn a_mistake_keeps_the_function() {
        let out = expand(
            quote!(),
            quote!(
                async fn kept() -> Result<(), E> {
                    Ok(())
                }
            ),
        )
        .to_string();
        assert!(out.contains("async fn kept"), "{out}");
    }
}
