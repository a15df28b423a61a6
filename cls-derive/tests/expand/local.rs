// `#[cls(local)]`: reset to `Default` in carried work, never cloned into it.
#[derive(ClsStore, Clone, Default)]
struct AppStore {
    request_id: String,
    #[cls(local)]
    tx: Option<u64>,
}
