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
        let fields = named
            .named
            .iter()
            .map(|field| Field {
                ident: field.ident.as_ref().expect("named fields have names"),
                ty: &field.ty,
                attrs: attr::field_attrs(&field.attrs, &mut errors),
            })
            .collect();
        let store = Store { input, fields };
        match attr::combine(errors) {
            Ok(()) => Ok(store),
            Err(err) => Err((err, Some(store))),
        }
    }
}
