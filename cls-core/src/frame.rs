//! Frames: the per-thread chain of active contexts.
//!
//! One thread-local pointer names the innermost frame of the code running on this thread.
//! Each frame holds the [`Slot`] of one store type and links to the frames outside it, so
//! several store types can be active at once. Installing a frame (every poll of a scoped
//! future) is one pointer swap however many store types are active.
//!
//! Installs nest: every guard that installs a frame is a local of the function that polls
//! or calls the frame's owner, so frames are uninstalled in the reverse order (a stackful
//! coroutine that switched stacks inside a context would break this; the crate docs say so).
//!
//! A frame is linked when it is installed, never before: it lives inside the future or the
//! stack frame that installs it, which may move between polls, so no pointer to it is
//! kept once it is uninstalled. While installed, its owner is borrowed by the poll or call
//! that installed it, so the frame stays where it is, and every frame it links to was
//! installed earlier and is uninstalled later.
//!
//! Two things make lookups cheap whatever the nesting:
//! - a frame's `below` link: the nearest frame outside it whose store type differs from its
//!   own, computed on first use. Nested contexts of one store type are passed in one step,
//!   so capturing every store type for a spawn does not grow with the nesting depth.
//! - `FOUND`, beside `HEAD`: the frame the last lookup found past the head, so that reading
//!   a store type while contexts of other types are open inside it costs about what
//!   reading the head does. Installing a frame clears it; uninstalling restores it.

use std::any::TypeId;
use std::cell::Cell;
use std::ptr;
use std::sync::Arc;

use crate::captured::Captured;
use crate::erased::{AnyStore, Slot};
use crate::error::ClsError;
use crate::store::ClsStore;
use crate::tagged::{FieldTag, TagVisitor};

thread_local! {
    /// The innermost installed frame of the code running on this thread, or null.
    static HEAD: Cell<*const Frame> = const { Cell::new(ptr::null()) };
    /// The frame the last lookup found outside the head, or null: cleared when a frame is
    /// installed, restored when it is uninstalled. Kept here rather than in the head so that
    /// a hit is as few dependent loads away as the head itself.
    static FOUND: Cell<*const Frame> = const { Cell::new(ptr::null()) };
}

/// One active context of one store type.
pub(crate) struct Frame {
    slot: Slot,
    /// While installed: the frame outside this one (the head it was installed over, or the
    /// next frame of its carried chain), or null.
    parent: Cell<*const Frame>,
    /// While installed: the nearest frame outside this one of another store type, or null;
    /// [`UNKNOWN`] until a walk needs it (installing costs no look at the frame outside).
    below: Cell<*const Frame>,
}

/// `below` not computed yet: an address no frame has, never followed.
const UNKNOWN: *const Frame = ptr::dangling();

/// Which link of a frame to follow.
#[derive(Clone, Copy)]
enum Link {
    Parent,
    Below,
}

// SAFETY: the link pointers are only followed while the frame is installed, by the thread
// that installed it (through `HEAD`); between installs they are stale data, rewritten on
// the next install. The slot's own raw pointer points into the `Arc` it owns, whose store
// is `Send + Sync` (`AnyStore`), and moves with it; its cells are only touched by the
// thread that owns the frame.
unsafe impl Send for Frame {}

impl Frame {
    pub(crate) fn new(slot: Slot) -> Self {
        Self {
            slot,
            parent: Cell::new(ptr::null()),
            below: Cell::new(ptr::null()),
        }
    }

    pub(crate) fn slot(&self) -> &Slot {
        &self.slot
    }

    /// Installs this frame inside the current context (a nested `run`, `run_with`, `exit`):
    /// contexts of other store types around it stay visible. One pointer swap and three
    /// stores into this frame: nothing outside it is read.
    #[inline]
    pub(crate) fn install_nested(&self) -> Installed<'_> {
        self.below.set(UNKNOWN);
        let installed = Installed::new(Some(self));
        self.parent.set(installed.previous);
        installed
    }

    /// Links this frame over `below` (the next frame of a carried chain, or none), without
    /// installing it. A carried chain is linked this way, outermost first, then its
    /// innermost frame is installed with [`Linked::install`]: the borrows keep every frame
    /// of the chain alive and in place while it is installed.
    #[inline]
    pub(crate) fn link<'a>(&'a self, below: Option<Linked<'a>>) -> Linked<'a> {
        let below = below.map_or(ptr::null(), |below| ptr::from_ref(below.0));
        self.parent.set(below);
        // The frames of a carried chain are of distinct store types.
        self.below.set(below);
        Linked(self)
    }

    /// The frame a link points to.
    ///
    /// Only for a frame reached from [`head`]: the links of any other frame are stale.
    #[inline]
    fn follow(&self, link: Link) -> Option<&Frame> {
        let target = match link {
            Link::Parent => self.parent.get(),
            Link::Below => self.below.get(),
        };
        debug_assert!(
            target != UNKNOWN,
            "an unknown `below` is computed, never followed"
        );
        // SAFETY: `self` was reached from `HEAD`, so it is installed or linked under an
        // installed frame, and its links were set then: `parent` to the head it was
        // installed over (installed earlier, so uninstalled later: installs nest) or to a
        // frame it borrows (`link`); `below` to a frame reached from `parent`
        // since. Each outlives the borrow of `self` this returns under. Frames are only
        // ever reached through shared references; their mutable state is in cells.
        unsafe { target.as_ref() }
    }

    /// The nearest frame outside this one of another store type: nested frames of one
    /// store type are passed in one step, so that walks do not grow with nesting depth.
    #[inline]
    fn below(&self) -> Option<&Frame> {
        if self.below.get() != UNKNOWN {
            return self.follow(Link::Below);
        }
        let mut cursor = self.follow(Link::Parent);
        while let Some(frame) = cursor {
            if frame.slot.type_id() != self.slot.type_id() {
                break;
            }
            cursor = if frame.below.get() == UNKNOWN {
                frame.follow(Link::Parent)
            } else {
                frame.follow(Link::Below)
            };
        }
        let found = cursor.map_or(ptr::null(), ptr::from_ref);
        self.below.set(found);
        // Every frame of the run just passed has the same answer: remember it there too, so
        // that the next head over this run does not walk it again.
        let mut passed = self.follow(Link::Parent);
        while let Some(frame) = passed {
            if frame.slot.type_id() != self.slot.type_id() || frame.below.get() != UNKNOWN {
                break;
            }
            frame.below.set(found);
            passed = frame.follow(Link::Parent);
        }
        cursor
    }
}

/// A frame whose links were just set by [`Frame::link`], over frames linked the same way:
/// the only frames [`Linked::install`] installs, so that no stale link is ever followed.
#[derive(Clone, Copy)]
pub(crate) struct Linked<'a>(&'a Frame);

impl<'a> Linked<'a> {
    /// Installs the chain as the only contexts on this thread, until the guard is dropped:
    /// what carried work sees, nothing of the thread that happens to poll it.
    #[inline]
    pub(crate) fn install(self) -> Installed<'a> {
        Installed::new(Some(self.0))
    }
}

/// Restores the previous head when dropped: on return, panic or cancellation.
pub(crate) struct Installed<'a> {
    previous: *const Frame,
    /// `FOUND` as it was for the previous head: still right when it is back, since nothing
    /// outside an installed frame changes while it is installed.
    previous_found: *const Frame,
    _frame: std::marker::PhantomData<&'a Frame>,
}

impl<'a> Installed<'a> {
    /// Makes `frame` (linked already) the head until the guard is dropped.
    #[inline]
    fn new(frame: Option<&'a Frame>) -> Self {
        Self {
            previous_found: FOUND.with(|found| found.replace(ptr::null())),
            previous: HEAD.with(|head| head.replace(frame.map_or(ptr::null(), ptr::from_ref))),
            _frame: std::marker::PhantomData,
        }
    }
}

impl Drop for Installed<'_> {
    #[inline]
    fn drop(&mut self) {
        HEAD.with(|head| head.set(self.previous));
        FOUND.with(|found| found.set(self.previous_found));
    }
}

/// Installs no context at all until the guard is dropped: what work that carries nothing
/// sees.
#[inline]
pub(crate) fn install_nothing() -> Installed<'static> {
    Installed::new(None)
}

/// A local of each function that looks at the frames, borrowed by every frame it gets from
/// [`head`]: no frame can be kept past the call that looked it up.
struct Lookup;

// An empty `Drop` keeps `&Lookup` from being promoted to `&'static Lookup`, which would let a
// frame reference outlive the call that looked it up.
impl Drop for Lookup {
    fn drop(&mut self) {}
}

/// The innermost installed frame of this thread, for as long as `_lookup` is borrowed.
///
/// Its links are followed only through [`Frame::below`].
#[inline(always)]
fn head(_lookup: &Lookup) -> Option<&Frame> {
    // SAFETY: `HEAD` is null or points to the frame installed last on this thread, whose
    // owner is borrowed by the poll or call that installed it, further up this stack, until
    // it uninstalls it; that happens after the caller returns, since installs nest (the only
    // guards are locals of the functions that install), and the reference cannot outlive
    // the caller's `Lookup`. Frames are only ever reached through shared references.
    unsafe { HEAD.with(Cell::get).as_ref() }
}

/// The innermost installed frame of store type `S`, for as long as `lookup` is borrowed.
#[inline(always)]
fn find<S: ClsStore>(lookup: &Lookup) -> Option<&Frame> {
    let wanted = TypeId::of::<S>();
    match head(lookup) {
        Some(head) if head.slot.type_id() == wanted => Some(head),
        Some(head) => find_below(head, wanted),
        None => None,
    }
}

/// The frame of type `wanted` outside `head`: the one the last lookup found, or else the
/// result of a walk, remembered for the next lookup.
#[inline]
fn find_below(head: &Frame, wanted: TypeId) -> Option<&Frame> {
    // SAFETY: `FOUND` is reset to null when a head is installed, set back to its value for
    // the previous head when that head is back (the frames outside an installed frame do
    // not change while it is installed), and only set, by `walk_below`, to a frame reached
    // from the current head's links. So it is null or a frame outside `head` that stays
    // alive and in place while `head` is installed, which outlasts the borrow of `head`
    // this returns under.
    match unsafe { FOUND.with(Cell::get).as_ref() } {
        Some(found) if found.slot.type_id() == wanted => Some(found),
        _ => walk_below(head, wanted),
    }
}

/// Walks out from `head` to the frame of type `wanted`, one step per run of frames of one
/// store type, and remembers it in `FOUND`.
#[inline(never)]
fn walk_below(head: &Frame, wanted: TypeId) -> Option<&Frame> {
    let mut cursor = head.below();
    while let Some(frame) = cursor {
        if frame.slot.type_id() == wanted {
            FOUND.with(|found| found.set(frame));
            return Some(frame);
        }
        cursor = frame.below();
    }
    None
}

/// Whether a context of `S` is active in the calling code.
pub(crate) fn is_active<S: ClsStore>() -> bool {
    find::<S>(&Lookup).is_some_and(|frame| frame.slot.is_present())
}

/// Runs `f` on the innermost store of type `S`, borrowed for reading.
#[inline(always)]
pub(crate) fn read<S: ClsStore, R>(f: impl FnOnce(&S) -> R) -> Result<R, ClsError> {
    // Two calls of `read`, so that the common case (the head is the frame) is one type
    // check, not a second one after the paths join.
    let lookup = Lookup;
    match head(&lookup) {
        Some(head) if head.slot.type_id() == TypeId::of::<S>() => head.slot.read(f),
        Some(head) => match find_below(head, TypeId::of::<S>()) {
            Some(frame) => frame.slot.read(f),
            None => Err(ClsError::no_context::<S>()),
        },
        None => Err(ClsError::no_context::<S>()),
    }
}

/// Runs `f` on the innermost store of type `S`, borrowed for writing, copy-on-write.
#[inline(always)]
pub(crate) fn write<S: ClsStore, R>(f: impl FnOnce(&mut S) -> R) -> Result<R, ClsError> {
    // As `read`.
    let lookup = Lookup;
    match head(&lookup) {
        Some(head) if head.slot.type_id() == TypeId::of::<S>() => head.slot.write(f),
        Some(head) => match find_below(head, TypeId::of::<S>()) {
            Some(frame) => frame.slot.write(f),
            None => Err(ClsError::no_context::<S>()),
        },
        None => Err(ClsError::no_context::<S>()),
    }
}

/// Replaces the innermost store of type `S` (`enter_with`).
pub(crate) fn replace<S: ClsStore>(store: S) -> Result<(), ClsError> {
    match find::<S>(&Lookup) {
        Some(frame) => frame.slot.replace(store),
        None => Err(ClsError::no_context::<S>()),
    }
}

/// A new owner of the innermost store of type `S`, shared copy-on-write (nested `run`);
/// `None` outside any context of `S`.
pub(crate) fn share<S: ClsStore>() -> Result<Option<Arc<dyn AnyStore>>, ClsError> {
    find::<S>(&Lookup).map_or(Ok(None), |frame| frame.slot.share())
}

/// The innermost store of every store type active on this thread, as it crosses into other
/// work (`#[cls(local)]` fields reset), innermost first.
///
/// # Errors
///
/// When a store is being changed by `Cls::update` on this thread (its copy would be torn).
#[inline]
pub(crate) fn capture() -> Result<Captured, ClsError> {
    let lookup = Lookup;
    let Some(head) = head(&lookup) else {
        return Ok(Captured::default());
    };
    let first = head.slot.carry()?;
    match head.below() {
        // The common case: one store type, one reference count.
        None => Ok(first.map_or_else(Captured::default, Captured::one)),
        Some(next) => capture_all(head, first, next),
    }
}

/// `capture` with more than one frame: one step per run of frames of one store type.
#[inline(never)]
fn capture_all(
    head: &Frame,
    first: Option<Arc<dyn AnyStore>>,
    next: &Frame,
) -> Result<Captured, ClsError> {
    // Store types seen so far, innermost first: a handful, so a scan beats a set.
    let mut seen = vec![head.slot.type_id()];
    // `Some` around each: the form `Captured` lends them from.
    let mut stores = Vec::with_capacity(4);
    stores.extend(first.map(Some));
    let mut cursor = Some(next);
    while let Some(frame) = cursor {
        if !seen.contains(&frame.slot.type_id()) {
            seen.push(frame.slot.type_id());
            // A frame that hides its type (`exit`) hides the frames of that type further
            // out too: it was seen, and gives nothing.
            stores.extend(frame.slot.carry()?.map(Some));
        }
        cursor = frame.below();
    }
    Ok(Captured::many(stores))
}

/// Visits the fields carrying `tag` in the innermost store of every store type active on
/// this thread, innermost first, each store type once.
///
/// # Errors
///
/// When a store is being changed by `Cls::update` on this thread: it is skipped, the others
/// are visited, and the first one skipped is the error.
pub(crate) fn visit_tagged_all(
    tag: FieldTag,
    visitor: &mut dyn TagVisitor,
) -> Result<(), ClsError> {
    let lookup = Lookup;
    let Some(head) = head(&lookup) else {
        return Ok(());
    };
    let mut result = head.slot.visit_tagged(tag, visitor);
    let mut cursor = head.below();
    while let Some(frame) = cursor {
        // A store type seen nearer the head (or hidden there by `exit`) shadows this frame.
        if !is_shadowed(head, frame) {
            let visited = frame.slot.visit_tagged(tag, visitor);
            if result.is_ok() {
                result = visited;
            }
        }
        cursor = frame.below();
    }
    result
}

/// Whether a frame of `frame`'s store type comes before it on the walk out from `head`.
/// A rescan instead of a set of seen types: the walk is a handful of frames, and this
/// allocates nothing.
fn is_shadowed(head: &Frame, frame: &Frame) -> bool {
    let wanted = frame.slot.type_id();
    let mut cursor = Some(head);
    while let Some(nearer) = cursor {
        if ptr::eq(nearer, frame) {
            return false;
        }
        if nearer.slot.type_id() == wanted {
            return true;
        }
        cursor = nearer.below();
    }
    false
}
