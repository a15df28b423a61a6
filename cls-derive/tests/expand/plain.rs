// The plain case: named fields of leaf types.
#[derive(ClsStore, Clone, Default)]
struct AppStore {
    request_id: String,
    attempts: u32,
}
