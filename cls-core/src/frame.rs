//! Frames: the per-thread chain of active contexts, and the type-erased store each one holds.
//!
//! One thread-local pointer names the innermost frame of the code running on this thread.
//! Each frame holds the store of one store type and points to the frame outside it, so
//! several store types can be active at once and a lookup walks outward to the innermost
//! frame of the wanted type. Entering a context (every poll of a scoped future) is one
//! pointer swap however many store types are active.
//!
//! A frame owns one strong count of an `Arc<S>`. Copy-on-write falls out of that: carrying
//! a context into a task or a nested `run` adds a strong count, and a write to a shared
//! store clones it first, so nobody else ever sees the write.
//!
//! Frames live inside the future or stack frame that installed them and are only reached
//! through the thread-local pointer while that owner is being polled or called, on the
//! thread doing it. That is why a frame can use `Cell`s and raw pointers and still be
//! moved between threads with its future.

use std::any::TypeId;
use std::cell::Cell;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use crate::error::ClsError;
use crate::store::ClsStore;

thread_local! {
    /// The innermost active frame of the code running on this thread, or null.
    static CURRENT: Cell<*const Frame> = const { Cell::new(ptr::null()) };
}

/// The operations a frame needs on its store without knowing its type.
pub(crate) struct StoreVTable {
    pub(crate) type_name: fn() -> &'static str,
    type_id: fn() -> TypeId,
    /// Adds one strong count to the `Arc<S>` behind the pointer.
    increment: unsafe fn(NonNull<()>),
    /// Gives back one strong count.
    release: unsafe fn(NonNull<()>),
    /// The store as it crosses into other work: a new strong count when the type has no
    /// `#[cls(local)]` field, otherwise a fresh `Arc` of a copy with those fields reset.
    carry: unsafe fn(NonNull<()>) -> NonNull<()>,
    /// Moves an inline store (not in an `Arc`) into a new `Arc`.
    promote: unsafe fn(NonNull<()>) -> NonNull<()>,
    /// A new `Arc` of a copy of the store, `#[cls(local)]` fields reset when the flag is set.
    copy: unsafe fn(NonNull<()>, bool) -> NonNull<()>,
}

struct VTableOf<S>(PhantomData<S>);

impl<S: ClsStore> VTableOf<S> {
    const VTABLE: StoreVTable = StoreVTable {
        type_name: crate::error::store_name::<S>,
        type_id: TypeId::of::<S>,
        increment: increment::<S>,
        release: release::<S>,
        carry: carry::<S>,
        promote: promote::<S>,
        copy: copy::<S>,
    };
}

// SAFETY (for the three functions below): `ptr` always comes from `Arc::<S>::into_raw` and
// the caller owns at least one strong count of it.
unsafe fn increment<S>(ptr: NonNull<()>) {
    // SAFETY: see above.
    unsafe { Arc::increment_strong_count(ptr.as_ptr().cast::<S>()) }
}

unsafe fn release<S>(ptr: NonNull<()>) {
    // SAFETY: see above; this gives back the count the caller owns.
    unsafe { drop(Arc::from_raw(ptr.as_ptr().cast::<S>())) }
}

unsafe fn carry<S: ClsStore>(ptr: NonNull<()>) -> NonNull<()> {
    if S::__has_local() {
        // SAFETY: see above; the caller holds a read borrow, so nobody mutates the store.
        unsafe { copy::<S>(ptr, true) }
    } else {
        // SAFETY: see above.
        unsafe { increment::<S>(ptr) };
        ptr
    }
}

/// # Safety
///
/// `ptr` names an initialized `S` (in an `Arc` or inline) that the caller keeps writers away
/// from (a read borrow).
unsafe fn copy<S: ClsStore>(ptr: NonNull<()>, reset_local: bool) -> NonNull<()> {
    // SAFETY: see above.
    let store = unsafe { &*ptr.as_ptr().cast::<S>() };
    let copy = if reset_local {
        store.__carry_clone()
    } else {
        store.clone()
    };
    into_erased(Arc::new(copy))
}

unsafe fn promote<S>(ptr: NonNull<()>) -> NonNull<()> {
    // SAFETY: `ptr` names an initialized inline `S` that the frame owns; the caller marks
    // the frame as no longer inline, so the value is never used or dropped there again.
    into_erased(Arc::new(unsafe { ptr::read(ptr.as_ptr().cast::<S>()) }))
}

fn into_erased<S>(arc: Arc<S>) -> NonNull<()> {
    // SAFETY: `Arc::into_raw` never returns null.
    unsafe { NonNull::new_unchecked(Arc::into_raw(arc).cast_mut().cast::<()>()) }
}

/// One strong count of an `Arc<S>` whose `S` is known only by its `TypeId`.
pub(crate) struct ErasedStore {
    type_id: TypeId,
    ptr: NonNull<()>,
    vtable: &'static StoreVTable,
}

// SAFETY: an `ErasedStore` is an `Arc<S>` with `S: ClsStore`, so `S: Send + Sync`.
unsafe impl Send for ErasedStore {}
// SAFETY: as above; shared access only reads the pointer and clones the `Arc`.
unsafe impl Sync for ErasedStore {}

impl ErasedStore {
    pub(crate) fn new<S: ClsStore>(store: Arc<S>) -> Self {
        Self {
            type_id: TypeId::of::<S>(),
            ptr: into_erased(store),
            vtable: &VTableOf::<S>::VTABLE,
        }
    }

    pub(crate) fn type_name(&self) -> &'static str {
        (self.vtable.type_name)()
    }

    #[inline]
    fn into_raw(self) -> (TypeId, NonNull<()>, &'static StoreVTable) {
        let this = ManuallyDrop::new(self);
        (this.type_id, this.ptr, this.vtable)
    }
}

impl Clone for ErasedStore {
    fn clone(&self) -> Self {
        // SAFETY: `self` owns a strong count, so the allocation is alive.
        unsafe { (self.vtable.increment)(self.ptr) };
        Self { ..*self }
    }
}

impl Drop for ErasedStore {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `self` owns this strong count and gives it back once.
        unsafe { (self.vtable.release)(self.ptr) }
    }
}

/// Borrow state of a frame's store: `0` free, `> 0` that many readers, `WRITING` a writer.
const WRITING: i32 = -1;

/// One active context of one store type.
pub(crate) struct Frame {
    /// The frame outside this one while it is installed; stale otherwise.
    parent: Cell<*const Frame>,
    type_id: TypeId,
    vtable: &'static StoreVTable,
    /// Owns one strong count of the `Arc<S>`; replaced by copy-on-write and `enter_with`.
    store: Cell<NonNull<()>>,
    borrow: Cell<i32>,
    /// The store is known to have no other owner, so a write needs no atomic check.
    unique: Cell<bool>,
    /// The store is not in an `Arc` but in the caller's stack frame (`run_with_sync`): it is
    /// moved into an `Arc` the first time something shares it.
    inline: Cell<bool>,
}

// SAFETY: a frame is only touched by the thread that polls (or calls) its owner, while it
// does so; between polls it is inert data. The store it owns is `Send + Sync`.
unsafe impl Send for Frame {}

impl Frame {
    pub(crate) fn new<S: ClsStore>(store: Arc<S>) -> Self {
        Self::from_erased(ErasedStore::new(store), true)
    }

    #[inline]
    pub(crate) fn from_erased(store: ErasedStore, unique: bool) -> Self {
        let (type_id, ptr, vtable) = store.into_raw();
        Self {
            parent: Cell::new(ptr::null()),
            type_id,
            vtable,
            store: Cell::new(ptr),
            borrow: Cell::new(0),
            unique: Cell::new(unique),
            inline: Cell::new(false),
        }
    }

    /// A frame over a store that lives in the caller's stack frame, not in an `Arc`.
    ///
    /// # Safety
    ///
    /// `store` points to an initialized `S` that outlives the frame, that nothing else
    /// touches while the frame lives, and that the caller drops afterwards only if the frame
    /// is still [`is_inline`](Frame::is_inline) (otherwise it was moved into an `Arc`).
    pub(crate) unsafe fn inline<S: ClsStore>(store: NonNull<S>) -> Self {
        Self {
            parent: Cell::new(ptr::null()),
            type_id: TypeId::of::<S>(),
            vtable: &VTableOf::<S>::VTABLE,
            store: Cell::new(store.cast::<()>()),
            borrow: Cell::new(0),
            unique: Cell::new(true),
            inline: Cell::new(true),
        }
    }

    /// Whether the store is still the caller's inline value (see [`Frame::inline`]).
    pub(crate) fn is_inline(&self) -> bool {
        self.inline.get()
    }

    pub(crate) fn type_name(&self) -> &'static str {
        (self.vtable.type_name)()
    }

    pub(crate) fn set_parent(&self, parent: *const Frame) {
        self.parent.set(parent);
    }

    /// A new owner of this frame's store: the same `Arc` for a nested `run` (`carry ==
    /// false`), or the store as it crosses into other work, `#[cls(local)]` fields reset.
    #[inline]
    fn share(&self, carry: bool) -> Result<ErasedStore, ClsError> {
        // Sharing only adds a strong count, unless `carry` copies the store (then the read
        // borrow keeps writers out during the copy); either way a store half-changed by
        // `update` must not be shared.
        let read = BorrowGuard::read(self)?;
        if self.inline.get() {
            if read.state != 0 {
                // A `with` closure holds a reference into the inline store, so it cannot
                // move: the sharer gets its own copy, which copy-on-write makes equivalent.
                // SAFETY: the store is inline and initialized, and only read here.
                let ptr = unsafe { (self.vtable.copy)(self.store.get(), carry) };
                return Ok(ErasedStore {
                    type_id: self.type_id,
                    ptr,
                    vtable: self.vtable,
                });
            }
            // SAFETY: the store is inline and initialized, and no reference into it is held
            // (no other reader); from now on the frame owns it through the new `Arc`, and the
            // caller no longer drops it.
            self.store
                .set(unsafe { (self.vtable.promote)(self.store.get()) });
            self.inline.set(false);
        }
        let ptr = if carry {
            // SAFETY: this frame owns a strong count, and the read borrow keeps writers out.
            unsafe { (self.vtable.carry)(self.store.get()) }
        } else {
            // SAFETY: as above.
            unsafe { (self.vtable.increment)(self.store.get()) };
            self.store.get()
        };
        if ptr == self.store.get() {
            self.unique.set(false);
        }
        Ok(ErasedStore {
            type_id: self.type_id,
            ptr,
            vtable: self.vtable,
        })
    }
}

impl Drop for Frame {
    #[inline]
    fn drop(&mut self) {
        if !self.inline.get() {
            // SAFETY: the frame owns one strong count of its store and gives it back once.
            unsafe { (self.vtable.release)(self.store.get()) }
        }
    }
}

/// Marks a frame's store as read or written for as long as it lives, so that a write from
/// inside a `with` closure (or a read from inside `update`) is refused instead of aliasing.
struct BorrowGuard<'a> {
    frame: &'a Frame,
    state: i32,
}

impl<'a> BorrowGuard<'a> {
    #[inline]
    fn read(frame: &'a Frame) -> Result<Self, ClsError> {
        let state = frame.borrow.get();
        if state == WRITING {
            return Err(ClsError::read_while_updating(frame.type_name()));
        }
        frame.borrow.set(state + 1);
        Ok(Self { frame, state })
    }

    #[inline]
    fn write(frame: &'a Frame) -> Result<Self, ClsError> {
        let state = frame.borrow.get();
        if state != 0 {
            return Err(if state == WRITING {
                ClsError::write_while_updating(frame.type_name())
            } else {
                ClsError::write_while_reading(frame.type_name())
            });
        }
        frame.borrow.set(WRITING);
        Ok(Self { frame, state })
    }
}

impl Drop for BorrowGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.frame.borrow.set(self.state);
    }
}

/// The innermost active frame holding a store of type `S` on this thread.
#[inline]
fn find<S: ClsStore>() -> Option<&'static Frame> {
    let wanted = TypeId::of::<S>();
    let mut cursor = CURRENT.with(Cell::get);
    // SAFETY: every pointer in the chain names a frame installed by an owner that is being
    // polled or called further up this thread's stack, so it outlives this call. The
    // `'static` is never handed to users: callers use the frame before they return.
    while let Some(frame) = unsafe { cursor.as_ref() } {
        if frame.type_id == wanted {
            return Some(frame);
        }
        cursor = frame.parent.get();
    }
    None
}

#[inline]
fn find_or_err<S: ClsStore>() -> Result<&'static Frame, ClsError> {
    find::<S>().ok_or_else(ClsError::no_context::<S>)
}

pub(crate) fn is_active<S: ClsStore>() -> bool {
    find::<S>().is_some()
}

/// Runs `f` on the innermost store of type `S`, borrowed for reading.
#[inline]
pub(crate) fn read<S: ClsStore, R>(f: impl FnOnce(&S) -> R) -> Result<R, ClsError> {
    let frame = find_or_err::<S>()?;
    let _read = BorrowGuard::read(frame)?;
    // SAFETY: the frame owns a strong count of an `Arc<S>` (its `TypeId` matched) and the
    // read borrow keeps every writer out until `f` returns.
    let store = unsafe { &*frame.store.get().as_ptr().cast::<S>() };
    Ok(f(store))
}

/// Runs `f` on the innermost store of type `S`, borrowed for writing; a shared store is
/// copied first so that its other owners never see the write.
#[inline]
pub(crate) fn write<S: ClsStore, R>(f: impl FnOnce(&mut S) -> R) -> Result<R, ClsError> {
    let frame = find_or_err::<S>()?;
    let write = BorrowGuard::write(frame)?;
    let released = if frame.unique.get() {
        None
    } else {
        make_unique::<S>(frame).map(|old| Released {
            frame,
            old: ManuallyDrop::new(old),
        })
    };
    // SAFETY: the store is owned by this frame alone and the write borrow keeps every other
    // access out until `f` returns.
    let result = f(unsafe { &mut *frame.store.get().as_ptr().cast::<S>() });
    drop(write);
    drop(released);
    Ok(result)
}

/// The old store's count after a copy-on-write, given back when dropped, with the frame's
/// store free while it is: if this was the old store's last owner, its destructor may use
/// the context. On a panic in the write, this is dropped before the write borrow is released,
/// hence the explicit release here. Out of line, so the write path carries no `Arc` drop code.
struct Released<'a, S> {
    frame: &'a Frame,
    old: ManuallyDrop<Arc<S>>,
}

impl<S> Drop for Released<'_, S> {
    #[cold]
    #[inline(never)]
    fn drop(&mut self) {
        let state = self.frame.borrow.replace(0);
        // SAFETY: dropped once, here.
        unsafe { ManuallyDrop::drop(&mut self.old) };
        self.frame.borrow.set(state);
    }
}

#[cold]
fn make_unique<S: ClsStore>(frame: &Frame) -> Option<Arc<S>> {
    // SAFETY: the frame owns a strong count of an `Arc<S>`; `ManuallyDrop` keeps it owned.
    let mut arc =
        ManuallyDrop::new(unsafe { Arc::from_raw(frame.store.get().as_ptr().cast::<S>()) });
    if Arc::get_mut(&mut arc).is_some() {
        frame.unique.set(true);
        return None;
    }
    // If `clone` panics, the frame still holds the shared store and is still marked shared.
    let copy = Arc::new(S::clone(&arc));
    frame.store.set(into_erased(copy));
    frame.unique.set(true);
    Some(ManuallyDrop::into_inner(arc))
}

/// Replaces the innermost store of type `S` (`enter_with`).
pub(crate) fn replace<S: ClsStore>(store: S) -> Result<(), ClsError> {
    let frame = find_or_err::<S>()?;
    let write = BorrowGuard::write(frame)?;
    if frame.inline.get() {
        // SAFETY: the inline store is owned by this frame's caller and only reached through
        // the frame, which the write borrow holds alone.
        let old = unsafe { ptr::replace(frame.store.get().as_ptr().cast::<S>(), store) };
        drop(write);
        drop(old);
        return Ok(());
    }
    let old = frame.store.replace(into_erased(Arc::new(store)));
    frame.unique.set(true);
    drop(write);
    // SAFETY: `old` was the strong count this frame owned; it is given back once, after the
    // borrow is released so that its destructor may use the context.
    unsafe { (frame.vtable.release)(old) };
    Ok(())
}

/// A new owner of the innermost store of type `S`, shared copy-on-write (nested `run`).
pub(crate) fn share<S: ClsStore>() -> Result<Option<Arc<S>>, ClsError> {
    let Some(frame) = find::<S>() else {
        return Ok(None);
    };
    let (_, ptr, _) = frame.share(false)?.into_raw();
    // SAFETY: `share` added one strong count of this `Arc<S>`, now owned by the result.
    Ok(Some(unsafe { Arc::from_raw(ptr.as_ptr().cast::<S>()) }))
}

/// The stores that cross into other work: the innermost store of every active store type,
/// with `#[cls(local)]` fields reset.
pub(crate) enum Captured {
    Nothing,
    One(ErasedStore),
    Many(Vec<ErasedStore>),
}

/// Captures the current contexts of this thread for other work.
///
/// # Panics
///
/// When a store is being changed by `Cls::update` on this thread (its copy would be torn).
#[inline]
#[track_caller]
pub(crate) fn capture() -> Captured {
    let head = CURRENT.with(Cell::get);
    // SAFETY: as in `find`.
    let Some(first) = (unsafe { head.as_ref() }) else {
        return Captured::Nothing;
    };
    let store = share_for_carry(first);
    let rest = first.parent.get();
    if rest.is_null() {
        // The common case: one context, one reference count.
        Captured::One(store)
    } else {
        capture_rest(store, rest)
    }
}

#[inline]
#[track_caller]
fn share_for_carry(frame: &Frame) -> ErasedStore {
    match frame.share(true) {
        Ok(store) => store,
        Err(err) => err.raise(),
    }
}

/// The innermost store of every further store type, after the first frame's.
#[inline(never)]
#[track_caller]
fn capture_rest(first: ErasedStore, mut cursor: *const Frame) -> Captured {
    let mut stores = vec![first];
    // SAFETY: as in `find`.
    while let Some(frame) = unsafe { cursor.as_ref() } {
        cursor = frame.parent.get();
        if stores.iter().all(|s| s.type_id != frame.type_id) {
            stores.push(share_for_carry(frame));
        }
    }
    if stores.len() == 1 {
        Captured::One(stores.pop().expect("one store"))
    } else {
        Captured::Many(stores)
    }
}

/// The frames a scoped future or call installs.
pub(crate) enum Frames {
    /// A context opened by `run`/`run_with`: it sees the contexts of other store types
    /// around it, so its parent is whatever is current when it is entered.
    Nested(Frame),
    /// Carried contexts (`spawn`, snapshots): exactly what was captured, nothing of the
    /// thread that happens to poll it. Frames after the first are linked once, here.
    Carried(Option<Frame>),
    CarriedMany(Box<[Frame]>),
}

impl Frames {
    #[inline]
    pub(crate) fn carried(captured: Captured) -> Self {
        match captured {
            Captured::Nothing => Self::Carried(None),
            Captured::One(store) => Self::Carried(Some(Frame::from_erased(store, false))),
            Captured::Many(stores) => {
                let frames: Box<[Frame]> = stores
                    .into_iter()
                    .map(|s| Frame::from_erased(s, false))
                    .collect();
                for pair in frames.windows(2) {
                    pair[0].set_parent(&pair[1]);
                }
                Self::CarriedMany(frames)
            }
        }
    }

    /// Installs `frame` alone (no parent) until the returned guard is dropped.
    #[inline]
    fn enter_one(frame: &Frame) -> Entered<'_> {
        CURRENT.with(|current| Entered {
            previous: current.replace(frame),
            _frames: PhantomData,
        })
    }

    /// Installs these frames on this thread until the returned guard is dropped.
    #[inline]
    pub(crate) fn enter(&self) -> Entered<'_> {
        CURRENT.with(|current| {
            let previous = current.get();
            let head: *const Frame = match self {
                Frames::Nested(frame) => {
                    frame.set_parent(previous);
                    frame
                }
                Frames::Carried(Some(frame)) => frame,
                Frames::Carried(None) => ptr::null(),
                Frames::CarriedMany(frames) => &frames[0],
            };
            current.set(head);
            Entered {
                previous,
                _frames: PhantomData,
            }
        })
    }

    /// The store type names, innermost first, for `Debug` output.
    pub(crate) fn type_names(&self) -> Vec<&'static str> {
        match self {
            Frames::Nested(frame) | Frames::Carried(Some(frame)) => vec![frame.type_name()],
            Frames::Carried(None) => Vec::new(),
            Frames::CarriedMany(frames) => frames.iter().map(Frame::type_name).collect(),
        }
    }
}

/// Restores the previous frame pointer when dropped, on return, panic or cancellation.
pub(crate) struct Entered<'a> {
    previous: *const Frame,
    _frames: PhantomData<&'a Frames>,
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.previous));
    }
}

/// One carried store, kept as small as a pointer pair so that a spawned task grows by 16
/// bytes, not by a whole frame: a tiny task that grows past a size class of the allocator
/// costs more than everything else `spawn` adds. Its frame is built on the stack for each
/// poll, and what the poll changed (a copy-on-write, an `enter_with`) is kept after it.
pub(crate) struct CarriedStore {
    /// Owns one strong count of an `Arc<S>`.
    ptr: NonNull<()>,
    vtable: &'static StoreVTable,
}

// SAFETY: an `Arc<S>` with `S: ClsStore` (`Send + Sync`); only used through `&mut self`.
unsafe impl Send for CarriedStore {}

impl CarriedStore {
    pub(crate) fn new(store: ErasedStore) -> Self {
        let (_, ptr, vtable) = store.into_raw();
        Self { ptr, vtable }
    }

    /// Calls `f` with this store installed as the only context on this thread.
    #[inline]
    pub(crate) fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R {
        // The frame borrows the strong count for the call; `KeepChanges` hands it (or the
        // store it was replaced by) back on return or panic.
        let frame = ManuallyDrop::new(Frame {
            parent: Cell::new(ptr::null()),
            type_id: (self.vtable.type_id)(),
            vtable: self.vtable,
            store: Cell::new(self.ptr),
            borrow: Cell::new(0),
            // Not kept between polls (it would cost the task a word): the first write of a
            // poll checks the reference count instead.
            unique: Cell::new(false),
            inline: Cell::new(false),
        });
        let keep = KeepChanges {
            carried: self,
            frame: &frame,
        };
        let _entered = Frames::enter_one(keep.frame);
        f()
    }
}

impl Drop for CarriedStore {
    fn drop(&mut self) {
        // SAFETY: the carried store owns one strong count and gives it back once.
        unsafe { (self.vtable.release)(self.ptr) }
    }
}

/// Copies the frame's store (replaced by a copy-on-write or `enter_with`) back into the
/// carried store.
struct KeepChanges<'a> {
    carried: &'a mut CarriedStore,
    frame: &'a Frame,
}

impl Drop for KeepChanges<'_> {
    #[inline]
    fn drop(&mut self) {
        self.carried.ptr = self.frame.store.get();
    }
}
