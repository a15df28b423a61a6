use cls_core::ClsStore;

#[derive(ClsStore, Clone, Default)]
pub struct AppStore {
    #[cls(log)]
    level: u8,
    #[cls(log = "tenant")]
    org: String,
    #[cls(log)]
    tenant: String,
}

fn main() {}
