//! `Cls<S>`: the handle through which code reads and writes the context of store type `S`.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::captured::Captured;
use crate::context::Context;
use crate::erased::Slot;
use crate::error::ClsError;
use crate::frame::{self, Frame};
use crate::path::Resolve;
use crate::scoped::{Contexts, Install, Scoped};
use crate::store::ClsStore;

/// The handle to the context of store type `S`: opens contexts and reads and writes the
/// store of the innermost one.
///
/// `Cls<S>` is zero-sized and `Copy`; every handle of one store type reaches the same
/// contexts, so a `const` is the usual way to hold one. Where tokio's `task_local!` gives one
/// key per value, a `Cls<S>` reaches every field of `S` by a typed [`path!`](crate::path).
///
/// # Who sees a write
///
/// A [`set`](Cls::set), [`update`](Cls::update) or [`enter_with`](Cls::enter_with) changes the
/// store of the innermost context of `S` that encloses the call, copy-on-write. It is seen by
/// all code that runs later in that context (across awaits, in callees, in futures joined or
/// selected inside it) and by work spawned from it afterwards. It is never seen by the
/// enclosing context once a nested one ends, by work spawned before the write, or by any
/// other task.
///
/// # Examples
///
/// ```
/// use cls_core::{path, Cls, ClsStore};
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     request_id: String,
/// }
///
/// const CLS: Cls<AppStore> = Cls::new();
///
/// async fn handler() -> String {
///     format!("handled {}", CLS.get::<path!(request_id)>())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store = AppStore { request_id: "req-1".into() };
/// assert_eq!(CLS.run_with(store, handler()).await, "handled req-1");
/// assert!(!CLS.is_active());
/// # }
/// ```
pub struct Cls<S> {
    _store: PhantomData<fn() -> S>,
}

impl<S: ClsStore> Cls<S> {
    /// Creates a handle. It is free: all handles of `S` reach the same contexts.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { n: u8 }
    /// const CLS: Cls<AppStore> = Cls::new();
    /// assert_eq!(std::mem::size_of_val(&CLS), 0);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            _store: PhantomData,
        }
    }

    /// Runs `fut` in a new context holding `store`, and returns a future with `fut`'s output.
    ///
    /// Like tokio's `LocalKey::scope`: the context is installed for every poll of `fut` and
    /// removed after it, so it never leaks into other work on the same thread, even when the
    /// future panics or is dropped before it completes. Dropping the returned future drops
    /// `fut` with the context still installed, so destructors can read it. Contexts of other
    /// store types stay visible inside; a context of `S` around it is hidden until it ends.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = AppStore { tenant: "acme".into() };
    /// let tenant = CLS.run_with(store, async { CLS.get::<path!(tenant)>() }).await;
    /// assert_eq!(tenant, "acme");
    /// # }
    /// ```
    pub fn run_with<F: Future>(&self, store: S, fut: F) -> Scoped<F> {
        Scoped::new(Contexts::nested(opened(store)), fut)
    }

    /// Runs `fut` in a new context that starts from a copy of the current store of `S`, or
    /// from `S::default()` when no context of `S` is active.
    ///
    /// The copy is taken now, when `run` is called, and shared copy-on-write: it costs a
    /// reference count until one side writes. Writes inside are never seen outside.
    /// `#[cls(local)]` fields are copied too, since the new context is in the same task.
    ///
    /// # Panics
    ///
    /// When called from inside an [`update`](Cls::update) closure of `S`, which is changing
    /// the store.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { step: u32 }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// CLS.run(async {
    ///     CLS.set::<path!(step)>(1);
    ///     let inner = CLS.run(async {
    ///         CLS.set::<path!(step)>(2);
    ///         CLS.get::<path!(step)>()
    ///     });
    ///     assert_eq!(inner.await, 2);
    ///     assert_eq!(CLS.get::<path!(step)>(), 1);
    /// })
    /// .await;
    /// # }
    /// ```
    #[track_caller]
    pub fn run<F: Future>(&self, fut: F) -> Scoped<F>
    where
        S: Default,
    {
        Scoped::new(Contexts::nested(inherited::<S>()), fut)
    }

    /// Calls `f` in a new context holding `store`, and returns its result.
    ///
    /// The synchronous twin of [`run_with`](Cls::run_with), like tokio's
    /// `LocalKey::sync_scope`. The previous context is back when `f` returns or panics.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let store = AppStore { tenant: "acme".into() };
    /// let len = CLS.run_with_sync(store, || CLS.with::<path!(tenant), _>(|t| t.len()));
    /// assert_eq!(len, 4);
    /// ```
    pub fn run_with_sync<R>(&self, store: S, f: impl FnOnce() -> R) -> R {
        Contexts::nested(opened(store)).enter(f)
    }

    /// Calls `f` in a new context that starts from a copy of the current store of `S` (or
    /// `S::default()`), and returns its result: the synchronous twin of [`run`](Cls::run).
    ///
    /// # Panics
    ///
    /// When called from inside an [`update`](Cls::update) closure of `S`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { step: u32 }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let step = CLS.run_sync(|| {
    ///     CLS.set::<path!(step)>(3);
    ///     CLS.get::<path!(step)>()
    /// });
    /// assert_eq!(step, 3);
    /// assert!(!CLS.is_active());
    /// ```
    #[track_caller]
    pub fn run_sync<R>(&self, f: impl FnOnce() -> R) -> R
    where
        S: Default,
    {
        Contexts::nested(inherited::<S>()).enter(f)
    }

    /// A live [`Context`] holding `store`: entered any number of times, from any thread,
    /// with writes kept from one entry to the next.
    ///
    /// Where [`run_with`](Cls::run_with) ties the context to one future, a `Context` is a
    /// value that can change owners: the handler's future, then the response body that is
    /// polled after it. Combine store types with [`Context::join`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { chunks: u32 }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let mut context = CLS.context(AppStore::default());
    /// context.enter_sync(|| CLS.set::<path!(chunks)>(1));
    /// let moved = std::thread::spawn(move || context.enter_sync(|| CLS.get::<path!(chunks)>()));
    /// assert_eq!(moved.join().unwrap(), 1);
    /// ```
    pub fn context(&self, store: S) -> Context {
        Context::from_captured(Captured::one(Arc::new(store)))
    }

    /// Runs `fut` outside every context of `S`, keeping the contexts of other store types,
    /// and returns a future with its output.
    ///
    /// Node's `AsyncLocalStorage.exit`: for work started inside a request that must not act
    /// as part of it (a cache warm-up, a shared background job), where tokio's `task_local!`
    /// has no counterpart. Inside, [`is_active`](Cls::is_active) is false, reads and writes
    /// of `S` fail as they do outside any context, [`run`](Cls::run) starts from
    /// `S::default()`, and work spawned from inside carries the other store types but not
    /// `S`. The context of `S` is back, untouched, when `fut` completes or is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # #[derive(ClsStore, Clone, Default)] struct TraceStore { trace_id: u64 }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// # const TRACE: Cls<TraceStore> = Cls::new();
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = AppStore { tenant: "acme".into() };
    /// let seen = TRACE.run_with(TraceStore { trace_id: 7 }, CLS.run_with(store, async {
    ///     CLS.exit(async { (CLS.is_active(), TRACE.get::<path!(trace_id)>()) }).await
    /// }));
    /// assert_eq!(seen.await, (false, 7));
    /// # }
    /// ```
    pub fn exit<F: Future>(&self, fut: F) -> Scoped<F> {
        Scoped::new(Contexts::nested(Frame::new(Slot::hiding::<S>())), fut)
    }

    /// Calls `f` outside every context of `S`, keeping the contexts of other store types,
    /// and returns its result: the synchronous twin of [`exit`](Cls::exit).
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let store = AppStore { tenant: "acme".into() };
    /// CLS.run_with_sync(store, || {
    ///     assert!(!CLS.exit_sync(|| CLS.is_active()));
    ///     assert_eq!(CLS.get::<path!(tenant)>(), "acme");
    /// });
    /// ```
    pub fn exit_sync<R>(&self, f: impl FnOnce() -> R) -> R {
        Contexts::nested(Frame::new(Slot::hiding::<S>())).enter(f)
    }

    /// Replaces the store of the innermost active context of `S` for the rest of that
    /// context.
    ///
    /// This is Node's `AsyncLocalStorage.enterWith` without its leak: the effect ends with the
    /// enclosing context, so it never reaches the parent context, other tasks, or the next
    /// task polled on the same thread. Work already spawned keeps the store it was given.
    ///
    /// # Panics
    ///
    /// When no context of `S` is active (use [`try_enter_with`](Cls::try_enter_with) to get
    /// an error instead), or from inside a [`with`](Cls::with) or [`update`](Cls::update)
    /// closure of `S`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// CLS.run_sync(|| {
    ///     CLS.enter_with(AppStore { tenant: "acme".into() });
    ///     assert_eq!(CLS.get::<path!(tenant)>(), "acme");
    /// });
    /// assert!(!CLS.is_active());
    /// ```
    #[track_caller]
    pub fn enter_with(&self, store: S) {
        if let Err(err) = self.try_enter_with(store) {
            err.raise();
        }
    }

    /// Replaces the store of the innermost active context of `S` with `S::default()` for the
    /// rest of that context; see [`enter_with`](Cls::enter_with).
    ///
    /// # Panics
    ///
    /// As [`enter_with`](Cls::enter_with).
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let store = AppStore { tenant: "acme".into() };
    /// CLS.run_with_sync(store, || {
    ///     CLS.enter();
    ///     assert_eq!(CLS.get::<path!(tenant)>(), "");
    /// });
    /// ```
    #[track_caller]
    pub fn enter(&self)
    where
        S: Default,
    {
        self.enter_with(S::default());
    }

    /// Like [`enter_with`](Cls::enter_with), but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// When no context of `S` is active, or from inside a [`with`](Cls::with) or
    /// [`update`](Cls::update) closure of `S`. Nothing is changed, and `store` is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{Cls, ClsErrorKind, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let err = CLS.try_enter_with(AppStore::default()).unwrap_err();
    /// assert_eq!(err.kind(), ClsErrorKind::NoContext);
    /// ```
    pub fn try_enter_with(&self, store: S) -> Result<(), ClsError> {
        frame::replace(store)
    }

    /// Whether a context of `S` is active in the calling code.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// assert!(!CLS.is_active());
    /// assert!(CLS.run_sync(|| CLS.is_active()));
    /// ```
    #[must_use]
    pub fn is_active(&self) -> bool {
        frame::is_active::<S>()
    }

    /// Fails the calling test when a context of `S` is active here, where none should be:
    /// the check for a context that leaked out of the code under test.
    ///
    /// # Panics
    ///
    /// When a context of `S` is active, with a message that says so, at the caller's
    /// location.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// CLS.run_sync(|| { /* code under test */ });
    /// CLS.assert_inactive();
    /// ```
    #[track_caller]
    pub fn assert_inactive(&self) {
        assert!(
            !self.is_active(),
            "a context of `{}` is still active here, where none should be: it leaked out of the \
             code that opened it",
            S::__store_name()
        );
    }

    /// A clone of the value at path `P` in the current store.
    ///
    /// Where tokio's `LocalKey::get` clones the whole value, this clones only the field the
    /// path names, and takes no lock and no reference count.
    ///
    /// # Panics
    ///
    /// When no context of `S` is active (use [`try_get`](Cls::try_get) to get an error
    /// instead), or from inside an [`update`](Cls::update) closure of `S`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct User { id: u64 }
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { user: User }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let store = AppStore { user: User { id: 7 } };
    /// let id = CLS.run_with_sync(store, || CLS.get::<path!(user.id)>());
    /// assert_eq!(id, 7);
    /// ```
    #[inline]
    #[track_caller]
    pub fn get<P>(&self) -> <S as Resolve<P>>::Value
    where
        S: Resolve<P>,
        <S as Resolve<P>>::Value: Clone,
    {
        match frame::read::<S, _>(|store| store.resolve().clone()) {
            Ok(value) => value,
            Err(err) => err.raise(),
        }
    }

    /// Like [`get`](Cls::get), but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// When no context of `S` is active, or from inside an [`update`](Cls::update) closure
    /// of `S`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// assert!(CLS.try_get::<path!(tenant)>().is_err());
    /// CLS.run_sync(|| assert_eq!(CLS.try_get::<path!(tenant)>(), Ok(String::new())));
    /// ```
    #[inline]
    pub fn try_get<P>(&self) -> Result<<S as Resolve<P>>::Value, ClsError>
    where
        S: Resolve<P>,
        <S as Resolve<P>>::Value: Clone,
    {
        frame::read::<S, _>(|store| store.resolve().clone())
    }

    /// Sets the value at path `P` in the current store.
    ///
    /// Copy-on-write: when the store is shared with work spawned earlier or with an
    /// enclosing context, this context gets its own copy first and the others never see the
    /// write. An unshared store is written in place, without allocating.
    ///
    /// # Panics
    ///
    /// When no context of `S` is active (use [`try_set`](Cls::try_set) to get an error
    /// instead), or from inside a [`with`](Cls::with) or [`update`](Cls::update) closure of `S`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: Option<String> }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// CLS.run_sync(|| {
    ///     CLS.set::<path!(tenant)>(Some("acme".to_owned()));
    ///     assert_eq!(CLS.get::<path!(tenant)>().as_deref(), Some("acme"));
    /// });
    /// ```
    #[inline]
    #[track_caller]
    pub fn set<P>(&self, value: <S as Resolve<P>>::Value)
    where
        S: Resolve<P>,
    {
        // The same shape as `update`, so that it inlines as well: the old value is dropped
        // after the store is released, so its destructor may use the context.
        match frame::write::<S, _>(|store| std::mem::replace(store.resolve_mut(), value)) {
            Ok(old) => drop(old),
            Err(err) => err.raise(),
        }
    }

    /// Like [`set`](Cls::set), but returns an error instead of panicking.
    ///
    /// # Errors
    ///
    /// When no context of `S` is active, or from inside a [`with`](Cls::with) or
    /// [`update`](Cls::update) closure of `S`. Nothing is changed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { tenant: String }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// assert!(CLS.try_set::<path!(tenant)>("acme".into()).is_err());
    /// ```
    #[inline]
    pub fn try_set<P>(&self, value: <S as Resolve<P>>::Value) -> Result<(), ClsError>
    where
        S: Resolve<P>,
    {
        // The old value is dropped after the store is released, so its destructor may use
        // the context.
        let old = frame::write::<S, _>(|store| std::mem::replace(store.resolve_mut(), value))?;
        drop(old);
        Ok(())
    }

    /// Calls `f` with a reference to the value at path `P`, without cloning it, and returns
    /// its result.
    ///
    /// Like tokio's `LocalKey::with`. Inside `f`, reads of the same store work (`get`,
    /// nested `with`, `spawn`); writes (`set`, `update`, `enter_with`) panic, since `f` is
    /// looking at the store. Contexts opened inside `f` (`run`, `run_with`) are new contexts
    /// and can be written freely.
    ///
    /// Copy-on-write covers [`set`](Cls::set) and [`update`](Cls::update). A value with
    /// interior mutability reached through `f` (a `Mutex`, an atomic) is the same value for
    /// every context, task and snapshot sharing the store, as in any `Arc`.
    ///
    /// # Panics
    ///
    /// When no context of `S` is active, or from inside an [`update`](Cls::update) closure
    /// of `S`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { roles: Vec<String> }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// let store = AppStore { roles: vec!["admin".into()] };
    /// let admin = CLS.run_with_sync(store, || {
    ///     CLS.with::<path!(roles), _>(|roles| roles.iter().any(|r| r == "admin"))
    /// });
    /// assert!(admin);
    /// ```
    #[inline]
    #[track_caller]
    pub fn with<P, R>(&self, f: impl FnOnce(&<S as Resolve<P>>::Value) -> R) -> R
    where
        S: Resolve<P>,
    {
        match frame::read::<S, _>(|store| f(store.resolve())) {
            Ok(result) => result,
            Err(err) => err.raise(),
        }
    }

    /// Calls `f` with a mutable reference to the value at path `P`, and returns its result.
    ///
    /// Copy-on-write like [`set`](Cls::set). Inside `f` the store is being changed, so any
    /// other access to the context of `S` (`get`, `set`, `with`, `spawn`, `run`) panics with a
    /// message saying so: read what you need before calling `update`.
    ///
    /// # Panics
    ///
    /// When no context of `S` is active, or from inside a [`with`](Cls::with) or
    /// [`update`](Cls::update) closure of `S`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use cls_core::{path, Cls, ClsStore};
    /// # #[derive(ClsStore, Clone, Default)] struct AppStore { roles: Vec<String> }
    /// # const CLS: Cls<AppStore> = Cls::new();
    /// CLS.run_sync(|| {
    ///     let count = CLS.update::<path!(roles), _>(|roles| {
    ///         roles.push("admin".into());
    ///         roles.len()
    ///     });
    ///     assert_eq!(count, 1);
    /// });
    /// ```
    #[inline]
    #[track_caller]
    pub fn update<P, R>(&self, f: impl FnOnce(&mut <S as Resolve<P>>::Value) -> R) -> R
    where
        S: Resolve<P>,
    {
        match frame::write::<S, _>(|store| f(store.resolve_mut())) {
            Ok(result) => result,
            Err(err) => err.raise(),
        }
    }
}

/// The frame of a new context holding `store`.
fn opened<S: ClsStore>(store: S) -> Frame {
    Frame::new(Slot::new(store))
}

/// The frame of a nested `run`: the current store shared copy-on-write, or a default one.
#[track_caller]
fn inherited<S: ClsStore + Default>() -> Frame {
    match frame::share::<S>() {
        Ok(Some(store)) => {
            let identity = store.identity();
            Frame::new(Slot::erased(store, identity))
        }
        Ok(None) => opened(S::default()),
        Err(err) => err.raise(),
    }
}

impl<S: ClsStore> Clone for Cls<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S: ClsStore> Copy for Cls<S> {}

impl<S: ClsStore> Default for Cls<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: ClsStore> fmt::Debug for Cls<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cls<{}>", S::__store_name())
    }
}
