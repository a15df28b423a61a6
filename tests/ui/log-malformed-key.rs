use cls_core::ClsStore;

#[derive(ClsStore, Clone, Default)]
pub struct AppStore {
    #[cls(log = "user id")]
    user: u64,
    #[cls(log = "")]
    tenant: String,
    #[cls(log = user_id)]
    session: u64,
}

fn main() {}
