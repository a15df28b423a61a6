//! Captured contexts: the stores carried into other work, and how that work enters them.
//!
//! [`capture`](crate::frame::capture) takes the innermost store of every active store
//! type (one reference count each, copy-on-write after that). The result is the one
//! representation of carried contexts: a spawned task, a `bind`ed future, a snapshot and
//! `spawn_blocking` all hold a [`Captured`] and enter it for every poll or call.
//!
//! A `Captured` keeps only the stores, three words for one store type (the `Arc` and a
//! tag): a tiny task that grows past an allocator size class costs more than everything
//! else a spawn adds. Its frames are built on the stack for each entry, linked to each
//! other and to nothing of the thread that enters them, and what the entry changed (a
//! copy-on-write, an `enter_with`) is handed back to the `Captured` when it ends, on return
//! or panic. So entering costs, per store type, a frame built on the stack and one virtual
//! call for the store's `TypeId`, on top of the one pointer swap.

use std::fmt;
use std::sync::Arc;

use crate::erased::{AnyStore, Slot};
use crate::frame::{self, Frame, Linked};

/// The contexts carried into other work, innermost store type first.
#[derive(Clone)]
pub(crate) struct Captured {
    stores: Stores,
}

#[derive(Clone)]
enum Stores {
    /// No store type (`None`), or one: the common case, kept without an allocation.
    One(Option<Arc<dyn AnyStore>>),
    /// Two or more store types. A store is `None` only while it is lent to a frame.
    Many(Box<[Option<Arc<dyn AnyStore>>]>),
}

impl Default for Captured {
    /// No context at all: entering it hides every context of the thread.
    fn default() -> Self {
        Self {
            stores: Stores::One(None),
        }
    }
}

impl Captured {
    pub(crate) fn one(store: Arc<dyn AnyStore>) -> Self {
        Self {
            stores: Stores::One(Some(store)),
        }
    }

    pub(crate) fn many(mut stores: Vec<Option<Arc<dyn AnyStore>>>) -> Self {
        if stores.len() <= 1 {
            return Self {
                stores: Stores::One(stores.pop().flatten()),
            };
        }
        Self {
            stores: Stores::Many(stores.into_boxed_slice()),
        }
    }

    /// The stores of both; where both hold a store of the same type, the one of `other`.
    pub(crate) fn join(self, other: Captured) -> Self {
        // One store type on each side, the common case (a web request's scope beside the
        // application's store): one allocation, of exactly two slots.
        let (mine, theirs) = match (self.stores, other.stores) {
            (Stores::One(None), theirs) => return Self { stores: theirs },
            (mine, Stores::One(None)) => return Self { stores: mine },
            (Stores::One(Some(mine)), Stores::One(Some(theirs))) => {
                let stores = if mine.identity().0 == theirs.identity().0 {
                    Stores::One(Some(theirs))
                } else {
                    Stores::Many(Box::new([Some(theirs), Some(mine)]))
                };
                return Self { stores };
            }
            (mine, theirs) => (Self { stores: mine }, Self { stores: theirs }),
        };
        let mut stores = theirs.into_stores();
        let other_types: Vec<_> = stores.iter().flatten().map(|s| s.identity().0).collect();
        stores.extend(mine.into_stores().into_iter().filter(|s| {
            s.as_ref()
                .is_some_and(|s| !other_types.contains(&s.identity().0))
        }));
        Self::many(stores)
    }

    fn into_stores(self) -> Vec<Option<Arc<dyn AnyStore>>> {
        match self.stores {
            Stores::One(None) => Vec::new(),
            Stores::One(store) => vec![store],
            Stores::Many(stores) => stores.into_vec(),
        }
    }

    /// The contexts active here, captured for other work.
    ///
    /// # Panics
    ///
    /// When a store is being changed by `Cls::update` on this thread, at the caller's
    /// location.
    #[inline]
    #[track_caller]
    pub(crate) fn here() -> Self {
        match frame::capture() {
            Ok(captured) => captured,
            Err(err) => err.raise(),
        }
    }

    /// Calls `f` with these contexts installed as the only ones on this thread; what `f`
    /// changed in them is kept for the next entry.
    #[inline]
    pub(crate) fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R {
        match &mut self.stores {
            Stores::One(None) => {
                let _installed = frame::install_nothing();
                f()
            }
            Stores::One(home) => {
                let frame = lend(home);
                let _give_back = GiveBack {
                    home,
                    frame: &frame,
                };
                let _installed = frame.link(None).install();
                f()
            }
            // Two store types (a request scope beside the application's store) are the
            // common case of a web request: linked without the recursion.
            Stores::Many(stores) => match &mut **stores {
                [inner, outer] => enter_pair(inner, outer, f),
                stores => link_and_call(stores, None, f),
            },
        }
    }

    /// The store type names, innermost first, for `Debug` output.
    pub(crate) fn store_names(&self) -> Vec<String> {
        let stores: &[Option<Arc<dyn AnyStore>>] = match &self.stores {
            Stores::One(store) => std::slice::from_ref(store),
            Stores::Many(stores) => stores,
        };
        stores
            .iter()
            .flatten()
            .map(|s| s.identity().1.to_owned())
            .collect()
    }
}

/// Calls `f` with the stores of two store types installed, `inner` over `outer`, as the
/// only contexts on this thread; what `f` changed in them is kept for the next entry.
#[inline(always)]
fn enter_pair<R>(
    inner: &mut Option<Arc<dyn AnyStore>>,
    outer: &mut Option<Arc<dyn AnyStore>>,
    f: impl FnOnce() -> R,
) -> R {
    let outer_frame = lend(outer);
    let _give_back_outer = GiveBack {
        home: outer,
        frame: &outer_frame,
    };
    let inner_frame = lend(inner);
    let _give_back_inner = GiveBack {
        home: inner,
        frame: &inner_frame,
    };
    let _installed = inner_frame.link(Some(outer_frame.link(None))).install();
    f()
}

/// The stores of a [`Context`](crate::Context): what a [`Captured`] holds, or exactly two
/// store types held inline, as [`join`](Live::join) makes them from one store type on
/// each side (a web request's scope beside the application's store) without an
/// allocation. A `Captured` stays three words for the tasks that carry one; a `Live`
/// is a little larger, and is kept by the few values that own a context.
pub(crate) enum Live {
    Captured(Captured),
    /// `[inner, outer]`, of two distinct store types. A store is `None` only while it is
    /// lent to a frame.
    Pair([Option<Arc<dyn AnyStore>>; 2]),
}

impl Live {
    /// The stores of both; where both hold a store of the same type, the one of `other`.
    pub(crate) fn join(self, other: Live) -> Self {
        match (self, other) {
            (
                Live::Captured(Captured {
                    stores: Stores::One(Some(mine)),
                }),
                Live::Captured(Captured {
                    stores: Stores::One(Some(theirs)),
                }),
            ) if mine.identity().0 != theirs.identity().0 => Live::Pair([Some(theirs), Some(mine)]),
            (mine, theirs) => Live::Captured(mine.into_captured().join(theirs.into_captured())),
        }
    }

    fn into_captured(self) -> Captured {
        match self {
            Live::Captured(captured) => captured,
            Live::Pair(pair) => Captured::many(pair.into()),
        }
    }

    /// Calls `f` with these contexts installed as the only ones on this thread; what `f`
    /// changed in them is kept for the next entry.
    #[inline]
    pub(crate) fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R {
        match self {
            Live::Captured(captured) => captured.enter(f),
            Live::Pair([inner, outer]) => enter_pair(inner, outer, f),
        }
    }

    /// The store type names, innermost first, for `Debug` output.
    pub(crate) fn store_names(&self) -> Vec<String> {
        match self {
            Live::Captured(captured) => captured.store_names(),
            Live::Pair(pair) => pair
                .iter()
                .flatten()
                .map(|s| s.identity().1.to_owned())
                .collect(),
        }
    }
}

impl Default for Live {
    fn default() -> Self {
        Live::Captured(Captured::default())
    }
}

/// A frame holding the store lent from `home` for one entry. The store's identity is asked
/// for first: once the store is out of `home`, nothing may unwind before a [`GiveBack`]
/// holds the frame.
#[inline]
fn lend(home: &mut Option<Arc<dyn AnyStore>>) -> Frame {
    let identity = home
        .as_ref()
        .expect("a carried store is lent to one frame at a time")
        .identity();
    let store = home.take().expect("checked above");
    Frame::new(Slot::erased(store, identity))
}

/// Builds a frame for each store, outermost first, each linked over the one built before,
/// then installs the innermost and calls `body`. Recursion keeps every frame on the stack,
/// without an allocation; it is as deep as there are store types.
fn link_and_call<R>(
    stores: &mut [Option<Arc<dyn AnyStore>>],
    below: Option<Linked<'_>>,
    body: impl FnOnce() -> R,
) -> R {
    let Some((outermost, inner)) = stores.split_last_mut() else {
        let _installed = match below {
            Some(head) => head.install(),
            None => frame::install_nothing(),
        };
        return body();
    };
    let frame = lend(outermost);
    let _give_back = GiveBack {
        home: outermost,
        frame: &frame,
    };
    link_and_call(inner, Some(frame.link(below)), body)
}

/// Hands the store of a frame built for one entry back to its `Captured`, with whatever the
/// entry did to it (replaced by a copy-on-write or `enter_with`), on return or panic.
struct GiveBack<'a> {
    home: &'a mut Option<Arc<dyn AnyStore>>,
    frame: &'a Frame,
}

impl Drop for GiveBack<'_> {
    #[inline]
    fn drop(&mut self) {
        *self.home = self.frame.slot().take();
    }
}

impl fmt::Debug for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.store_names()).finish()
    }
}
