//! Paths given as strings at run time: `Cls::get_json` and `Cls::set_json`. A read
//! serializes only the value at the path; a write is copy-on-write like `set`; every
//! mistake is a `ClsError` of its own kind naming the dotted path, and a rejected write
//! leaves the store exactly as it was.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use cls_core::{path, Cls, ClsErrorKind, ClsStore, Terminal};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// Stands in for a connection pool: a handle with no JSON form.
#[derive(Debug, Default, PartialEq)]
struct Pool {
    url: String,
}

#[derive(ClsStore, Clone, Default, Serialize, Deserialize, PartialEq, Debug)]
struct User {
    id: u64,
    name: String,
    age: u8,
}

#[derive(ClsStore, Clone, Default, Serialize, Deserialize, PartialEq, Debug)]
struct AppStore {
    request_id: String,
    tenant: Option<String>,
    user: User,
    retries: u8,
    roles: Vec<String>,
    #[serde(skip)]
    db: Terminal<Arc<Pool>>,
}

const CLS: Cls<AppStore> = Cls::new();

fn sample() -> AppStore {
    AppStore {
        request_id: "req-1".to_owned(),
        tenant: None,
        user: User {
            id: 7,
            name: "ada".to_owned(),
            age: 36,
        },
        retries: 2,
        roles: vec!["admin".to_owned()],
        db: Terminal::new(Arc::new(Pool {
            url: "postgres://orders".to_owned(),
        })),
    }
}

/// The whole current store, read field by field with typed paths.
fn snapshot_store() -> AppStore {
    AppStore {
        request_id: CLS.get::<path!(request_id)>(),
        tenant: CLS.get::<path!(tenant)>(),
        user: CLS.get::<path!(user)>(),
        retries: CLS.get::<path!(retries)>(),
        roles: CLS.get::<path!(roles)>(),
        db: CLS.get::<path!(db)>(),
    }
}

/// The kind, path and message of an error, for one-line assertions.
fn described(err: &cls_core::ClsError) -> (ClsErrorKind, Option<String>, String) {
    (err.kind(), err.path().map(str::to_owned), err.to_string())
}

// --- Reading -----------------------------------------------------------------------------

#[test]
fn get_json_reads_leaves_of_every_shape() {
    CLS.run_with_sync(sample(), || {
        assert_eq!(CLS.get_json("request_id").unwrap(), json!("req-1"));
        assert_eq!(CLS.get_json("tenant").unwrap(), Value::Null);
        assert_eq!(CLS.get_json("user.id").unwrap(), json!(7));
        assert_eq!(CLS.get_json("user.name").unwrap(), json!("ada"));
        assert_eq!(CLS.get_json("retries").unwrap(), json!(2));
        assert_eq!(CLS.get_json("roles").unwrap(), json!(["admin"]));
    });
}

#[test]
fn get_json_reads_a_nested_store_as_an_object() {
    CLS.run_with_sync(sample(), || {
        assert_eq!(
            CLS.get_json("user").unwrap(),
            json!({ "id": 7, "name": "ada", "age": 36 })
        );
    });
}

#[test]
fn get_json_sees_typed_writes() {
    CLS.run_with_sync(sample(), || {
        CLS.set::<path!(tenant)>(Some("acme".to_owned()));
        assert_eq!(CLS.get_json("tenant").unwrap(), json!("acme"));
    });
}

// --- Writing -----------------------------------------------------------------------------

#[test]
fn set_json_of_a_leaf_is_seen_by_typed_get() {
    CLS.run_with_sync(sample(), || {
        CLS.set_json("user.id", json!(42)).unwrap();
        CLS.set_json("tenant", json!("acme")).unwrap();
        CLS.set_json("roles", json!(["reader", "writer"])).unwrap();
        assert_eq!(CLS.get::<path!(user.id)>(), 42);
        assert_eq!(CLS.get::<path!(tenant)>().as_deref(), Some("acme"));
        assert_eq!(CLS.get::<path!(roles)>(), ["reader", "writer"]);
        assert_eq!(
            snapshot_store(),
            AppStore {
                tenant: Some("acme".to_owned()),
                user: User {
                    id: 42,
                    ..sample().user
                },
                roles: vec!["reader".to_owned(), "writer".to_owned()],
                ..sample()
            }
        );
    });
}

#[test]
fn set_json_of_a_nested_store_replaces_it_whole() {
    CLS.run_with_sync(sample(), || {
        CLS.set_json("user", json!({ "id": 1, "name": "grace", "age": 45 }))
            .unwrap();
        assert_eq!(
            CLS.get::<path!(user)>(),
            User {
                id: 1,
                name: "grace".to_owned(),
                age: 45,
            }
        );
    });
}

#[test]
fn set_json_then_get_json_gives_the_value_back() {
    CLS.run_with_sync(sample(), || {
        CLS.set_json("user.name", json!("grace")).unwrap();
        assert_eq!(CLS.get_json("user.name").unwrap(), json!("grace"));
        CLS.set_json("tenant", Value::Null).unwrap();
        assert_eq!(CLS.get_json("tenant").unwrap(), Value::Null);
    });
}

async fn set_json_is_not_seen_by_a_task_spawned_before_it() {
    CLS.run_with(sample(), async {
        let (go, wait) = oneshot::channel::<()>();
        let task = cls_core::spawn(async move {
            wait.await.expect("the parent sent the signal");
            (
                CLS.get::<path!(user.id)>(),
                CLS.get_json("user.id").unwrap(),
            )
        });
        CLS.set_json("user.id", json!(99)).unwrap();
        go.send(()).unwrap();
        assert_eq!(task.await.unwrap(), (7, json!(7)));
        assert_eq!(CLS.get::<path!(user.id)>(), 99);
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn set_json_is_not_seen_by_a_task_spawned_before_it_current_thread() {
    set_json_is_not_seen_by_a_task_spawned_before_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_json_is_not_seen_by_a_task_spawned_before_it_multi_thread() {
    set_json_is_not_seen_by_a_task_spawned_before_it().await;
}

async fn set_json_is_seen_by_a_task_spawned_after_it() {
    CLS.run_with(sample(), async {
        CLS.set_json("user.id", json!(99)).unwrap();
        let seen = cls_core::spawn(async { CLS.get::<path!(user.id)>() })
            .await
            .unwrap();
        assert_eq!(seen, 99);
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn set_json_is_seen_by_a_task_spawned_after_it_current_thread() {
    set_json_is_seen_by_a_task_spawned_after_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_json_is_seen_by_a_task_spawned_after_it_multi_thread() {
    set_json_is_seen_by_a_task_spawned_after_it().await;
}

#[tokio::test(flavor = "current_thread")]
async fn set_json_in_a_nested_run_is_not_seen_by_the_outer_context_after_it_ends() {
    CLS.run_with(sample(), async {
        let inner = CLS
            .run(async {
                CLS.set_json("user.name", json!("grace")).unwrap();
                tokio::task::yield_now().await;
                CLS.get::<path!(user.name)>()
            })
            .await;
        assert_eq!(inner, "grace");
        assert_eq!(CLS.get::<path!(user.name)>(), "ada");
        assert_eq!(snapshot_store(), sample());
    })
    .await;
}

#[test]
fn set_json_in_a_nested_sync_run_is_not_seen_by_the_outer_context() {
    CLS.run_with_sync(sample(), || {
        CLS.run_sync(|| CLS.set_json("retries", json!(9)).unwrap());
        assert_eq!(CLS.get::<path!(retries)>(), 2);
    });
}

// --- Errors ------------------------------------------------------------------------------

#[test]
fn malformed_paths_are_rejected_before_reading_the_store() {
    CLS.run_with_sync(sample(), || {
        let cases = [
            ("", "the path is empty; name a field, such as `user.id`"),
            (
                "user..id",
                "`user..id`: segment 2 of the path is an empty segment",
            ),
            (
                "user.0",
                "`user.0`: segment 2 of the path is `0`, which is not a field name",
            ),
            (
                ".user",
                "`.user`: segment 1 of the path is an empty segment",
            ),
            (
                "user.",
                "`user.`: segment 2 of the path is an empty segment",
            ),
        ];
        for (path, message) in cases {
            let expected = (
                ClsErrorKind::MalformedPath,
                Some(path.to_owned()),
                message.to_owned(),
            );
            assert_eq!(described(&CLS.get_json(path).unwrap_err()), expected);
            assert_eq!(
                described(&CLS.set_json(path, json!(1)).unwrap_err()),
                expected
            );
        }
    });
}

#[test]
fn unknown_field_error_suggests_the_nearest_valid_path() {
    CLS.run_with_sync(sample(), || {
        let expected = (
            ClsErrorKind::UnknownField,
            Some("user.idd".to_owned()),
            "unknown field `user.idd`: `User` has no field `idd`; did you mean `user.id`?"
                .to_owned(),
        );
        assert_eq!(described(&CLS.get_json("user.idd").unwrap_err()), expected);
        assert_eq!(
            described(&CLS.set_json("user.idd", json!(1)).unwrap_err()),
            expected
        );

        let err = CLS.get_json("usr").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown field `usr`: `AppStore` has no field `usr`; did you mean `user`?"
        );
    });
}

#[test]
fn unknown_field_error_lists_the_fields_when_nothing_is_close() {
    CLS.run_with_sync(sample(), || {
        let err = CLS.get_json("user.zzzzzz").unwrap_err();
        assert_eq!(err.kind(), ClsErrorKind::UnknownField);
        assert_eq!(
            err.to_string(),
            "unknown field `user.zzzzzz`: `User` has no field `zzzzzz`; its fields are `id`, \
             `name`, `age`"
        );
    });
}

#[test]
fn path_past_a_leaf_names_the_leaf_and_its_type() {
    CLS.run_with_sync(sample(), || {
        let expected = (
            ClsErrorKind::PathPastLeaf,
            Some("user.id.value".to_owned()),
            "`user.id.value`: `user.id` is a leaf of type `u64`: a path cannot continue past it"
                .to_owned(),
        );
        assert_eq!(
            described(&CLS.get_json("user.id.value").unwrap_err()),
            expected
        );
        assert_eq!(
            described(&CLS.set_json("user.id.value", json!(1)).unwrap_err()),
            expected
        );

        let err = CLS.get_json("db.url").unwrap_err();
        assert_eq!(err.kind(), ClsErrorKind::PathPastLeaf);
        assert_eq!(
            err.to_string(),
            "`db.url`: `db` is a leaf of type `Terminal<Arc<Pool>>`: a path cannot continue past it"
        );
    });
}

#[test]
fn terminal_field_has_no_json_form() {
    CLS.run_with_sync(sample(), || {
        let expected = (
            ClsErrorKind::NoJsonForm,
            Some("db".to_owned()),
            "`db` is a `Terminal` field and has no JSON form".to_owned(),
        );
        assert_eq!(described(&CLS.get_json("db").unwrap_err()), expected);
        assert_eq!(
            described(&CLS.set_json("db", json!("postgres://other")).unwrap_err()),
            expected
        );
    });
}

#[test]
fn value_of_the_wrong_type_is_an_invalid_value() {
    CLS.run_with_sync(sample(), || {
        let err = CLS.set_json("user.id", json!("seven")).unwrap_err();
        assert_eq!(
            described(&err),
            (
                ClsErrorKind::InvalidValue,
                Some("user.id".to_owned()),
                "`user.id`: expected an unsigned integer (u64), found the string \"seven\""
                    .to_owned(),
            )
        );
        let err = CLS.set_json("user", json!({ "id": 1 })).unwrap_err();
        assert_eq!(
            described(&err),
            (
                ClsErrorKind::InvalidValue,
                Some("user".to_owned()),
                "`user`: missing field `name`".to_owned(),
            )
        );
    });
}

#[test]
fn number_out_of_range_is_an_invalid_value() {
    CLS.run_with_sync(sample(), || {
        let err = CLS.set_json("retries", json!(300)).unwrap_err();
        assert_eq!(
            described(&err),
            (
                ClsErrorKind::InvalidValue,
                Some("retries".to_owned()),
                "`retries`: expected an unsigned integer (u8), found the number 300".to_owned(),
            )
        );
        let err = CLS.set_json("user.id", json!(-1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`user.id`: expected an unsigned integer (u64), found the number -1"
        );
    });
}

#[test]
fn outside_a_context_get_json_and_set_json_are_no_context_errors() {
    let expected = (
        ClsErrorKind::NoContext,
        None,
        "no `AppStore` context is active; wrap the call in `Cls::<AppStore>::run_with` (or \
         `run`), and carry it into spawned work with `cls_core::spawn`"
            .to_owned(),
    );
    let err = CLS.get_json("user.id").unwrap_err();
    assert_eq!(err.store(), "AppStore");
    assert_eq!(described(&err), expected);
    assert_eq!(
        described(&CLS.set_json("user.id", json!(1)).unwrap_err()),
        expected
    );
}

#[test]
fn errors_name_the_store_type() {
    CLS.run_with_sync(sample(), || {
        assert_eq!(CLS.get_json("user.idd").unwrap_err().store(), "AppStore");
        assert_eq!(
            CLS.set_json("db", json!(1)).unwrap_err().store(),
            "AppStore"
        );
    });
}

#[test]
fn rejected_set_json_leaves_the_store_exactly_as_it_was() {
    let rejected = [
        ("", json!(1)),
        ("user..id", json!(1)),
        ("user.idd", json!(1)),
        ("user.id.value", json!(1)),
        ("db", json!("postgres://other")),
        ("user.id", json!("seven")),
        ("retries", json!(300)),
        ("user", json!({ "id": 1 })),
        ("user", json!({ "id": 1, "name": "grace", "age": 1000 })),
        ("roles", json!(["reader", 7])),
        ("tenant", json!(["acme"])),
    ];
    CLS.run_with_sync(sample(), || {
        let pool = CLS.get::<path!(db)>();
        for (path, value) in rejected.clone() {
            assert!(CLS.set_json(path, value).is_err(), "{path} was accepted");
            assert_eq!(snapshot_store(), sample(), "after set_json({path:?})");
            assert!(Arc::ptr_eq(&CLS.get::<path!(db)>(), &pool));
        }
    });
    // The same on a store shared with an enclosing context: neither side changes.
    CLS.run_with_sync(sample(), || {
        CLS.run_sync(|| {
            for (path, value) in rejected {
                assert!(CLS.set_json(path, value).is_err(), "{path} was accepted");
                assert_eq!(snapshot_store(), sample(), "after set_json({path:?})");
            }
        });
        assert_eq!(snapshot_store(), sample());
    });
}

// --- Only the value at the path is serialized --------------------------------------------

static HEAVY_SERIALIZED: AtomicUsize = AtomicUsize::new(0);

/// A large value that counts how many times it is serialized.
#[derive(Clone, Default, PartialEq, Debug, Deserialize)]
struct Heavy(Vec<u64>);

impl Serialize for Heavy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        HEAVY_SERIALIZED.fetch_add(1, Ordering::SeqCst);
        self.0.serialize(serializer)
    }
}

#[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
struct Report {
    label: String,
    owner: User,
    heavy: Heavy,
}

#[test]
fn get_json_of_a_leaf_does_not_serialize_the_rest_of_the_store() {
    const REPORT: Cls<Report> = Cls::new();
    let store = Report {
        label: "q3".to_owned(),
        owner: User::default(),
        heavy: Heavy(vec![0; 100_000]),
    };
    REPORT.run_with_sync(store, || {
        let before = HEAVY_SERIALIZED.load(Ordering::SeqCst);
        assert_eq!(REPORT.get_json("label").unwrap(), json!("q3"));
        assert_eq!(REPORT.get_json("owner.id").unwrap(), json!(0));
        assert_eq!(REPORT.get_json("owner").unwrap()["name"], json!(""));
        REPORT.set_json("label", json!("q4")).unwrap();
        assert!(REPORT.get_json("label.x").is_err());
        assert_eq!(HEAVY_SERIALIZED.load(Ordering::SeqCst), before);

        // The counter does count: reading the heavy field itself serializes it once.
        assert_eq!(
            REPORT.get_json("heavy").unwrap().as_array().unwrap().len(),
            100_000
        );
        assert_eq!(HEAVY_SERIALIZED.load(Ordering::SeqCst), before + 1);
    });
}

// --- Generic fields ----------------------------------------------------------------------

#[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
struct Tagged<T: Clone + Send + Sync + 'static> {
    tag: T,
}

#[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
struct Labelled {
    tagged: Tagged<u8>,
}

#[test]
fn a_generic_store_nested_in_a_store_is_read_and_written_whole() {
    const LABELLED: Cls<Labelled> = Cls::new();
    LABELLED.run_sync(|| {
        LABELLED.set_json("tagged", json!({ "tag": 3 })).unwrap();
        assert_eq!(LABELLED.get_json("tagged").unwrap(), json!({ "tag": 3 }));
        assert_eq!(LABELLED.get::<path!(tagged.tag)>(), 3);
    });
}

#[test]
fn a_field_typed_by_a_store_type_parameter_has_no_json_form_and_says_why() {
    // JSON forms are chosen where the store is defined, and there `T` has no serde
    // bound: the documented limitation. The whole generic store is still reachable.
    const LABELLED: Cls<Labelled> = Cls::new();
    LABELLED.run_sync(|| {
        LABELLED.set::<path!(tagged.tag)>(3);
        let err = LABELLED.get_json("tagged.tag").unwrap_err();
        assert_eq!(err.kind(), ClsErrorKind::NoJsonForm);
        assert_eq!(
            err.to_string(),
            "`tagged.tag` has no JSON form here: its type `T` is a type parameter of the store, \
             and fields are given a JSON form where the store is defined; set the whole store \
             that holds it instead"
        );
        assert_eq!(LABELLED.get_json("tagged").unwrap(), json!({ "tag": 3 }));
    });
}

/// Counts its clones, so a test can tell whether the store holding it was copied.
#[derive(Default, Serialize, Deserialize)]
struct CountedClones(u64);

static CLONES: AtomicUsize = AtomicUsize::new(0);

impl Clone for CountedClones {
    fn clone(&self) -> Self {
        CLONES.fetch_add(1, Ordering::SeqCst);
        Self(self.0)
    }
}

#[derive(ClsStore, Clone, Default, Serialize, Deserialize)]
struct Audited {
    counted: CountedClones,
    hits: u64,
}

#[test]
fn set_json_on_an_unshared_store_writes_in_place_without_copying_it() {
    const AUDITED: Cls<Audited> = Cls::new();
    AUDITED.run_with_sync(Audited::default(), || {
        let before = CLONES.load(Ordering::SeqCst);
        AUDITED.set_json("hits", json!(3)).unwrap();
        AUDITED.set_json("hits", json!("three")).unwrap_err();
        assert_eq!(
            CLONES.load(Ordering::SeqCst),
            before,
            "the store was copied"
        );
        assert_eq!(AUDITED.get::<path!(hits)>(), 3);

        // Shared with a snapshot, the first write copies it once: copy-on-write.
        let _snapshot = cls_core::snapshot();
        AUDITED.set_json("hits", json!(4)).unwrap();
        assert_eq!(CLONES.load(Ordering::SeqCst), before + 1);
    });
}
