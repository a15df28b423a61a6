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

#[derive(ClsStore, Clone, Default)]
struct JobStore {
    job_id: u64,
}

fn main() {
    let _ = JobStore::default();
    let _ = CLS.get::<path!(job_id)>();
}
