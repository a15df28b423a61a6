//! Paths given as strings at run time (`"user.id"`), where `path!(user.id)` is the typed
//! form: the derived access to a store's fields by name, the parsing and walking of a
//! dotted path (used by `Cls::get_json`, `Cls::set_json` and JSON fixtures), and the
//! problems a path or a value can have, each naming the dotted path where it is.

// Paths as strings are read and written as JSON: without the `serde` feature only the
// derived access by name is used (by `ClsStore::paths`), not the walking and its errors.
#![cfg_attr(not(feature = "serde"), allow(dead_code))]

use std::fmt;

use crate::error::ClsErrorKind;

/// A store's fields reached by name; implemented by `#[derive(ClsStore)]`.
pub trait DynStore {
    /// The struct's name, for messages.
    fn dyn_name(&self) -> &'static str;
    /// The names of its own fields, in declaration order.
    fn dyn_field_names(&self) -> &'static [&'static str];
    /// The field `name`, or `None` when there is no such field.
    fn dyn_field(&self, name: &str) -> Option<FieldRef<'_>>;
    /// The field `name` as a store (inner `None` when it is a leaf); outer `None` when there
    /// is no such field.
    fn dyn_store_mut(&mut self, name: &str) -> Option<Option<&mut dyn DynStore>>;
    /// The field `name` as a JSON leaf (inner `None` when it has no JSON form); outer `None`
    /// when there is no such field.
    fn dyn_json_mut(&mut self, name: &str) -> Option<Option<&mut dyn JsonLeaf>>;
}

/// One field reached by name.
#[derive(Clone, Copy)]
pub struct FieldRef<'a> {
    /// The field as a store, when its type derives `ClsStore`.
    pub store: Option<&'a dyn DynStore>,
    /// The field's JSON form, when its type has one.
    pub json: Option<&'a dyn JsonLeaf>,
    /// Its type as written in the struct, for messages.
    pub ty: &'static str,
    /// Whether its type is a `Terminal`.
    pub terminal: bool,
    /// Whether its type names a type parameter of the store.
    pub generic: bool,
}

impl fmt::Debug for FieldRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldRef")
            .field("ty", &self.ty)
            .field("store", &self.store.is_some())
            .field("json", &self.json.is_some())
            .finish()
    }
}

/// A value with a JSON form: what `get_json`, `set_json` and fixtures read and write.
pub trait JsonLeaf {
    /// The value as JSON (serializes this value only).
    #[cfg(feature = "serde")]
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error>;
    /// Replaces the value with `value` deserialized, and returns the value it replaced, for
    /// the caller to drop once the store is released (its destructor may use the context);
    /// on error the value is unchanged.
    #[cfg(feature = "serde")]
    fn set_json(
        &mut self,
        value: serde_json::Value,
    ) -> Result<Box<dyn std::any::Any>, serde_json::Error>;
}

#[cfg(feature = "serde")]
impl<T: serde::Serialize + serde::de::DeserializeOwned + 'static> JsonLeaf for T {
    fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    fn set_json(
        &mut self,
        value: serde_json::Value,
    ) -> Result<Box<dyn std::any::Any>, serde_json::Error> {
        let new = serde_json::from_value(value)?;
        Ok(Box::new(std::mem::replace(self, new)))
    }
}

/// Builds `ClsStore::paths` from each field's name and, for nested stores, their paths.
/// Runs once per store type; the joined strings live for the rest of the program.
pub fn expand_paths(
    fields: &[(&'static str, Option<&'static [&'static str]>)],
) -> Vec<&'static str> {
    let mut paths = Vec::new();
    for &(name, nested) in fields {
        paths.push(name);
        for inner in nested.unwrap_or_default() {
            paths.push(&*Box::leak(format!("{name}.{inner}").into_boxed_str()));
        }
    }
    paths
}

/// Splits `"user.id"` into its segments.
pub(crate) fn parse(path: &str) -> Result<Vec<&str>, Problem> {
    if path.is_empty() {
        return Err(Problem::new(
            ClsErrorKind::MalformedPath,
            path,
            "the path is empty; name a field, such as `user.id`".to_owned(),
        ));
    }
    let segments: Vec<&str> = path.split('.').collect();
    for (index, segment) in segments.iter().enumerate() {
        let valid = segment
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && segment.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !valid {
            let what = if segment.is_empty() {
                "an empty segment".to_owned()
            } else {
                format!("`{segment}`, which is not a field name")
            };
            return Err(Problem::new(
                ClsErrorKind::MalformedPath,
                path,
                format!("segment {} of the path is {what}", index + 1),
            ));
        }
    }
    Ok(segments)
}

/// Walks `segments` from `root`, returning the last field.
pub(crate) fn resolve<'a>(
    root: &'a dyn DynStore,
    segments: &[&str],
    all_paths: fn() -> &'static [&'static str],
) -> Result<FieldRef<'a>, Problem> {
    let mut store = root;
    let mut field = None::<FieldRef<'a>>;
    for (index, segment) in segments.iter().enumerate() {
        if let Some(leaf) = field {
            store = leaf
                .store
                .ok_or_else(|| past_leaf(&segments[..=index], leaf.ty))?;
        }
        let found = store
            .dyn_field(segment)
            .ok_or_else(|| unknown(store, &segments[..=index], all_paths()))?;
        field = Some(found);
    }
    Ok(field.expect("a parsed path has at least one segment"))
}

/// Walks `segments[..last]` mutably, returning the store that holds the last segment.
pub(crate) fn resolve_parent_mut<'a>(
    root: &'a mut dyn DynStore,
    segments: &[&str],
) -> &'a mut dyn DynStore {
    let mut store = root;
    for segment in &segments[..segments.len() - 1] {
        store = store
            .dyn_store_mut(segment)
            .flatten()
            .expect("the path was resolved before");
    }
    store
}

pub(crate) fn unknown(
    store: &dyn DynStore,
    walked: &[&str],
    all_paths: &[&'static str],
) -> Problem {
    let path = walked.join(".");
    let segment = walked[walked.len() - 1];
    let mut message = format!("`{}` has no field `{segment}`", store.dyn_name());
    let suggestion = if segment.contains('.') {
        // A JSON key like "user.id": one key is one field name.
        message.push_str("; a key names one field: nest objects for nested fields");
        None
    } else {
        nearest(&path, all_paths)
    };
    match suggestion {
        Some(suggestion) => message.push_str(&format!("; did you mean `{suggestion}`?")),
        None => {
            let fields = store.dyn_field_names();
            if !fields.is_empty() {
                let listed: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
                message.push_str(&format!("; its fields are {}", listed.join(", ")));
            }
        }
    }
    Problem::new(ClsErrorKind::UnknownField, &path, message)
}

fn past_leaf(walked: &[&str], ty: &str) -> Problem {
    let path = walked.join(".");
    let leaf = walked[..walked.len() - 1].join(".");
    Problem::new(
        ClsErrorKind::PathPastLeaf,
        &path,
        format!("`{leaf}` is a leaf of type `{ty}`: a path cannot continue past it"),
    )
}

pub(crate) fn no_json_form(path: &str, field: &FieldRef<'_>) -> Problem {
    let message = if field.terminal {
        format!("`{path}` is a `Terminal` field and has no JSON form")
    } else if field.generic {
        format!(
            "`{path}` has no JSON form here: its type `{}` is a type parameter of the store, and \
             fields are given a JSON form where the store is defined; set the whole store \
             that holds it instead",
            field.ty
        )
    } else {
        format!(
            "`{path}` has no JSON form: its type `{}` does not implement `Serialize` and `Deserialize`",
            field.ty
        )
    };
    Problem {
        kind: ClsErrorKind::NoJsonForm,
        path: path.to_owned(),
        message,
        whole: true,
    }
}

/// The valid path closest to `path` by edit distance, when it is close enough to be a typo.
pub(crate) fn nearest(path: &str, all_paths: &[&'static str]) -> Option<&'static str> {
    let limit = (path.chars().count() / 3).max(1);
    all_paths
        .iter()
        .map(|candidate| (edit_distance(path, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// What is wrong with a path or a value, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Problem {
    /// One of the path and value kinds: `MalformedPath`, `UnknownField`, `PathPastLeaf`,
    /// `NoJsonForm` or `InvalidValue`.
    pub(crate) kind: ClsErrorKind,
    /// The dotted path where it is (empty for the root).
    pub(crate) path: String,
    pub(crate) message: String,
    /// The message already names the path, so `Display` does not prefix it.
    pub(crate) whole: bool,
}

impl Problem {
    pub(crate) fn new(kind: ClsErrorKind, path: &str, message: String) -> Self {
        Self {
            kind,
            path: path.to_owned(),
            message,
            whole: false,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.whole || self.path.is_empty() {
            f.write_str(&self.message)
        } else if self.kind == ClsErrorKind::UnknownField {
            write!(f, "unknown field `{}`: {}", self.path, self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{edit_distance, nearest, parse};

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("user.idd", "user.id"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("tenant", "tenant"), 0);
    }

    #[test]
    fn nearest_suggests_only_close_paths() {
        let paths = &["user", "user.id", "tenant"];
        assert_eq!(nearest("user.idd", paths), Some("user.id"));
        assert_eq!(nearest("zzzzzz", paths), None);
    }

    #[test]
    fn parse_rejects_empty_and_non_name_segments() {
        assert_eq!(parse("user.id").unwrap(), ["user", "id"]);
        assert!(parse("").is_err());
        assert!(parse("user..id").unwrap_err().message.contains("segment 2"));
        assert!(parse("user.0").unwrap_err().message.contains("`0`"));
    }
}
