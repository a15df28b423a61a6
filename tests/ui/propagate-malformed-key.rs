use cls_core::ClsStore;

#[derive(ClsStore, Clone, Default)]
pub struct AppStore {
    #[cls(propagate = "user id")]
    user_id: u64,
    #[cls(propagate = "")]
    tenant: String,
    #[cls(propagate = "a=b")]
    region: String,
}

fn main() {}
