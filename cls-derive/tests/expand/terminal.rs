// `Terminal<T>`: an opaque leaf, whatever `T` is.
#[derive(ClsStore, Clone)]
struct AppStore {
    db: Terminal<Arc<Pool>>,
    user: Terminal<User>,
}
