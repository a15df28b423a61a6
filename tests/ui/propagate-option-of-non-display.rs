use cls_core::ClsStore;

#[derive(Clone, Default)]
pub struct Roles(Vec<String>);

#[derive(ClsStore, Clone, Default)]
pub struct AppStore {
    #[cls(propagate = "roles")]
    roles: Option<Roles>,
}

fn main() {}
