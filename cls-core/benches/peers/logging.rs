//! The `logging` group: one event to `io::sink` inside a context whose store has 3
//! `#[cls(log)]` fields, text and JSON, against the same format without cls and against the
//! same fields carried by an entered span (what services do today).
//!
//! The targets are absolute: text at most +30 ns over the same inner format without
//! cls, JSON at most +150 ns over tracing-subscriber's JSON format without fields. The
//! `overhead` lines show that difference as their first ns figure (the ratio beside it is
//! over the peer, for information); the targets checked by the harness are the ratios to
//! the span, which must be below 1.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cls_core::logging::{ClsFormat, ClsJsonFormat};
use cls_core::{Cls, ClsStore};
use tracing::Subscriber;

use crate::harness::{Group, Harness, Term};

#[derive(ClsStore, Clone, Default)]
struct LogStore {
    #[cls(log)]
    tenant: String,
    #[cls(log = "user_id")]
    user: Option<u64>,
    #[cls(log)]
    session: String,
}

const LOG: Cls<LogStore> = Cls::new();

fn log_store() -> LogStore {
    LogStore {
        tenant: "acme".to_owned(),
        user: Some(7),
        session: "s-20f3a9".to_owned(),
    }
}

/// The event every case writes: a message and one field, as a typical service line.
fn event() {
    tracing::info!(count = black_box(3_u64), "listed orders");
}

/// Times `n` events with `subscriber` as this thread's default, inside `wrap`.
fn events<S>(
    subscriber: S,
    n: u64,
    wrap: impl FnOnce(&mut dyn FnMut() -> Duration) -> Duration,
) -> Duration
where
    S: Subscriber + Send + Sync + 'static,
{
    let _default = tracing::subscriber::set_default(subscriber);
    wrap(&mut || {
        let start = Instant::now();
        for _ in 0..n {
            event();
        }
        start.elapsed()
    })
}

/// Outside any context and any span.
fn bare(f: &mut dyn FnMut() -> Duration) -> Duration {
    f()
}

/// Inside a context of `LogStore`.
fn in_context(f: &mut dyn FnMut() -> Duration) -> Duration {
    LOG.run_with_sync(log_store(), f)
}

/// Inside an entered span carrying the same three fields (created and entered outside the
/// clock: only what each event pays is timed).
fn in_span(f: &mut dyn FnMut() -> Duration) -> Duration {
    let span = tracing::info_span!(
        "request",
        tenant = "acme",
        user_id = 7_u64,
        session = "s-20f3a9"
    );
    let _entered = span.enter();
    f()
}

fn text() -> tracing_subscriber::fmt::format::Format {
    tracing_subscriber::fmt::format()
}

pub(crate) fn run(h: &mut Harness) {
    h.run(
        Group::new(
            "logging",
            "one event to io::sink, 3 store fields: ClsFormat / ClsJsonFormat vs fmt without fields and fmt in a span",
        )
        .case("text: fmt Full, no fields", |n| {
            events(
                tracing_subscriber::fmt().event_format(text()).with_writer(std::io::sink).finish(),
                n,
                bare,
            )
        })
        .case("text: ClsFormat(Full), in a context with 3 fields", |n| {
            events(
                tracing_subscriber::fmt()
                    .event_format(ClsFormat::new(text()).with_store::<LogStore>())
                    .with_writer(std::io::sink)
                    .finish(),
                n,
                in_context,
            )
        })
        .case("text: fmt Full, in an entered span with 3 fields", |n| {
            events(
                tracing_subscriber::fmt().event_format(text()).with_writer(std::io::sink).finish(),
                n,
                in_span,
            )
        })
        .case("json: tracing-subscriber json, no fields", |n| {
            events(
                tracing_subscriber::fmt().json().with_writer(std::io::sink).finish(),
                n,
                bare,
            )
        })
        .case("json: ClsJsonFormat, in a context with 3 fields", |n| {
            events(
                tracing_subscriber::fmt()
                    .event_format(ClsJsonFormat::new().with_store::<LogStore>())
                    .with_writer(std::io::sink)
                    .finish(),
                n,
                in_context,
            )
        })
        .case("json: tracing-subscriber json, in an entered span with 3 fields", |n| {
            events(
                tracing_subscriber::fmt().json().with_writer(std::io::sink).finish(),
                n,
                in_span,
            )
        })
        .info(
            "text overhead: ClsFormat - fmt (target <= +30 ns)",
            Term::Overhead { wrapped: 1, bare: 0 },
            Term::Case(0),
        )
        .target("text: ClsFormat / fmt in a span", Term::Case(1), Term::Case(2), 1.0)
        .info("text: ClsFormat / fmt", Term::Case(1), Term::Case(0))
        .info(
            "json overhead: ClsJsonFormat - tracing json (target <= +150 ns)",
            Term::Overhead { wrapped: 4, bare: 3 },
            Term::Case(3),
        )
        .target(
            "json: ClsJsonFormat / tracing json in a span",
            Term::Case(4),
            Term::Case(5),
            1.0,
        )
        .info("json: ClsJsonFormat / tracing json", Term::Case(4), Term::Case(3)),
    );
}
