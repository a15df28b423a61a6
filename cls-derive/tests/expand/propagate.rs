#[derive(ClsStore, Clone, Default)]
struct User {
    #[cls(propagate = "user.id")]
    id: Option<u64>,
}

#[derive(ClsStore, Clone, Default)]
struct AppStore {
    #[cls(propagate, log)]
    tenant: String,
    user: User,
    note: String,
}
