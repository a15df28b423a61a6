//! Parsing of `#[cls(...)]` attributes.

use syn::{Attribute, Error, Result};

/// The attribute's name: `#[cls(...)]`.
pub(crate) const CLS: &str = "cls";
/// `#[cls(local)]` on a field: not carried into spawned work.
pub(crate) const LOCAL: &str = "local";
/// `#[cls(log)]` or `#[cls(log = "key")]` on a field: written on every log line.
pub(crate) const LOG: &str = "log";
/// `#[cls(propagate)]` or `#[cls(propagate = "key")]` on a field: sent to other services as a
/// W3C baggage member, and filled from one.
pub(crate) const PROPAGATE: &str = "propagate";

/// The keys every log line already has: a log field with one of them would be a second
/// `level` in a JSON object.
const RESERVED_LOG_KEYS: &[&str] = &["timestamp", "level", "target", "message", "request_id"];

/// The options of one field, as its `#[cls(...)]` attributes set them.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) local: Option<syn::Path>,
    pub(crate) log: Option<Tagged>,
    pub(crate) propagate: Option<Tagged>,
}

/// A tag with a key: `#[cls(log)]` (the field's name) or `#[cls(log = "key")]`.
pub(crate) struct Tagged {
    /// The attribute's path, for spans.
    pub(crate) path: syn::Path,
    /// The key given, or `None` for the field's own name.
    pub(crate) key: Option<syn::LitStr>,
}

impl Tagged {
    /// The key, or the field's name without `r#`.
    pub(crate) fn key(&self, field: &syn::Ident) -> String {
        use syn::ext::IdentExt;
        self.key
            .as_ref()
            .map_or_else(|| field.unraw().to_string(), syn::LitStr::value)
    }
}

/// Why `key` cannot be a log key, if it cannot: keys are written unquoted on text lines, so
/// they keep to characters that need no escaping anywhere.
pub(crate) fn log_key_problem(key: &str) -> Option<String> {
    let mut chars = key.chars();
    let well_formed = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !well_formed {
        Some(format!(
            "malformed log key \"{}\"; a key starts with an ASCII letter or `_` and continues with \
             ASCII letters, digits, `_`, `.` or `-`: `#[cls(log = \"user_id\")]`",
            key.escape_debug()
        ))
    } else if RESERVED_LOG_KEYS.contains(&key) {
        Some(format!(
            "the log key `{key}` is already on every log line; choose another: `#[cls(log = \"app_{key}\")]`"
        ))
    } else {
        None
    }
}

/// Why `key` cannot be a baggage key, if it cannot: a baggage key is an RFC 7230 token
/// (W3C Baggage), written on the wire as it is.
pub(crate) fn propagate_key_problem(key: &str) -> Option<String> {
    let token = !key.is_empty()
        && key.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        });
    (!token).then(|| {
        format!(
            "malformed baggage key \"{}\"; a W3C baggage key is an RFC 7230 token: ASCII letters, \
             digits and any of !#$%&'*+-.^_`|~, no spaces, `=`, `,` or `;`: `#[cls(propagate = \"user.id\")]`",
            key.escape_debug()
        )
    })
}

/// Parses every `#[cls(...)]` of a field, collecting each mistake into `errors`.
pub(crate) fn field_attrs(attrs: &[Attribute], errors: &mut Vec<Error>) -> FieldAttrs {
    let mut parsed = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident(CLS)) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(LOCAL) {
                if parsed.local.is_some() {
                    return Err(meta.error("duplicate `cls(local)` attribute"));
                }
                parsed.local = Some(meta.path);
                Ok(())
            } else if meta.path.is_ident(LOG) {
                if parsed.log.is_some() {
                    return Err(meta.error("duplicate `cls(log)` attribute"));
                }
                let key = if meta.input.peek(syn::Token![=]) {
                    let lit: syn::LitStr = meta.value()?.parse().map_err(|_| {
                        meta.error("expected a string after `log =`: `#[cls(log = \"user_id\")]`")
                    })?;
                    if let Some(problem) = log_key_problem(&lit.value()) {
                        return Err(Error::new_spanned(&lit, problem));
                    }
                    Some(lit)
                } else {
                    None
                };
                parsed.log = Some(Tagged {
                    path: meta.path,
                    key,
                });
                Ok(())
            } else if meta.path.is_ident(PROPAGATE) {
                if parsed.propagate.is_some() {
                    return Err(meta.error("duplicate `cls(propagate)` attribute"));
                }
                let key = if meta.input.peek(syn::Token![=]) {
                    let lit: syn::LitStr = meta.value()?.parse().map_err(|_| {
                        meta.error(
                            "expected a string after `propagate =`: `#[cls(propagate = \"user.id\")]`",
                        )
                    })?;
                    if let Some(problem) = propagate_key_problem(&lit.value()) {
                        return Err(Error::new_spanned(&lit, problem));
                    }
                    Some(lit)
                } else {
                    None
                };
                parsed.propagate = Some(Tagged {
                    path: meta.path,
                    key,
                });
                Ok(())
            } else {
                let name = meta
                    .path
                    .get_ident()
                    .map_or_else(|| "this".to_owned(), |i| format!("`{i}`"));
                Err(meta.error(format!(
                    "unknown `cls` attribute {name}; the field attributes are `#[cls(local)]`, \
                     `#[cls(log)]`, `#[cls(log = \"key\")]`, `#[cls(propagate)]` and \
                     `#[cls(propagate = \"key\")]`"
                )))
            }
        });
        if let Err(err) = result {
            errors.push(err);
        }
    }
    parsed
}

/// Rejects `#[cls(...)]` on the struct itself, which takes none.
pub(crate) fn container_attrs(attrs: &[Attribute], errors: &mut Vec<Error>) {
    for attr in attrs.iter().filter(|a| a.path().is_ident(CLS)) {
        errors.push(Error::new_spanned(
            attr,
            "`cls` attributes go on fields (`#[cls(local)]`, `#[cls(log)]`, `#[cls(propagate)]`); \
             the struct takes none",
        ));
    }
}

/// Checks a struct-level result for the derive.
pub(crate) fn combine(errors: Vec<Error>) -> Result<()> {
    let mut iter = errors.into_iter();
    match iter.next() {
        None => Ok(()),
        Some(mut first) => {
            for err in iter {
                first.combine(err);
            }
            Err(first)
        }
    }
}
