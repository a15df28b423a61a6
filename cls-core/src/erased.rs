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
use crate::tagged::{FieldTag, TagVisitor};

/// What the runtime needs of a store whose type it does not know.
pub(crate) trait AnyStore: Send + Sync + 'static {
    /// `TypeId::of::<S>()` of the concrete store, and its name as written.
    fn identity(&self) -> (TypeId, &'static str);

    /// The store as it crosses into other work (`spawn`, `snapshot`, `bind`): the same
    /// `Arc` when the type has no `#[cls(local)]` field, otherwise a copy with those fields
    /// reset. `this` is the `Arc` that holds `self`.
    fn carry(&self, this: &Arc<dyn AnyStore>) -> Arc<dyn AnyStore>;

    /// Visits the store's fields that carry `tag` (`visit_current_tagged`).
    fn visit_tagged(&self, tag: FieldTag, visitor: &mut dyn TagVisitor);
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

    fn visit_tagged(&self, tag: FieldTag, visitor: &mut dyn TagVisitor) {
        self.__visit_tagged(tag, visitor);
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
    /// Every access borrows it, so the `RefCell` enforces the borrow rules of a context.
    store: RefCell<Option<Arc<dyn AnyStore>>>,
    /// `Arc::as_ptr` of `store`, or null: the store without the vtable lookup that finding
    /// the data inside an `Arc<dyn _>` takes. Set with every change of `store`.
    data: Cell<*const ()>,
    /// The `Arc` is known to be the store's only owner: a write needs no atomic check.
    /// Cleared whenever the slot shares it.
    unique: Cell<bool>,
}

impl Slot {
    fn with(
        type_id: TypeId,
        name: &'static str,
        store: Option<Arc<dyn AnyStore>>,
        unique: bool,
    ) -> Self {
        Self {
            type_id,
            name,
            data: Cell::new(data_of(&store)),
            store: RefCell::new(store),
            unique: Cell::new(unique),
        }
    }

    /// A slot holding a new store, its only owner.
    pub(crate) fn new<S: ClsStore>(store: S) -> Self {
        Self::with(
            TypeId::of::<S>(),
            S::__store_name(),
            Some(Arc::new(store)),
            true,
        )
    }

    /// A slot holding a shared or carried store, whose [`identity`](AnyStore::identity) the
    /// caller asked for before it took the store out of where it was (so that nothing can
    /// unwind while the store is held only here and lose it).
    #[inline]
    pub(crate) fn erased(
        store: Arc<dyn AnyStore>,
        (type_id, name): (TypeId, &'static str),
    ) -> Self {
        Self::with(type_id, name, Some(store), false)
    }

    /// A slot that hides every outer context of `S` (`Cls::exit`).
    pub(crate) fn hiding<S: ClsStore>() -> Self {
        Self::with(TypeId::of::<S>(), S::__store_name(), None, false)
    }

    #[inline]
    pub(crate) fn type_id(&self) -> TypeId {
        self.type_id
    }

    /// Whether the slot holds a store (it does unless it hides its type).
    pub(crate) fn is_present(&self) -> bool {
        !self.data.get().is_null()
    }

    /// Runs `f` on the store, borrowed for reading.
    #[inline(always)]
    pub(crate) fn read<S: ClsStore, R>(&self, f: impl FnOnce(&S) -> R) -> Result<R, ClsError> {
        let _read = self
            .store
            .try_borrow()
            .map_err(|_| ClsError::read_while_updating(self.name))?;
        let data = self.data.get();
        if data.is_null() || self.type_id != TypeId::of::<S>() {
            return Err(ClsError::no_context::<S>());
        }
        // SAFETY: `data` points to the store in the `Arc` the slot holds (set with every
        // change of it), which the read borrow keeps in place and away from writers until
        // `f` returns. The store is an `S`: `type_id` is the concrete type of every store the
        // slot holds (set with it in the constructors; `replace` and `write` only put in an
        // `S` after this same check).
        Ok(f(unsafe { &*data.cast::<S>() }))
    }

    /// Runs `f` on the store, borrowed for writing. A shared store is copied first, so that
    /// its other owners never see the write.
    #[inline(always)]
    pub(crate) fn write<S: ClsStore, R>(&self, f: impl FnOnce(&mut S) -> R) -> Result<R, ClsError> {
        let mut store = self.borrow_mut::<S>()?;
        if !self.unique.get() {
            if Arc::strong_count(&store) != 1 {
                drop(store);
                return self.write_to_copy(f);
            }
            // Pairs with the release decrement of an owner that let go on another thread,
            // so that its last accesses happen before this write.
            fence(Ordering::Acquire);
            self.unique.set(true);
        }
        Ok(f(self.unique_mut(&mut store)))
    }

    /// The store as the `S` it is, for writing, while it is borrowed for writing by
    /// `_store` and known to be unshared.
    #[inline]
    fn unique_mut<'a, S: ClsStore>(
        &self,
        _store: &'a mut RefMut<'_, Arc<dyn AnyStore>>,
    ) -> &'a mut S {
        assert!(self.unique.get() && self.type_id == TypeId::of::<S>());
        // SAFETY: `data` points to the store in the `Arc` the slot holds, an `S` (checked
        // above, and in `borrow_mut`, against the `TypeId` the slot keeps beside it). That
        // `Arc` is the store's only owner: its strong count was one when `unique` was set
        // (by `write`, after an acquire fence that orders every former owner's accesses
        // before this one, or right after an `Arc::new`), the slot clears `unique` whenever
        // it makes another `Arc` of it, and no `Weak` is ever made. The write borrow keeps
        // every other access out, and the store in place, for the returned lifetime.
        // `data` comes from `Arc::as_ptr`, which keeps the provenance of the allocation the
        // `Arc` owns, so writing through it is allowed.
        unsafe { &mut *self.data.get().cast::<S>().cast_mut() }
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
        old = self.put(&mut store, copy);
        let result = f(self.unique_mut(&mut store));
        drop(store);
        drop(old);
        Ok(result)
    }

    /// Replaces the store (`enter_with`); the old one is dropped after the borrow is
    /// released, so that its destructor may use the context.
    pub(crate) fn replace<S: ClsStore>(&self, new: S) -> Result<(), ClsError> {
        let old;
        let mut store = self.borrow_mut::<S>()?;
        old = self.put(&mut store, Arc::new(new));
        drop(store);
        drop(old);
        Ok(())
    }

    /// Puts a new store, its only owner, in place of the one borrowed by `store`, and
    /// returns the old one.
    fn put(
        &self,
        store: &mut RefMut<'_, Arc<dyn AnyStore>>,
        new: Arc<dyn AnyStore>,
    ) -> Arc<dyn AnyStore> {
        self.data.set(Arc::as_ptr(&new).cast());
        self.unique.set(true);
        mem::replace(&mut **store, new)
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

    /// Visits the store's fields that carry `tag`, borrowed for reading; nothing when the
    /// slot hides its type.
    pub(crate) fn visit_tagged(
        &self,
        tag: FieldTag,
        visitor: &mut dyn TagVisitor,
    ) -> Result<(), ClsError> {
        if let Some(store) = self.borrow()?.as_ref() {
            store.visit_tagged(tag, visitor);
        }
        Ok(())
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
        let store = self.store.borrow_mut().take();
        self.data.set(std::ptr::null());
        // Nothing is left to be unique: every access is refused from now on.
        self.unique.set(false);
        store
    }

    fn borrow(&self) -> Result<std::cell::Ref<'_, Option<Arc<dyn AnyStore>>>, ClsError> {
        self.store
            .try_borrow()
            .map_err(|_| ClsError::read_while_updating(self.name))
    }

    /// The store, borrowed for writing, after checking that it is an `S`.
    #[inline]
    fn borrow_mut<S: ClsStore>(&self) -> Result<RefMut<'_, Arc<dyn AnyStore>>, ClsError> {
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
        RefMut::filter_map(store, Option::as_mut).map_err(|_| ClsError::no_context::<S>())
    }
}

fn data_of(store: &Option<Arc<dyn AnyStore>>) -> *const () {
    store
        .as_ref()
        .map_or(std::ptr::null(), |store| Arc::as_ptr(store).cast())
}
