use cls_core::{path, Cls, ClsStore, Terminal};
use std::sync::Arc;

#[derive(Default)]
pub struct Pool;

#[derive(ClsStore, Clone, Default)]
struct User {
    id: u64,
    name: String,
}

#[derive(ClsStore, Clone, Default)]
struct AppStore {
    request_id: String,
    user: User,
    db: Terminal<Arc<Pool>>,
}

const CLS: Cls<AppStore> = Cls::new();

fn main() {
    let _ = CLS.get::<path!(user.id.value)>();
}
