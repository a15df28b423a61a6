use cls_core::ClsStore;

#[derive(ClsStore, Clone, Default)]
pub struct AppStore {
    #[cls(local, propagate)]
    tenant: String,
}

fn main() {}
