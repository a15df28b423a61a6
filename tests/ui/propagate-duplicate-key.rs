use cls_core::ClsStore;

#[derive(ClsStore, Clone, Default)]
pub struct AppStore {
    #[cls(propagate = "tenant")]
    tenant_id: String,
    #[cls(propagate)]
    tenant: String,
}

fn main() {}
