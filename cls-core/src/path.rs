//! Typed paths: how `path!(user.id)` names a value inside a store.
//!
//! `path!(user.id)` expands to a type, a list of field names spelled as types. The derive
//! implements [`Resolve`] for each store along every path that exists, so a path that does
//! not exist is a type error raised where the path is used, naming the struct that lacks
//! the field.

use std::marker::PhantomData;

/// Resolution of the path `P` inside `Self`: implemented by `#[derive(ClsStore)]`.
///
/// You never implement it, and rarely name it: it appears in the bounds of
/// [`Cls::get`](crate::Cls::get) and friends, and in your own generic helpers over paths.
/// Where tokio's `LocalKey<T>` names one value, a `Cls<S>` and a path `P` name the value
/// `<S as Resolve<P>>::Value`.
///
/// # Examples
///
/// A helper that works for any path to a `u64` in `AppStore`:
///
/// ```
/// use cls_core::{path, Cls, ClsStore, Resolve};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     hits: u64,
///     errors: u64,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// fn bump<P>()
/// where
///     AppStore: Resolve<P, Value = u64>,
/// {
///     CLS.update::<P, _>(|n| *n += 1);
/// }
///
/// CLS.run_sync(|| {
///     bump::<path!(hits)>();
///     bump::<path!(hits)>();
///     bump::<path!(errors)>();
///     assert_eq!((CLS.get::<path!(hits)>(), CLS.get::<path!(errors)>()), (2, 1));
/// });
/// ```
// The derive's impls are `do_not_recommend`, so when a path goes past a leaf the error names
// the store that holds the leaf (`Self`) and the rest of the path from the leaf on (`P`).
// An unknown field is reported by the store's own field trait instead, which lists the fields.
#[diagnostic::on_unimplemented(
    message = "no path `{P}` in `{Self}`: it continues past a leaf",
    label = "the path goes on after a leaf field of `{Self}`",
    note = "a path goes inside a field only when the field's type derives `ClsStore` and is not wrapped in `Terminal`"
)]
pub trait Resolve<P> {
    /// The type of the value the path names.
    type Value;

    /// The value the path names, in a store you hold (no context involved).
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, ClsStore, Resolve};
    /// # #[derive(ClsStore, Clone, Default)] struct User { id: u64 }
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { user: User }
    /// let store = AppStore { user: User { id: 7 } };
    /// assert_eq!(*Resolve::<path!(user.id)>::resolve(&store), 7);
    /// ```
    fn resolve(&self) -> &Self::Value;

    /// The value the path names, mutably, in a store you hold.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, ClsStore, Resolve};
    /// # #[derive(ClsStore, Clone, Default)] struct User { id: u64 }
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { user: User }
    /// let mut store = AppStore::default();
    /// *Resolve::<path!(user.id)>::resolve_mut(&mut store) = 7;
    /// assert_eq!(store.user.id, 7);
    /// ```
    fn resolve_mut(&mut self) -> &mut Self::Value;
}

/// The end of a path: the value itself.
///
/// Not `#[doc(hidden)]` here (the re-exports are): compiler messages print a hidden type
/// with its full path, `cls_core::Nil`, and a visible one by its name.
#[derive(Debug)]
pub struct Nil;

/// A path segment (a field name spelled as a type) followed by the rest of the path; shown
/// by name in compiler messages, like [`Nil`].
#[derive(Debug)]
pub struct Cons<Name, Rest>(PhantomData<(Name, Rest)>);

impl<T> Resolve<Nil> for T {
    type Value = T;

    #[inline]
    fn resolve(&self) -> &T {
        self
    }

    #[inline]
    fn resolve_mut(&mut self) -> &mut T {
        self
    }
}

/// One type per character a field name can hold, so that a field name is a tuple type
/// that reads as the name in compiler messages: `user_id` is `(u, s, e, r, __, i, d)`.
#[allow(non_camel_case_types, missing_debug_implementations, missing_docs)]
pub mod chars {
    macro_rules! chars {
        ($($c:ident)*) => { $( pub struct $c; )* };
    }
    chars! {
        a b c d e f g h i j k l m n o p q r s t u v w x y z
        A B C D E F G H I J K L M N O P Q R S T U V W X Y Z
        _0 _1 _2 _3 _4 _5 _6 _7 _8 _9 __
    }
    /// Any other character of a (Unicode) field name.
    pub struct Ch<const C: char>;
}
