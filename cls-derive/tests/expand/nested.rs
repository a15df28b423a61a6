// A field whose type is another store, followed by paths; a raw identifier as a field name.
#[derive(ClsStore, Clone, Default)]
struct AppStore {
    user: User,
    r#type: String,
}
