//! Fixtures: load a partial store from a JSON file, refine it with a typed path, run code
//! in it; then load two broken fixture files and print the path-precise errors they give.
//! Run it with `cargo run --example fixture`.

use std::path::PathBuf;
use std::sync::Arc;

use cls_core::{path, Cls, ClsStore, Fixture, Terminal};
use serde::{Deserialize, Serialize};

/// Stands in for a database pool: a handle, so it has no JSON form.
#[derive(Debug, Default)]
struct Pool {
    url: &'static str,
}

#[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
struct AppStore {
    request_id: String,
    tenant: Option<String>,
    user: User,
    /// Not in any fixture file: handles are set in code.
    #[serde(skip)]
    db: Terminal<Arc<Pool>>,
}

const CLS: Cls<AppStore> = Cls::new();

/// The code under test: it reads the context, never a parameter.
fn describe_request() -> String {
    let tenant = CLS.get::<path!(tenant)>();
    let db = CLS.with::<path!(db), _>(|db| db.url);
    format!(
        "[{}] user {} ({}) of {} via {db}",
        CLS.get::<path!(request_id)>(),
        CLS.get::<path!(user.id)>(),
        CLS.get::<path!(user.name)>(),
        tenant.as_deref().unwrap_or("no tenant"),
    )
}

fn fixture_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("paths of AppStore: {:?}", AppStore::paths());

    // The file gives `user.name` but not `user.id`: that keeps its default until set here.
    let fixture = Fixture::<AppStore>::load(fixture_file("app_store.json"))
        .set::<path!(user.id)>(7)
        .set::<path!(db)>(Terminal::new(Arc::new(Pool {
            url: "postgres://test",
        })));
    let seen = fixture
        .run(async {
            let before = describe_request();
            // Paths given as strings, as a debug endpoint would receive them.
            CLS.set_json("user.name", serde_json::json!("grace"))
                .expect("`user.name` is a string field");
            let user = CLS.get_json("user").expect("`user` has a JSON form");
            format!("{before}\nafter set_json, user is {user}")
        })
        .await;
    println!("{seen}");
    CLS.assert_inactive();

    for name in ["unknown_field.json", "wrong_type.json", "malformed.json"] {
        match Fixture::<AppStore>::from_file(fixture_file(name)) {
            Ok(_) => println!("{name}: loaded"),
            Err(err) => {
                println!("{name} was rejected ({:?}):\n  {err}", err.kind());
                if let Some(path) = err.path() {
                    println!("  the field at fault: `{path}`");
                }
            }
        }
    }
}
