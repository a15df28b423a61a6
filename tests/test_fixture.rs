//! Test fixtures: a store built with typed paths (`AppStore::fixture().set::<path!(..)>(..)`)
//! or loaded from JSON laid over `Default`, run in a context in one call; the runtime list
//! of paths; and the leak check `Cls::assert_inactive`. Every error a fixture file can
//! cause names the file and the dotted path, and its exact text is pinned here.

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;

use cls_core::{path, Cls, ClsStore, Fixture, FixtureErrorKind, Terminal};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Stands in for a connection pool: a handle with no JSON form.
#[derive(Debug, Default, PartialEq)]
struct Pool {
    url: String,
}

#[derive(ClsStore, Clone, Default, Serialize, Deserialize, PartialEq, Debug)]
struct User {
    id: u64,
    name: String,
}

#[derive(ClsStore, Clone, Default, Serialize, Deserialize, PartialEq, Debug)]
struct AppStore {
    request_id: String,
    tenant: Option<String>,
    user: User,
    #[serde(skip)]
    db: Terminal<Arc<Pool>>,
}

const CLS: Cls<AppStore> = Cls::new();

/// A nested store whose `Default` is not all zeros, so that a merge that replaced it
/// instead of overlaying it would show.
#[derive(ClsStore, Clone, Serialize, Deserialize, PartialEq, Debug)]
struct Limits {
    max_items: u32,
    page_size: u32,
    paging: Paging,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_items: 100,
            page_size: 20,
            paging: Paging::default(),
        }
    }
}

#[derive(ClsStore, Clone, Serialize, Deserialize, PartialEq, Debug)]
struct Paging {
    cursor: String,
    direction: String,
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            cursor: "start".to_owned(),
            direction: "forward".to_owned(),
        }
    }
}

#[derive(ClsStore, Clone, Default, Serialize, Deserialize, PartialEq, Debug)]
struct Settings {
    name: String,
    limits: Limits,
}

/// For `paths()`: a raw identifier, a generic field, a `Terminal` around a store.
#[derive(ClsStore, Clone, Default)]
struct Meta {
    r#type: String,
    version: u32,
}

#[derive(ClsStore, Clone, Default)]
struct Tagged<T: Clone + Send + Sync + 'static> {
    tag: T,
}

#[derive(ClsStore, Clone, Default)]
struct Document {
    r#type: String,
    meta: Meta,
    tagged: Tagged<User>,
    pinned: Terminal<Meta>,
}

fn fixture_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else {
        panic!("the panic payload is not a string")
    }
}

fn full_store() -> AppStore {
    AppStore {
        request_id: "req-1".to_owned(),
        tenant: Some("acme".to_owned()),
        user: User {
            id: 7,
            name: "ada".to_owned(),
        },
        db: Terminal::new(Arc::new(Pool {
            url: "postgres://orders".to_owned(),
        })),
    }
}

// --- The typed builder -------------------------------------------------------------------

#[test]
fn fixture_starts_from_default_and_sets_typed_paths() {
    let store = AppStore::fixture()
        .set::<path!(user.id)>(7)
        .set::<path!(tenant)>(Some("acme".to_owned()))
        .build();
    assert_eq!(
        store,
        AppStore {
            tenant: Some("acme".to_owned()),
            user: User {
                id: 7,
                name: String::new(),
            },
            ..AppStore::default()
        }
    );
}

#[test]
fn fixture_set_of_the_same_path_twice_keeps_the_last_value() {
    let store = AppStore::fixture()
        .set::<path!(user.name)>("ada".to_owned())
        .set::<path!(user.name)>("grace".to_owned())
        .build();
    assert_eq!(store.user.name, "grace");
}

#[test]
fn fixture_from_a_store_keeps_every_field_including_terminals() {
    let store = full_store();
    let pool = Arc::clone(&store.db);
    let built = Fixture::from(store.clone()).build();
    assert_eq!(built, store);
    assert!(Arc::ptr_eq(&built.db, &pool));
}

#[test]
fn fixture_from_a_store_can_still_be_changed_by_typed_paths() {
    let store = Fixture::from(full_store())
        .set::<path!(request_id)>("req-2".to_owned())
        .build();
    assert_eq!(
        store,
        AppStore {
            request_id: "req-2".to_owned(),
            ..full_store()
        }
    );
}

#[test]
fn fixture_debug_names_the_store() {
    assert_eq!(format!("{:?}", AppStore::fixture()), "Fixture<AppStore>");
}

#[test]
fn run_sync_calls_the_closure_inside_the_built_store_and_closes_the_context() {
    CLS.assert_inactive();
    let seen = AppStore::fixture()
        .set::<path!(user.id)>(7)
        .set::<path!(request_id)>("req-1".to_owned())
        .run_sync(|| {
            assert!(CLS.is_active());
            (CLS.get::<path!(request_id)>(), CLS.get::<path!(user.id)>())
        });
    assert_eq!(seen, ("req-1".to_owned(), 7));
    CLS.assert_inactive();
}

#[test]
fn run_sync_writes_stay_inside_the_fixture_context() {
    let fixture = AppStore::fixture().set::<path!(user.id)>(1);
    let seen = fixture.run_sync(|| {
        CLS.set::<path!(user.id)>(2);
        CLS.get::<path!(user.id)>()
    });
    assert_eq!(seen, 2);
    CLS.assert_inactive();
}

async fn fixture_run_sees_the_store_across_awaits_and_spawns() {
    let seen = Fixture::from(full_store())
        .set::<path!(user.id)>(9)
        .run(async {
            tokio::task::yield_now().await;
            let in_task = cls_core::spawn(async { CLS.get::<path!(user.id)>() })
                .await
                .expect("the task ran");
            let url = CLS.with::<path!(db), _>(|db| db.url.clone());
            (CLS.get::<path!(request_id)>(), in_task, url)
        })
        .await;
    assert_eq!(
        seen,
        ("req-1".to_owned(), 9, "postgres://orders".to_owned())
    );
    CLS.assert_inactive();
}

#[tokio::test(flavor = "current_thread")]
async fn fixture_run_sees_the_store_across_awaits_and_spawns_current_thread() {
    fixture_run_sees_the_store_across_awaits_and_spawns().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_run_sees_the_store_across_awaits_and_spawns_multi_thread() {
    fixture_run_sees_the_store_across_awaits_and_spawns().await;
}

// --- paths() -----------------------------------------------------------------------------

#[test]
fn paths_lists_every_dotted_path_in_declaration_order_with_nested_stores_expanded() {
    assert_eq!(
        AppStore::paths(),
        ["request_id", "tenant", "user", "user.id", "user.name", "db"]
    );
    assert_eq!(User::paths(), ["id", "name"]);
    assert_eq!(
        Settings::paths(),
        [
            "name",
            "limits",
            "limits.max_items",
            "limits.page_size",
            "limits.paging",
            "limits.paging.cursor",
            "limits.paging.direction",
        ]
    );
}

#[test]
fn paths_spell_raw_identifiers_without_prefix_and_keep_generic_and_terminal_fields_as_leaves() {
    assert_eq!(Meta::paths(), ["type", "version"]);
    assert_eq!(Tagged::<User>::paths(), ["tag"]);
    assert_eq!(
        Document::paths(),
        [
            "type",
            "meta",
            "meta.type",
            "meta.version",
            "tagged",
            "tagged.tag",
            "pinned",
        ]
    );
}

#[test]
fn paths_is_computed_once_and_returns_the_same_slice() {
    assert!(std::ptr::eq(AppStore::paths(), AppStore::paths()));
}

/// Two stores to instantiate [`Wrap`] with.
#[derive(ClsStore, Clone, Default)]
struct A {
    a: u8,
}

#[derive(ClsStore, Clone, Default)]
struct B {
    b: u8,
}

/// A generic store whose field is a store: its paths depend on the instantiation.
#[derive(ClsStore, Clone, Default)]
struct Wrap<T: ClsStore + Default> {
    inner: T,
}

#[test]
fn paths_of_a_generic_store_are_kept_per_instantiation() {
    assert_eq!(Wrap::<A>::paths(), ["inner", "inner.a"]);
    assert_eq!(Wrap::<B>::paths(), ["inner", "inner.b"]);
    assert_eq!(Wrap::<A>::paths(), ["inner", "inner.a"]);
}

// --- from_json ---------------------------------------------------------------------------

#[test]
fn from_json_keeps_defaults_for_fields_the_json_leaves_out() {
    let store = Fixture::<AppStore>::from_json(json!({ "tenant": "acme" }))
        .unwrap()
        .build();
    assert_eq!(
        store,
        AppStore {
            tenant: Some("acme".to_owned()),
            ..AppStore::default()
        }
    );

    let empty = Fixture::<AppStore>::from_json(json!({})).unwrap().build();
    assert_eq!(empty, AppStore::default());
}

#[test]
fn from_json_merges_nested_objects_field_by_field_instead_of_replacing_them() {
    let settings = Fixture::<Settings>::from_json(json!({
        "limits": { "page_size": 50, "paging": { "cursor": "abc" } }
    }))
    .unwrap()
    .build();
    assert_eq!(
        settings,
        Settings {
            name: String::new(),
            limits: Limits {
                max_items: 100,
                page_size: 50,
                paging: Paging {
                    cursor: "abc".to_owned(),
                    direction: "forward".to_owned(),
                },
            },
        }
    );

    let store = Fixture::<AppStore>::from_json(json!({ "user": { "name": "ada" } }))
        .unwrap()
        .build();
    assert_eq!(
        store.user,
        User {
            id: 0,
            name: "ada".to_owned()
        }
    );
}

#[test]
fn from_json_result_can_be_refined_with_typed_paths() {
    let store = Fixture::<AppStore>::from_json(json!({ "user": { "name": "ada" } }))
        .unwrap()
        .set::<path!(user.id)>(7)
        .build();
    assert_eq!(
        store.user,
        User {
            id: 7,
            name: "ada".to_owned()
        }
    );
}

#[test]
fn from_json_reads_raw_identifier_fields_by_their_plain_name() {
    #[derive(ClsStore, Clone, Default, Serialize, Deserialize, PartialEq, Debug)]
    struct Event {
        r#type: String,
    }
    let event = Fixture::<Event>::from_json(json!({ "type": "invoice" }))
        .unwrap()
        .build();
    assert_eq!(event.r#type, "invoice");
}

#[test]
fn from_json_rejects_an_unknown_field_naming_its_path_and_the_nearest_valid_one() {
    let err = Fixture::<AppStore>::from_json(json!({ "user": { "idd": 7 } })).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::UnknownField);
    assert_eq!(err.path(), Some("user.idd"));
    assert_eq!(err.file(), None);
    assert_eq!(err.line_column(), None);
    assert_eq!(
        err.to_string(),
        "unknown field `user.idd`: `User` has no field `idd`; did you mean `user.id`?"
    );
}

#[test]
fn from_json_lists_the_fields_when_no_valid_path_is_close() {
    let err = Fixture::<AppStore>::from_json(json!({ "zzzzzzzz": 1 })).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::UnknownField);
    assert_eq!(err.path(), Some("zzzzzzzz"));
    assert_eq!(
        err.to_string(),
        "unknown field `zzzzzzzz`: `AppStore` has no field `zzzzzzzz`; its fields are \
         `request_id`, `tenant`, `user`, `db`"
    );
}

#[test]
fn from_json_reports_a_key_holding_a_dot_as_the_key_written() {
    let err = Fixture::<AppStore>::from_json(json!({ "user.id": 7 })).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::UnknownField);
    assert_eq!(err.path(), Some("user.id"));
    let message = err.to_string();
    assert!(
        message.contains("`AppStore` has no field `user.id`"),
        "{message}"
    );
    assert!(!message.contains("did you mean `user.id`?"), "{message}");
}

#[test]
fn from_json_rejects_a_value_of_the_wrong_type_saying_what_was_expected_and_found() {
    let err = Fixture::<AppStore>::from_json(json!({ "user": { "id": "seven" } })).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::InvalidValue);
    assert_eq!(err.path(), Some("user.id"));
    assert_eq!(
        err.to_string(),
        "`user.id`: expected an unsigned integer (u64), found the string \"seven\""
    );
}

#[test]
fn from_json_rejects_a_terminal_field_as_having_no_json_form() {
    let err = Fixture::<AppStore>::from_json(json!({ "db": "postgres://orders" })).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::NoJsonForm);
    assert_eq!(err.path(), Some("db"));
    assert_eq!(
        err.to_string(),
        "`db` is a `Terminal` field and has no JSON form"
    );
}

#[test]
fn from_json_rejects_a_root_that_is_not_an_object() {
    let err = Fixture::<AppStore>::from_json(json!(["req-1"])).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::InvalidValue);
    assert_eq!(err.path(), None);
    assert_eq!(
        err.to_string(),
        "a fixture is a JSON object of fields, found an array of 1 element"
    );
}

#[test]
fn store_round_trips_through_json_into_an_equal_fixture() {
    // `db` has no JSON form, so the round trip starts from its default.
    let store = AppStore {
        db: Terminal::default(),
        ..full_store()
    };
    let value = serde_json::to_value(&store).unwrap();
    let back = Fixture::<AppStore>::from_json(value).unwrap().build();
    assert_eq!(back, store);

    let settings = Settings {
        name: "prod".to_owned(),
        limits: Limits {
            max_items: 5,
            page_size: 6,
            paging: Paging {
                cursor: "c".to_owned(),
                direction: "back".to_owned(),
            },
        },
    };
    let text = serde_json::to_string(&settings).unwrap();
    let back = Fixture::<Settings>::from_json_str(&text).unwrap().build();
    assert_eq!(back, settings);
}

// --- Files -------------------------------------------------------------------------------

#[test]
fn from_file_lays_a_partial_fixture_over_the_default() {
    let store = Fixture::<AppStore>::from_file(fixture_file("app_store.json"))
        .unwrap()
        .build();
    assert_eq!(
        store,
        AppStore {
            request_id: "req-fixture-1".to_owned(),
            tenant: Some("acme".to_owned()),
            user: User {
                id: 0,
                name: "ada".to_owned(),
            },
            db: Terminal::default(),
        }
    );
}

#[test]
fn from_file_unknown_field_error_names_the_file_and_the_path() {
    let file = fixture_file("unknown_field.json");
    let err = Fixture::<AppStore>::from_file(&file).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::UnknownField);
    assert_eq!(err.file(), Some(file.as_path()));
    assert_eq!(err.path(), Some("user.idd"));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: unknown field `user.idd`: `User` has no field `idd`; did you mean `user.id`?",
            file.display()
        )
    );
}

#[test]
fn from_file_wrong_type_error_names_the_file_and_the_path() {
    let file = fixture_file("wrong_type.json");
    let err = Fixture::<AppStore>::from_file(&file).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::InvalidValue);
    assert_eq!(err.file(), Some(file.as_path()));
    assert_eq!(err.path(), Some("user.id"));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: `user.id`: expected an unsigned integer (u64), found the string \"seven\"",
            file.display()
        )
    );
}

#[test]
fn from_file_syntax_error_names_the_file_line_and_column() {
    let file = fixture_file("malformed.json");
    let err = Fixture::<AppStore>::from_file(&file).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::Syntax);
    assert_eq!(err.file(), Some(file.as_path()));
    assert_eq!(err.line_column(), Some((3, 12)));
    assert_eq!(err.path(), None);
    assert_eq!(
        err.to_string(),
        format!("{}: line 3, column 12: expected `:`", file.display())
    );
}

#[test]
fn from_file_of_a_missing_file_is_an_io_error_naming_the_file() {
    let file = fixture_file("no_such_fixture.json");
    let err = Fixture::<AppStore>::from_file(&file).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::Io);
    assert_eq!(err.file(), Some(file.as_path()));
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot read the file: ", file.display())),
        "{err}"
    );
}

#[test]
fn load_returns_the_fixture_for_a_good_file() {
    let store = Fixture::<AppStore>::load(fixture_file("app_store.json")).build();
    assert_eq!(store.request_id, "req-fixture-1");
}

#[test]
fn load_panics_with_the_error_message_for_a_bad_file() {
    let file = fixture_file("unknown_field.json");
    let payload = panic::catch_unwind(|| Fixture::<AppStore>::load(&file)).unwrap_err();
    assert_eq!(
        panic_message(&*payload),
        format!(
            "bad fixture: {}: unknown field `user.idd`: `User` has no field `idd`; did you mean \
             `user.id`?",
            file.display()
        )
    );

    let file = fixture_file("malformed.json");
    let payload = panic::catch_unwind(|| Fixture::<AppStore>::load(&file)).unwrap_err();
    assert_eq!(
        panic_message(&*payload),
        format!(
            "bad fixture: {}: line 3, column 12: expected `:`",
            file.display()
        )
    );
}

// --- assert_inactive ---------------------------------------------------------------------

#[test]
fn assert_inactive_passes_outside_any_context() {
    CLS.assert_inactive();
    AppStore::fixture().run_sync(|| {});
    CLS.assert_inactive();
}

#[tokio::test(flavor = "current_thread")]
async fn assert_inactive_passes_after_an_async_fixture_ends() {
    AppStore::fixture()
        .run(async { tokio::task::yield_now().await })
        .await;
    CLS.assert_inactive();
}

#[test]
fn assert_inactive_panics_inside_a_context_naming_the_store() {
    let payload = panic::catch_unwind(AssertUnwindSafe(|| {
        AppStore::fixture().run_sync(|| CLS.assert_inactive());
    }))
    .unwrap_err();
    assert_eq!(
        panic_message(&*payload),
        "a context of `AppStore` is still active here, where none should be: it leaked out of \
         the code that opened it"
    );
    // The panic unwound through the fixture's context, which closed it.
    CLS.assert_inactive();
}

#[test]
fn assert_inactive_ignores_contexts_of_other_store_types() {
    const SETTINGS: Cls<Settings> = Cls::new();
    Fixture::from(Settings::default()).run_sync(|| {
        assert!(SETTINGS.is_active());
        CLS.assert_inactive();
    });
}
