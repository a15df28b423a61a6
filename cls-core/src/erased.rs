//! The store of one context, with its type erased: a [`Slot`] holding an
//! `Arc<dyn AnyStore>`.
//!
//! A frame holds the store of one store type without naming the type, so that frames of
//! every store type can link into one chain. The slot keeps the store's `TypeId` beside the
//! `Arc`, so a lookup is a compare, and turns the erased store back into the typed one
//! after checking that same `TypeId`.
//!
//! The slot also enforces the borrow rules of a context (reads inside a `with` closure
//! work, any write inside it and any access inside `update` are refused) and copy-on-write:
//! the `Arc` is shared by nested `run`s, spawned tasks and snapshots, and a write to a
//! shared store copies it first, so nobody else ever sees the write.
//!
//! This file and `frame.rs` hold the crate's only `unsafe` code.

use std::any::TypeId;
use std::cell::{Cell, RefCell, RefMut};
use std::mem;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;

use crate::error::ClsError;
use crate::store::ClsStore;

/// What the runtime needs of a store whose type it does not know.
pub(crate) trait AnyStore: Send + Sync + 'static {
    /// `TypeId::of::<S>()` of the concrete store, and its name as written.
    fn identity(&self) -> (TypeId, &'static str);

    /// The store as it crosses into other work (`spawn`, `snapshot`, `bind`): the same
    /// `Arc` when the type has no `#[cls(local)]` field, otherwise a copy with those fields
    /// reset. `this` is the `Arc` that holds `self`.
    fn carry(&self, this: &Arc<dyn AnyStore>) -> Arc<dyn AnyStore>;
}

impl<S: ClsStore> AnyStore for S {
    fn identity(&self) -> (TypeId, &'static str) {
        (TypeId::of::<S>(), S::__store_name())
    }

    fn carry(&self, this: &Arc<dyn AnyStore>) -> Arc<dyn AnyStore> {
        if S::__has_local() {
            Arc::new(self.__carry_clone())
        } else {
            Arc::clone(this)
        }
    }
}

/// The store of one context: an `Arc<dyn AnyStore>` whose concrete type is `type_id`, or
/// nothing, for a context that hides the store type (`Cls::exit`).
///
/// No `Weak` of the `Arc` is ever made, so a strong count of one means this slot is the
/// only owner.
pub(crate) struct Slot {
    type_id: TypeId,
    name: &'static str,
    store: RefCell<Option<Arc<dyn AnyStore>>>,
    /// The `Arc` is known to be the store's only owner: a write needs no atomic check.
    /// Cleared whenever the slot shares it.
    unique: Cell<bool>,
}

impl Slot {
    /// A slot holding a new store, its only owner.
    pub(crate) fn new<S: ClsStore>(store: S) -> Self {
        Self {
            type_id: TypeId::of::<S>(),
            name: S::__store_name(),
            store: RefCell::new(Some(Arc::new(store))),
            unique: Cell::new(true),
        }
    }

    /// A slot holding a shared or carried store, whose [`identity`](AnyStore::identity) the
    /// caller asked for before it took the store out of where it was (so that nothing can
    /// unwind while the store is held only here and lose it).
    #[inline]
    pub(crate) fn erased(
        store: Arc<dyn AnyStore>,
        (type_id, name): (TypeId, &'static str),
    ) -> Self {
        Self {
            type_id,
            name,
            store: RefCell::new(Some(store)),
            unique: Cell::new(false),
        }
    }

    /// A slot that hides every outer context of `S` (`Cls::exit`).
    pub(crate) fn hiding<S: ClsStore>() -> Self {
        Self {
            type_id: TypeId::of::<S>(),
            name: S::__store_name(),
            store: RefCell::new(None),
            unique: Cell::new(false),
        }
    }

    #[inline]
    pub(crate) fn type_id(&self) -> TypeId {
        self.type_id
    }

    /// Whether the slot holds a store (it does unless it hides its type).
    pub(crate) fn is_present(&self) -> bool {
        // A failed borrow means an `update` is changing the store: it is there.
        self.store
            .try_borrow()
            .map_or(true, |store| store.is_some())
    }

    /// Runs `f` on the store, borrowed for reading.
    #[inline]
    pub(crate) fn read<S: ClsStore, R>(&self, f: impl FnOnce(&S) -> R) -> Result<R, ClsError> {
        let store = self
            .store
            .try_borrow()
            .map_err(|_| ClsError::read_while_updating(self.name))?;
        match &*store {
            Some(store) if self.type_id == TypeId::of::<S>() => {
                // SAFETY: `type_id` is the concrete type of every store this slot holds
                // (set with it in the constructors; `replace` and `write` only put in an
                // `S` after this same check), and it is `S`.
                let store = unsafe { &*Arc::as_ptr(store).cast::<S>() };
                Ok(f(store))
            }
            _ => Err(ClsError::no_context::<S>()),
        }
    }

    /// Runs `f` on the store, borrowed for writing. A shared store is copied first, so that
    /// its other owners never see the write.
    #[inline]
    pub(crate) fn write<S: ClsStore, R>(&self, f: impl FnOnce(&mut S) -> R) -> Result<R, ClsError> {
        let mut store = self.borrow_mut::<S>()?;
        if let Some(store) = unique_mut(&mut store, &self.unique) {
            return Ok(f(store));
        }
        drop(store);
        self.write_to_copy(f)
    }

    /// The write of a shared store: the copy is made under a read borrow (a `Clone` that
    /// reads the context works; nothing has changed yet), and the old store is given back
    /// after the write borrow is released, also when `f` panics, so that its destructor
    /// may use the context.
    #[cold]
    #[inline(never)]
    fn write_to_copy<S: ClsStore, R>(&self, f: impl FnOnce(&mut S) -> R) -> Result<R, ClsError> {
        // Refused writes must not copy.
        drop(self.borrow_mut::<S>()?);
        let copy: Arc<dyn AnyStore> = self.read::<S, _>(|store| Arc::new(store.clone()))?;
        let old;
        let mut store = self.borrow_mut::<S>()?;
        old = mem::replace(&mut *store, copy);
        let result = f(unique_mut(&mut store, &self.unique).expect("a fresh copy has one owner"));
        drop(store);
        drop(old);
        Ok(result)
    }

    /// Replaces the store (`enter_with`); the old one is dropped after the borrow is
    /// released, so that its destructor may use the context.
    pub(crate) fn replace<S: ClsStore>(&self, new: S) -> Result<(), ClsError> {
        let old;
        let mut store = self.borrow_mut::<S>()?;
        old = mem::replace(&mut *store, Arc::new(new));
        self.unique.set(true);
        drop(store);
        drop(old);
        Ok(())
    }

    /// A new owner of the store, shared copy-on-write (a nested `run`); `None` when the
    /// slot hides its type.
    pub(crate) fn share(&self) -> Result<Option<Arc<dyn AnyStore>>, ClsError> {
        let shared = self.borrow()?.clone();
        self.unique.set(false);
        Ok(shared)
    }

    /// The store as it crosses into other work, `#[cls(local)]` fields reset; `None` when
    /// the slot hides its type.
    pub(crate) fn carry(&self) -> Result<Option<Arc<dyn AnyStore>>, ClsError> {
        let store = self.borrow()?;
        let Some(store) = store.as_ref() else {
            return Ok(None);
        };
        let carried = store.carry(store);
        if Arc::ptr_eq(&carried, store) {
            // Carried without a copy: shared now.
            self.unique.set(false);
        }
        Ok(Some(carried))
    }

    /// The store type's name, marked when the slot hides it, for `Debug` output.
    pub(crate) fn describe(&self) -> String {
        if self.is_present() {
            self.name.to_owned()
        } else {
            format!("exit({})", self.name)
        }
    }

    /// Takes the store out, to hand it back to the carrier it was lent from.
    ///
    /// # Panics
    ///
    /// While the store is borrowed; never the case once the code that used the slot has
    /// returned, since every borrow is scoped to a call.
    pub(crate) fn take(&self) -> Option<Arc<dyn AnyStore>> {
        self.store.borrow_mut().take()
    }

    fn borrow(&self) -> Result<std::cell::Ref<'_, Option<Arc<dyn AnyStore>>>, ClsError> {
        self.store
            .try_borrow()
            .map_err(|_| ClsError::read_while_updating(self.name))
    }

    /// The store, borrowed for writing, after checking that it is an `S`.
    #[inline]
    fn borrow_mut<S: ClsStore>(&self) -> Result<TypedMut<'_>, ClsError> {
        let Ok(store) = self.store.try_borrow_mut() else {
            return Err(if self.store.try_borrow().is_ok() {
                ClsError::write_while_reading(self.name)
            } else {
                ClsError::write_while_updating(self.name)
            });
        };
        if self.type_id != TypeId::of::<S>() {
            return Err(ClsError::no_context::<S>());
        }
        RefMut::filter_map(store, Option::as_mut)
            .map(|store| TypedMut {
                store,
                type_id: self.type_id,
            })
            .map_err(|_| ClsError::no_context::<S>())
    }
}

/// A store borrowed for writing whose concrete type was checked to be `type_id`.
struct TypedMut<'a> {
    store: RefMut<'a, Arc<dyn AnyStore>>,
    type_id: TypeId,
}

impl std::ops::Deref for TypedMut<'_> {
    type Target = Arc<dyn AnyStore>;

    fn deref(&self) -> &Self::Target {
        &self.store
    }
}

impl std::ops::DerefMut for TypedMut<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.store
    }
}

/// The store as the `S` it is, for writing, when this `Arc` is its only owner; `None` when
/// it is shared.
///
/// `unique` remembers a check that found the `Arc` unshared, so that the hot path of a write
/// is a flag, not an atomic load and a fence; the slot clears it whenever it shares the
/// `Arc`. The check itself is a plain load of the strong count, not `Arc::get_mut`'s
/// read-modify-write.
#[inline]
fn unique_mut<'a, S: ClsStore>(
    store: &'a mut TypedMut<'_>,
    unique: &Cell<bool>,
) -> Option<&'a mut S> {
    if store.type_id != TypeId::of::<S>() {
        return None;
    }
    if !unique.get() {
        if Arc::strong_count(&store.store) != 1 {
            return None;
        }
        // Pairs with the release decrement of an owner that let go on another thread, so
        // that its last accesses happen before the caller's write.
        fence(Ordering::Acquire);
        unique.set(true);
    }
    // SAFETY: the pointee is an `S` (checked above against the `TypeId` the slot keeps
    // beside the store). This `Arc` is its only owner: its strong count was one when
    // `unique` was set (by this check, or by the slot right after an `Arc::new`), the slot
    // clears `unique` whenever it makes another `Arc` of it, and no `Weak` is ever made; the
    // fence ordered every former owner's accesses before this one. The `&mut` borrow of the
    // only `Arc` keeps it so for the returned lifetime (a clone needs the `Arc`).
    // `Arc::as_ptr` keeps the provenance of the allocation the `Arc` owns, so writing
    // through it is allowed.
    Some(unsafe { &mut *Arc::as_ptr(&store.store).cast::<S>().cast_mut() })
}
