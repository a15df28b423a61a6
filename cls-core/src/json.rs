//! JSON at a path given as a string: `Cls::get_json`, `Cls::set_json`, and the reading of
//! fixtures (strict parsing, and a partial store laid over a default one).

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::cls::Cls;
use crate::error::{ClsError, ClsErrorKind};
use crate::frame;
use crate::store::ClsStore;
use crate::string_path::{self, DynStore, Problem};

impl<S: ClsStore> Cls<S> {
    /// The value at a dotted path given as a string, as JSON.
    ///
    /// For code where paths come from data: log formats that name fields, debug endpoints.
    /// Where [`get`](Cls::get) is checked at compile time, this is checked at run time, and
    /// a mistake is an error that names the dotted path. Only the value at the path is
    /// serialized, whatever the size of the rest of the store. Path segments are the
    /// fields' names as written in the struct (raw identifiers without `r#`).
    ///
    /// # Errors
    ///
    /// When no context of `S` is active; when the path is malformed, names an unknown field
    /// (the error suggests the nearest valid path) or continues past a leaf; when the value
    /// has no JSON form (a [`Terminal`](crate::Terminal) field, a type without serde).
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::{Cls, ClsStore};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
    /// struct User {
    ///     id: u64,
    /// }
    ///
    /// #[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
    /// struct AppStore {
    ///     user: User,
    /// }
    ///
    /// const CLS: Cls<AppStore> = Cls::new();
    ///
    /// CLS.run_with_sync(AppStore { user: User { id: 7 } }, || {
    ///     assert_eq!(CLS.get_json("user.id").unwrap(), serde_json::json!(7));
    ///     let err = CLS.get_json("user.idd").unwrap_err();
    ///     assert_eq!(
    ///         err.to_string(),
    ///         "unknown field `user.idd`: `User` has no field `idd`; did you mean `user.id`?"
    ///     );
    /// });
    /// ```
    pub fn get_json(&self, path: &str) -> Result<Value, ClsError> {
        let segments = string_path::parse(path).map_err(|p| self.problem(p))?;
        frame::read::<S, _>(|store| {
            let field = string_path::resolve(store, &segments, S::paths)?;
            let json = field
                .json
                .ok_or_else(|| string_path::no_json_form(path, &field))?;
            json.to_json()
                .map_err(|err| invalid_value(path, &err, None))
        })?
        .map_err(|p| self.problem(p))
    }

    /// Sets the value at a dotted path given as a string from JSON, copy-on-write like
    /// [`set`](Cls::set).
    ///
    /// The JSON replaces the whole value at the path (use a deeper path to change one
    /// field of a nested store). On an unshared store, this is one deserialization of the
    /// value at the path; the rest of the store is not copied.
    ///
    /// # Errors
    ///
    /// As [`get_json`](Cls::get_json), and when `value` does not fit the type at the path
    /// (wrong type, number out of range). A rejected value leaves the store exactly as it
    /// was.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::{path, Cls, ClsStore};
    /// use serde::{Deserialize, Serialize};
    /// use serde_json::json;
    ///
    /// #[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
    /// struct User {
    ///     id: u64,
    /// }
    ///
    /// #[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
    /// struct AppStore {
    ///     user: User,
    /// }
    ///
    /// const CLS: Cls<AppStore> = Cls::new();
    ///
    /// CLS.run_sync(|| {
    ///     CLS.set_json("user.id", json!(7)).unwrap();
    ///     assert_eq!(CLS.get::<path!(user.id)>(), 7);
    ///
    ///     let err = CLS.set_json("user.id", json!("seven")).unwrap_err();
    ///     assert_eq!(
    ///         err.to_string(),
    ///         "`user.id`: expected an unsigned integer (u64), found the string \"seven\""
    ///     );
    ///     assert_eq!(CLS.get::<path!(user.id)>(), 7);
    /// });
    /// ```
    pub fn set_json(&self, path: &str, value: Value) -> Result<(), ClsError> {
        let segments = string_path::parse(path).map_err(|p| self.problem(p))?;
        // Check the path before taking the store for writing, so that a bad path never
        // copies a shared store.
        frame::read::<S, _>(|store| {
            let field = string_path::resolve(store, &segments, S::paths)?;
            field
                .json
                .map(|_| ())
                .ok_or_else(|| string_path::no_json_form(path, &field))
        })?
        .map_err(|p| self.problem(p))?;
        let last = segments[segments.len() - 1];
        let replaced = frame::write::<S, _>(|store| {
            let parent = string_path::resolve_parent_mut(store, &segments);
            let leaf = parent
                .dyn_json_mut(last)
                .flatten()
                .expect("the path was resolved before");
            set_leaf(leaf, value, path)
        })?
        .map_err(|p| self.problem(p))?;
        // Dropped once the store is released, as `set` does: its destructor may use the
        // context.
        drop(replaced);
        Ok(())
    }

    fn problem(&self, problem: Problem) -> ClsError {
        ClsError::path_problem(S::__store_name(), problem)
    }
}

/// Deserializes `value` into `leaf` and returns the value it replaced; on error `leaf` is
/// unchanged.
fn set_leaf(
    leaf: &mut dyn crate::string_path::JsonLeaf,
    value: Value,
    path: &str,
) -> Result<Box<dyn std::any::Any>, Problem> {
    // Kept to describe what was found when the value is rejected; a cheap clone next to
    // a deserialization, and only for scalars.
    let shown = match &value {
        Value::Array(_) | Value::Object(_) => None,
        scalar => Some(scalar.clone()),
    };
    leaf.set_json(value)
        .map_err(|err| invalid_value(path, &err, shown.as_ref()))
}

/// A serde error, said as "expected X, found Y" with the path in front.
pub(crate) fn invalid_value(path: &str, err: &serde_json::Error, found: Option<&Value>) -> Problem {
    let text = err.to_string();
    let message = split_invalid(&text).map_or(text.clone(), |(found_text, expected)| {
        let found = found.map_or_else(|| reword_found(found_text), describe);
        format!("expected {}, found {found}", reword_expected(expected))
    });
    Problem::new(ClsErrorKind::InvalidValue, path, message)
}

/// `invalid type: string "seven", expected u64` as (`string "seven"`, `u64`).
fn split_invalid(text: &str) -> Option<(&str, &str)> {
    let rest = text
        .strip_prefix("invalid type: ")
        .or_else(|| text.strip_prefix("invalid value: "))?;
    let at = rest.rfind(", expected ")?;
    Some((&rest[..at], &rest[at + ", expected ".len()..]))
}

fn reword_expected(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => {
            format!("an unsigned integer ({expected})")
        }
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => format!("an integer ({expected})"),
        "f32" | "f64" => format!("a number ({expected})"),
        other => match other.strip_prefix("struct ") {
            Some(name) => format!("an object of the fields of `{name}`"),
            None => other.to_owned(),
        },
    }
}

fn reword_found(found: &str) -> String {
    let strip = |s: &str| s.trim_matches('`').to_owned();
    if let Some(rest) = found.strip_prefix("integer ") {
        format!("the integer {}", strip(rest))
    } else if let Some(rest) = found.strip_prefix("floating point ") {
        format!("the number {}", strip(rest))
    } else if let Some(rest) = found.strip_prefix("boolean ") {
        format!("`{}`", strip(rest))
    } else if found.starts_with("string ") {
        format!("the {found}")
    } else {
        match found {
            "map" => "an object".to_owned(),
            "sequence" => "an array".to_owned(),
            "unit value" | "null" => "`null`".to_owned(),
            other => other.to_owned(),
        }
    }
}

/// A JSON value as a message names it: `the string "seven"`, `an object`.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "`null`".to_owned(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => {
            const SHOWN: usize = 40;
            if s.chars().count() > SHOWN {
                let head: String = s.chars().take(SHOWN).collect();
                format!("the string \"{head}…\" ({} characters)", s.chars().count())
            } else {
                format!("the string {value}")
            }
        }
        Value::Array(items) if items.len() == 1 => "an array of 1 element".to_owned(),
        Value::Array(items) => format!("an array of {} elements", items.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Lays the fields of `object` over `store`: nested stores are merged field by field,
/// every other value replaces the field. Stops at the first problem; the caller discards
/// the half-written store.
pub(crate) fn overlay(
    store: &mut dyn DynStore,
    object: Map<String, Value>,
    prefix: &str,
    all_paths: &'static [&'static str],
) -> Result<(), Problem> {
    for (key, value) in object {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let Some(field) = store.dyn_field(&key) else {
            // The prefix is made of real field names; the key is taken as written, dots
            // and all.
            let mut walked: Vec<&str> = prefix.split('.').filter(|s| !s.is_empty()).collect();
            walked.push(&key);
            return Err(string_path::unknown(store, &walked, all_paths));
        };
        if field.store.is_some() {
            if let Value::Object(inner) = value {
                let nested = store
                    .dyn_store_mut(&key)
                    .flatten()
                    .expect("the field is a store");
                overlay(nested, inner, &path, all_paths)?;
                continue;
            }
        }
        if field.json.is_none() {
            return Err(string_path::no_json_form(&path, &field));
        }
        let leaf = store
            .dyn_json_mut(&key)
            .flatten()
            .expect("the field has a JSON form");
        set_leaf(leaf, value, &path)?;
    }
    Ok(())
}

/// Parses JSON text like `serde_json::from_str`, but rejects duplicate keys (which
/// `serde_json` lets the last one win), naming the dotted path of the duplicate.
pub(crate) fn parse_strict(text: &str) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = Strict {
        path: String::new(),
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

struct Strict {
    path: String,
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let path = format!("{}[{}]", self.path, items.len());
            match seq.next_element_seed(Strict { path })? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{path}`")));
            }
            let value = map.next_value_seed(Strict { path })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}
