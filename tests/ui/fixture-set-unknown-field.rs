use cls_core::{path, ClsStore, Terminal};
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

fn main() {
    let _ = AppStore::fixture().set::<path!(user.idd)>(7).build();
}
