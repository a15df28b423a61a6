//! Parsing of `#[cls(...)]` attributes.

use syn::{Attribute, Error, Result};

/// The attribute's name: `#[cls(...)]`.
pub(crate) const CLS: &str = "cls";
/// `#[cls(local)]` on a field: not carried into spawned work.
pub(crate) const LOCAL: &str = "local";

/// The options of one field, as its `#[cls(...)]` attributes set them.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) local: Option<syn::Path>,
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
            } else {
                let name = meta
                    .path
                    .get_ident()
                    .map_or_else(|| "this".to_owned(), |i| format!("`{i}`"));
                Err(meta.error(format!(
                    "unknown `cls` attribute {name}; the field attribute is `#[cls(local)]`"
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
            "`cls` attributes go on fields: `#[cls(local)]`; the struct takes none",
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
