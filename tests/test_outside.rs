//! Outside a context: `is_active` is false, the `try_*` methods return a `ClsError` naming
//! the store type and how to open a context, and the panicking methods panic with the same
//! message at the caller's location.

#[macro_use]
mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::thread;

use cls_core::{path, ClsError, ClsErrorKind};
use common::{app, panic_message, trace, CLS, TRACE};

#[track_caller]
fn assert_no_context_error(err: &ClsError) {
    assert_eq!(err.kind(), ClsErrorKind::NoContext);
    assert_eq!(err.store(), "AppStore");
    assert_no_context_message(&err.to_string());
}

#[track_caller]
fn assert_no_context_message(message: &str) {
    assert!(
        message.starts_with("no `AppStore` context is active"),
        "unexpected message: {message}"
    );
    assert!(
        message.contains("run_with"),
        "unexpected message: {message}"
    );
}

/// Every way to reach the store without a context of `AppStore`.
fn assert_all_try_methods_fail() {
    assert!(!CLS.is_active());
    assert_no_context_error(&CLS.try_get::<path!(user.id)>().unwrap_err());
    assert_no_context_error(&CLS.try_get::<path!(request_id)>().unwrap_err());
    assert_no_context_error(&CLS.try_set::<path!(user.id)>(1).unwrap_err());
    assert_no_context_error(&CLS.try_enter_with(app("nowhere", 1)).unwrap_err());
    assert!(!CLS.is_active());
}

#[test]
fn try_methods_outside_any_context_return_no_context() {
    assert_all_try_methods_fail();
}

#[test]
fn try_methods_after_a_context_ended_return_no_context() {
    CLS.run_with_sync(app("req-1", 1), || assert!(CLS.is_active()));
    assert_all_try_methods_fail();
}

#[test]
fn try_methods_inside_a_context_of_another_store_type_return_no_context() {
    TRACE.run_with_sync(trace(1), || {
        assert!(TRACE.is_active());
        assert_all_try_methods_fail();
    });
}

#[test]
fn try_methods_on_a_plain_thread_started_inside_a_context_return_no_context() {
    CLS.run_with_sync(app("req-1", 1), || {
        thread::spawn(assert_all_try_methods_fail).join().unwrap();
        assert!(CLS.is_active());
    });
}

#[test]
fn no_context_error_names_the_store_type_of_the_handle() {
    let err = TRACE.try_get::<path!(trace_id)>().unwrap_err();
    assert_eq!(err.kind(), ClsErrorKind::NoContext);
    assert_eq!(err.store(), "TraceStore");
    assert!(err
        .to_string()
        .starts_with("no `TraceStore` context is active"));
    // It is a standard error.
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err.clone());
    assert_eq!(boxed.to_string(), err.to_string());
}

#[tokio::test(flavor = "current_thread")]
async fn try_methods_in_a_task_outside_any_context_return_no_context_on_current_thread() {
    tokio::spawn(async { assert_all_try_methods_fail() })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_methods_in_a_task_outside_any_context_return_no_context_on_multi_thread() {
    tokio::spawn(async { assert_all_try_methods_fail() })
        .await
        .unwrap();
}

/// Where the panics of the test below were raised: `(file, line)`.
type Locations = Arc<Mutex<Vec<(String, u32)>>>;

/// Calls `f`, which must panic, and returns its message and the line it reported.
#[track_caller]
fn panic_and_location(locations: &Locations, f: impl FnOnce()) -> (String, String, u32) {
    let payload = panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    let (file, line) = locations
        .lock()
        .unwrap()
        .pop()
        .expect("the hook saw the panic");
    (panic_message(&*payload), file, line)
}

// The panic hook is global, so every panicking method is checked in this one test; no other
// test in this file panics unless it fails.
#[test]
fn panicking_methods_panic_with_the_same_message_at_the_callers_location() {
    let locations = Locations::default();
    let this_thread = thread::current().id();
    let previous = panic::take_hook();
    let hook_locations = Arc::clone(&locations);
    panic::set_hook(Box::new(move |info| {
        if thread::current().id() == this_thread {
            let location = info.location().expect("panics have a location");
            let seen = (location.file().to_owned(), location.line());
            hook_locations.lock().unwrap().push(seen);
        }
    }));

    // The call and `line!()` sit on one line, the line the panic must report.
    macro_rules! panic_site {
        ($call:expr) => {
            (
                line!(),
                panic_and_location(&locations, || {
                    $call;
                }),
            )
        };
    }
    let results = [
        panic_site!(CLS.get::<path!(user.id)>()),
        panic_site!(CLS.set::<path!(user.id)>(1)),
        panic_site!(CLS.with::<path!(step), _>(|_| ())),
        panic_site!(CLS.update::<path!(step), _>(|_| ())),
        panic_site!(CLS.enter_with(app("nowhere", 1))),
        panic_site!(CLS.enter()),
    ];

    drop(panic::take_hook());
    panic::set_hook(previous);

    let expected = CLS.try_get::<path!(user.id)>().unwrap_err().to_string();
    for (line, (message, file, panic_line)) in results {
        assert_eq!(message, expected);
        assert_no_context_message(&message);
        assert!(
            file.ends_with("test_outside.rs"),
            "the panic on line {line} was reported at {file}:{panic_line}"
        );
        assert_eq!(
            panic_line, line,
            "the panic was reported at {file}:{panic_line}"
        );
    }
    assert!(!CLS.is_active());
}
