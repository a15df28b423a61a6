//! Store types: the trait the derive implements, and the `Terminal` leaf marker.

use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::__private::DerivedStore;

/// A struct whose fields are reachable by typed paths inside a context.
///
/// Implement it with `#[derive(ClsStore)]`, never by hand: the derive also generates the
/// path resolution behind [`path!`](crate::path). Every named field is a path segment;
/// a field whose type also derives `ClsStore` can be followed further (`user.id`), and a
/// field of any other type is a leaf. Wrap a value in [`Terminal`] to make it a leaf even
/// when its type is a store.
///
/// A store used as the state of a [`Cls`](crate::Cls) is `Clone + Send + Sync + 'static`;
/// [`run`](crate::Cls::run) and [`enter`](crate::Cls::enter) also need `Default`. The derive
/// asks nothing else of the struct or its fields (no `Debug`, no serde), except that a field
/// marked `#[cls(local)]` implements `Default`: that is what spawned work sees in its place.
/// A generic struct needs no bounds of its own: the derive bounds its impls by
/// `Wrap<T>: Clone + Send + Sync + 'static`, so `Wrap<u64>` is a store and `Wrap<Rc<u8>>`
/// is not.
///
/// Unlike a tokio `task_local!`, one store holds every value a request needs, and a path
/// names a value inside it.
///
/// # Examples
///
/// ```
/// use cls_core::{path, Cls, ClsStore};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct User {
///     id: u64,
///     name: String,
/// }
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     request_id: String,
///     user: User,
///     #[cls(local)]
///     transaction: Option<u32>,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// CLS.run_sync(|| {
///     CLS.set::<path!(user.id)>(7);
///     assert_eq!(CLS.get::<path!(user.id)>(), 7);
/// });
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a context store",
    label = "`{Self}` does not implement `ClsStore`",
    note = "add `#[derive(ClsStore, Clone)]` to the definition of `{Self}`",
    note = "a generic store is a store only for type arguments that make it `Clone + Send + Sync + 'static`"
)]
pub trait ClsStore: Clone + Send + Sync + 'static + DerivedStore {
    /// Every dotted path of the store, in declaration order, nested stores expanded and
    /// `Terminal` fields as leaves: `["request_id", "user", "user.id", "user.name", "db"]`.
    ///
    /// Segments are the fields' names as written (raw identifiers without `r#`).
    ///
    /// Whether a field is a nested store (followed by `paths`, by `#[cls(local)]` resets
    /// and by JSON paths) is decided where the struct is defined. A field whose type is a
    /// type parameter of the store is followed only when the struct bounds the parameter
    /// by `ClsStore` (`struct Wrap<T: ClsStore>`); otherwise it is a leaf there, and its own
    /// `#[cls(local)]` fields are carried. Typed paths (`path!`) follow it either way.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{ClsStore, Terminal};
    /// #[derive(ClsStore, Clone, Default)]
    /// struct User {
    ///     id: u64,
    ///     name: String,
    /// }
    ///
    /// #[derive(ClsStore, Clone, Default)]
    /// struct AppStore {
    ///     request_id: String,
    ///     user: User,
    ///     db: Terminal<u8>,
    /// }
    ///
    /// assert_eq!(AppStore::paths(), ["request_id", "user", "user.id", "user.name", "db"]);
    /// ```
    fn paths() -> &'static [&'static str];

    /// A [`Fixture`](crate::Fixture) starting from `Self::default()`, to build a store for a
    /// test with typed paths and run code in it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct User { id: u64 }
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { user: User }
    /// const CLS: Cls<AppStore> = Cls::new();
    /// let id = AppStore::fixture()
    ///     .set::<path!(user.id)>(7)
    ///     .run_sync(|| CLS.get::<path!(user.id)>());
    /// assert_eq!(id, 7);
    /// ```
    fn fixture() -> crate::Fixture<Self>
    where
        Self: Default,
    {
        crate::Fixture::from(Self::default())
    }
}

/// An opaque leaf of a store: a path can name a `Terminal` field but never go inside it.
///
/// Use it for values that are handles rather than data (a connection pool, a client, a
/// sender), and for a nested store type you want to treat as one value. It derefs to the
/// value, so `CLS.with::<path!(db)>(|db| db.query(..))` reads naturally.
///
/// Compare with nestjs-cls's `Terminal` type: there it stops the type checker from
/// generating paths; here it also documents that the value is one unit.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use cls_core::{path, Cls, ClsStore, Terminal};
///
/// struct Pool {
///     url: String,
/// }
///
/// #[derive(ClsStore, Clone)]
/// struct AppStore {
///     db: Terminal<Arc<Pool>>,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// let pool = Arc::new(Pool { url: "postgres://db".into() });
/// let store = AppStore { db: Terminal::new(pool) };
/// let url = CLS.run_with_sync(store, || CLS.with::<path!(db), _>(|db| db.url.clone()));
/// assert_eq!(url, "postgres://db");
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Terminal<T>(T);

impl<T> Terminal<T> {
    /// Wraps a value as an opaque leaf.
    ///
    /// # Examples
    ///
    /// ```
    /// let port = cls_core::Terminal::new(8080_u16);
    /// assert_eq!(*port, 8080);
    /// ```
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// Unwraps the value.
    ///
    /// # Examples
    ///
    /// ```
    /// let port = cls_core::Terminal::new(8080_u16);
    /// assert_eq!(port.into_inner(), 8080);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Terminal<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> Deref for Terminal<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Terminal<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Terminal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Terminal").field(&self.0).finish()
    }
}
