use cls_core::ClsStore;

#[derive(ClsStore, Clone, Default)]
pub struct User {
    #[cls(propagate = "user.id")]
    id: u64,
}

#[derive(ClsStore, Clone, Default)]
pub struct AppStore {
    #[cls(propagate = "user.id")]
    user_id: u64,
    user: User,
}

fn main() {}
