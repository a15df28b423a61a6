//! `Context`: live contexts as an owned value. Writes are kept from one entry to the next,
//! the value moves between threads and tasks, a finished `Scoped` hands its contexts over,
//! and entering restores the previous contexts on return, panic and cancellation.

#[macro_use]
mod common;

use std::sync::Arc;

use cls_core::{path, Context};
use common::{app, panic_of, trace, tx_store, AppStore, CLS, TRACE, TX};
use tokio::task::yield_now;

#[test]
fn writes_made_in_one_entry_are_seen_by_the_next() {
    let mut context = CLS.context(app("req-1", 1));
    context.enter_sync(|| CLS.set::<path!(step)>(1));
    context.enter_sync(|| CLS.update::<path!(step), _>(|step| *step += 1));
    assert_eq!(context.enter_sync(|| CLS.get::<path!(step)>()), 2);
    CLS.assert_inactive();
}

#[test]
fn enter_with_inside_an_entry_is_kept_for_the_next() {
    let mut context = CLS.context(app("req-1", 1));
    context.enter_sync(|| CLS.enter_with(app("replaced", 2)));
    assert_eq!(
        context.enter_sync(|| CLS.get::<path!(request_id)>()),
        "replaced"
    );
}

#[test]
fn entering_shows_only_the_contexts_it_holds() {
    let mut context = CLS.context(app("held", 1));
    let seen = TRACE.run_with_sync(trace(9), || {
        CLS.run_with_sync(app("around", 2), || {
            context.enter_sync(|| (CLS.get::<path!(request_id)>(), TRACE.is_active()))
        })
    });
    assert_eq!(seen, ("held".to_owned(), false));
}

#[test]
fn a_joined_context_holds_both_store_types_and_the_later_one_wins_a_tie() {
    let mut context = CLS
        .context(app("first", 1))
        .join(TRACE.context(trace(7)))
        .join(CLS.context(app("second", 2)));
    let seen = context.enter_sync(|| {
        (
            CLS.get::<path!(request_id)>(),
            TRACE.get::<path!(trace_id)>(),
        )
    });
    assert_eq!(seen, ("second".to_owned(), 7));
    // Writes to either store type are kept.
    context.enter_sync(|| {
        CLS.set::<path!(step)>(5);
        TRACE.set::<path!(span)>("written".to_owned());
    });
    let seen = context.enter_sync(|| (CLS.get::<path!(step)>(), TRACE.get::<path!(span)>()));
    assert_eq!(seen, (5, "written".to_owned()));
}

#[test]
fn three_store_types_joined_keep_their_writes_from_entry_to_entry() {
    let mut context = CLS
        .context(app("req-1", 1))
        .join(TRACE.context(trace(7)))
        .join(TX.context(tx_store("req-1", 1)));
    for round in 1..=3 {
        context.enter_sync(|| {
            CLS.update::<path!(step), _>(|step| *step += 1);
            TRACE.update::<path!(trace_id), _>(|id| *id += 1);
            TX.set::<path!(tx)>(Some(round));
        });
    }
    let seen = context.enter_sync(|| {
        (
            CLS.get::<path!(step)>(),
            TRACE.get::<path!(trace_id)>(),
            TX.get::<path!(tx)>(),
        )
    });
    assert_eq!(seen, (3, 10, Some(3)));
    CLS.assert_inactive();
}

#[test]
fn an_empty_context_hides_every_context() {
    let mut empty = Context::empty();
    let inside = CLS.run_with_sync(app("around", 1), || empty.enter_sync(|| CLS.is_active()));
    assert!(!inside);
}

#[test]
fn a_panic_inside_an_entry_restores_the_thread_and_keeps_the_context_usable() {
    let mut context = CLS.context(app("req-1", 1));
    CLS.run_with_sync(app("around", 2), || {
        let message = panic_of(|| {
            context.enter_sync(|| {
                CLS.set::<path!(step)>(3);
                panic!("boom");
            })
        });
        assert_eq!(message, "boom");
        assert_eq!(CLS.get::<path!(request_id)>(), "around");
    });
    // The write made before the panic is part of the context, as any write is.
    assert_eq!(context.enter_sync(|| CLS.get::<path!(step)>()), 3);
    CLS.assert_inactive();
}

#[test]
fn a_context_moves_to_another_thread_with_its_writes() {
    let mut context = CLS.context(app("req-1", 1));
    context.enter_sync(|| CLS.set::<path!(step)>(4));
    let seen = std::thread::spawn(move || {
        context.enter_sync(|| CLS.update::<path!(step), _>(|step| *step += 1));
        context
    })
    .join()
    .unwrap()
    .enter_sync(|| CLS.get::<path!(step)>());
    assert_eq!(seen, 5);
}

#[test]
fn the_store_is_dropped_once_when_the_last_context_owning_it_is_dropped() {
    let witness = Arc::new(());
    #[derive(cls_core::ClsStore, Clone, Default)]
    struct Held {
        witness: Option<Arc<()>>,
    }
    const HELD: cls_core::Cls<Held> = cls_core::Cls::new();
    let mut context = HELD.context(Held {
        witness: Some(Arc::clone(&witness)),
    });
    let snapshot = context.enter_sync(cls_core::snapshot);
    assert_eq!(
        Arc::strong_count(&witness),
        2,
        "shared with the snapshot, not copied"
    );
    drop(context);
    assert_eq!(
        Arc::strong_count(&witness),
        2,
        "the snapshot still holds it"
    );
    drop(snapshot);
    assert_eq!(Arc::strong_count(&witness), 1);
}

on_both_runtimes! {
    async fn a_finished_scoped_future_hands_over_its_context_with_its_writes() {
        let handler = CLS.context(app("req-1", 1)).run(async {
            CLS.set::<path!(step)>(1);
            yield_now().await;
            CLS.update::<path!(step), _>(|step| *step += 1);
        });
        let mut handler = Box::pin(handler);
        assert!(handler.as_mut().take_context().is_none(), "still running");
        handler.as_mut().await;
        let mut context = handler.as_mut().take_context().expect("finished");
        assert!(handler.as_mut().take_context().is_none(), "handed over once");
        // The body goes on in the handler's context, on another task.
        let seen = tokio::spawn(async move {
            yield_now().await;
            context.enter_sync(|| CLS.update::<path!(step), _>(|step| *step += 1));
            context.enter_sync(|| CLS.get::<path!(step)>())
        })
        .await
        .unwrap();
        assert_eq!(seen, 3);
    }

    async fn run_with_hands_over_its_store_alone() {
        let handler = TRACE.run_with(trace(7), async {
            let mut inner = Box::pin(CLS.run_with(app("req-1", 1), async {
                CLS.set::<path!(step)>(9);
            }));
            inner.as_mut().await;
            inner.as_mut().take_context().unwrap()
        });
        let mut context = handler.await;
        let seen = context.enter_sync(|| (CLS.get::<path!(step)>(), TRACE.is_active()));
        assert_eq!(seen, (9, false));
    }

    async fn work_spawned_inside_an_entry_carries_the_context() {
        let mut context = CLS.context(app("req-1", 1)).join(TRACE.context(trace(7)));
        let task = context.enter_sync(|| {
            cls_core::spawn(async { (CLS.get::<path!(request_id)>(), TRACE.get::<path!(trace_id)>()) })
        });
        assert_eq!(task.await.unwrap(), ("req-1".to_owned(), 7));
    }

    async fn a_cancelled_context_future_drops_its_future_inside_the_context() {
        struct ReadsOnDrop(Arc<std::sync::Mutex<Option<String>>>);
        impl Drop for ReadsOnDrop {
            fn drop(&mut self) {
                *self.0.lock().unwrap() = CLS.try_get::<path!(request_id)>().ok();
            }
        }
        let seen = Arc::new(std::sync::Mutex::new(None));
        let guard = ReadsOnDrop(Arc::clone(&seen));
        let fut = CLS.context(app("req-1", 1)).run(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        let timed_out = tokio::time::timeout(std::time::Duration::from_millis(1), fut).await;
        assert!(timed_out.is_err());
        assert_eq!(seen.lock().unwrap().as_deref(), Some("req-1"));
        CLS.assert_inactive();
    }
}

#[test]
fn debug_names_the_store_types() {
    let context = CLS
        .context(AppStore::default())
        .join(TRACE.context(trace(1)));
    assert_eq!(
        format!("{context:?}"),
        "Context { stores: [\"TraceStore\", \"AppStore\"] }"
    );
}
