use cls_core::ClsStore;

#[derive(ClsStore, Clone, Default)]
pub struct User {
    #[cls(propagate = "user.id")]
    id: u64,
}

#[derive(ClsStore, Clone, Default)]
pub struct Job {
    #[cls(propagate)]
    job: u32,
    owner: User,
}

#[derive(ClsStore, Clone, Default)]
pub struct AppStore {
    #[cls(propagate)]
    tenant: String,
    user: User,
    job: Job,
}

fn main() {}
