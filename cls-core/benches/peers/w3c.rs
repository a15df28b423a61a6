//! The `w3c_*` groups (feature `w3c`): the wire codecs on the request path.
//!
//! - `w3c_extract`: three baggage members read into typed fields, as the layer will do for
//!   each inbound request (issue 10's aim: at most ~300 ns);
//! - `w3c_inject`: three fields written as baggage, into a request without one and merged
//!   into one that has one (aim: at most ~150 ns without);
//! - `w3c_traceparent`: an inbound `traceparent` read, a child made, its header written.
//!
//! The first peer is the straightforward code a service writes by hand (and what the
//! propagators do in substance): split, decode and copy every member into a
//! `HashMap<String, String>`; format each member into its own `String` and join them.
//! With `--features opentelemetry`, the extract and inject groups also measure
//! opentelemetry-sdk's `BaggagePropagator` on the same three members, the peer issue 10
//! names: `extract` into an `opentelemetry::Context` then the three values parsed, and
//! `inject_context` of a context built from the fields (and, for information, of one built
//! beforehand, and of `cls_core::otel::context()`); the targets are the cls cases at most
//! as slow as it, and the absolute aims (150 ns inject, 300 ns extract).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hint::black_box;

use cls_core::w3c::{Baggage, BaggageEncoder, TraceContext};

use crate::harness::{Group, Harness, Term};

const INBOUND: &str = "tenant=acme,user.id=42,region=eu%20west";
const EXISTING: &str = "other=1,session=abc";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The propagated fields of a store.
#[derive(Default)]
struct Fields {
    tenant: String,
    user_id: Option<u64>,
    region: String,
}

fn fields() -> Fields {
    Fields {
        tenant: "acme".to_owned(),
        user_id: Some(42),
        region: "eu west".to_owned(),
    }
}

/// The peer's decoding: `%XX` to bytes, lossy UTF-8.
fn naive_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn naive_extract(header: &str) -> Fields {
    let mut map = HashMap::new();
    for member in header.split(',') {
        let pair = member.split(';').next().unwrap_or_default();
        if let Some((key, value)) = pair.split_once('=') {
            map.entry(key.trim().to_owned())
                .or_insert_with(|| naive_decode(value.trim()));
        }
    }
    Fields {
        tenant: map.get("tenant").cloned().unwrap_or_default(),
        user_id: map.get("user.id").and_then(|v| v.parse().ok()),
        region: map.get("region").cloned().unwrap_or_default(),
    }
}

fn cls_extract(header: &str) -> Fields {
    let mut fields = Fields::default();
    if let Ok(baggage) = Baggage::parse(header) {
        if let Some(Ok(tenant)) = baggage.get("tenant").map(str::parse) {
            fields.tenant = tenant;
        }
        fields.user_id = baggage.get("user.id").and_then(|v| v.parse().ok());
        if let Some(Ok(region)) = baggage.get("region").map(str::parse) {
            fields.region = region;
        }
    }
    fields
}

fn naive_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The peer: one `String` per member, joined, merged by string concatenation.
fn naive_inject(fields: &Fields, existing: Option<&str>) -> String {
    let mut members = vec![
        format!("tenant={}", naive_encode(&fields.tenant)),
        format!("region={}", naive_encode(&fields.region)),
    ];
    if let Some(id) = fields.user_id {
        members.insert(1, format!("user.id={id}"));
    }
    let joined = members.join(",");
    match existing {
        Some(existing) => format!("{existing},{joined}"),
        None => joined,
    }
}

/// Every field through `push` (its `Display`), as generic code over the field types does.
fn cls_inject(fields: &Fields, existing: Option<&str>, out: &mut String) {
    out.clear();
    out.push_str(existing.unwrap_or_default());
    let mut encoder = BaggageEncoder::new(out);
    let _ = encoder.push("tenant", &fields.tenant);
    if let Some(id) = &fields.user_id {
        let _ = encoder.push("user.id", id);
    }
    let _ = encoder.push("region", &fields.region);
}

/// The text fields through `push_str`, which skips `fmt`: what `PropagateLayer` does, since
/// the derive visits `String`, `&str`, `Box<str>` and `Arc<str>` fields with `visit_str`.
fn cls_inject_str(fields: &Fields, out: &mut String) {
    out.clear();
    let mut encoder = BaggageEncoder::new(out);
    let _ = encoder.push_str("tenant", &fields.tenant);
    if let Some(id) = &fields.user_id {
        let _ = encoder.push("user.id", id);
    }
    let _ = encoder.push_str("region", &fields.region);
}

fn naive_traceparent(value: &str) -> Option<String> {
    let mut parts = value.split('-');
    let (_version, trace_id, _parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let trace_id = u128::from_str_radix(trace_id, 16).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let parent = u64::from(black_box(7_u32)) << 32 | 1;
    Some(format!("00-{trace_id:032x}-{parent:016x}-{flags:02x}"))
}

fn cls_traceparent(value: &str) -> Option<cls_core::w3c::TraceParent> {
    TraceContext::parse(value)
        .ok()
        .map(|context| context.child().traceparent())
}

pub(crate) fn run(h: &mut Harness) {
    sanity_checks();
    let extract = Group::new(
        "w3c_extract",
        "3 baggage members read into typed fields vs a hand-written HashMap parse",
    )
    .case(
        "naive: split, decode, HashMap<String, String>, parse",
        |n| time_unrolled!(n, black_box(naive_extract(black_box(INBOUND)))),
    )
    .case("cls w3c::Baggage::parse + get + FromStr x3", |n| {
        time_unrolled!(n, black_box(cls_extract(black_box(INBOUND))))
    })
    .target(
        "cls extract / naive extract",
        Term::Case(1),
        Term::Case(0),
        1.0,
    )
    .target_ns("cls extract, ns (issue 10: 300)", Term::Case(1), 300.0);
    #[cfg(feature = "opentelemetry")]
    let carrier = otel_peer::carrier(INBOUND);
    #[cfg(feature = "opentelemetry")]
    let extract = extract
        .case(
            "otel-sdk BaggagePropagator::extract + get + FromStr x3",
            |n| time_unrolled!(n, black_box(otel_peer::extract(black_box(&carrier)))),
        )
        .target(
            "cls extract / otel-sdk extract",
            Term::Case(1),
            Term::Case(2),
            1.0,
        )
        .info_ns("otel-sdk extract, ns", Term::Case(2));
    h.run(extract);

    let fields = fields();
    let mut out = String::new();
    let mut out_merged = String::new();
    let mut out_str = String::new();
    let inject = Group::new(
        "w3c_inject",
        "3 fields written as baggage vs format! per member and join",
    )
    .case("naive: format! + join, no existing header", |n| {
        time_unrolled!(n, black_box(naive_inject(black_box(&fields), None)))
    })
    .case(
        "cls BaggageEncoder x3, no existing header (buffer reused)",
        |n| time_unrolled!(n, cls_inject(black_box(&fields), None, black_box(&mut out))),
    )
    .case(
        "cls push_str x2 + push (PropagateLayer's path), no existing header",
        |n| {
            time_unrolled!(
                n,
                cls_inject_str(black_box(&fields), black_box(&mut out_str))
            )
        },
    )
    .case(
        "naive: format! + join, merged after an existing header",
        |n| {
            time_unrolled!(
                n,
                black_box(naive_inject(black_box(&fields), Some(EXISTING)))
            )
        },
    )
    .case(
        "cls BaggageEncoder x3, merged into an existing header",
        |n| {
            time_unrolled!(
                n,
                cls_inject(
                    black_box(&fields),
                    Some(EXISTING),
                    black_box(&mut out_merged)
                )
            )
        },
    )
    .target(
        "cls inject / naive inject",
        Term::Case(1),
        Term::Case(0),
        1.0,
    )
    .info("cls push_str / cls push", Term::Case(2), Term::Case(1))
    .target(
        "cls merged inject / naive merged inject",
        Term::Case(4),
        Term::Case(3),
        1.0,
    )
    // The aim is judged on what `PropagateLayer` runs: the derive hands text fields to
    // `visit_str`, which writes them with `push_str`, and other types to `push`.
    .target_ns(
        "cls inject as PropagateLayer runs it, ns (issue 10: 150)",
        Term::Case(2),
        150.0,
    )
    .info_ns("cls inject, every field through push, ns", Term::Case(1));
    #[cfg(feature = "opentelemetry")]
    let (mut injected, mut injected_prebuilt, mut injected_context) =
        (HashMap::new(), HashMap::new(), HashMap::new());
    #[cfg(feature = "opentelemetry")]
    let prebuilt = otel_peer::context_of(&fields);
    #[cfg(feature = "opentelemetry")]
    let inject = inject
        .case(
            "otel-sdk: fields into Context::with_baggage + BaggagePropagator::inject_context",
            |n| {
                time_unrolled!(
                    n,
                    otel_peer::inject(black_box(&fields), black_box(&mut injected))
                )
            },
        )
        .case(
            "otel-sdk: BaggagePropagator::inject_context of a Context built beforehand",
            |n| {
                time_unrolled!(
                    n,
                    otel_peer::inject_context(
                        black_box(&prebuilt),
                        black_box(&mut injected_prebuilt)
                    )
                )
            },
        )
        .case(
            "cls otel::context() (3 fields) + BaggagePropagator::inject_context",
            |n| {
                cls_core::Cls::<otel_peer::Store>::new().run_with_sync(otel_peer::store(), || {
                    time_unrolled!(
                        n,
                        otel_peer::inject_context(
                            &black_box(cls_core::otel::context()),
                            black_box(&mut injected_context)
                        )
                    )
                })
            },
        )
        .target(
            "cls inject / otel-sdk inject (from the fields)",
            Term::Case(1),
            Term::Case(5),
            1.0,
        )
        .info(
            "cls inject / otel-sdk inject_context alone",
            Term::Case(1),
            Term::Case(6),
        )
        .info(
            "otel::context() + inject / otel-sdk inject (from the fields)",
            Term::Case(7),
            Term::Case(5),
        )
        .info_ns("otel-sdk inject (from the fields), ns", Term::Case(5));
    h.run(inject);

    h.run(
        Group::new(
            "w3c_traceparent",
            "traceparent read, child made, header written vs split + from_str_radix + format!",
        )
        .case("naive: split('-'), from_str_radix, format!", |n| {
            time_unrolled!(n, black_box(naive_traceparent(black_box(TRACEPARENT))))
        })
        .case("cls TraceContext::parse + child + traceparent", |n| {
            time_unrolled!(n, black_box(cls_traceparent(black_box(TRACEPARENT))))
        })
        .target("cls traceparent / naive", Term::Case(1), Term::Case(0), 1.0),
    );
}

/// Both sides of each group compute the same thing.
fn sanity_checks() {
    for extract in [naive_extract, cls_extract] {
        let f = extract(INBOUND);
        assert_eq!(
            (f.tenant.as_str(), f.user_id, f.region.as_str()),
            ("acme", Some(42), "eu west")
        );
    }
    let mut out = String::new();
    for existing in [None, Some(EXISTING)] {
        cls_inject(&fields(), existing, &mut out);
        assert_eq!(out, naive_inject(&fields(), existing));
    }
    cls_inject_str(&fields(), &mut out);
    assert_eq!(out, naive_inject(&fields(), None));
    #[cfg(feature = "opentelemetry")]
    otel_peer::sanity_checks();
    let cls = cls_traceparent(TRACEPARENT).unwrap();
    let naive = naive_traceparent(TRACEPARENT).unwrap();
    assert_eq!(cls.as_str()[..36], naive[..36]);
    assert_eq!(cls.as_str()[52..], naive[52..]);
}

/// The opentelemetry-sdk peer (feature `opentelemetry`): its `BaggagePropagator` over a
/// `HashMap<String, String>` carrier, the one opentelemetry ships an `Injector` and an
/// `Extractor` for.
#[cfg(feature = "opentelemetry")]
mod otel_peer {
    use std::collections::HashMap;

    use opentelemetry::baggage::BaggageExt;
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_sdk::propagation::BaggagePropagator;

    use super::{fields, Fields, INBOUND};

    /// The fields of [`Fields`] in a store, for `cls_core::otel::context()`.
    #[derive(cls_core::ClsStore, Clone, Default)]
    pub(super) struct Store {
        #[cls(propagate)]
        tenant: String,
        #[cls(propagate = "user.id")]
        user_id: Option<u64>,
        #[cls(propagate)]
        region: String,
    }

    pub(super) fn store() -> Store {
        let Fields {
            tenant,
            user_id,
            region,
        } = fields();
        Store {
            tenant,
            user_id,
            region,
        }
    }

    pub(super) fn carrier(header: &str) -> HashMap<String, String> {
        HashMap::from([("baggage".to_owned(), header.to_owned())])
    }

    pub(super) fn extract(carrier: &HashMap<String, String>) -> Fields {
        let cx = BaggagePropagator::new().extract_with_context(&Context::new(), carrier);
        let baggage = cx.baggage();
        let text = |key: &str| baggage.get(key).map(|v| v.as_str());
        let mut fields = Fields::default();
        if let Some(Ok(tenant)) = text("tenant").map(str::parse) {
            fields.tenant = tenant;
        }
        fields.user_id = text("user.id").and_then(|v| v.parse().ok());
        if let Some(Ok(region)) = text("region").map(str::parse) {
            fields.region = region;
        }
        fields
    }

    /// The fields as an OTel context, the way code holding them builds one.
    pub(super) fn context_of(fields: &Fields) -> Context {
        let mut members = Vec::with_capacity(3);
        members.push(KeyValue::new("tenant", fields.tenant.clone()));
        if let Some(id) = fields.user_id {
            members.push(KeyValue::new("user.id", id.to_string()));
        }
        members.push(KeyValue::new("region", fields.region.clone()));
        Context::new().with_baggage(members)
    }

    pub(super) fn inject_context(cx: &Context, out: &mut HashMap<String, String>) {
        BaggagePropagator::new().inject_context(cx, out);
    }

    pub(super) fn inject(fields: &Fields, out: &mut HashMap<String, String>) {
        inject_context(&context_of(fields), out);
    }

    /// The peer reads and writes what cls does (its member order is a `HashMap`'s, so the
    /// written header is compared as a set of members).
    pub(super) fn sanity_checks() {
        let f = extract(&carrier(INBOUND));
        assert_eq!(
            (f.tenant.as_str(), f.user_id, f.region.as_str()),
            ("acme", Some(42), "eu west")
        );
        let sorted = |header: &str| {
            let mut members: Vec<String> = header.split(',').map(str::to_owned).collect();
            members.sort();
            members
        };
        let mut out = HashMap::new();
        inject(&fields(), &mut out);
        assert_eq!(sorted(&out["baggage"]), sorted(INBOUND));
        let cx = cls_core::Cls::<Store>::new().run_with_sync(store(), cls_core::otel::context);
        inject_context(&cx, &mut out);
        assert_eq!(sorted(&out["baggage"]), sorted(INBOUND));
    }
}
