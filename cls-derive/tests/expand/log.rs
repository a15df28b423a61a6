#[derive(ClsStore, Clone, Default)]
struct User {
    #[cls(log = "user_id")]
    id: u64,
    name: String,
}

#[derive(ClsStore, Clone, Default)]
struct AppStore {
    #[cls(log)]
    tenant: String,
    #[cls(log = "session", local)]
    session: Option<u64>,
    user: User,
    secret: String,
}
