//! Nesting: `run` starts from a copy of the current store, `run_with` from the given one, and
//! when a nested context ends the outer store is back, untouched. Contexts of different store
//! types are independent. 1,000 nested contexts work and unwind in order.

#[macro_use]
mod common;

use std::future::Future;
use std::pin::Pin;

use cls_core::path;
use common::{app, trace, AppStore, TraceStore, CLS, TRACE};
use tokio::task::yield_now;

// Under Miri, which runs the runtime's unsafe code here, 100 levels: every level is
// re-polled at each yield, and a thousand of them take Miri an hour for the same code paths.
const DEPTH: u32 = if cfg!(miri) { 100 } else { 1_000 };

fn view() -> (String, u64, u32) {
    (
        CLS.get::<path!(request_id)>(),
        CLS.get::<path!(user.id)>(),
        CLS.get::<path!(step)>(),
    )
}

fn outer_store() -> AppStore {
    AppStore {
        step: 1,
        ..app("outer", 1)
    }
}

fn outer_view() -> (String, u64, u32) {
    ("outer".to_owned(), 1, 1)
}

on_both_runtimes! {
    async fn run_starts_from_a_copy_of_the_current_store() {
        CLS.run_with(outer_store(), async {
            CLS.set::<path!(user.name)>("renamed".to_owned());
            let seen = CLS
                .run(async {
                    yield_now().await;
                    (view(), CLS.get::<path!(user.name)>())
                })
                .await;
            assert_eq!(seen, (outer_view(), "renamed".to_owned()));
        })
        .await;
    }

    async fn run_outside_any_context_starts_from_default() {
        let seen = CLS
            .run(async {
                yield_now().await;
                view()
            })
            .await;
        assert_eq!(seen, (String::new(), 0, 0));
        assert!(!CLS.is_active());
    }

    async fn run_with_uses_the_given_store_not_the_current_one() {
        CLS.run_with(outer_store(), async {
            let seen = CLS
                .run_with(app("given", 2), async {
                    yield_now().await;
                    view()
                })
                .await;
            assert_eq!(seen, ("given".to_owned(), 2, 0));
        })
        .await;
    }

    async fn outer_store_is_back_untouched_after_a_nested_context_ends() {
        CLS.run_with(outer_store(), async {
            CLS.run(async {
                CLS.set::<path!(user.id)>(2);
                yield_now().await;
                CLS.update::<path!(request_id), _>(|id| id.push_str("-nested"));
                CLS.run(async {
                    CLS.set::<path!(step)>(3);
                    yield_now().await;
                })
                .await;
                assert_eq!(view(), ("outer-nested".to_owned(), 2, 1));
            })
            .await;
            assert_eq!(view(), outer_view());

            CLS.run_with(app("given", 2), async {
                CLS.set::<path!(step)>(2);
                yield_now().await;
            })
            .await;
            assert_eq!(view(), outer_view());
            yield_now().await;
            assert_eq!(view(), outer_view());
        })
        .await;
        assert!(!CLS.is_active());
    }

    async fn contexts_of_two_store_types_are_independent() {
        TRACE
            .run_with(trace(1), CLS.run_with(outer_store(), async {
                CLS.run_with(app("nested", 2), async {
                    // The nested `AppStore` context hides the outer one, not the trace.
                    assert_eq!(TRACE.get::<path!(trace_id)>(), 1);
                    // This write goes to the one `TraceStore` context, outside `AppStore`'s.
                    TRACE.set::<path!(trace_id)>(2);
                    yield_now().await;
                    assert_eq!(view(), ("nested".to_owned(), 2, 0));
                })
                .await;
                // `AppStore`'s nested context ended; the trace write stays.
                assert_eq!(view(), outer_view());
                assert_eq!(TRACE.get::<path!(trace_id)>(), 2);

                TRACE
                    .run(async {
                        // A nested `TraceStore` context: writes to `AppStore` made inside it
                        // stay in `AppStore`'s context after it ends.
                        CLS.set::<path!(step)>(7);
                        TRACE.set::<path!(span)>("nested-span".to_owned());
                        yield_now().await;
                    })
                    .await;
                assert_eq!(CLS.get::<path!(step)>(), 7);
                assert_eq!(TRACE.get::<path!(span)>(), "span-1");
            }))
            .await;
        assert!(!CLS.is_active());
        assert!(!TRACE.is_active());
    }
}

/// Room for `DEPTH` nested futures: a debug build gives each level ~2 KiB of stack (most of
/// it this file's own async blocks), more than the 2 MiB a thread gets by default.
const DEEP_STACK: usize = 8 << 20;

async fn thousand_nested_async_contexts() {
    let unwound = nest_async(1).await;
    let expected: Vec<u32> = (1..=DEPTH).rev().collect();
    assert_eq!(unwound, expected);
    assert!(!CLS.is_active());
}

/// As `on_both_runtimes!`, on threads with room for the depth.
mod thousand_nested_async_contexts_work_and_unwind_in_order {
    use super::*;

    #[test]
    fn current_thread() {
        let thread = std::thread::Builder::new().stack_size(DEEP_STACK);
        let deep = thread.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async { tokio::spawn(thousand_nested_async_contexts()).await })
        });
        if let Err(err) = deep.unwrap().join().unwrap() {
            std::panic::resume_unwind(err.into_panic());
        }
    }

    #[test]
    fn multi_thread() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(DEEP_STACK)
            .enable_all()
            .build()
            .unwrap();
        let task = runtime.spawn(thousand_nested_async_contexts());
        if let Err(err) = runtime.block_on(task) {
            std::panic::resume_unwind(err.into_panic());
        }
    }
}

/// Opens a context at `depth` (alternately by `run` and `run_with`), sets its depth, nests
/// the next level inside, and checks its depth is back when that returns. Returns the
/// depths in the order their contexts ended.
fn nest_async(depth: u32) -> Pin<Box<dyn Future<Output = Vec<u32>> + Send>> {
    Box::pin(async move {
        let level = async move {
            // `run` inherited the parent's depth; `run_with` got it in the store.
            assert_eq!(CLS.get::<path!(step)>(), depth - 1);
            CLS.set::<path!(step)>(depth);
            let mut unwound = if depth < DEPTH {
                nest_async(depth + 1).await
            } else {
                Vec::new()
            };
            if depth % 100 == 0 {
                yield_now().await;
            }
            assert_eq!(CLS.get::<path!(step)>(), depth);
            unwound.push(depth);
            unwound
        };
        if depth % 2 == 0 {
            CLS.run(level).await
        } else {
            let store = AppStore {
                step: depth - 1,
                ..AppStore::default()
            };
            CLS.run_with(store, level).await
        }
    })
}

/// The synchronous twin of [`nest_async`].
fn nest_sync(depth: u32, unwound: &mut Vec<u32>) {
    let level = |unwound: &mut Vec<u32>| {
        assert_eq!(CLS.get::<path!(step)>(), depth - 1);
        CLS.set::<path!(step)>(depth);
        if depth < DEPTH {
            nest_sync(depth + 1, unwound);
        }
        assert_eq!(CLS.get::<path!(step)>(), depth);
        unwound.push(depth);
    };
    if depth % 2 == 0 {
        CLS.run_sync(|| level(unwound));
    } else {
        let store = AppStore {
            step: depth - 1,
            ..AppStore::default()
        };
        CLS.run_with_sync(store, || level(unwound));
    }
}

#[test]
fn thousand_nested_sync_contexts_work_and_unwind_in_order() {
    let mut unwound = Vec::new();
    nest_sync(1, &mut unwound);
    let expected: Vec<u32> = (1..=DEPTH).rev().collect();
    assert_eq!(unwound, expected);
    assert!(!CLS.is_active());
}

/// Interleaves contexts of two store types 1,000 deep: every lookup walks past frames of the
/// other type.
fn nest_interleaved(depth: u32) {
    let check = || {
        // The innermost `AppStore` context is the last even depth, the trace the last odd.
        let last_even = depth - depth % 2;
        let last_odd = if depth % 2 == 1 { depth } else { depth - 1 };
        assert_eq!(CLS.get::<path!(step)>(), last_even);
        assert_eq!(TRACE.get::<path!(trace_id)>(), u64::from(last_odd));
    };
    let level = || {
        check();
        if depth < DEPTH {
            nest_interleaved(depth + 1);
        }
        check();
    };
    if depth % 2 == 0 {
        let store = AppStore {
            step: depth,
            ..AppStore::default()
        };
        CLS.run_with_sync(store, level);
    } else {
        TRACE.run_with_sync(trace(u64::from(depth)), level);
    }
}

#[test]
fn thousand_interleaved_contexts_of_two_store_types_stay_independent() {
    CLS.run_with_sync(AppStore::default(), || nest_interleaved(1));
    assert!(!CLS.is_active());
    assert!(!TRACE.is_active());
}

#[test]
fn run_sync_starts_from_a_copy_and_the_outer_store_is_back_after() {
    CLS.run_with_sync(outer_store(), || {
        let seen = CLS.run_sync(|| {
            let seen = view();
            CLS.set::<path!(user.id)>(2);
            CLS.update::<path!(step), _>(|s| *s += 1);
            (seen, view())
        });
        assert_eq!(seen, (outer_view(), ("outer".to_owned(), 2, 2)));
        assert_eq!(view(), outer_view());
    });
    assert_eq!(CLS.run_sync(view), (String::new(), 0, 0));
    assert!(!CLS.is_active());
}

#[test]
fn run_with_sync_uses_the_given_store_and_the_outer_store_is_back_after() {
    CLS.run_with_sync(outer_store(), || {
        let seen = CLS.run_with_sync(app("given", 2), || {
            let seen = view();
            CLS.enter_with(app("entered", 3));
            seen
        });
        assert_eq!(seen, ("given".to_owned(), 2, 0));
        assert_eq!(view(), outer_view());
    });
    assert!(!CLS.is_active());
}

#[test]
fn sync_contexts_of_two_store_types_are_independent() {
    TRACE.run_with_sync(trace(1), || {
        CLS.run_with_sync(outer_store(), || {
            CLS.run_with_sync(app("nested", 2), || TRACE.set::<path!(trace_id)>(2));
            assert_eq!(TRACE.get::<path!(trace_id)>(), 2);
            assert_eq!(view(), outer_view());
            TRACE.run_with_sync(TraceStore::default(), || CLS.set::<path!(step)>(7));
            assert_eq!(CLS.get::<path!(step)>(), 7);
            assert_eq!(TRACE.get::<path!(trace_id)>(), 2);
        });
        assert!(!CLS.is_active());
        assert_eq!(TRACE.get::<path!(trace_id)>(), 2);
    });
    assert!(!TRACE.is_active());
}
