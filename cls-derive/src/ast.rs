//! A typed model of the input struct, keeping the `syn` nodes for spans.

use syn::{Data, DeriveInput, Error, Fields, Ident, Type};

use crate::attr::{self, FieldAttrs};

/// The struct the derive is on.
pub(crate) struct Store<'a> {
    pub(crate) input: &'a DeriveInput,
    pub(crate) fields: Vec<Field<'a>>,
}

/// One named field.
pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
}

impl<'a> Store<'a> {
    /// Reads the struct, collecting every mistake before reporting any (so a user sees all
    /// of them at once). `Err` carries the mistakes and, when the shape was right, the
    /// model, so that a minimal impl can still be emitted.
    pub(crate) fn from_syn(input: &'a DeriveInput) -> Result<Self, (Error, Option<Self>)> {
        let mut errors = Vec::new();
        attr::container_attrs(&input.attrs, &mut errors);
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(named),
                Fields::Unnamed(_) | Fields::Unit => None,
            },
            Data::Enum(_) | Data::Union(_) => None,
        };
        let Some(named) = named else {
            let shape = match &input.data {
                Data::Enum(_) => "an enum",
                Data::Union(_) => "a union",
                Data::Struct(s) if matches!(s.fields, Fields::Unit) => "a unit struct",
                Data::Struct(_) => "a tuple struct",
            };
            errors.push(Error::new_spanned(
                &input.ident,
                format!(
                    "`ClsStore` can only be derived for structs with named fields, and `{}` is {shape}",
                    input.ident
                ),
            ));
            return Err((attr::combine(errors).unwrap_err(), None));
        };
        let fields: Vec<Field<'a>> = named
            .named
            .iter()
            .map(|field| Field {
                ident: field.ident.as_ref().expect("named fields have names"),
                ty: &field.ty,
                attrs: attr::field_attrs(&field.attrs, &mut errors),
            })
            .collect();
        check_log_keys(&fields, &mut errors);
        check_propagate(&fields, &mut errors);
        let store = Store { input, fields };
        match attr::combine(errors) {
            Ok(()) => Ok(store),
            Err(err) => Err((err, Some(store))),
        }
    }
}

/// The log keys of a struct: a field's own name must be a valid key when no key is given, and
/// two fields cannot share one (a line would show it twice).
fn check_log_keys(fields: &[Field<'_>], errors: &mut Vec<Error>) {
    let mut seen: Vec<(String, &Ident)> = Vec::new();
    for field in fields {
        let Some(log) = &field.attrs.log else {
            continue;
        };
        let key = log.key(field.ident);
        if log.key.is_none() {
            if let Some(problem) = attr::log_key_problem(&key) {
                errors.push(Error::new_spanned(&log.path, problem));
                continue;
            }
        }
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            let spanned: &dyn quote::ToTokens = match &log.key {
                Some(lit) => lit,
                None => &log.path,
            };
            errors.push(Error::new_spanned(
                spanned,
                format!("the log key `{key}` is already used by the field `{first}`; give one of them another key: `#[cls(log = \"other_key\")]`"),
            ));
            continue;
        }
        seen.push((key, field.ident));
    }
}

/// The propagated fields of a struct: never `#[cls(local)]` (spawned work, where outbound
/// calls are often made, would send the field's `Default` instead of its value), a field's
/// own name must be a valid baggage key when no key is given, and two fields cannot share a
/// key (one member would fill both).
fn check_propagate(fields: &[Field<'_>], errors: &mut Vec<Error>) {
    let mut seen: Vec<(String, &Ident)> = Vec::new();
    for field in fields {
        let Some(propagate) = &field.attrs.propagate else {
            continue;
        };
        if field.attrs.local.is_some() {
            errors.push(Error::new_spanned(
                &propagate.path,
                format!(
                    "the field `{}` cannot be both `#[cls(propagate)]` and `#[cls(local)]`: a local \
                     field is reset in spawned work, where it would be sent as its `Default`; \
                     remove one of the two attributes",
                    field.ident
                ),
            ));
            continue;
        }
        let key = propagate.key(field.ident);
        if propagate.key.is_none() {
            if let Some(problem) = attr::propagate_key_problem(&key) {
                errors.push(Error::new_spanned(&propagate.path, problem));
                continue;
            }
        }
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            let spanned: &dyn quote::ToTokens = match &propagate.key {
                Some(lit) => lit,
                None => &propagate.path,
            };
            errors.push(Error::new_spanned(
                spanned,
                format!("the baggage key `{key}` is already used by the field `{first}`; give one of them another key: `#[cls(propagate = \"other_key\")]`"),
            ));
            continue;
        }
        seen.push((key, field.ident));
    }
}
