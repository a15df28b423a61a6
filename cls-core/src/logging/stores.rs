//! Which fields a line gets: the request id (with the `tower` feature) and the `#[cls(log)]`
//! fields of each store type added with `with_store`.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use crate::{Cls, ClsStore, FieldTag, TagVisitor};

/// The store types a formatter or logger reads, built up by `with_store::<S>()`: `()` for
/// none, `(L, Store<S>)` for those of `L` and then `S`.
///
/// Implemented for those two shapes only; it shows in the type of a formatter
/// (`ClsFormat<Format, ((), Store<AppStore>)>`) and needs no other use.
///
/// # Examples
///
/// ```
/// use cls_core::logging::{LogStores, Store};
/// use cls_core::ClsStore;
///
/// #[derive(ClsStore, Clone, Default)]
/// struct AppStore {
///     #[cls(log)]
///     tenant: String,
/// }
///
/// let mut keys = Vec::new();
/// <((), Store<AppStore>)>::visit_log_fields(&mut |key: &'static str, _: &dyn std::fmt::Display| {
///     keys.push(key)
/// });
/// assert!(keys.is_empty()); // no context of `AppStore` is active
/// assert_eq!(<((), Store<AppStore>)>::log_keys(), ["tenant"]);
/// ```
pub trait LogStores: Send + Sync + 'static {
    /// Visits the `#[cls(log)]` fields of every store type in the list whose context is
    /// active, in the order they were added; a store type whose context is inactive, or is
    /// being changed by an [`update`](crate::Cls::update) on this thread, adds nothing.
    fn visit_log_fields(visitor: &mut dyn TagVisitor);

    /// The keys of the `#[cls(log)]` fields of every store type in the list, in order.
    fn log_keys() -> Vec<&'static str>;
}

impl LogStores for () {
    #[inline]
    fn visit_log_fields(_: &mut dyn TagVisitor) {}

    fn log_keys() -> Vec<&'static str> {
        Vec::new()
    }
}

/// One store type in a [`LogStores`] list; named by `with_store::<S>()`, never built.
///
/// # Examples
///
/// ```
/// use cls_core::logging::Store;
/// # #[derive(cls_core::ClsStore, Clone, Default)] struct AppStore { n: u8 }
/// assert_eq!(std::mem::size_of::<Store<AppStore>>(), 0);
/// ```
pub struct Store<S>(PhantomData<fn() -> S>);

impl<S: ClsStore> fmt::Debug for Store<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Store<{}>", S::__store_name())
    }
}

impl<L: LogStores, S: ClsStore> LogStores for (L, Store<S>) {
    #[inline]
    fn visit_log_fields(visitor: &mut dyn TagVisitor) {
        L::visit_log_fields(visitor);
        // Outside a context of `S`, or inside an `update` of it (the store is half
        // changed): nothing to add, and a log line must never panic.
        let _ = Cls::<S>::new().try_visit_tagged(FieldTag::Log, visitor);
    }

    fn log_keys() -> Vec<&'static str> {
        let mut keys = L::log_keys();
        keys.extend(crate::tagged_keys::<S>(FieldTag::Log));
        keys
    }
}

/// Visits what a line inside the current context gets: `request_id` when inside a request
/// (only with the `tower` feature; without it there is no request id to read), then the
/// store types' fields.
///
/// A line written while the fields of another are being read (a field's `Display` that
/// logs, with the subscriber or logger installed globally) gets no fields: reading them
/// again would write that line again, without end.
#[inline]
pub(crate) fn visit_context<L: LogStores>(visitor: &mut dyn TagVisitor) {
    let Some(_visiting) = Visiting::enter() else {
        return;
    };
    #[cfg(feature = "tower")]
    if let Some(id) = crate::web::request_id() {
        visitor.visit_str("request_id", id.as_str());
    }
    L::visit_log_fields(visitor);
}

thread_local! {
    /// Set while this thread reads the fields of a line.
    static VISITING: Cell<bool> = const { Cell::new(false) };
}

/// The mark that this thread is reading the fields of a line; cleared on drop, panics
/// included.
struct Visiting;

impl Visiting {
    fn enter() -> Option<Self> {
        VISITING
            .try_with(|visiting| !visiting.replace(true))
            .ok()
            .filter(|&entered| entered)
            .map(|_| Self)
    }
}

impl Drop for Visiting {
    fn drop(&mut self) {
        let _ = VISITING.try_with(|visiting| visiting.set(false));
    }
}
