//! The one runtime error type.

use std::fmt;

use crate::store::ClsStore;
use crate::string_path::Problem;

/// What went wrong when reaching a context; returned by the `try_*` methods of
/// [`Cls`](crate::Cls), and the message of the panic raised by the methods without `try_`.
///
/// Unlike tokio's `AccessError` for task-locals, it names the store type and says how to fix
/// the call.
/// New kinds of failure may be added, so match [`kind`](ClsError::kind) with a `_` arm.
///
/// # Examples
///
/// ```
/// use cls_core::{path, Cls, ClsErrorKind, ClsStore};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     request_id: String,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// let err = CLS.try_get::<path!(request_id)>().unwrap_err();
/// assert_eq!(err.kind(), ClsErrorKind::NoContext);
/// assert_eq!(err.store(), "AppStore");
/// assert!(err.to_string().starts_with("no `AppStore` context is active"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClsError {
    kind: ClsErrorKind,
    store: &'static str,
    /// For a path given as a string: what is wrong with it, and where.
    problem: Option<Box<Problem>>,
}

/// The kind of a [`ClsError`]: what to match on, where the message is for people.
///
/// # Examples
///
/// ```
/// # use cls_core::{path, Cls, ClsErrorKind, ClsStore};
/// # #[derive(ClsStore, Clone, Default)] struct AppStore { n: u32 }
/// # const CLS: Cls<AppStore> = Cls::new();
/// let kind = CLS.run_sync(|| {
///     CLS.with::<path!(n), _>(|_| CLS.try_set::<path!(n)>(1).unwrap_err().kind())
/// });
/// assert_eq!(kind, ClsErrorKind::WriteWhileReading);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClsErrorKind {
    /// No context of the store type is active in the calling code.
    NoContext,
    /// A read of the store from inside an [`update`](crate::Cls::update) closure.
    ReadWhileUpdating,
    /// A write of the store from inside a [`with`](crate::Cls::with) closure.
    WriteWhileReading,
    /// A write of the store from inside an [`update`](crate::Cls::update) closure.
    WriteWhileUpdating,
    /// A path given as a string is not of the form `field.field` (empty, `user..id`, `user.0`).
    MalformedPath,
    /// A path given as a string names a field that does not exist.
    UnknownField,
    /// A path given as a string continues past a leaf (`user.id.value`).
    PathPastLeaf,
    /// The value at the path has no JSON form (a `Terminal` handle, a type without serde).
    NoJsonForm,
    /// A JSON value does not fit the type at the path (wrong type, out of range).
    InvalidValue,
}

impl ClsError {
    fn plain(kind: ClsErrorKind, store: &'static str) -> Self {
        Self {
            kind,
            store,
            problem: None,
        }
    }

    pub(crate) fn no_context<S: ClsStore>() -> Self {
        Self::plain(ClsErrorKind::NoContext, store_name::<S>())
    }

    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    pub(crate) fn path_problem(store: &'static str, problem: Problem) -> Self {
        Self {
            kind: problem.kind,
            store,
            problem: Some(Box::new(problem)),
        }
    }

    pub(crate) fn read_while_updating(store: &'static str) -> Self {
        Self::plain(ClsErrorKind::ReadWhileUpdating, store)
    }

    pub(crate) fn write_while_reading(store: &'static str) -> Self {
        Self::plain(ClsErrorKind::WriteWhileReading, store)
    }

    pub(crate) fn write_while_updating(store: &'static str) -> Self {
        Self::plain(ClsErrorKind::WriteWhileUpdating, store)
    }

    /// What went wrong.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsErrorKind, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { n: u32 }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let err = CLS.try_get::<path!(n)>().unwrap_err();
    /// assert_eq!(err.kind(), ClsErrorKind::NoContext);
    /// ```
    #[must_use]
    pub fn kind(&self) -> ClsErrorKind {
        self.kind
    }

    /// The name of the store type, as its definition spells it (`"AppStore"`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { n: u32 }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// assert_eq!(CLS.try_get::<path!(n)>().unwrap_err().store(), "AppStore");
    /// ```
    #[must_use]
    pub fn store(&self) -> &'static str {
        self.store
    }

    /// For an error about a path given as a string (`get_json`, `set_json`): the dotted path
    /// where the problem is, such as `"user.idd"`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
    /// # struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let err = CLS.run_sync(|| CLS.get_json("tenantt").unwrap_err());
    /// assert_eq!(err.path(), Some("tenantt"));
    /// ```
    #[must_use]
    pub fn path(&self) -> Option<&str> {
        self.problem.as_deref().map(|problem| problem.path.as_str())
    }

    /// Panics with this error as the message, at the caller's location.
    #[cold]
    #[track_caller]
    pub(crate) fn raise(self) -> ! {
        panic!("{self}")
    }
}

impl fmt::Display for ClsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let store = self.store;
        if let Some(problem) = &self.problem {
            return write!(f, "{problem}");
        }
        match self.kind {
            ClsErrorKind::NoContext => write!(
                f,
                "no `{store}` context is active; wrap the call in `Cls::<{store}>::run_with` \
                 (or `run`), and carry it into spawned work with `cls_core::spawn`"
            ),
            ClsErrorKind::ReadWhileUpdating => write!(
                f,
                "the `{store}` context was read while it is being changed (from inside \
                 `Cls::update`, or from a `Clone` of the store made for a copy-on-write); read \
                 what you need before calling `update`"
            ),
            ClsErrorKind::WriteWhileReading => write!(
                f,
                "the `{store}` context was changed from inside `Cls::with`, which is reading \
                 it; finish the read first, then call `set`, `update` or `enter_with`"
            ),
            ClsErrorKind::WriteWhileUpdating => write!(
                f,
                "the `{store}` context was changed from inside `Cls::update`, which is already \
                 changing it; make both changes in the one `update` closure"
            ),
            _ => write!(f, "the `{store}` context could not be used"),
        }
    }
}

impl std::error::Error for ClsError {}

/// The name of a store type as its definition spells it (`AppStore`), for messages.
pub(crate) fn store_name<S: ClsStore>() -> &'static str {
    S::__store_name()
}
