use cls_core::ClsStore;

#[derive(ClsStore, Clone, Default)]
pub struct User {
    #[cls(propagate = "user.id")]
    id: u64,
}

// Generic, yet every field but `extra` can be named outside it: those are still checked.
#[derive(ClsStore, Clone, Default)]
pub struct Wrap<T> {
    #[cls(propagate = "user.id")]
    uid: u64,
    user: User,
    extra: T,
}

fn main() {}
