//! A multi-tenant axum service: one SQLite file per tenant, chosen per request from the
//! `x-tenant` header, and handlers that reach their tenant's database through an ambient
//! transaction, with no pool or transaction passed to them.
//!
//! The `ClsLayer`'s setup validates the tenant id and resolves its pool through
//! `TenantPools` (a hostile id is refused before it touches the filesystem); the handlers
//! use one `TxHost::from_context`, which reads the request's pool from the store. It starts
//! on a free loopback port, sends itself requests as several tenants, prints the notes each
//! tenant sees (never another's) and exits:
//!
//! ```text
//! cargo run --example multi_tenant
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, Response, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use cls_core::tx::{TenantPools, TxError, TxHost};
use cls_core::web::{ClsLayer, RequestInfo};
use cls_core::{path, Cls, ClsStore, Terminal};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Sqlite, SqlitePool};
use tokio::net::{TcpListener, TcpStream};

/// What the service keeps per request: the tenant and its database.
#[derive(ClsStore, Clone, Default)]
struct AppStore {
    tenant: String,
    db: Option<Terminal<SqlitePool>>,
}

const CLS: Cls<AppStore> = Cls::new();

/// The one host of every handler: the pool is the one the request's setup chose.
fn tx_host() -> TxHost<Sqlite> {
    TxHost::from_context(|| {
        CLS.try_get::<path!(db)>()
            .ok()
            .flatten()
            .map(Terminal::into_inner)
            .ok_or_else(|| TxError::no_pool("the request has no tenant"))
    })
}

fn refused(status: StatusCode, why: String) -> Response<Body> {
    let mut response = Response::new(Body::from(why + "\n"));
    *response.status_mut() = status;
    response
}

/// The setup of every request: the tenant from the header, its pool from `TenantPools`.
async fn open_tenant(pools: TenantPools<Sqlite>, info: RequestInfo) -> Result<(), Response<Body>> {
    let tenant = info
        .headers()
        .get("x-tenant")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            refused(
                StatusCode::BAD_REQUEST,
                "an x-tenant header is required".into(),
            )
        })?
        .to_owned();
    let pool = pools
        .get(&tenant)
        .await
        .map_err(|err| refused(StatusCode::BAD_REQUEST, err.to_string()))?;
    CLS.set::<path!(tenant)>(tenant);
    CLS.set::<path!(db)>(Some(Terminal::new(pool)));
    Ok(())
}

/// Repositories: no pool, no transaction, no tenant in their parameters.
async fn insert_note(tx: &TxHost<Sqlite>, text: &str) -> Result<(), TxError> {
    let mut conn = tx.conn().await?;
    sqlx::query("create table if not exists notes (text text not null)")
        .execute(&mut *conn)
        .await?;
    sqlx::query("insert into notes (text) values (?)")
        .bind(text)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn list_notes(tx: &TxHost<Sqlite>) -> Result<Vec<String>, TxError> {
    let mut conn = tx.conn().await?;
    sqlx::query("create table if not exists notes (text text not null)")
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar("select text from notes order by rowid")
        .fetch_all(&mut *conn)
        .await?)
}

async fn add(Path(text): Path<String>) -> Result<String, (StatusCode, String)> {
    let tx = tx_host();
    // Two notes in one transaction: both or neither.
    tx.transaction(async {
        insert_note(&tx, &text).await?;
        insert_note(&tx, &format!("{text} (again)")).await
    })
    .await
    .map_err(|err: TxError| (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()))?;
    Ok(format!("added to {}\n", CLS.get::<path!(tenant)>()))
}

async fn list() -> Result<String, (StatusCode, String)> {
    let notes = list_notes(&tx_host())
        .await
        .map_err(|err| (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()))?;
    Ok(notes.join(", ") + "\n")
}

fn app(pools: TenantPools<Sqlite>) -> Router {
    Router::new()
        .route("/notes", get(list))
        .route("/notes/{text}", post(add))
        .layer(
            ClsLayer::<AppStore>::new().setup_async(move |info| open_tenant(pools.clone(), info)),
        )
}

/// One request on a fresh connection, with a bound on how long it may take.
async fn send(addr: SocketAddr, method: &str, path: &str, tenant: &str) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("x-tenant", tenant)
        .body(Empty::<Bytes>::new())
        .unwrap();
    let exchange = async {
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((
            status,
            String::from_utf8_lossy(&body).into_owned(),
        ))
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the request timed out")
        .expect("the request failed")
}

/// The tenants' files, removed at exit.
struct DataDir(PathBuf);

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::main]
async fn main() {
    let data =
        DataDir(std::env::temp_dir().join(format!("cls-multi-tenant-{}", std::process::id())));
    std::fs::create_dir_all(&data.0).unwrap();
    let dir = data.0.clone();
    // At most two tenants' pools open at once: the third tenant closes the least recently
    // used one, which is opened again when its tenant comes back.
    let pools = TenantPools::new(2, move |tenant| {
        Ok(SqliteConnectOptions::new()
            .filename(dir.join(format!("{tenant}.db")))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal))
    });

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app(pools)).await });
    println!("listening on http://{addr}");

    for (tenant, note) in [
        ("acme", "invoice-1"),
        ("globex", "memo-7"),
        ("initech", "tps-report"),
        ("acme", "invoice-2"),
    ] {
        let (status, body) = send(addr, "POST", &format!("/notes/{note}"), tenant).await;
        print!("POST /notes/{note} as {tenant}: {status} {body}");
        assert_eq!(status, StatusCode::OK);
    }
    for tenant in ["acme", "globex", "initech"] {
        let (status, body) = send(addr, "GET", "/notes", tenant).await;
        print!("GET /notes as {tenant}: {status} {body}");
        assert_eq!(status, StatusCode::OK);
        for other in ["invoice", "memo", "tps"] {
            let own = matches!(
                (tenant, other),
                ("acme", "invoice") | ("globex", "memo") | ("initech", "tps")
            );
            assert_eq!(
                body.contains(other),
                own,
                "{tenant} must see only its own notes"
            );
        }
    }
    let (status, body) = send(addr, "GET", "/notes", "../etc").await;
    print!("GET /notes as ../etc: {status} {body}");
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let mut files: Vec<String> = std::fs::read_dir(&data.0)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".db"))
        .collect();
    files.sort();
    println!("tenant files: {files:?}");
    server.abort();
}
