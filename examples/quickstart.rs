//! The tour: set a request id and a user once, read them deep in the call stack, across
//! awaits and in a spawned task; open a nested context; keep a `#[cls(local)]` field out
//! of a spawned task. Run it with `cargo run --example quickstart`.

use std::sync::Arc;
use std::time::Duration;

use cls_core::{path, Cls, ClsStore, Terminal};

/// Stands in for a database pool: an opaque handle, reached as one value.
#[derive(Debug, Default)]
struct Pool {
    url: &'static str,
}

#[derive(ClsStore, Clone, Default)]
struct User {
    id: u64,
    name: String,
}

#[derive(ClsStore, Clone, Default)]
struct AppStore {
    request_id: String,
    tenant: Option<String>,
    user: User,
    db: Terminal<Arc<Pool>>,
    /// An open transaction belongs to this task only: spawned work sees `None`.
    #[cls(local)]
    tx: Option<u32>,
}

const CLS: Cls<AppStore> = Cls::new();

/// Deep in the call stack: no parameters, the context is just there.
fn log(event: &str) {
    let request_id = CLS.get::<path!(request_id)>();
    let user = CLS.with::<path!(user.name), _>(|name| name.clone());
    let tx = CLS.get::<path!(tx)>();
    println!("[{request_id}] user={user:<6} tx={tx:?}  {event}");
}

async fn load_orders() -> usize {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let db = CLS.with::<path!(db), _>(|db| db.url);
    log(&format!("loaded orders from {db} after an await"));
    3
}

async fn handle_request(id: u64, name: &str) {
    // Set once, at the edge of the request.
    CLS.set::<path!(user.id)>(id);
    CLS.set::<path!(user.name)>(name.to_owned());
    CLS.set::<path!(tenant)>(Some("acme".to_owned()));
    CLS.set::<path!(tx)>(Some(41));
    log("request started");

    let orders = load_orders().await;

    // A spawned task starts from a copy of the context, without the transaction.
    let background = cls_core::spawn(async {
        log("in a spawned task (the transaction stayed behind)");
        CLS.get::<path!(user.id)>()
    });
    let seen_by_task = background.await.expect("the task ran");

    // A nested context starts from a copy; its changes end with it.
    CLS.run(async {
        CLS.set::<path!(user.name)>("admin".to_owned());
        log("inside a nested context, acting as admin");
    })
    .await;
    log(&format!(
        "back from the nested context; {orders} orders, task saw user {seen_by_task}"
    ));
}

#[tokio::main]
async fn main() {
    let pool = Arc::new(Pool {
        url: "postgres://orders",
    });
    let mut requests = Vec::new();
    for (n, name) in [(1_u64, "ada"), (2, "grace")] {
        let store = AppStore {
            request_id: format!("req-{n}"),
            db: Terminal::new(Arc::clone(&pool)),
            ..AppStore::default()
        };
        requests.push(cls_core::spawn(
            CLS.run_with(store, handle_request(n, name)),
        ));
    }
    for request in requests {
        request.await.expect("the request ran");
    }
    println!("outside any context: active = {}", CLS.is_active());
}
