// A generic store without bounds: the derive bounds its `ClsStore` impls by
// `Wrap<T>: Clone + Send + Sync + 'static` and its field impls by `Wrap<T>: 'static`.
#[derive(ClsStore, Clone, Default)]
struct Wrap<T> {
    inner: T,
}
