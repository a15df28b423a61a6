use cls_core::ClsStore;

#[derive(ClsStore, Clone, Default)]
pub struct User {
    id: u64,
}

#[derive(ClsStore, Clone, Default)]
pub struct AppStore {
    #[cls(propagate)]
    user: User,
}

fn main() {}
