//! Test fixtures: stores built with typed paths or loaded from JSON, and run in a context.

use std::fmt;
use std::future::Future;

use crate::cls::Cls;
use crate::path::Resolve;
use crate::scoped::Scoped;
use crate::store::ClsStore;

/// A store under construction for a test, then run in a context in one call.
///
/// Where a nestjs-cls test calls `runWith({...})` with an untyped object (a misspelled key
/// silently reads as `undefined`), a fixture is built with the same compile-time-checked
/// paths as the code under test, or loaded from a JSON file whose mistakes are reported
/// with the exact dotted path.
///
/// # Examples
///
/// ```
/// use cls_core::{path, Cls, ClsStore};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct User {
///     id: u64,
/// }
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     tenant: String,
///     user: User,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// fn greeting() -> String {
///     format!("user {} of {}", CLS.get::<path!(user.id)>(), CLS.get::<path!(tenant)>())
/// }
///
/// let seen = AppStore::fixture()
///     .set::<path!(user.id)>(7)
///     .set::<path!(tenant)>("acme".into())
///     .run_sync(greeting);
/// assert_eq!(seen, "user 7 of acme");
/// ```
#[must_use = "a fixture does nothing until it is built or run"]
pub struct Fixture<S> {
    store: S,
}

impl<S: ClsStore> Fixture<S> {
    /// Sets the value at path `P`, checked at compile time like [`Cls::set`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// let store = AppStore::fixture().set::<path!(tenant)>("acme".into()).build();
    /// assert_eq!(store.tenant, "acme");
    /// ```
    pub fn set<P>(mut self, value: <S as Resolve<P>>::Value) -> Self
    where
        S: Resolve<P>,
    {
        *self.store.resolve_mut() = value;
        self
    }

    /// The store, built.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, ClsStore, Fixture};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// let store = Fixture::from(AppStore { tenant: "acme".into() }).build();
    /// assert_eq!(store.tenant, "acme");
    /// ```
    pub fn build(self) -> S {
        self.store
    }

    /// Runs `fut` inside a new context holding the built store, and returns a future with
    /// its output: [`Cls::run_with`] in one call.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let tenant = AppStore::fixture()
    ///     .set::<path!(tenant)>("acme".into())
    ///     .run(async { CLS.get::<path!(tenant)>() })
    ///     .await;
    /// assert_eq!(tenant, "acme");
    /// # }
    /// ```
    pub fn run<F: Future>(self, fut: F) -> Scoped<F> {
        Cls::<S>::new().run_with(self.store, fut)
    }

    /// Calls `f` inside a new context holding the built store, and returns its result.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let active = AppStore::fixture().run_sync(|| CLS.is_active());
    /// assert!(active);
    /// ```
    pub fn run_sync<R>(self, f: impl FnOnce() -> R) -> R {
        Cls::<S>::new().run_with_sync(self.store, f)
    }
}

impl<S: ClsStore> From<S> for Fixture<S> {
    fn from(store: S) -> Self {
        Self { store }
    }
}

impl<S: ClsStore> fmt::Debug for Fixture<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fixture<{}>", S::__store_name())
    }
}

#[cfg(feature = "serde")]
mod json {
    use std::fmt;
    use std::path::{Path, PathBuf};

    use serde_json::Value;

    use super::Fixture;
    use crate::error::ClsErrorKind;
    use crate::json::{describe, overlay, parse_strict};
    use crate::store::ClsStore;
    use crate::string_path::Problem;

    impl<S: ClsStore + Default> Fixture<S> {
        /// A fixture from a partial store in JSON, laid over `S::default()`.
        ///
        /// Fields missing from the JSON keep their defaults; nested stores are merged field
        /// by field, not replaced; an unknown field is an error (with the nearest valid
        /// path). Keys are the fields' names as written in the struct. Only the fields the
        /// JSON names need serde; a `Terminal` field cannot be named.
        ///
        /// # Errors
        ///
        /// A [`FixtureError`] naming the dotted path and the problem: an unknown field, a
        /// value of the wrong type or out of range, a field without a JSON form, a root
        /// that is not an object.
        ///
        /// # Examples
        ///
        /// ```
        /// use cls_core::{ClsStore, Fixture};
        /// use serde::{Deserialize, Serialize};
        /// use serde_json::json;
        ///
        /// #[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
        /// struct User {
        ///     id: u64,
        ///     name: String,
        /// }
        ///
        /// #[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
        /// struct AppStore {
        ///     tenant: String,
        ///     user: User,
        /// }
        ///
        /// let store = Fixture::<AppStore>::from_json(json!({ "user": { "id": 7 } }))?.build();
        /// assert_eq!((store.user.id, store.user.name.as_str(), store.tenant.as_str()), (7, "", ""));
        ///
        /// let err = Fixture::<AppStore>::from_json(json!({ "user": { "id": "seven" } })).unwrap_err();
        /// assert_eq!(
        ///     err.to_string(),
        ///     "`user.id`: expected an unsigned integer (u64), found the string \"seven\""
        /// );
        /// # Ok::<(), cls_core::FixtureError>(())
        /// ```
        pub fn from_json(value: Value) -> Result<Self, FixtureError> {
            let Value::Object(object) = value else {
                return Err(FixtureError::new(Problem::new(
                    ClsErrorKind::InvalidValue,
                    "",
                    format!(
                        "a fixture is a JSON object of fields, found {}",
                        describe(&value)
                    ),
                )));
            };
            let mut store = S::default();
            overlay(&mut store, object, "", S::paths()).map_err(FixtureError::new)?;
            Ok(Self::from(store))
        }

        /// A fixture from JSON text; see [`from_json`](Fixture::from_json).
        ///
        /// The text is parsed strictly: a duplicate key is an error (not "the last one
        /// wins"), and so is nesting deeper than 128 levels.
        ///
        /// # Errors
        ///
        /// As [`from_json`](Fixture::from_json), and for malformed JSON, with its line and
        /// column.
        ///
        /// # Examples
        ///
        /// ```
        /// # use cls_core::{ClsStore, Fixture};
        /// # #[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
        /// # struct AppStore { tenant: String }
        /// let err = Fixture::<AppStore>::from_json_str(r#"{"tenant": "a", "tenant": "b"}"#).unwrap_err();
        /// assert_eq!(err.to_string(), "line 1, column 24: duplicate key `tenant`");
        /// ```
        pub fn from_json_str(text: &str) -> Result<Self, FixtureError> {
            let value = parse_strict(text).map_err(FixtureError::syntax)?;
            Self::from_json(value)
        }

        /// A fixture from a JSON file; see [`from_json`](Fixture::from_json).
        ///
        /// # Errors
        ///
        /// As [`from_json_str`](Fixture::from_json_str), each error naming the file; and
        /// when the file cannot be read.
        ///
        /// # Examples
        ///
        /// ```
        /// # use cls_core::{ClsStore, Fixture};
        /// # #[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
        /// # struct AppStore { tenant: String }
        /// let err = Fixture::<AppStore>::from_file("no/such/fixture.json").unwrap_err();
        /// assert!(err.to_string().starts_with("no/such/fixture.json: cannot read the file:"));
        /// ```
        pub fn from_file(path: impl AsRef<Path>) -> Result<Self, FixtureError> {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path).map_err(|err| FixtureError {
                kind: FixtureErrorKind::Io,
                file: Some(path.to_path_buf()),
                location: None,
                path: None,
                message: format!("cannot read the file: {err}"),
            })?;
            Self::from_json_str(&text).map_err(|mut err| {
                err.file = Some(path.to_path_buf());
                err
            })
        }

        /// A fixture from a JSON file, for tests: like [`from_file`](Fixture::from_file),
        /// but a bad fixture fails the test with the error's message.
        ///
        /// # Panics
        ///
        /// When [`from_file`](Fixture::from_file) returns an error.
        ///
        /// # Examples
        ///
        /// ```should_panic
        /// # use cls_core::{ClsStore, Fixture};
        /// # #[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
        /// # struct AppStore { tenant: String }
        /// let _ = Fixture::<AppStore>::load("no/such/fixture.json");
        /// ```
        #[track_caller]
        pub fn load(path: impl AsRef<Path>) -> Self {
            match Self::from_file(path) {
                Ok(fixture) => fixture,
                Err(err) => panic!("bad fixture: {err}"),
            }
        }
    }

    /// A fixture that could not be read, and where.
    ///
    /// Its message names the file, the line and column for malformed JSON, and the dotted
    /// path of the field for everything else: `tests/fixtures/user.json: unknown field
    /// `user.idd`: `User` has no field `idd`; did you mean `user.id`?`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{ClsStore, Fixture, FixtureErrorKind};
    /// # #[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
    /// # struct AppStore { tenant: String }
    /// let err = Fixture::<AppStore>::from_json_str(r#"{"tenants": "acme"}"#).unwrap_err();
    /// assert_eq!(err.kind(), FixtureErrorKind::UnknownField);
    /// assert_eq!(err.path(), Some("tenants"));
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct FixtureError {
        kind: FixtureErrorKind,
        file: Option<PathBuf>,
        location: Option<(usize, usize)>,
        path: Option<String>,
        message: String,
    }

    /// The kind of a [`FixtureError`]: what to match on, where the message is for people.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{ClsStore, Fixture, FixtureErrorKind};
    /// # #[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
    /// # struct AppStore { tenant: String }
    /// let err = Fixture::<AppStore>::from_json_str("{").unwrap_err();
    /// assert_eq!(err.kind(), FixtureErrorKind::Syntax);
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum FixtureErrorKind {
        /// The file could not be read.
        Io,
        /// The text is not JSON, has a duplicate key, or nests too deep.
        Syntax,
        /// A field the store does not have.
        UnknownField,
        /// A value that does not fit its field, or a root that is not an object.
        InvalidValue,
        /// A field without a JSON form (a `Terminal` handle).
        NoJsonForm,
    }

    impl FixtureError {
        fn new(problem: Problem) -> Self {
            let kind = match problem.kind {
                ClsErrorKind::UnknownField
                | ClsErrorKind::PathPastLeaf
                | ClsErrorKind::MalformedPath => FixtureErrorKind::UnknownField,
                ClsErrorKind::NoJsonForm => FixtureErrorKind::NoJsonForm,
                ClsErrorKind::InvalidValue => FixtureErrorKind::InvalidValue,
                // A problem is only ever of a path or a value; the kinds about reaching a
                // context are made by `ClsError` alone.
                other => unreachable!("a path or value problem of kind {other:?}"),
            };
            let path = (!problem.path.is_empty()).then(|| problem.path.clone());
            Self {
                kind,
                file: None,
                location: None,
                path,
                message: problem.to_string(),
            }
        }

        fn syntax(err: serde_json::Error) -> Self {
            let text = err.to_string();
            // serde_json ends its message with " at line L column C"; the location is
            // shown in front instead.
            let message = text
                .rfind(" at line ")
                .map_or(text.as_str(), |at| &text[..at])
                .to_owned();
            Self {
                kind: FixtureErrorKind::Syntax,
                file: None,
                location: Some((err.line(), err.column())),
                path: None,
                message,
            }
        }

        /// What went wrong.
        ///
        /// # Examples
        ///
        /// ```
        /// # use cls_core::{ClsStore, Fixture, FixtureErrorKind};
        /// # #[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
        /// # struct AppStore { tenant: String }
        /// let err = Fixture::<AppStore>::from_json_str("[1]").unwrap_err();
        /// assert_eq!(err.kind(), FixtureErrorKind::InvalidValue);
        /// ```
        #[must_use]
        pub fn kind(&self) -> FixtureErrorKind {
            self.kind
        }

        /// The dotted path of the field at fault, if the problem is with a field.
        ///
        /// # Examples
        ///
        /// ```
        /// # use cls_core::{ClsStore, Fixture, FixtureErrorKind};
        /// # #[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
        /// # struct AppStore { tenant: String }
        /// let err = Fixture::<AppStore>::from_json_str(r#"{"tenant": 1}"#).unwrap_err();
        /// assert_eq!(err.path(), Some("tenant"));
        /// ```
        #[must_use]
        pub fn path(&self) -> Option<&str> {
            self.path.as_deref()
        }

        /// The fixture file, for errors from [`Fixture::from_file`].
        ///
        /// # Examples
        ///
        /// ```
        /// # use cls_core::{ClsStore, Fixture, FixtureErrorKind};
        /// # #[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
        /// # struct AppStore { tenant: String }
        /// let err = Fixture::<AppStore>::from_file("missing.json").unwrap_err();
        /// assert_eq!(err.kind(), FixtureErrorKind::Io);
        /// assert_eq!(err.file(), Some(std::path::Path::new("missing.json")));
        /// ```
        #[must_use]
        pub fn file(&self) -> Option<&Path> {
            self.file.as_deref()
        }

        /// The line and column (from 1) of a syntax error.
        ///
        /// # Examples
        ///
        /// ```
        /// # use cls_core::{ClsStore, Fixture, FixtureErrorKind};
        /// # #[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
        /// # struct AppStore { tenant: String }
        /// let err = Fixture::<AppStore>::from_json_str("{\n  \"tenant\" \"x\"\n}").unwrap_err();
        /// assert_eq!(err.kind(), FixtureErrorKind::Syntax);
        /// assert_eq!(err.line_column(), Some((2, 12)));
        /// ```
        #[must_use]
        pub fn line_column(&self) -> Option<(usize, usize)> {
            self.location
        }
    }

    impl fmt::Display for FixtureError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if let Some(file) = &self.file {
                write!(f, "{}: ", file.display())?;
            }
            if let Some((line, column)) = self.location {
                write!(f, "line {line}, column {column}: ")?;
            }
            f.write_str(&self.message)
        }
    }

    impl std::error::Error for FixtureError {}
}

#[cfg(feature = "serde")]
pub use self::json::{FixtureError, FixtureErrorKind};
