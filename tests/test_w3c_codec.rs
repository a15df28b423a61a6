//! The W3C codecs (`cls_core::w3c`) against the specifications' own examples, the limits at
//! and just past their edge, and arbitrary input: the baggage reader and encoder, and
//! Trace Context's `traceparent` and `tracestate`.

use std::borrow::Cow;

use cls_core::w3c::{
    Baggage, BaggageEncoder, BaggageError, EncodeError, MemberErrorKind, SpanId, TraceContext,
    TraceContextError, TraceField, TraceId, TraceStateError, MAX_BAGGAGE_BYTES,
    MAX_BAGGAGE_MEMBERS, MAX_TRACESTATE_BYTES, MAX_TRACESTATE_MEMBERS, MAX_TRACESTATE_READ_BYTES,
};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn pairs<'a>(baggage: &'a Baggage<'_>) -> Vec<(&'a str, &'a str)> {
    baggage.iter().map(|m| (m.key(), m.value())).collect()
}

fn reasons(baggage: &Baggage<'_>) -> Vec<MemberErrorKind> {
    baggage.rejected().iter().map(|r| r.reason()).collect()
}

/// `count` members `k0=v,k1=v,...`.
fn members(count: usize) -> String {
    (0..count)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join(",")
}

/// One member `k=xxx...` of exactly `len` bytes.
fn member_of_len(len: usize) -> String {
    format!("k={}", "x".repeat(len - 2))
}

// ---------------------------------------------------------------------------------------
// Baggage: the specification's examples

#[test]
fn spec_example_with_properties_reads_three_members() {
    let header =
        "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue";
    assert_eq!(header.len(), 86, "the spec says 86 bytes");
    let baggage = Baggage::parse(header).unwrap();
    assert_eq!(
        pairs(&baggage),
        [("key1", "value1"), ("key2", "value2"), ("key3", "value3")]
    );
    assert!(baggage.rejected().is_empty());
}

#[test]
fn spec_examples_single_split_and_spaced_headers_agree() {
    let expected = [
        ("userId", "alice"),
        ("serverNode", "DF 28"),
        ("isProduction", "false"),
    ];
    let single = Baggage::parse("userId=alice,serverNode=DF%2028,isProduction=false").unwrap();
    assert_eq!(pairs(&single), expected);
    let split =
        Baggage::parse_all(["userId=alice", "serverNode=DF%2028,isProduction=false"]).unwrap();
    assert_eq!(pairs(&split), expected);
    let spaced = Baggage::parse_all([
        "userId =   alice",
        "serverNode = DF%2028, isProduction = false",
    ])
    .unwrap();
    assert_eq!(pairs(&spaced), expected);
}

#[test]
fn several_header_values_from_a_header_map_form_one_list() {
    let mut headers = http::HeaderMap::new();
    headers.append("baggage", http::HeaderValue::from_static("a=1, b=2"));
    headers.append("baggage", http::HeaderValue::from_static(""));
    headers.append("baggage", http::HeaderValue::from_static("a=3,c=4"));
    let baggage = Baggage::parse_all(headers.get_all("baggage")).unwrap();
    assert_eq!(pairs(&baggage), [("a", "1"), ("b", "2"), ("c", "4")]);
    assert_eq!(reasons(&baggage), [MemberErrorKind::DuplicateKey]);
    assert_eq!(baggage.rejected()[0].index(), 2);
}

// ---------------------------------------------------------------------------------------
// Baggage: decoding rules

#[test]
fn percent_escapes_decode_in_either_case() {
    let baggage =
        Baggage::parse("a=100%25,b=caf%c3%a9,c=caf%C3%A9,d=x%2Cy%3Bz,e=%22q%22,f=%5C").unwrap();
    assert_eq!(
        pairs(&baggage),
        [
            ("a", "100%"),
            ("b", "café"),
            ("c", "café"),
            ("d", "x,y;z"),
            ("e", "\"q\""),
            ("f", "\\"),
        ]
    );
}

#[test]
fn a_value_is_borrowed_unless_it_has_an_escape() {
    let baggage = Baggage::parse("a=plain,b=es%41caped").unwrap();
    let values: Vec<Cow<'_, str>> = baggage.iter().map(|m| m.clone().into_value()).collect();
    assert!(matches!(values[0], Cow::Borrowed("plain")));
    assert!(matches!(&values[1], Cow::Owned(v) if v == "esAcaped"));
}

#[test]
fn equals_signs_inside_a_value_stay_in_the_value() {
    let baggage = Baggage::parse("a=b=c=d, e==f, g=%3D, h=").unwrap();
    assert_eq!(
        pairs(&baggage),
        [("a", "b=c=d"), ("e", "=f"), ("g", "="), ("h", "")]
    );
}

#[test]
fn whitespace_around_separators_is_trimmed() {
    let baggage = Baggage::parse(" \ta \t= \t1 \t, \tb=2\t;\tp=1\t,\t , c =3").unwrap();
    assert_eq!(pairs(&baggage), [("a", "1"), ("b", "2"), ("c", "3")]);
    assert!(baggage.rejected().is_empty());
}

#[test]
fn properties_after_a_semicolon_are_ignored() {
    let baggage = Baggage::parse("a=1;p, b=2 ; p = 3 ; flag, c=3;;;, d=4;%ZZ\"").unwrap();
    assert_eq!(
        pairs(&baggage),
        [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]
    );
}

#[test]
fn a_repeated_key_keeps_its_first_value() {
    let baggage = Baggage::parse("tenant=acme,tenant=evil").unwrap();
    assert_eq!(baggage.get("tenant"), Some("acme"));
    assert_eq!(reasons(&baggage), [MemberErrorKind::DuplicateKey]);
    assert_eq!(baggage.rejected()[0].raw(), b"tenant=evil");
}

#[test]
fn empty_list_members_and_empty_headers_are_skipped() {
    for header in ["", " ", ",", " , ,\t,", "\t"] {
        let baggage = Baggage::parse(header).unwrap();
        assert!(
            baggage.is_empty() && baggage.rejected().is_empty(),
            "{header:?}"
        );
    }
    let baggage = Baggage::parse(",,a=1,,").unwrap();
    assert_eq!(pairs(&baggage), [("a", "1")]);
}

#[test]
fn each_invalid_member_is_dropped_alone_with_its_reason() {
    let baggage = Baggage::parse(
        "ok1=1, tenant=%ZZ, user.id=%FF, note=%0A, a b=1, novalue, =v, v=a b, ok2=2, x=%C3%28",
    )
    .unwrap();
    assert_eq!(pairs(&baggage), [("ok1", "1"), ("ok2", "2")]);
    assert_eq!(
        reasons(&baggage),
        [
            MemberErrorKind::InvalidPercentEscape { at: 7 },
            MemberErrorKind::InvalidUtf8,
            MemberErrorKind::ControlCharacter,
            MemberErrorKind::InvalidKeyByte { at: 1 },
            MemberErrorKind::MissingEquals,
            MemberErrorKind::EmptyKey,
            MemberErrorKind::InvalidValueByte { at: 3 },
            MemberErrorKind::InvalidUtf8,
        ]
    );
    let indices: Vec<_> = baggage.rejected().iter().map(|r| r.index()).collect();
    assert_eq!(indices, [1, 2, 3, 4, 5, 6, 7, 9]);
}

#[test]
fn raw_non_ascii_and_control_bytes_invalidate_only_their_member() {
    let header: &[u8] = b"a=1,b=caf\xc3\xa9,c=\x1b[31m,d=\xff,e=5";
    let baggage = Baggage::parse(header).unwrap();
    assert_eq!(pairs(&baggage), [("a", "1"), ("e", "5")]);
    assert!(reasons(&baggage)
        .iter()
        .all(|r| matches!(r, MemberErrorKind::InvalidValueByte { at: 2 | 5 })));
}

#[test]
fn a_rejected_member_displays_escaped_and_short() {
    let hostile = format!("k=%0A\x1b[31m\r\nFAKE LOG LINE{}", "x".repeat(200));
    let baggage = Baggage::parse(hostile.as_bytes()).unwrap();
    let shown = baggage.rejected()[0].to_string();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(shown.contains(r"\x1b[31m\r\n"), "{shown}");
    assert!(shown.len() < 250, "{} bytes: {shown}", shown.len());
    assert!(shown.ends_with(&format!("dropped: {}", baggage.rejected()[0].reason())));
}

// ---------------------------------------------------------------------------------------
// Baggage: limits

#[test]
fn sixty_four_members_are_read_and_sixty_five_refuse_the_header() {
    let at_limit = members(MAX_BAGGAGE_MEMBERS);
    assert_eq!(Baggage::parse(&at_limit).unwrap().len(), 64);
    let past = members(MAX_BAGGAGE_MEMBERS + 1);
    assert_eq!(
        Baggage::parse(&past),
        Err(BaggageError::TooManyMembers { members: 65 })
    );
    assert_eq!(
        Baggage::parse(&members(181)),
        Err(BaggageError::TooManyMembers { members: 181 })
    );
}

#[test]
fn invalid_members_count_toward_the_member_limit() {
    let header = format!("{},bad", members(64));
    assert_eq!(
        Baggage::parse(&header),
        Err(BaggageError::TooManyMembers { members: 65 })
    );
}

#[test]
fn the_member_limit_spans_several_headers() {
    let (first, second) = (members(40), members(25));
    assert_eq!(
        Baggage::parse_all([first.as_str(), second.as_str()]),
        Err(BaggageError::TooManyMembers { members: 65 })
    );
    let second = members(24);
    // Keys repeat across the two headers: the repeats are rejected, not refused.
    let baggage = Baggage::parse_all([first.as_str(), second.as_str()]).unwrap();
    assert_eq!((baggage.len(), baggage.rejected().len()), (40, 24));
}

#[test]
fn eight_thousand_one_hundred_ninety_two_bytes_are_read_and_one_more_refuses_the_header() {
    let at_limit = member_of_len(MAX_BAGGAGE_BYTES);
    assert_eq!(Baggage::parse(&at_limit).unwrap().len(), 1);
    let past = member_of_len(MAX_BAGGAGE_BYTES + 1);
    assert_eq!(
        Baggage::parse(&past),
        Err(BaggageError::TooLarge { bytes: 8193 })
    );
    assert_eq!(
        Baggage::parse(&"a".repeat(9000)),
        Err(BaggageError::TooLarge { bytes: 9000 })
    );
}

#[test]
fn the_byte_limit_counts_a_comma_between_headers() {
    let first = member_of_len(4000);
    let fits = format!("j={}", "y".repeat(MAX_BAGGAGE_BYTES - 4000 - 1 - 2));
    let baggage = Baggage::parse_all([first.as_str(), fits.as_str()]).unwrap();
    assert_eq!(baggage.len(), 2);
    let one_more = format!("{fits}y");
    assert_eq!(
        Baggage::parse_all([first.as_str(), one_more.as_str(), "z=1"]),
        Err(BaggageError::TooLarge { bytes: 8193 + 4 })
    );
}

#[test]
fn limit_errors_say_which_limit() {
    let too_many = Baggage::parse(&members(65)).unwrap_err().to_string();
    assert!(
        too_many.contains("65 list members") && too_many.contains("64"),
        "{too_many}"
    );
    let too_large = Baggage::parse(&"a".repeat(9000)).unwrap_err().to_string();
    assert!(
        too_large.contains("9000 bytes") && too_large.contains("8192"),
        "{too_large}"
    );
}

// ---------------------------------------------------------------------------------------
// Baggage: encoding

#[test]
fn encoding_into_an_empty_header() {
    let mut header = String::new();
    let mut encoder = BaggageEncoder::new(&mut header);
    encoder.push("tenant", "acme").unwrap();
    encoder.push("user.id", &42_u64).unwrap();
    encoder.push("empty", "").unwrap();
    assert_eq!(encoder.members(), 3);
    assert_eq!(header, "tenant=acme,user.id=42,empty=");
}

#[test]
fn encoding_merges_with_an_existing_header_and_never_replaces() {
    let mut header = String::from("other=1, tenant=upstream;p=1 ,");
    let mut encoder = BaggageEncoder::new(&mut header);
    assert_eq!(
        encoder.push("tenant", "acme"),
        Err(EncodeError::DuplicateKey)
    );
    encoder.push("user.id", "7").unwrap();
    assert_eq!(encoder.push("user.id", "8"), Err(EncodeError::DuplicateKey));
    assert_eq!(header, "other=1, tenant=upstream;p=1,user.id=7");
    let baggage = Baggage::parse(&header).unwrap();
    assert_eq!(
        pairs(&baggage),
        [("other", "1"), ("tenant", "upstream"), ("user.id", "7")]
    );
}

#[test]
fn encoding_escapes_what_a_baggage_octet_cannot_hold() {
    let mut header = String::new();
    let value = "a b%c,d;e\\f\"g=h\u{e9}\u{1f600}~!";
    BaggageEncoder::new(&mut header).push("k", value).unwrap();
    assert_eq!(
        header,
        "k=a%20b%25c%2Cd%3Be%5Cf%22g%3Dh%C3%A9%F0%9F%98%80~!"
    );
    assert_eq!(Baggage::parse(&header).unwrap().get("k"), Some(value));
}

#[test]
fn encoding_refuses_bad_keys_and_control_characters() {
    let mut header = String::new();
    let mut encoder = BaggageEncoder::new(&mut header);
    assert_eq!(encoder.push("", "v"), Err(EncodeError::EmptyKey));
    assert_eq!(
        encoder.push("a=b", "v"),
        Err(EncodeError::InvalidKeyByte { at: 1 })
    );
    assert_eq!(
        encoder.push("caf\u{e9}", "v"),
        Err(EncodeError::InvalidKeyByte { at: 3 })
    );
    for control in ["\n", "\0", "\t", "\u{7f}", "\u{85}", "ok\r"] {
        assert_eq!(
            encoder.push("k", control),
            Err(EncodeError::ControlCharacter),
            "{control:?}"
        );
    }
    assert_eq!((encoder.members(), header.as_str()), (0, ""));
}

#[test]
fn encoding_stops_at_the_sixty_fourth_member() {
    let mut header = members(63);
    let mut encoder = BaggageEncoder::new(&mut header);
    encoder.push("last", "v").unwrap();
    assert_eq!(
        encoder.push("one.more", "v"),
        Err(EncodeError::TooManyMembers)
    );
    assert_eq!(encoder.members(), 64);
    assert_eq!(Baggage::parse(&header).unwrap().len(), 64);
}

#[test]
fn encoding_fills_to_eight_thousand_one_hundred_ninety_two_bytes_and_never_past() {
    let mut header = member_of_len(8000);
    let mut encoder = BaggageEncoder::new(&mut header);
    // ",j=" is 3 bytes: a value of 189 bytes reaches 8192 exactly.
    assert_eq!(
        encoder.push("j", &"y".repeat(190)),
        Err(EncodeError::TooLarge)
    );
    // Escapes count at their encoded size, and are never cut.
    assert_eq!(
        encoder.push("j", &" ".repeat(64)),
        Err(EncodeError::TooLarge)
    );
    assert_eq!(encoder.as_str().len(), 8000);
    encoder.push("j", &"y".repeat(189)).unwrap();
    assert_eq!(header.len(), MAX_BAGGAGE_BYTES);
    let mut encoder = BaggageEncoder::new(&mut header);
    assert_eq!(encoder.push("z", ""), Err(EncodeError::TooLarge));
    assert_eq!(Baggage::parse(&header).unwrap().len(), 2);
}

#[test]
fn an_existing_header_past_the_limits_is_kept_and_nothing_is_added() {
    let mut header = members(70);
    let before = header.clone();
    let mut encoder = BaggageEncoder::new(&mut header);
    assert_eq!(encoder.push("new", "v"), Err(EncodeError::TooManyMembers));
    assert_eq!(header, before);
    let mut header = member_of_len(9000);
    assert_eq!(
        BaggageEncoder::new(&mut header).push("new", "v"),
        Err(EncodeError::TooLarge)
    );
    assert_eq!(header.len(), 9000);
}

#[test]
fn a_reused_buffer_encodes_without_growing() {
    let mut header = String::with_capacity(64);
    let capacity = header.capacity();
    for round in 0..100_u32 {
        header.clear();
        let mut encoder = BaggageEncoder::new(&mut header);
        encoder.push("tenant", "acme").unwrap();
        encoder.push("user.id", &round).unwrap();
        encoder.push("region", "eu west").unwrap();
    }
    assert_eq!(header, "tenant=acme,user.id=99,region=eu%20west");
    assert_eq!(header.capacity(), capacity);
}

// ---------------------------------------------------------------------------------------
// Trace Context: traceparent

const SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const NOT_SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

#[test]
fn spec_traceparent_examples_read_and_write_back() {
    let sampled = TraceContext::parse(SAMPLED).unwrap();
    assert_eq!(sampled.version(), 0);
    assert_eq!(
        sampled.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(sampled.parent_id().to_string(), "00f067aa0ba902b7");
    assert_eq!(sampled.flags(), 1);
    assert!(sampled.sampled());
    assert_eq!(sampled.traceparent().as_str(), SAMPLED);

    let not_sampled: TraceContext = NOT_SAMPLED.parse().unwrap();
    assert!(!not_sampled.sampled());
    assert_eq!(not_sampled.to_string(), NOT_SAMPLED);
    let other = TraceContext::parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    assert!(other.is_ok());
}

#[test]
fn a_header_value_is_read_directly() {
    let value = http::HeaderValue::from_static(SAMPLED);
    assert_eq!(TraceContext::parse(&value).unwrap().to_string(), SAMPLED);
}

#[test]
fn invalid_traceparents_are_refused_with_the_reason() {
    use TraceContextError as E;
    let hex = |field, at, found| E::NotLowercaseHex { field, at, found };
    let cases: Vec<(String, TraceContextError)> = vec![
        (SAMPLED.to_uppercase(), hex(TraceField::TraceId, 4, b'B')),
        (
            SAMPLED.replace("4bf9", "4BF9"),
            hex(TraceField::TraceId, 4, b'B'),
        ),
        (
            SAMPLED.replace("00f067aa", "00F067aa"),
            hex(TraceField::ParentId, 38, b'F'),
        ),
        (
            SAMPLED.replace("-01", "-0A"),
            hex(TraceField::Flags, 54, b'A'),
        ),
        (
            format!("0A{}", &SAMPLED[2..]),
            hex(TraceField::Version, 1, b'A'),
        ),
        (
            SAMPLED.replace("4bf9", "4bg9"),
            hex(TraceField::TraceId, 5, b'g'),
        ),
        (
            SAMPLED.replace("4bf92f3577b34da6a3ce929d0e0e4736", &"0".repeat(32)),
            E::AllZero {
                field: TraceField::TraceId,
            },
        ),
        (
            SAMPLED.replace("00f067aa0ba902b7", &"0".repeat(16)),
            E::AllZero {
                field: TraceField::ParentId,
            },
        ),
        (format!("ff{}", &SAMPLED[2..]), E::ForbiddenVersion),
        (
            format!("{SAMPLED}-00"),
            E::Length {
                version: Some(0),
                found: 58,
            },
        ),
        (
            SAMPLED[..54].to_owned(),
            E::Length {
                version: Some(0),
                found: 54,
            },
        ),
        (
            format!("01{}", &SAMPLED[2..54]),
            E::Length {
                version: Some(1),
                found: 54,
            },
        ),
        (
            format!("cc{}x", &SAMPLED[2..]),
            E::MissingDash {
                at: 55,
                found: b'x',
            },
        ),
        (
            format!("cc{}.what", &SAMPLED[2..]),
            E::MissingDash {
                at: 55,
                found: b'.',
            },
        ),
        (
            SAMPLED.replacen('-', "_", 1),
            E::MissingDash { at: 2, found: b'_' },
        ),
        (
            SAMPLED.replace("-00f0", "_00f0"),
            E::MissingDash {
                at: 35,
                found: b'_',
            },
        ),
        (
            SAMPLED.replace("-01", "_01"),
            E::MissingDash {
                at: 52,
                found: b'_',
            },
        ),
        (
            // The space is optional whitespace, skipped: what is left is too short.
            format!(" {}", &SAMPLED[..54]),
            E::Length {
                version: Some(0),
                found: 54,
            },
        ),
        (format!("\n{SAMPLED}"), hex(TraceField::Version, 0, b'\n')),
        (
            String::new(),
            E::Length {
                version: None,
                found: 0,
            },
        ),
        (
            "0".to_owned(),
            E::Length {
                version: None,
                found: 1,
            },
        ),
        (
            SAMPLED.replace("4bf9", "4\u{e9}9"),
            hex(TraceField::TraceId, 4, 0xc3),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(TraceContext::parse(&value), Err(expected), "{value:?}");
    }
}

#[test]
fn a_later_version_is_read_with_its_extra_fields_ignored() {
    let extended = format!("cc{}-what-the-future-will-be-like", &SAMPLED[2..]);
    let future = TraceContext::parse(&extended).unwrap();
    assert_eq!(future.version(), 0xcc);
    assert_eq!(future.parent_id().to_string(), "00f067aa0ba902b7");
    assert_eq!(
        future.traceparent().as_str(),
        SAMPLED,
        "written back as version 00"
    );
    let exact = format!("01{}", &SAMPLED[2..]);
    assert_eq!(TraceContext::parse(&exact).unwrap().version(), 1);
}

#[test]
fn traceparent_errors_show_no_raw_input() {
    let value = SAMPLED.replace("-01", "\n1\r");
    let shown = TraceContext::parse(&value).unwrap_err().to_string();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
}

#[test]
fn a_child_keeps_the_trace_and_gets_a_new_parent_id() {
    let mut inbound = TraceContext::parse(&SAMPLED.replace("-01", "-ff")).unwrap();
    inbound
        .set_tracestate(["rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"])
        .unwrap();
    let children: Vec<TraceContext> = (0..1000).map(|_| inbound.child()).collect();
    let mut parent_ids: Vec<SpanId> = children.iter().map(TraceContext::parent_id).collect();
    parent_ids.push(inbound.parent_id());
    parent_ids.sort();
    parent_ids.dedup();
    assert_eq!(
        parent_ids.len(),
        1001,
        "every child has a parent id of its own"
    );
    for child in &children {
        assert_eq!(child.trace_id(), inbound.trace_id());
        assert_eq!(child.flags(), TraceContext::SAMPLED, "unknown flags reset");
        assert_eq!(child.tracestate(), inbound.tracestate());
        let written = child.traceparent();
        assert_eq!(&written.as_str()[..36], &SAMPLED[..36]);
        assert!(written.as_str().ends_with("-01"));
        assert_eq!(
            TraceContext::parse(written.as_str()).unwrap().parent_id(),
            child.parent_id()
        );
    }
    let unsampled = TraceContext::parse(NOT_SAMPLED).unwrap().child();
    assert!(unsampled.traceparent().as_str().ends_with("-00"));
}

#[test]
fn trace_and_span_ids_parse_and_show_as_lowercase_hex() {
    let trace_id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap();
    assert_eq!(
        format!("{trace_id} {trace_id:?}"),
        "4bf92f3577b34da6a3ce929d0e0e4736 TraceId(4bf92f3577b34da6a3ce929d0e0e4736)"
    );
    let span_id = SpanId::from_bytes([0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]).unwrap();
    assert_eq!(span_id.to_string(), "00f067aa0ba902b7");
    assert_eq!("00f067aa0ba902b7".parse(), Ok(span_id));
    assert_eq!(
        "0".repeat(32).parse::<TraceId>(),
        Err(TraceContextError::AllZero {
            field: TraceField::TraceId
        })
    );
    assert!("00F067AA0BA902B7".parse::<SpanId>().is_err());
    assert!("00f067aa0ba902b".parse::<SpanId>().is_err());
}

// ---------------------------------------------------------------------------------------
// Trace Context: tracestate

#[test]
fn spec_tracestate_examples_are_kept_verbatim() {
    let mut context = TraceContext::parse(SAMPLED).unwrap();
    for value in [
        "congo=t61rcWkgMzE",
        "rojo=00f067aa0ba902b7",
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
        "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7",
        "fw529a3039@dt=ZS0xNTE1, 1a-2f@x/y*z_w= padded value",
    ] {
        context.set_tracestate([value]).unwrap();
        assert_eq!(context.tracestate(), Some(value));
    }
    context
        .set_tracestate(["rojo=00f067aa0ba902b7", "", "congo=t61rcWkgMzE"])
        .unwrap();
    assert_eq!(
        context.tracestate(),
        Some("rojo=00f067aa0ba902b7,,congo=t61rcWkgMzE")
    );
}

#[test]
fn an_invalid_tracestate_is_dropped_whole() {
    use TraceStateError as E;
    let cases = [
        ("Rojo=1", E::InvalidKey { index: 0, at: 0 }),
        ("_rojo=1", E::InvalidKey { index: 0, at: 0 }),
        ("ro jo=1", E::InvalidKey { index: 0, at: 2 }),
        ("a=1,=2", E::InvalidKey { index: 1, at: 0 }),
        ("rojo", E::MissingEquals { index: 0 }),
        ("rojo=", E::InvalidValue { index: 0, at: 5 }),
        ("rojo=a=b", E::InvalidValue { index: 0, at: 6 }),
        ("rojo=caf\u{e9}", E::InvalidValue { index: 0, at: 8 }),
        ("rojo=a\tb", E::InvalidValue { index: 0, at: 6 }),
        ("rojo=1,congo=2,rojo=3", E::DuplicateKey { index: 2 }),
    ];
    for (value, expected) in cases {
        let mut context = TraceContext::parse(SAMPLED).unwrap();
        context.set_tracestate(["ok=1"]).unwrap();
        assert_eq!(context.set_tracestate([value]), Err(expected), "{value:?}");
        assert_eq!(context.tracestate(), None, "{value:?}");
    }
    let long_key = format!("{}=1", "k".repeat(257));
    let mut context = TraceContext::new_root(true);
    assert_eq!(
        context.set_tracestate([long_key.as_str()]),
        Err(E::InvalidKey { index: 0, at: 256 })
    );
}

#[test]
fn tracestate_keys_follow_the_level_1_grammar() {
    use TraceStateError as E;
    let tenant = "t".repeat(241);
    let system = "s".repeat(14);
    let valid = [
        "a".to_owned(),
        "a0_-*/z".to_owned(),
        "k".repeat(256),
        "0@a".to_owned(),
        "fw529a3039@dt".to_owned(),
        format!("{tenant}@a"),
        format!("t@{system}"),
        format!("{tenant}@{system}"),
    ];
    for key in &valid {
        let mut context = TraceContext::new_root(true);
        let member = format!("{key}=1");
        context.set_tracestate([member.as_str()]).unwrap();
        assert_eq!(context.tracestate(), Some(member.as_str()), "{key:?}");
    }
    let invalid = [
        // A digit first is a tenant id's privilege: it needs the `@`.
        ("1abc".to_owned(), 0),
        ("k".repeat(257), 256),
        ("a@b@c".to_owned(), 3),
        ("@dt".to_owned(), 0),
        ("t@".to_owned(), 2),
        ("t@0a".to_owned(), 2),
        ("t@S".to_owned(), 2),
        ("_t@a".to_owned(), 0),
        ("t.x@a".to_owned(), 1),
        (format!("{tenant}t@a"), 241),
        (format!("t@{system}s"), 2 + 14),
    ];
    for (key, at) in invalid {
        let mut context = TraceContext::new_root(true);
        let value = format!("ok=1,{key}=1");
        assert_eq!(
            context.set_tracestate([value.as_str()]),
            Err(E::InvalidKey { index: 1, at }),
            "{key:?}"
        );
        assert_eq!(context.tracestate(), None, "{key:?}");
    }
}

#[test]
fn tracestate_values_are_1_to_256_printable_characters() {
    use TraceStateError as E;
    let mut context = TraceContext::new_root(true);
    let longest = format!("k={}", "v".repeat(256));
    context.set_tracestate([longest.as_str()]).unwrap();
    assert_eq!(context.tracestate(), Some(longest.as_str()));
    let inner_spaces = "k= a b";
    context.set_tracestate([inner_spaces]).unwrap();
    assert_eq!(context.tracestate(), Some(inner_spaces));
    let too_long = format!("{longest}v");
    assert_eq!(
        context.set_tracestate([too_long.as_str()]),
        Err(E::InvalidValue {
            index: 0,
            at: 2 + 256
        })
    );
    assert_eq!(
        context.set_tracestate(["k=a\u{7f}"]),
        Err(E::InvalidValue { index: 0, at: 3 })
    );
}

#[test]
fn a_tracestate_key_may_appear_once_in_the_whole_list() {
    let mut context = TraceContext::new_root(true);
    assert_eq!(
        context.set_tracestate(["rojo=1,congo=2", " rojo=3"]),
        Err(TraceStateError::DuplicateKey { index: 2 })
    );
    // Even in a list long enough to be truncated, and in a member that truncation would
    // remove: the list is checked whole first.
    let mut long: Vec<String> = (0..40).map(|i| format!("k{i}=v")).collect();
    long.push("k2=again".to_owned());
    assert_eq!(
        context.set_tracestate([long.join(",").as_str()]),
        Err(TraceStateError::DuplicateKey { index: 40 })
    );
    assert_eq!(context.tracestate(), None);
    // The same value under two keys is fine, and so is a key that only a tenant shares.
    context
        .set_tracestate(["rojo=1,congo=1,t@rojo=1,rojo@t=1"])
        .unwrap();
}

/// A member `key=xxx...` of exactly `len` bytes.
fn member_of(key: &str, len: usize) -> String {
    let member = format!("{key}={}", "x".repeat(len - key.len() - 1));
    assert_eq!(member.len(), len);
    member
}

#[test]
fn a_tracestate_of_512_bytes_is_kept_and_one_of_513_loses_its_last_member() {
    let mut context = TraceContext::new_root(true);
    let head = [
        member_of("a", 128),
        member_of("b", 128),
        member_of("c", 128),
    ]
    .join(",");
    let at_limit = format!("{head},{}", member_of("d", 125));
    assert_eq!(at_limit.len(), MAX_TRACESTATE_BYTES);
    context.set_tracestate([at_limit.as_str()]).unwrap();
    assert_eq!(context.tracestate(), Some(at_limit.as_str()));
    // No member is longer than 128 bytes: the last one goes.
    let past = format!("{head},{}", member_of("d", 126));
    assert_eq!(past.len(), 513);
    context.set_tracestate([past.as_str()]).unwrap();
    assert_eq!(context.tracestate(), Some(head.as_str()));
    // Two headers count as one list, the comma that joins them included.
    context
        .set_tracestate([head.as_str(), &member_of("d", 125)])
        .unwrap();
    assert_eq!(context.tracestate(), Some(at_limit.as_str()));
    context
        .set_tracestate([head.as_str(), &member_of("d", 126)])
        .unwrap();
    assert_eq!(context.tracestate(), Some(head.as_str()));
}

#[test]
fn a_member_longer_than_128_bytes_is_removed_first() {
    let mut context = TraceContext::new_root(true);
    let rest = [
        member_of("b", 128),
        member_of("c", 128),
        member_of("d", 125),
    ]
    .join(",");
    let value = format!("{},{rest}", member_of("a", 129));
    assert_eq!(value.len(), 513);
    context.set_tracestate([value.as_str()]).unwrap();
    assert_eq!(context.tracestate(), Some(rest.as_str()));
    // Several long members: the right-most first, and only as many as needed.
    let (l1, l2, l3) = (
        member_of("l1", 200),
        member_of("l2", 200),
        member_of("l3", 200),
    );
    let short = member_of("s", 100);
    let value = format!("{l1},{l2},{short},{l3}");
    context.set_tracestate([value.as_str()]).unwrap();
    assert_eq!(
        context.tracestate(),
        Some(format!("{l1},{l2},{short}").as_str())
    );
}

#[test]
fn a_tracestate_of_33_members_keeps_the_first_32() {
    let mut context = TraceContext::new_root(true);
    context.set_tracestate([members(32).as_str()]).unwrap();
    assert_eq!(context.tracestate(), Some(members(32).as_str()));
    context.set_tracestate([members(33).as_str()]).unwrap();
    assert_eq!(context.tracestate(), Some(members(32).as_str()));
    // Empty members do not count.
    let sparse = format!("{},,{}", members(32), " , ");
    context.set_tracestate([sparse.as_str()]).unwrap();
    assert_eq!(context.tracestate(), Some(sparse.as_str()));
}

#[test]
fn a_truncated_tracestate_is_written_without_whitespace_or_empty_members() {
    let mut context = TraceContext::new_root(true);
    // 600 bytes of which most are whitespace: nothing needs removing.
    let padded = format!("rojo=1 ,{}, \tcongo=2", " ".repeat(582));
    assert_eq!(padded.len(), 600);
    context.set_tracestate([padded.as_str()]).unwrap();
    assert_eq!(context.tracestate(), Some("rojo=1,congo=2"));
    // A single member of 513 bytes cannot be kept whole: nothing is.
    let huge = format!("{}={}", "k".repeat(256), "v".repeat(256));
    assert_eq!(huge.len(), 513);
    context.set_tracestate([huge.as_str()]).unwrap();
    assert_eq!(context.tracestate(), None);
}

#[test]
fn a_tracestate_past_8192_bytes_is_not_read() {
    let mut context = TraceContext::new_root(true);
    let at_limit = format!("rojo=1{}", " ".repeat(MAX_TRACESTATE_READ_BYTES - 6));
    context.set_tracestate([at_limit.as_str()]).unwrap();
    assert_eq!(context.tracestate(), Some("rojo=1"));
    let past = format!("{at_limit} ");
    assert_eq!(
        context.set_tracestate([past.as_str()]),
        Err(TraceStateError::TooLong {
            bytes: MAX_TRACESTATE_READ_BYTES + 1
        })
    );
    assert_eq!(context.tracestate(), None);
}

#[test]
fn a_traceparent_with_surrounding_whitespace_is_read() {
    let plain = TraceContext::parse(SAMPLED).unwrap();
    for padded in [
        format!(" {SAMPLED}"),
        format!("{SAMPLED} "),
        format!("\t{SAMPLED}\t "),
    ] {
        assert_eq!(
            TraceContext::parse(&padded),
            Ok(plain.clone()),
            "{padded:?}"
        );
    }
    // Whitespace inside the value is not optional whitespace.
    let inside = SAMPLED.replacen('-', " -", 1);
    assert_eq!(
        TraceContext::parse(&inside),
        Err(TraceContextError::Length {
            version: Some(0),
            found: 56
        })
    );
    // Positions count the skipped whitespace.
    let upper = format!("  {}", SAMPLED.replace("-01", "-0A"));
    assert_eq!(
        TraceContext::parse(&upper),
        Err(TraceContextError::NotLowercaseHex {
            field: TraceField::Flags,
            at: 2 + 54,
            found: b'A'
        })
    );
}

// ---------------------------------------------------------------------------------------
// Properties

fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Pieces that make near-valid and hostile baggage when joined.
const BAGGAGE_PIECES: &[&str] = &[
    "k=v",
    "a=1",
    "key",
    "=",
    ",",
    ",",
    ",",
    ";",
    " ",
    "\t",
    "%",
    "%0A",
    "%ZZ",
    "%FF",
    "%C3%A9",
    "\u{e9}",
    "\"",
    "\\",
    "\r\n",
    "\0",
    "%25",
    "=v",
    "tenant=acme",
    "user.id=7",
    "p=q;r",
];

fn baggage_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::sample::select(BAGGAGE_PIECES).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ]
}

fn baggage_headers() -> impl Strategy<Value = Vec<String>> {
    let header = proptest::collection::vec(baggage_piece(), 0..300).prop_map(|p| p.concat());
    proptest::collection::vec(header, 0..4)
}

/// What a reader's answer must satisfy, whatever the input.
fn check_reader_invariants(headers: &[&[u8]]) {
    let total: usize = headers.iter().map(|h| h.len()).sum::<usize>() + headers.len().max(1) - 1;
    match Baggage::parse_all(headers.iter().copied()) {
        Ok(baggage) => {
            assert!(total <= MAX_BAGGAGE_BYTES);
            assert!(baggage.len() + baggage.rejected().len() <= MAX_BAGGAGE_MEMBERS);
            let mut keys: Vec<&str> = baggage.iter().map(|m| m.key()).collect();
            for member in &baggage {
                assert!(!member.key().is_empty());
                assert!(!member.value().chars().any(char::is_control));
            }
            keys.sort_unstable();
            let count = keys.len();
            keys.dedup();
            assert_eq!(keys.len(), count, "a key appears once");
            for rejected in baggage.rejected() {
                let shown = rejected.to_string();
                assert!(!shown.chars().any(char::is_control), "{shown:?}");
                assert!(shown.len() < 400, "{shown}");
            }
        }
        Err(BaggageError::TooLarge { bytes }) => {
            assert_eq!(bytes, total);
            assert!(bytes > MAX_BAGGAGE_BYTES);
        }
        Err(BaggageError::TooManyMembers { members }) => {
            assert!(total <= MAX_BAGGAGE_BYTES);
            assert!(members > MAX_BAGGAGE_MEMBERS);
        }
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// Values for the encoder: ordinary ones, ones with controls, and arbitrary text.
fn value_to_encode() -> impl Strategy<Value = String> {
    const VALUES: &[&str] = &[
        "acme",
        "a b",
        "100%",
        "x=y",
        "caf\u{e9}",
        "line\nbreak",
        "",
        "\u{85}",
    ];
    prop_oneof![
        6 => proptest::sample::select(VALUES).prop_map(str::to_owned),
        1 => any::<String>(),
        1 => proptest::collection::vec(0x20_u8..0x7f, 100..400)
            .prop_map(|bytes| bytes.into_iter().map(char::from).collect()),
    ]
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reading_arbitrary_bytes_never_panics_and_stays_within_limits(
        headers in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..5000), 0..3),
    ) {
        let headers: Vec<&[u8]> = headers.iter().map(Vec::as_slice).collect();
        check_reader_invariants(&headers);
    }

    #[test]
    fn reading_hostile_baggage_never_panics_and_stays_within_limits(headers in baggage_headers()) {
        let headers: Vec<&[u8]> = headers.iter().map(|h| h.as_bytes()).collect();
        check_reader_invariants(&headers);
    }

    #[test]
    fn encoded_pairs_read_back_identical(
        existing in proptest::option::of((token(), "[a-z0-9]{0,8}")),
        pairs in proptest::collection::vec((token(), "\\PC{0,24}"), 0..12),
    ) {
        let mut header = String::new();
        let mut expected: Vec<(String, String)> = Vec::new();
        if let Some((key, value)) = existing {
            header = format!("{key}={value};prop");
            expected.push((key, value));
        }
        let mut encoder = BaggageEncoder::new(&mut header);
        for (key, value) in pairs {
            let outcome = encoder.push(&key, value.as_str());
            if expected.iter().any(|(k, _)| *k == key) {
                prop_assert_eq!(outcome, Err(EncodeError::DuplicateKey));
            } else {
                prop_assert_eq!(outcome, Ok(()));
                expected.push((key, value));
            }
        }
        let baggage = Baggage::parse(&header).unwrap();
        prop_assert!(baggage.rejected().is_empty(), "{:?}", baggage.rejected());
        let read: Vec<(String, String)> = baggage
            .iter()
            .map(|m| (m.key().to_owned(), m.value().to_owned()))
            .collect();
        prop_assert_eq!(read, expected);
    }

    #[test]
    fn encoding_any_value_stays_within_limits_and_reads_back_or_is_refused(
        values in proptest::collection::vec(value_to_encode(), 0..80),
        padding in 0..8300_usize,
    ) {
        let mut header = format!("pad={}", "p".repeat(padding));
        let mut encoder = BaggageEncoder::new(&mut header);
        let mut pushed = Vec::new();
        for (i, value) in values.iter().enumerate() {
            let before = encoder.as_str().len();
            match encoder.push(&format!("k{i}"), value.as_str()) {
                Ok(()) => pushed.push((format!("k{i}"), value.clone())),
                Err(EncodeError::ControlCharacter) => {
                    prop_assert!(value.chars().any(char::is_control));
                }
                Err(EncodeError::TooLarge | EncodeError::TooManyMembers) => {}
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
            if encoder.as_str().len() == before {
                continue;
            }
            prop_assert!(encoder.as_str().len() <= MAX_BAGGAGE_BYTES.max(padding + 4));
        }
        prop_assert!(encoder.members() <= MAX_BAGGAGE_MEMBERS);
        if header.len() <= MAX_BAGGAGE_BYTES {
            let baggage = Baggage::parse(&header).unwrap();
            for (key, value) in &pushed {
                prop_assert_eq!(baggage.get(key), Some(value.as_str()));
            }
        } else {
            prop_assert!(pushed.is_empty(), "nothing is added past the limit");
        }
    }

    #[test]
    fn any_valid_traceparent_writes_back_identical(
        trace_id in any::<[u8; 16]>(),
        parent_id in any::<[u8; 8]>(),
        sampled in any::<bool>(),
    ) {
        let (Some(trace_id), Some(parent_id)) =
            (TraceId::from_bytes(trace_id), SpanId::from_bytes(parent_id))
        else {
            return Ok(());
        };
        let flags = u8::from(sampled);
        let context = TraceContext::new(trace_id, parent_id, flags);
        let written = context.traceparent();
        let read = TraceContext::parse(written.as_str()).unwrap();
        prop_assert_eq!(&read, &context);
        prop_assert_eq!(read.sampled(), sampled);
    }

    #[test]
    fn a_mutated_traceparent_is_read_exactly_when_it_stays_valid(
        at in 0..60_usize,
        byte in any::<u8>(),
        extra in "(-[a-z0-9]{0,6}){0,2}",
        version in prop_oneof![Just("00".to_owned()), "[0-9a-f]{2}"],
    ) {
        let mut value = format!("{version}{}{extra}", &SAMPLED[2..]).into_bytes();
        if at < value.len() {
            value[at] = byte;
        }
        match TraceContext::parse(&value) {
            Ok(context) => {
                // Independent restatement of the rules, on the value without the spaces
                // and tabs around it. The bytes after the 55th are a later version's
                // fields, which a reader must not look at.
                let ows = |b: &u8| *b == b' ' || *b == b'\t';
                let start = value.iter().position(|b| !ows(b)).unwrap_or(value.len());
                let end = value.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
                let value = &value[start..end];
                let lower_hex = |s: &[u8]| s.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
                prop_assert!(lower_hex(&value[..2]) && &value[..2] != b"ff");
                let length_ok = if &value[..2] == b"00" { value.len() == 55 } else { value.len() >= 55 };
                prop_assert!(length_ok);
                prop_assert!(value.len() == 55 || value[55] == b'-');
                prop_assert!(value[2] == b'-' && value[35] == b'-' && value[52] == b'-');
                prop_assert!(lower_hex(&value[3..35]) && lower_hex(&value[36..52]) && lower_hex(&value[53..55]));
                let text = String::from_utf8_lossy(&value[..55]);
                prop_assert_eq!(context.trace_id().to_string(), &text[3..35]);
                prop_assert_eq!(context.parent_id().to_string(), &text[36..52]);
                let again = TraceContext::parse(context.traceparent().as_str()).unwrap();
                prop_assert_eq!(again.trace_id(), context.trace_id());
            }
            Err(error) => {
                let shown = error.to_string();
                prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
            }
        }
    }

    #[test]
    fn any_tracestate_is_kept_whole_truncated_or_dropped(
        values in proptest::collection::vec("[ -~]{0,300}", 0..4),
    ) {
        let mut context = TraceContext::new_root(true);
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        match context.set_tracestate(refs.iter().copied()) {
            Ok(()) => {
                if let Some(kept) = context.tracestate() {
                    let joined = refs.join(",");
                    let given = trimmed_members(&joined);
                    if joined.len() <= MAX_TRACESTATE_BYTES && given.len() <= MAX_TRACESTATE_MEMBERS {
                        prop_assert_eq!(kept, joined);
                    } else {
                        prop_assert_eq!(kept, truncated(given).join(","));
                    }
                    prop_assert!(kept.len() <= MAX_TRACESTATE_BYTES);
                }
            }
            Err(_) => prop_assert_eq!(context.tracestate(), None),
        }
    }

    #[test]
    fn a_valid_tracestate_is_truncated_by_the_rule(
        lengths in proptest::collection::vec(1..=256_usize, 0..48),
        spaced in any::<bool>(),
    ) {
        // Distinct valid keys, values of the given lengths, some members over 128 bytes.
        let members: Vec<String> = lengths
            .iter()
            .enumerate()
            .map(|(i, &len)| format!("k{i}={}", "v".repeat(len)))
            .collect();
        let joined = members.join(if spaced { " , " } else { "," });
        let mut context = TraceContext::new_root(true);
        context.set_tracestate([joined.as_str()]).unwrap();
        let expected = if joined.len() <= MAX_TRACESTATE_BYTES && members.len() <= MAX_TRACESTATE_MEMBERS {
            joined.clone()
        } else {
            truncated(members.iter().map(String::as_str).collect()).join(",")
        };
        prop_assert_eq!(context.tracestate().unwrap_or_default(), expected);
    }
}

/// The non-empty members of a list, spaces and tabs around them trimmed.
fn trimmed_members(list: &str) -> Vec<&str> {
    list.split(',')
        .map(|m| m.trim_matches([' ', '\t']))
        .filter(|m| !m.is_empty())
        .collect()
}

/// The specification's truncation, step by step: while the list (joined by single
/// commas) is past 512 bytes or 32 members, remove the right-most member longer than 128
/// bytes if it is past 512 bytes and has one, else the last member.
fn truncated(mut members: Vec<&str>) -> Vec<&str> {
    loop {
        let bytes = members
            .iter()
            .map(|m| m.len() + 1)
            .sum::<usize>()
            .saturating_sub(1);
        if bytes <= MAX_TRACESTATE_BYTES && members.len() <= MAX_TRACESTATE_MEMBERS {
            return members;
        }
        match members.iter().rposition(|m| m.len() > 128) {
            Some(long) if bytes > MAX_TRACESTATE_BYTES => members.remove(long),
            _ => members.pop().unwrap_or_default(),
        };
    }
}
