//! Re-entrancy: inside a `with` closure, reads of the same store work and writes panic;
//! inside an `update` closure, any access to the same store panics. Each panic message says
//! what happened and what to do, and the store is usable again once the panic is caught.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};

use cls_core::{path, Cls, ClsErrorKind, ClsStore};
use common::{app, panic_of, trace, AppStore, CLS, TRACE};
use tokio::task::yield_now;

fn view() -> (String, u64) {
    (CLS.get::<path!(request_id)>(), CLS.get::<path!(user.id)>())
}

#[track_caller]
fn assert_mentions(message: &str, expected: &[&str]) {
    for part in expected {
        assert!(
            message.contains(part),
            "{message:?} does not mention {part:?}"
        );
    }
}

/// Asserts the store is readable and writable, as it is outside any closure.
#[track_caller]
fn assert_store_usable() {
    CLS.set::<path!(step)>(1);
    CLS.update::<path!(step), _>(|s| *s += 1);
    assert_eq!(CLS.get::<path!(step)>(), 2);
    assert_eq!(CLS.with::<path!(step), _>(|s| *s), 2);
    CLS.set::<path!(step)>(0);
}

const WITH_MESSAGE: &[&str] = &[
    "`AppStore`",
    "from inside `Cls::with`",
    "finish the read first",
];
const UPDATE_READ_MESSAGE: &[&str] = &[
    "`AppStore`",
    "read while it is being changed (from inside `Cls::update`",
    "read what you need before calling `update`",
];
const UPDATE_WRITE_MESSAGE: &[&str] = &[
    "`AppStore`",
    "changed from inside `Cls::update`",
    "one `update` closure",
];

#[test]
fn reads_inside_with_work() {
    CLS.run_with_sync(app("req-1", 1), || {
        let seen = CLS.with::<path!(user), _>(|user| {
            let name = CLS.with::<path!(user.name), _>(Clone::clone);
            (
                user.id,
                name,
                CLS.get::<path!(request_id)>(),
                CLS.try_get::<path!(step)>(),
            )
        });
        assert_eq!(seen, (1, "user-1".to_owned(), "req-1".to_owned(), Ok(0)));
        // A snapshot is a read too.
        let snapshot = CLS.with::<path!(request_id), _>(|_| cls_core::snapshot());
        assert_eq!(snapshot.run_sync(view), ("req-1".to_owned(), 1));
    });
}

#[test]
fn writes_inside_with_panic_naming_with() {
    CLS.run_with_sync(app("req-1", 1), || {
        CLS.with::<path!(user.id), _>(|_| {
            let err = CLS.try_set::<path!(step)>(1).unwrap_err();
            assert_eq!(err.kind(), ClsErrorKind::WriteWhileReading);
            assert_eq!(err.store(), "AppStore");
            assert_mentions(&err.to_string(), WITH_MESSAGE);
            let err = CLS.try_enter_with(app("entered", 2)).unwrap_err();
            assert_eq!(err.kind(), ClsErrorKind::WriteWhileReading);
        });
        assert_store_usable();

        let message = CLS.with::<path!(user.id), _>(|_| panic_of(|| CLS.set::<path!(step)>(1)));
        assert_mentions(&message, WITH_MESSAGE);
        assert_store_usable();

        let message = CLS
            .with::<path!(user.id), _>(|_| panic_of(|| CLS.update::<path!(step), _>(|s| *s = 1)));
        assert_mentions(&message, WITH_MESSAGE);
        assert_store_usable();

        let message =
            CLS.with::<path!(user.id), _>(|_| panic_of(|| CLS.enter_with(app("entered", 2))));
        assert_mentions(&message, WITH_MESSAGE);
        let message = CLS.with::<path!(user.id), _>(|_| panic_of(|| CLS.enter()));
        assert_mentions(&message, WITH_MESSAGE);
        assert_store_usable();

        // A write refused inside nested `with`s is refused at every depth.
        let message = CLS.with::<path!(user), _>(|_| {
            CLS.with::<path!(request_id), _>(|_| panic_of(|| CLS.set::<path!(step)>(1)))
        });
        assert_mentions(&message, WITH_MESSAGE);
        assert_store_usable();
        assert_eq!(view(), ("req-1".to_owned(), 1));
    });
}

#[test]
fn reads_inside_update_panic_naming_update() {
    CLS.run_with_sync(app("req-1", 1), || {
        CLS.update::<path!(step), _>(|_| {
            let err = CLS.try_get::<path!(user.id)>().unwrap_err();
            assert_eq!(err.kind(), ClsErrorKind::ReadWhileUpdating);
            assert_eq!(err.store(), "AppStore");
            assert_mentions(&err.to_string(), UPDATE_READ_MESSAGE);
        });
        assert_store_usable();

        let message = CLS.update::<path!(step), _>(|_| panic_of(|| CLS.get::<path!(user.id)>()));
        assert_mentions(&message, UPDATE_READ_MESSAGE);
        assert_store_usable();

        let message =
            CLS.update::<path!(step), _>(|_| panic_of(|| CLS.with::<path!(user.id), _>(|id| *id)));
        assert_mentions(&message, UPDATE_READ_MESSAGE);
        assert_store_usable();

        // Opening a nested context that copies the store, or capturing it, reads it too.
        let message = CLS.update::<path!(step), _>(|_| panic_of(|| CLS.run_sync(|| ())));
        assert_mentions(&message, UPDATE_READ_MESSAGE);
        let message = CLS.update::<path!(step), _>(|_| panic_of(cls_core::snapshot));
        assert_mentions(&message, UPDATE_READ_MESSAGE);
        let message = CLS.update::<path!(step), _>(|_| panic_of(|| cls_core::bind(async {})));
        assert_mentions(&message, UPDATE_READ_MESSAGE);
        assert_store_usable();
        assert_eq!(view(), ("req-1".to_owned(), 1));
    });
}

#[test]
fn writes_inside_update_are_write_while_updating() {
    CLS.run_with_sync(app("req-1", 1), || {
        CLS.update::<path!(step), _>(|_| {
            let err = CLS.try_set::<path!(user.id)>(2).unwrap_err();
            assert_eq!(err.kind(), ClsErrorKind::WriteWhileUpdating);
            assert_mentions(&err.to_string(), UPDATE_WRITE_MESSAGE);
            let err = CLS.try_enter_with(app("entered", 2)).unwrap_err();
            assert_eq!(err.kind(), ClsErrorKind::WriteWhileUpdating);
        });
        assert_store_usable();

        let message = CLS.update::<path!(step), _>(|_| panic_of(|| CLS.set::<path!(user.id)>(2)));
        assert_mentions(&message, UPDATE_WRITE_MESSAGE);
        let message = CLS.update::<path!(step), _>(|_| {
            panic_of(|| CLS.update::<path!(user.id), _>(|id| *id = 2))
        });
        assert_mentions(&message, UPDATE_WRITE_MESSAGE);
        let message =
            CLS.update::<path!(step), _>(|_| panic_of(|| CLS.enter_with(app("entered", 2))));
        assert_mentions(&message, UPDATE_WRITE_MESSAGE);
        assert_store_usable();
        assert_eq!(view(), ("req-1".to_owned(), 1));
    });
}

#[test]
fn run_sync_inside_with_opens_a_context_that_can_be_written() {
    CLS.run_with_sync(app("req-1", 1), || {
        CLS.with::<path!(user), _>(|user| {
            let inner = CLS.run_sync(|| {
                CLS.set::<path!(user.id)>(2);
                CLS.update::<path!(request_id), _>(|id| id.push_str("-inner"));
                CLS.enter_with(AppStore {
                    step: 3,
                    ..app("entered", 4)
                });
                CLS.set::<path!(user.id)>(5);
                (view(), CLS.get::<path!(step)>())
            });
            assert_eq!(inner, (("entered".to_owned(), 5), 3));
            let inner = CLS.run_with_sync(app("given", 6), || {
                CLS.set::<path!(user.id)>(7);
                view()
            });
            assert_eq!(inner, ("given".to_owned(), 7));
            // The value `with` lent out was never changed under it.
            assert_eq!(user.id, 1);
            assert_eq!(user.name, "user-1");
        });
        assert_eq!(view(), ("req-1".to_owned(), 1));
        assert_store_usable();
    });
}

#[test]
fn other_store_types_can_be_written_inside_with_and_read_inside_update() {
    TRACE.run_with_sync(trace(1), || {
        CLS.run_with_sync(app("req-1", 1), || {
            CLS.with::<path!(user.id), _>(|_| TRACE.set::<path!(trace_id)>(2));
            CLS.update::<path!(user.id), _>(|id| *id = TRACE.get::<path!(trace_id)>());
            TRACE.update::<path!(trace_id), _>(|t| *t += CLS.get::<path!(user.id)>());
            assert_eq!(view(), ("req-1".to_owned(), 2));
            assert_eq!(TRACE.get::<path!(trace_id)>(), 4);
        });
    });
}

#[test]
fn a_panic_inside_with_or_update_leaves_the_store_usable() {
    CLS.run_with_sync(app("req-1", 1), || {
        let message = panic_of(|| CLS.with::<path!(user.id), _>(|_| panic!("boom in with")));
        assert_eq!(message, "boom in with");
        assert_store_usable();
        let message = panic_of(|| CLS.update::<path!(user.id), _>(|_| panic!("boom in update")));
        assert_eq!(message, "boom in update");
        assert_store_usable();
        assert_eq!(view(), ("req-1".to_owned(), 1));
    });
}

/// What the destructors of [`Probe`]s saw of the context they were dropped in.
type Seen = Arc<Mutex<Vec<Result<String, ClsErrorKind>>>>;

/// Records, when dropped, the `name` of the current `ProbeStore`.
#[derive(Clone, Default)]
struct Probe(Option<Seen>);

impl Drop for Probe {
    fn drop(&mut self) {
        if let Some(seen) = self.0.take() {
            let name = PROBED.try_get::<path!(name)>().map_err(|err| err.kind());
            seen.lock().unwrap().push(name);
        }
    }
}

#[derive(ClsStore, Clone, Default)]
struct ProbeStore {
    name: String,
    probe: Probe,
}

const PROBED: Cls<ProbeStore> = Cls::new();

#[test]
fn destructors_of_values_replaced_by_set_and_enter_with_can_read_the_context() {
    let seen = Seen::default();
    let store = |name: &str| ProbeStore {
        name: name.to_owned(),
        probe: Probe(Some(Arc::clone(&seen))),
    };
    PROBED.run_with_sync(store("set"), || {
        // The old value is dropped once the store is no longer borrowed for the write.
        PROBED.set::<path!(probe)>(Probe::default());
        assert_eq!(seen.lock().unwrap().pop(), Some(Ok("set".to_owned())));
        PROBED.enter_with(store("replaced"));
        PROBED.enter_with(ProbeStore {
            name: "replacement".to_owned(),
            probe: Probe::default(),
        });
        // The replaced store is dropped after the replacement is in place.
        assert_eq!(
            seen.lock().unwrap().pop(),
            Some(Ok("replacement".to_owned()))
        );
        PROBED.set::<path!(name)>("still-usable".to_owned());
    });
}

on_both_runtimes! {
    async fn spawning_inside_with_carries_the_store() {
        CLS.run_with(app("req-1", 1), async {
            let task = CLS.with::<path!(user.id), _>(|_| cls_core::spawn(async { view() }));
            assert_eq!(task.await.unwrap(), ("req-1".to_owned(), 1));
            let task = CLS.with::<path!(user.id), _>(|_| cls_core::spawn_blocking(view));
            assert_eq!(task.await.unwrap(), ("req-1".to_owned(), 1));
            // A nested `run` created inside `with` is a new context, written after `with`.
            let nested = CLS.with::<path!(user.id), _>(|_| {
                CLS.run(async {
                    yield_now().await;
                    CLS.set::<path!(user.id)>(2);
                    view()
                })
            });
            assert_eq!(nested.await, ("req-1".to_owned(), 2));
            assert_eq!(view(), ("req-1".to_owned(), 1));
        })
        .await;
    }

    async fn spawning_inside_update_panics_naming_update() {
        CLS.run_with(app("req-1", 1), async {
            let message = CLS.update::<path!(step), _>(|_| {
                panic_of(|| cls_core::spawn(async {}))
            });
            assert_mentions(&message, UPDATE_READ_MESSAGE);
            let message = CLS.update::<path!(step), _>(|_| {
                panic_of(|| cls_core::spawn_blocking(|| {}))
            });
            assert_mentions(&message, UPDATE_READ_MESSAGE);
            let message = CLS.update::<path!(step), _>(|_| panic_of(|| CLS.run(async {})));
            assert_mentions(&message, UPDATE_READ_MESSAGE);
            yield_now().await;
            assert_store_usable();
            assert_eq!(view(), ("req-1".to_owned(), 1));
        })
        .await;
    }
}

// --- Code that runs in the middle of a write: a shared store's `Clone`, destructors ---------

/// What a [`ReadsOnClone`] saw of the context each time it was cloned.
static CLONES_SEEN: Mutex<Vec<Result<String, ClsErrorKind>>> = Mutex::new(Vec::new());

/// Reads the context when cloned, as a field that stamps the request id into its copy might.
#[derive(Default)]
struct ReadsOnClone;

impl Clone for ReadsOnClone {
    fn clone(&self) -> Self {
        let name = CLONING.try_get::<path!(name)>().map_err(|err| err.kind());
        CLONES_SEEN.lock().unwrap().push(name);
        ReadsOnClone
    }
}

#[derive(ClsStore, Clone, Default)]
struct CloningStore {
    name: String,
    reader: ReadsOnClone,
}

const CLONING: Cls<CloningStore> = Cls::new();

#[test]
fn a_clone_made_by_copy_on_write_can_read_the_context_as_it_was() {
    let store = CloningStore {
        name: "before".to_owned(),
        reader: ReadsOnClone,
    };
    CLONING.run_with_sync(store, || {
        // The snapshot shares the store, so the next write copies it first.
        let snapshot = cls_core::snapshot();
        CLONING.set::<path!(name)>("after".to_owned());
        assert_eq!(
            CLONES_SEEN.lock().unwrap().pop(),
            Some(Ok("before".to_owned())),
            "the copy is made before the write, under a read borrow"
        );
        assert_eq!(CLONING.get::<path!(name)>(), "after");
        assert_eq!(snapshot.run_sync(|| CLONING.get::<path!(name)>()), "before");
    });
}

/// Takes a snapshot of the context when cloned, as a handle that remembers where it was
/// copied might.
#[derive(Default)]
struct SnapshotsOnClone(u32);

impl Clone for SnapshotsOnClone {
    fn clone(&self) -> Self {
        let snapshot = cls_core::snapshot();
        SnapshotsOnClone(snapshot.run_sync(|| SNAPSHOTTING.try_get::<path!(n)>().unwrap_or(0)))
    }
}

#[derive(ClsStore, Clone, Default)]
struct SnapshottingStore {
    n: u32,
    handle: SnapshotsOnClone,
}

const SNAPSHOTTING: Cls<SnapshottingStore> = Cls::new();

/// Shares the store from inside `with`, then writes it: the write copies the store, and the
/// copy's field takes a snapshot. Once, each.
fn share_then_write() -> (u32, u32) {
    let held = SNAPSHOTTING.with::<path!(n), _>(|_| cls_core::snapshot());
    SNAPSHOTTING.set::<path!(n)>(1);
    let copied_when = SNAPSHOTTING.with::<path!(handle), _>(|handle| handle.0);
    (
        held.run_sync(|| SNAPSHOTTING.get::<path!(n)>()),
        copied_when,
    )
}

#[test]
fn a_field_whose_clone_takes_a_snapshot_works_in_a_sync_context() {
    // This recursed without end when `run_with_sync` kept its store inline: sharing it
    // from inside `with` copied it, and the copy took a snapshot, which copied it again.
    let seen = SNAPSHOTTING.run_with_sync(SnapshottingStore::default(), share_then_write);
    assert_eq!(
        seen,
        (0, 0),
        "the snapshot and the copy saw the store before the write"
    );
}

#[tokio::test]
async fn a_field_whose_clone_takes_a_snapshot_works_in_an_async_context() {
    let seen = SNAPSHOTTING
        .run_with(SnapshottingStore::default(), async { share_then_write() })
        .await;
    assert_eq!(seen, (0, 0));
}

/// What [`Note`] destructors saw of the context.
static NOTE_DROPS_SEEN: Mutex<Vec<Result<String, ClsErrorKind>>> = Mutex::new(Vec::new());

/// A JSON leaf that records, when dropped while it says "watched", the current `name`.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
struct Note(String);

impl Drop for Note {
    fn drop(&mut self) {
        if self.0 == "watched" {
            let name = NOTED.try_get::<path!(name)>().map_err(|err| err.kind());
            NOTE_DROPS_SEEN.lock().unwrap().push(name);
        }
    }
}

#[derive(ClsStore, Clone, Default, serde::Serialize, serde::Deserialize)]
struct NotedStore {
    name: String,
    note: Note,
}

const NOTED: Cls<NotedStore> = Cls::new();

#[test]
fn destructor_of_a_value_replaced_by_set_json_can_read_the_context() {
    let store = NotedStore {
        name: "json".to_owned(),
        note: Note("watched".to_owned()),
    };
    NOTED.run_with_sync(store, || {
        NOTED
            .set_json("note", serde_json::json!("replacement"))
            .unwrap();
        // As with `set`: dropped once the store is no longer borrowed for the write.
        assert_eq!(
            NOTE_DROPS_SEEN.lock().unwrap().pop(),
            Some(Ok("json".to_owned()))
        );
    });
}
