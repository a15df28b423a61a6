//! Hostile JSON: whatever text or value a fixture or `set_json` is given, the answer is a
//! clean error (never a panic, never a stack overflow), its message stays short however
//! large the input, and a rejected `set_json` leaves the store as it was.

use std::sync::Arc;

use cls_core::{path, Cls, ClsErrorKind, ClsStore, Fixture, FixtureErrorKind, Terminal};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Number, Value};

/// Stands in for a connection pool: a handle with no JSON form.
#[derive(Debug, Default, PartialEq)]
struct Pool;

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
    score: i64,
    ratio: f64,
    tags: Vec<String>,
    #[serde(skip)]
    db: Terminal<Arc<Pool>>,
}

const CLS: Cls<AppStore> = Cls::new();

const DEPTH: usize = 10_000;
const TEN_MB: usize = 10 * 1024 * 1024;

fn parse(text: &str) -> Result<AppStore, cls_core::FixtureError> {
    Fixture::<AppStore>::from_json_str(text).map(Fixture::build)
}

fn sample() -> AppStore {
    AppStore {
        request_id: "req-1".to_owned(),
        tenant: Some("acme".to_owned()),
        user: User {
            id: 7,
            name: "ada".to_owned(),
            age: 36,
        },
        score: -3,
        ratio: 0.5,
        tags: vec!["a".to_owned()],
        db: Terminal::new(Arc::new(Pool)),
    }
}

/// The whole current store, read field by field with typed paths.
fn snapshot_store() -> AppStore {
    AppStore {
        request_id: CLS.get::<path!(request_id)>(),
        tenant: CLS.get::<path!(tenant)>(),
        user: CLS.get::<path!(user)>(),
        score: CLS.get::<path!(score)>(),
        ratio: CLS.get::<path!(ratio)>(),
        tags: CLS.get::<path!(tags)>(),
        db: CLS.get::<path!(db)>(),
    }
}

// --- Depth -------------------------------------------------------------------------------

#[test]
fn ten_thousand_nested_arrays_at_the_root_are_a_syntax_error() {
    let text = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let err = parse(&text).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::Syntax);
    assert_eq!(
        err.to_string(),
        "line 1, column 128: recursion limit exceeded"
    );

    let unclosed = "[".repeat(DEPTH);
    assert_eq!(
        parse(&unclosed).unwrap_err().kind(),
        FixtureErrorKind::Syntax
    );
}

#[test]
fn ten_thousand_nested_objects_at_the_root_are_a_syntax_error() {
    let text = format!("{}1{}", r#"{"user":"#.repeat(DEPTH), "}".repeat(DEPTH));
    let err = parse(&text).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::Syntax);
    assert!(
        err.to_string().ends_with(": recursion limit exceeded"),
        "{err}"
    );
}

#[test]
fn ten_thousand_levels_under_a_field_are_a_syntax_error() {
    let arrays = format!(
        r#"{{"user": {{"name": {}{}}}}}"#,
        "[".repeat(DEPTH),
        "]".repeat(DEPTH)
    );
    let err = parse(&arrays).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::Syntax);
    assert_eq!(
        err.to_string(),
        "line 1, column 144: recursion limit exceeded"
    );

    let objects = format!(
        r#"{{"tags": {}null{}}}"#,
        r#"{"a": "#.repeat(DEPTH),
        "}".repeat(DEPTH)
    );
    let err = parse(&objects).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::Syntax);
    assert!(
        err.to_string().ends_with(": recursion limit exceeded"),
        "{err}"
    );
}

// --- Size --------------------------------------------------------------------------------

#[test]
fn ten_megabyte_string_in_a_string_field_is_accepted() {
    let text = format!(r#"{{"request_id": "{}"}}"#, "x".repeat(TEN_MB));
    let store = parse(&text).unwrap();
    assert_eq!(store.request_id.len(), TEN_MB);
    assert_eq!(
        AppStore {
            request_id: String::new(),
            ..store
        },
        AppStore::default()
    );
}

#[test]
fn ten_megabyte_string_in_a_number_field_is_a_short_error() {
    let text = format!(r#"{{"user": {{"id": "{}"}}}}"#, "x".repeat(TEN_MB));
    let err = parse(&text).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::InvalidValue);
    assert_eq!(err.path(), Some("user.id"));
    let message = err.to_string();
    assert!(message.len() < 300, "{} bytes", message.len());
    assert_eq!(
        message,
        format!(
            "`user.id`: expected an unsigned integer (u64), found the string \"{}…\" ({TEN_MB} \
             characters)",
            "x".repeat(40)
        )
    );
}

#[test]
fn ten_megabyte_string_given_to_set_json_for_a_number_is_a_short_error() {
    CLS.run_with_sync(sample(), || {
        let err = CLS
            .set_json("user.age", Value::String("9".repeat(TEN_MB)))
            .unwrap_err();
        assert_eq!(err.kind(), ClsErrorKind::InvalidValue);
        assert!(
            err.to_string().len() < 300,
            "{} bytes",
            err.to_string().len()
        );
        assert_eq!(snapshot_store(), sample());
    });
}

// --- Shape of the root -------------------------------------------------------------------

#[test]
fn a_root_that_is_not_an_object_is_rejected() {
    let cases = [
        ("[]", "an array of 0 elements"),
        ("[1, 2, 3]", "an array of 3 elements"),
        ("42", "the number 42"),
        ("-1.5", "the number -1.5"),
        ("null", "`null`"),
        ("true", "`true`"),
        (r#""request""#, "the string \"request\""),
    ];
    for (text, found) in cases {
        let err = parse(text).unwrap_err();
        assert_eq!(err.kind(), FixtureErrorKind::InvalidValue, "{text}");
        assert_eq!(err.path(), None, "{text}");
        assert_eq!(
            err.to_string(),
            format!("a fixture is a JSON object of fields, found {found}")
        );
    }
}

#[test]
fn empty_and_truncated_text_is_a_syntax_error() {
    for (text, message) in [
        ("", "line 1, column 0: EOF while parsing a value"),
        ("   ", "line 1, column 3: EOF while parsing a value"),
        ("{", "line 1, column 1: EOF while parsing an object"),
        (
            r#"{"user": {"id": 1}"#,
            "line 1, column 18: EOF while parsing an object",
        ),
        (
            r#"{"user": {}} trailing"#,
            "line 1, column 14: trailing characters",
        ),
    ] {
        let err = parse(text).unwrap_err();
        assert_eq!(err.kind(), FixtureErrorKind::Syntax, "{text:?}");
        assert_eq!(err.to_string(), message, "{text:?}");
    }
}

// --- Duplicate keys ----------------------------------------------------------------------

#[test]
fn duplicate_keys_at_the_root_are_rejected() {
    let err = parse(r#"{"request_id": "a", "request_id": "b"}"#).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::Syntax);
    assert_eq!(err.line_column(), Some((1, 32)));
    assert_eq!(
        err.to_string(),
        "line 1, column 32: duplicate key `request_id`"
    );
}

#[test]
fn duplicate_keys_in_a_nested_object_name_the_dotted_path() {
    let err = parse(r#"{"user": {"id": 1, "id": 2}}"#).unwrap_err();
    assert_eq!(err.kind(), FixtureErrorKind::Syntax);
    assert_eq!(
        err.to_string(),
        "line 1, column 23: duplicate key `user.id`"
    );

    let err = parse(r#"{"tags": [{"a": 1, "a": 2}]}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 1, column 22: duplicate key `tags[0].a`"
    );
}

#[test]
fn keys_repeated_in_different_objects_are_not_duplicates() {
    let store = parse(r#"{"user": {"name": "ada"}, "request_id": "name"}"#).unwrap();
    assert_eq!(store.user.name, "ada");
    assert_eq!(store.request_id, "name");
}

// --- Numbers out of range ----------------------------------------------------------------

#[test]
fn numbers_out_of_range_are_clean_errors() {
    let cases = [
        (
            r#"{"user": {"age": 300}}"#,
            FixtureErrorKind::InvalidValue,
            "`user.age`: expected an unsigned integer (u8), found the number 300",
        ),
        (
            r#"{"user": {"age": -1}}"#,
            FixtureErrorKind::InvalidValue,
            "`user.age`: expected an unsigned integer (u8), found the number -1",
        ),
        (
            r#"{"user": {"id": -1}}"#,
            FixtureErrorKind::InvalidValue,
            "`user.id`: expected an unsigned integer (u64), found the number -1",
        ),
        (
            r#"{"score": 9223372036854775808}"#,
            FixtureErrorKind::InvalidValue,
            "`score`: expected an integer (i64), found the number 9223372036854775808",
        ),
        (
            r#"{"score": 99999999999999999999}"#,
            FixtureErrorKind::InvalidValue,
            "`score`: expected an integer (i64), found the number 1e+20",
        ),
        (
            r#"{"score": 1.5}"#,
            FixtureErrorKind::InvalidValue,
            "`score`: expected an integer (i64), found the number 1.5",
        ),
        (
            r#"{"ratio": 1e400}"#,
            FixtureErrorKind::Syntax,
            "line 1, column 15: number out of range",
        ),
        (
            r#"{"ratio": -1e400}"#,
            FixtureErrorKind::Syntax,
            "line 1, column 16: number out of range",
        ),
    ];
    for (text, kind, message) in cases {
        let err = parse(text).unwrap_err();
        assert_eq!(err.kind(), kind, "{text}");
        assert_eq!(err.to_string(), message, "{text}");
    }
}

#[test]
fn numbers_at_the_edge_of_their_range_are_accepted() {
    let store = parse(
        r#"{"user": {"age": 255, "id": 18446744073709551615}, "score": -9223372036854775808,
            "ratio": 1e308}"#,
    )
    .unwrap();
    assert_eq!(
        (store.user.age, store.user.id, store.score, store.ratio),
        (u8::MAX, u64::MAX, i64::MIN, 1e308)
    );
}

// --- Properties --------------------------------------------------------------------------

/// Field names that exist somewhere in the store, close misspellings, and names that are
/// not field names at all.
const KEYS: &[&str] = &[
    "request_id",
    "tenant",
    "user",
    "id",
    "name",
    "age",
    "score",
    "ratio",
    "tags",
    "db",
    "idd",
    "usr",
    "user.id",
    "",
    " ",
    "r#type",
    "0",
    "ñame",
    "a\"b",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => "\\PC{0,12}",
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0_u64..400).prop_map(Value::from),
        any::<f64>()
            .prop_filter_map("JSON numbers are finite", Number::from_f64)
            .prop_map(Value::Number),
        "\\PC{0,16}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An object at the root, mostly: what a fixture file would hold.
fn json_fixture() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => proptest::collection::vec((key(), json_value()), 0..8)
            .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
    ]
}

/// Valid paths, and valid paths with one mutation.
fn dotted_path() -> impl Strategy<Value = String> {
    let valid = proptest::sample::select(AppStore::paths()).prop_map(str::to_owned);
    prop_oneof![
        3 => valid.clone(),
        1 => (valid.clone(), proptest::sample::select(&[".x", ".", "..id", ".id", "d", ".0"][..]))
            .prop_map(|(path, suffix)| format!("{path}{suffix}")),
        1 => (valid.clone(), any::<proptest::sample::Index>())
            .prop_map(|(path, at)| {
                let mut chars: Vec<char> = path.chars().collect();
                chars.remove(at.index(chars.len()));
                chars.into_iter().collect()
            }),
        1 => (valid, any::<proptest::sample::Index>(), any::<char>())
            .prop_map(|(path, at, c)| {
                let mut chars: Vec<char> = path.chars().collect();
                let at = at.index(chars.len());
                chars[at] = c;
                chars.into_iter().collect()
            }),
        1 => "\\PC{0,20}",
    ]
}

fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn from_json_str_of_any_text_never_panics(text in any::<String>()) {
        if let Err(err) = parse(&text) {
            prop_assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn from_json_str_of_json_like_text_never_panics(text in "[\\[\\]{}:,\"a-z0-9_. \\-eE]{0,64}") {
        if let Err(err) = parse(&text) {
            prop_assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn from_json_of_any_value_never_panics_and_agrees_with_from_json_str(value in json_fixture()) {
        let from_value = Fixture::<AppStore>::from_json(value.clone()).map(Fixture::build);
        let from_text = parse(&value.to_string());
        match (&from_value, &from_text) {
            (Ok(a), Ok(b)) => {
                // Without serde_json's `float_roundtrip`, a float read back from text may
                // differ in its last bit.
                let close = (a.ratio - b.ratio).abs() <= a.ratio.abs() * 1e-15;
                prop_assert!(close, "{} and {}", a.ratio, b.ratio);
                prop_assert_eq!(
                    AppStore { ratio: 0.0, ..a.clone() },
                    AppStore { ratio: 0.0, ..b.clone() }
                );
            }
            (Err(a), Err(b)) => {
                prop_assert_eq!(a.kind(), b.kind());
                prop_assert_eq!(a.path(), b.path());
            }
            _ => prop_assert!(false, "{:?} but {:?}", from_value, from_text),
        }
        if let Err(err) = from_value {
            prop_assert!(!err.to_string().is_empty());
            if let Some(path) = err.path() {
                prop_assert!(err.to_string().contains(path), "{}", err);
            }
        }
    }

    #[test]
    fn set_json_never_panics_and_a_rejected_value_changes_nothing(
        path in dotted_path(),
        value in json_value(),
    ) {
        CLS.run_with_sync(sample(), || {
            let before = snapshot_store();
            match CLS.set_json(&path, value) {
                Ok(()) => {
                    prop_assert!(AppStore::paths().contains(&path.as_str()), "{path}");
                    prop_assert!(CLS.get_json(&path).is_ok());
                }
                Err(err) => {
                    prop_assert_eq!(snapshot_store(), before, "{}", err);
                    prop_assert!(!err.to_string().is_empty());
                }
            }
            Ok(())
        })?;
    }

    #[test]
    fn set_json_of_the_current_value_is_accepted_and_changes_nothing(
        path in proptest::sample::select(AppStore::paths()),
    ) {
        CLS.run_with_sync(sample(), || {
            match CLS.get_json(path) {
                Ok(current) => {
                    CLS.set_json(path, current).unwrap();
                    prop_assert_eq!(snapshot_store(), sample());
                }
                Err(err) => prop_assert_eq!(err.kind(), ClsErrorKind::NoJsonForm),
            }
            Ok(())
        })?;
    }
}

#[test]
fn set_json_of_a_value_of_any_type_is_applied_whole_or_changes_nothing() {
    let values = [
        Value::Null,
        json!(true),
        json!(-1),
        json!(300),
        json!(1.5),
        json!("text"),
        json!([1, "a"]),
        json!({ "id": "x" }),
        json!({ "id": 1, "name": "grace", "age": 300 }),
    ];
    for path in [
        "tenant", "user.id", "user.age", "score", "ratio", "tags", "user",
    ] {
        for value in &values {
            CLS.run_with_sync(sample(), || {
                if let Err(err) = CLS.set_json(path, value.clone()) {
                    assert_eq!(snapshot_store(), sample(), "{path} = {value}: {err}");
                } else {
                    // An integer given to a float field reads back as a float (`-1.0`).
                    let read = CLS.get_json(path).unwrap();
                    match (read.as_f64(), value.as_f64()) {
                        (Some(read), Some(given)) => assert_eq!(read, given, "{path}"),
                        _ => assert_eq!(&read, value, "{path}"),
                    }
                }
            });
        }
    }
}
