//! The id of a request, and the policy that decides whether an inbound id is kept.

use std::error::Error;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// `x-request-id`, the header most proxies and tracing setups use for the id of a request.
///
/// # Examples
///
/// ```
/// assert_eq!(cls_core::web::X_REQUEST_ID.as_str(), "x-request-id");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one request: the text that appears in logs and in the response header.
///
/// Unlike tower-http's `RequestId`, which wraps any `HeaderValue`, it is always printable
/// text ([`as_str`](RequestId::as_str) cannot fail, [`Display`](fmt::Display) shows it as
/// is) and it is cheap to clone: a generated UUID is held inline (making or cloning one
/// allocates nothing), any other id lives in one allocation that its clones share.
///
/// It holds visible ASCII with inner spaces or tabs, never empty and never starting or
/// ending with whitespace, so that the same text arrives on the other side of an HTTP hop.
///
/// # Examples
///
/// ```
/// use cls_core::web::RequestId;
///
/// let id = RequestId::new("req-42")?;
/// assert_eq!(id.as_str(), "req-42");
/// assert_eq!(id.to_string(), "req-42");
/// assert_eq!(id.header_value(), "req-42");
/// # Ok::<(), cls_core::web::InvalidRequestId>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[derive(Clone)]
pub struct RequestId(Repr);

#[derive(Clone)]
enum Repr {
    /// The text of a generated UUID.
    Uuid([u8; 36]),
    /// Any other id: from text, a literal, or a request header.
    Shared(HeaderValue),
}

impl RequestId {
    /// Makes a request id from text, such as an id read from a message queue or a job name.
    ///
    /// Where [`HeaderValue::from_str`] accepts anything that fits in a header, this also
    /// refuses an empty id and surrounding whitespace, which HTTP parsers strip.
    /// It copies the text once; clones share that copy.
    ///
    /// # Errors
    ///
    /// [`InvalidRequestId`] when `id` is empty, starts or ends with a space or tab, or has a
    /// character a header value cannot carry (a control character, DEL, anything outside
    /// ASCII).
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::{InvalidRequestId, RequestId};
    ///
    /// assert_eq!(RequestId::new("job:nightly-export")?.as_str(), "job:nightly-export");
    /// assert_eq!(RequestId::new(""), Err(InvalidRequestId::Empty));
    /// assert_eq!(
    ///     RequestId::new("a\nb"),
    ///     Err(InvalidRequestId::InvalidChar { found: '\n', index: 1 })
    /// );
    /// # Ok::<(), InvalidRequestId>(())
    /// ```
    pub fn new(id: &str) -> Result<Self, InvalidRequestId> {
        check(id)?;
        Ok(Self::from_checked(id.as_bytes()))
    }

    /// Makes a request id from a string literal, without allocating.
    ///
    /// The `const` counterpart of [`new`](RequestId::new), as
    /// [`HeaderValue::from_static`] is to [`HeaderValue::from_str`]: handy in tests and
    /// fixtures.
    ///
    /// # Panics
    ///
    /// When `id` is not a valid request id (see [`new`](RequestId::new)); in a `const`
    /// context that is a compile error.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::RequestId;
    ///
    /// const FIXTURE_ID: RequestId = RequestId::from_static("req-fixture");
    /// assert_eq!(FIXTURE_ID.as_str(), "req-fixture");
    /// ```
    pub const fn from_static(id: &'static str) -> Self {
        if check(id).is_err() {
            panic!("invalid request id: it must be non-empty visible ASCII, inner spaces allowed");
        }
        Self(Repr::Shared(HeaderValue::from_static(id)))
    }

    /// Copies bytes the caller has already checked (what [`check`] accepts, or an inbound
    /// id that passed a [`Trust`] policy); a bad value panics instead of producing an id that
    /// breaks the guarantees of the type.
    fn from_checked(bytes: &[u8]) -> Self {
        Self(Repr::Shared(checked_header_value(bytes)))
    }

    /// Keeps the text of a generated UUID (hex digits and `-`) inline.
    pub(crate) fn from_uuid_text(text: [u8; 36]) -> Self {
        debug_assert!(text.iter().all(|&b| b.is_ascii_hexdigit() || b == b'-'));
        Self(Repr::Uuid(text))
    }

    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Uuid(text) => text,
            Repr::Shared(value) => value.as_bytes(),
        }
    }

    /// The id as text.
    ///
    /// # Examples
    ///
    /// ```
    /// let id = cls_core::web::RequestId::from_static("req-7");
    /// assert_eq!(id.as_str(), "req-7");
    /// ```
    pub fn as_str(&self) -> &str {
        // Every constructor admits ASCII only, so this never fails; going through the
        // checked conversion keeps the type free of `unsafe` at the price of a scan of at
        // most a few dozen bytes.
        match std::str::from_utf8(self.as_bytes()) {
            Ok(text) => text,
            Err(_) => unreachable!("a request id holds ASCII only"),
        }
    }

    /// The id as a header value, for a response or an outgoing request.
    ///
    /// For a generated UUID, a copy of its 36 bytes into a new allocation; for any other
    /// id, a clone of the value held inside.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::{RequestId, X_REQUEST_ID};
    ///
    /// let id = RequestId::from_static("req-7");
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert(X_REQUEST_ID, id.header_value());
    /// assert_eq!(headers["x-request-id"], "req-7");
    /// ```
    pub fn header_value(&self) -> HeaderValue {
        match &self.0 {
            Repr::Uuid(text) => checked_header_value(text),
            Repr::Shared(value) => value.clone(),
        }
    }
}

/// A header value holding a copy of `bytes`, in one allocation that its clones share.
///
/// `HeaderValue::from_bytes` copies into a `Vec`, and the first clone of a value made that
/// way allocates again (to make the buffer shareable): an id that goes both on the request
/// and on the response would cost two allocations. Ids of up to [`Trust::MAX_LEN`] bytes,
/// every generated one and every inbound one a policy keeps, are copied into a buffer of
/// fixed size instead, whose clones are a reference count from the start.
fn checked_header_value(bytes: &[u8]) -> HeaderValue {
    let shared = match bytes.len() {
        ..=40 => Bytes::from_owner(IdBytes::<40>::copy(bytes)),
        41..=Trust::MAX_LEN => Bytes::from_owner(IdBytes::<{ Trust::MAX_LEN }>::copy(bytes)),
        _ => Bytes::copy_from_slice(bytes),
    };
    match HeaderValue::from_maybe_shared(shared) {
        Ok(value) => value,
        Err(_) => unreachable!("a checked request id is a valid header value"),
    }
}

/// The bytes of an id of at most `N` bytes, inline: the owner of a shared [`Bytes`].
struct IdBytes<const N: usize> {
    len: usize,
    bytes: [u8; N],
}

impl<const N: usize> IdBytes<N> {
    /// A copy of `bytes`, which the caller has checked to be at most `N` bytes long.
    fn copy(bytes: &[u8]) -> Self {
        let mut inline = [0; N];
        inline[..bytes.len()].copy_from_slice(bytes);
        Self {
            len: bytes.len(),
            bytes: inline,
        }
    }
}

impl<const N: usize> AsRef<[u8]> for IdBytes<N> {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Checks what [`RequestId`] promises: non-empty, a header value's visible ASCII plus inner
/// spaces and tabs, no surrounding whitespace.
const fn check(id: &str) -> Result<(), InvalidRequestId> {
    let bytes = id.as_bytes();
    if bytes.is_empty() {
        return Err(InvalidRequestId::Empty);
    }
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let allowed = matches!(byte, b'\t' | b' '..=b'~');
        if !allowed {
            return Err(InvalidRequestId::InvalidChar {
                found: char_at(id, index),
                index,
            });
        }
        index += 1;
    }
    if is_blank(bytes[0]) || is_blank(bytes[bytes.len() - 1]) {
        return Err(InvalidRequestId::SurroundingWhitespace);
    }
    Ok(())
}

const fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// The character that starts at byte `index` of `text` (a char boundary: every byte before
/// it was ASCII).
const fn char_at(text: &str, index: usize) -> char {
    let bytes = text.as_bytes();
    let lead = bytes[index] as u32;
    let (mut code, len) = match lead {
        0x00..=0x7f => return char_from(lead),
        0xc0..=0xdf => (lead & 0x1f, 2),
        0xe0..=0xef => (lead & 0x0f, 3),
        _ => (lead & 0x07, 4),
    };
    let mut next = 1;
    while next < len {
        code = (code << 6) | (bytes[index + next] as u32 & 0x3f);
        next += 1;
    }
    char_from(code)
}

const fn char_from(code: u32) -> char {
    match char::from_u32(code) {
        Some(c) => c,
        None => char::REPLACEMENT_CHARACTER,
    }
}

impl PartialEq for RequestId {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for RequestId {}

// By hand, over the bytes alone: `HeaderValue`'s derived `Hash` also hashes its
// "sensitive" flag, which its `PartialEq` ignores.
impl Hash for RequestId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestId {
    type Err = InvalidRequestId;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        Self::new(id)
    }
}

/// Why text is not a valid [`RequestId`]; returned by [`RequestId::new`].
///
/// Like `http`'s `InvalidHeaderValue` it never repeats the input, but it says which rule
/// was broken, and where. New kinds may be added, so match with a `_` arm.
///
/// # Examples
///
/// ```
/// use cls_core::web::{InvalidRequestId, RequestId};
///
/// let err = RequestId::new("caf\u{e9}").unwrap_err();
/// assert_eq!(err, InvalidRequestId::InvalidChar { found: '\u{e9}', index: 3 });
/// assert_eq!(
///     err.to_string(),
///     "invalid request id: character '\\u{e9}' at byte 3 cannot appear in a header value; \
///      use visible ASCII, with spaces or tabs only between other characters"
/// );
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidRequestId {
    /// The id is empty.
    Empty,
    /// The id has a character that a header value cannot carry: a control character other
    /// than tab, DEL, or anything outside ASCII.
    InvalidChar {
        /// The first such character.
        found: char,
        /// Its byte offset in the id.
        index: usize,
    },
    /// The id starts or ends with a space or tab, which HTTP parsers strip.
    SurroundingWhitespace,
}

impl fmt::Display for InvalidRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("invalid request id: it is empty"),
            Self::InvalidChar { found, index } => write!(
                f,
                "invalid request id: character '{}' at byte {index} cannot appear in a \
                 header value; use visible ASCII, with spaces or tabs only between other \
                 characters",
                found.escape_default()
            ),
            Self::SurroundingWhitespace => f.write_str(
                "invalid request id: it starts or ends with whitespace, which HTTP parsers strip",
            ),
        }
    }
}

impl Error for InvalidRequestId {}

/// Whether an id that arrives in a request header is kept, or a new one generated.
///
/// tower-http's `SetRequestIdLayer` keeps any inbound value verbatim, however long and
/// whatever it holds; here the default keeps only ids that are safe to log and to echo.
/// Whatever the policy, a header that appears more than once is never trusted (which copy
/// is the real one cannot be told), no accepted id is longer than
/// [`MAX_LEN`](Trust::MAX_LEN) bytes, and an accepted id is copied out of the request, so
/// it never keeps the connection's read buffer alive.
///
/// # Examples
///
/// ```
/// use cls_core::web::{Trust, X_REQUEST_ID};
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(X_REQUEST_ID, HeaderValue::from_static("abc-123"));
/// let kept = Trust::IfValid.accept(&headers, &X_REQUEST_ID);
/// assert_eq!(kept.as_ref().map(|id| id.as_str()), Some("abc-123"));
///
/// headers.insert(X_REQUEST_ID, HeaderValue::from_static("abc 123; drop table"));
/// assert_eq!(Trust::IfValid.accept(&headers, &X_REQUEST_ID), None);
/// assert!(Trust::Always.accept(&headers, &X_REQUEST_ID).is_none()); // spaces
/// assert_eq!(Trust::Never.accept(&headers, &X_REQUEST_ID), None);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Trust {
    /// Keep an inbound id of 1 to [`MAX_LEN`](Trust::MAX_LEN) characters of
    /// `[A-Za-z0-9._:-]`: every UUID, ULID, W3C trace id and the ids of the common
    /// proxies and load balancers fit. Anything else gets a new id.
    #[default]
    IfValid,
    /// Always generate a new id: for a service that faces clients it does not trust at
    /// all.
    Never,
    /// Keep any inbound id of visible ASCII (no spaces), up to
    /// [`MAX_LEN`](Trust::MAX_LEN) bytes: for a service behind a gateway that sets ids in a
    /// format of its own.
    Always,
}

impl Trust {
    /// The longest inbound id any policy keeps, in bytes.
    pub const MAX_LEN: usize = 128;

    /// The inbound id this policy keeps from `headers`, or `None` when a new one should be
    /// generated.
    ///
    /// Never panics, whatever the headers hold: non-UTF-8 bytes, obs-text, kilobytes of
    /// value, repeated headers.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::web::{Trust, X_REQUEST_ID};
    /// use http::{HeaderMap, HeaderValue};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.append(X_REQUEST_ID, HeaderValue::from_static("first"));
    /// headers.append(X_REQUEST_ID, HeaderValue::from_static("second"));
    /// // Two copies of the header: neither is trusted.
    /// assert_eq!(Trust::Always.accept(&headers, &X_REQUEST_ID), None);
    /// ```
    pub fn accept(self, headers: &HeaderMap, name: &HeaderName) -> Option<RequestId> {
        let allowed: fn(u8) -> bool = match self {
            Self::Never => return None,
            Self::IfValid => {
                |b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-')
            }
            Self::Always => |b| b.is_ascii_graphic(),
        };
        let mut values = headers.get_all(name).iter();
        let value = values.next()?;
        if values.next().is_some() {
            return None;
        }
        let bytes = value.as_bytes();
        if bytes.is_empty() || bytes.len() > Self::MAX_LEN || !bytes.iter().all(|&b| allowed(b)) {
            return None;
        }
        // A copy: sharing the header's bytes would keep the whole buffer the request was
        // read into alive for as long as the id lives (in a spawned task, a log record).
        Some(RequestId::from_checked(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_rule_and_escape_the_input() {
        let cases = [
            ("", "invalid request id: it is empty"),
            (
                " a",
                "invalid request id: it starts or ends with whitespace",
            ),
            (
                "a\t",
                "invalid request id: it starts or ends with whitespace",
            ),
            ("a\u{1b}[31m", "character '\\u{1b}' at byte 1"),
            ("a\r\nSet-Cookie: x", "character '\\r' at byte 1"),
            ("ok\u{7f}", "character '\\u{7f}' at byte 2"),
            ("id-\u{1F600}", "character '\\u{1f600}' at byte 3"),
        ];
        for (input, expected) in cases {
            let message = RequestId::new(input).unwrap_err().to_string();
            assert!(message.contains(expected), "{input:?}: {message}");
            assert!(message.is_ascii() && !message.contains(['\r', '\n', '\u{1b}']));
        }
    }

    #[test]
    fn inner_spaces_and_tabs_are_allowed_by_new() {
        let id = RequestId::new("a b\tc").unwrap();
        assert_eq!(id.as_str(), "a b\tc");
        assert_eq!(id.header_value(), "a b\tc");
    }

    #[test]
    fn a_uuid_is_inline_and_equals_the_same_text_from_anywhere() {
        let text = *b"0f8fad5b-d9cb-469f-a165-70867728950e";
        let inline = RequestId::from_uuid_text(text);
        let shared = RequestId::new("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap();
        assert!(matches!(inline.0, Repr::Uuid(_)));
        assert_eq!(inline, shared);
        assert_eq!(inline.header_value(), shared.header_value());
        assert_eq!(inline.clone().as_str(), shared.as_str());
    }

    #[test]
    fn clones_share_the_bytes() {
        let id = RequestId::new("shared").unwrap();
        let copy = id.clone();
        assert_eq!(id.as_str().as_ptr(), copy.as_str().as_ptr());
        assert_eq!(id.header_value().as_bytes().as_ptr(), id.as_str().as_ptr());
    }

    #[test]
    fn equal_ids_hash_alike_whatever_their_origin() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |id: &RequestId| {
            let mut hasher = DefaultHasher::new();
            id.hash(&mut hasher);
            hasher.finish()
        };
        let a = RequestId::from_static("abc");
        let b: RequestId = "abc".parse().unwrap();
        let mut headers = HeaderMap::new();
        let mut sensitive = HeaderValue::from_static("abc");
        sensitive.set_sensitive(true);
        headers.insert(X_REQUEST_ID, sensitive);
        let c = Trust::IfValid.accept(&headers, &X_REQUEST_ID).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(hash(&a), hash(&b));
        assert_eq!(hash(&a), hash(&c));
        assert_eq!(format!("{a:?}"), "RequestId(\"abc\")");
    }

    #[test]
    #[should_panic(expected = "invalid request id")]
    fn from_static_panics_on_an_invalid_id() {
        let _ = RequestId::from_static("two\nlines");
    }

    fn one(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    fn kept(trust: Trust, headers: &HeaderMap) -> Option<String> {
        trust
            .accept(headers, &X_REQUEST_ID)
            .map(|id| id.as_str().to_owned())
    }

    #[test]
    fn common_id_formats_are_kept() {
        let plain = [
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "a",
            "req.1_2:3",
        ];
        for id in plain {
            assert_eq!(
                kept(Trust::IfValid, &one(id.as_bytes())),
                Some(id.to_owned())
            );
            assert_eq!(
                kept(Trust::Always, &one(id.as_bytes())),
                Some(id.to_owned())
            );
        }
        // An AWS load balancer's trace id has `=`: kept only by `Always`.
        let aws = "Root=1-67891233-abcdef012345678912345678";
        assert_eq!(kept(Trust::IfValid, &one(aws.as_bytes())), None);
        assert_eq!(
            kept(Trust::Always, &one(aws.as_bytes())),
            Some(aws.to_owned())
        );
    }

    #[test]
    fn hostile_values_are_replaced() {
        let long = "a".repeat(Trust::MAX_LEN + 1);
        let for_if_valid: [&[u8]; 9] = [
            b"",
            b"a b",
            b"\"quoted\"",
            b"k=v",
            b"caf\xc3\xa9",
            b"\xff\xfe",
            b"obs\x80text",
            b"tab\there",
            long.as_bytes(),
        ];
        for value in for_if_valid {
            assert_eq!(kept(Trust::IfValid, &one(value)), None, "{value:?}");
        }
        // `Always` takes quotes and `=`, nothing without a visible glyph or beyond ASCII.
        assert_eq!(
            kept(Trust::Always, &one(b"\"k=v\"")),
            Some("\"k=v\"".to_owned())
        );
        let for_always: [&[u8]; 6] = [
            b"",
            b"a b",
            b"caf\xc3\xa9",
            b"\xff",
            b"tab\there",
            long.as_bytes(),
        ];
        for value in for_always {
            assert_eq!(kept(Trust::Always, &one(value)), None, "{value:?}");
        }
    }

    #[test]
    fn the_limit_is_inclusive() {
        let at_limit = "a".repeat(Trust::MAX_LEN);
        let headers = one(at_limit.as_bytes());
        assert_eq!(kept(Trust::IfValid, &headers), Some(at_limit));
    }

    #[test]
    fn never_ignores_even_a_valid_id_and_absence_is_none() {
        assert_eq!(kept(Trust::Never, &one(b"abc")), None);
        assert_eq!(kept(Trust::IfValid, &HeaderMap::new()), None);
        assert_eq!(Trust::default(), Trust::IfValid);
    }

    #[test]
    fn other_headers_are_not_consulted() {
        let mut headers = HeaderMap::new();
        headers.insert("x-correlation-id", HeaderValue::from_static("abc"));
        assert_eq!(kept(Trust::Always, &headers), None);
        let name = HeaderName::from_static("x-correlation-id");
        assert_eq!(
            Trust::IfValid
                .accept(&headers, &name)
                .map(|id| id.to_string()),
            Some("abc".to_owned())
        );
    }

    #[test]
    fn an_accepted_id_does_not_share_the_request_buffer() {
        let headers = one(b"abc");
        let id = Trust::IfValid.accept(&headers, &X_REQUEST_ID).unwrap();
        assert_ne!(
            id.as_str().as_ptr(),
            headers[&X_REQUEST_ID].as_bytes().as_ptr()
        );
    }

    /// Hostile inbound headers: whatever bytes arrive, in whatever number of copies, no
    /// policy panics, none keeps an id it should refuse, and none refuses one it should
    /// keep.
    mod hostile {
        use proptest::collection::vec;
        use proptest::prelude::*;

        use super::*;

        const ID_CHARS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";

        fn if_valid_char(b: u8) -> bool {
            ID_CHARS.contains(&b)
        }

        /// Values a `HeaderMap` can hold (hyper refuses CR, LF and NUL before any
        /// middleware runs; `http` refuses the other controls but tab, and DEL).
        fn storable(bytes: Vec<u8>) -> Vec<u8> {
            bytes
                .into_iter()
                .map(|b| {
                    if b < 0x20 && b != b'\t' || b == 0x7f {
                        b'~'
                    } else {
                        b
                    }
                })
                .collect()
        }

        /// Mostly near-misses: id characters mixed with a few hostile bytes, at lengths
        /// around the limit; also anything at all, up to 8 KiB.
        fn value() -> impl Strategy<Value = Vec<u8>> {
            let near_miss = prop_oneof![
                8 => proptest::sample::select(ID_CHARS.to_vec()),
                1 => any::<u8>(),
                1 => proptest::sample::select(b" \t\"=;,\\\x80\xc3\xa9\xff".to_vec()),
            ];
            prop_oneof![
                3 => vec(near_miss, 0..=140),
                1 => vec(proptest::sample::select(ID_CHARS.to_vec()), 120..=136),
                1 => vec(any::<u8>(), 0..=8192),
            ]
            .prop_map(storable)
        }

        fn headers(values: &[Vec<u8>]) -> HeaderMap {
            let mut headers = HeaderMap::new();
            headers.insert("x-other", HeaderValue::from_static("noise"));
            for value in values {
                headers.append(X_REQUEST_ID, HeaderValue::from_bytes(value).unwrap());
            }
            headers
        }

        fn expected(trust: Trust, values: &[Vec<u8>]) -> Option<&[u8]> {
            let [value] = values else { return None };
            let allowed: fn(u8) -> bool = match trust {
                Trust::Never => return None,
                Trust::IfValid => if_valid_char,
                Trust::Always => |b| (0x21..=0x7e).contains(&b),
            };
            let fits = (1..=128).contains(&value.len()) && value.iter().all(|&b| allowed(b));
            fits.then_some(value.as_slice())
        }

        proptest! {
            #[test]
            fn policies_keep_exactly_the_ids_they_promise(values in vec(value(), 0..=3)) {
                let headers = headers(&values);
                for trust in [Trust::IfValid, Trust::Always, Trust::Never] {
                    let kept = trust.accept(&headers, &X_REQUEST_ID);
                    let kept_bytes = kept.as_ref().map(|id| id.as_str().as_bytes());
                    prop_assert_eq!(kept_bytes, expected(trust, &values), "{:?}", trust);
                    if let Some(id) = kept {
                        prop_assert!((1..=Trust::MAX_LEN).contains(&id.as_str().len()));
                        if trust == Trust::IfValid {
                            prop_assert!(id.as_str().bytes().all(if_valid_char));
                        }
                        prop_assert_eq!(&id.to_string(), id.as_str());
                        let value = id.header_value();
                        prop_assert_eq!(value.as_bytes(), id.as_str().as_bytes());
                        prop_assert_eq!(RequestId::new(id.as_str()), Ok(id.clone()));
                    }
                }
            }

            #[test]
            fn new_accepts_exactly_printable_ascii_without_surrounding_blanks(
                text in prop_oneof![any::<String>(), "[\t -~]{0,40}", "[ -~]{0,40}[\u{0}-\u{ff}][ -~]{0,4}"],
            ) {
                let bytes = text.as_bytes();
                let valid = !bytes.is_empty()
                    && bytes.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
                    && !matches!(bytes[0], b' ' | b'\t')
                    && !matches!(bytes[bytes.len() - 1], b' ' | b'\t');
                match RequestId::new(&text) {
                    Ok(id) => {
                        prop_assert!(valid);
                        prop_assert_eq!(id.as_str(), text.as_str());
                    }
                    Err(err) => {
                        prop_assert!(!valid);
                        let message = err.to_string();
                        prop_assert!(message.bytes().all(|b| (0x20..0x7f).contains(&b)), "{}", message);
                        if let InvalidRequestId::InvalidChar { found, index } = err {
                            prop_assert_eq!(text[index..].chars().next(), Some(found));
                        }
                    }
                }
            }
        }

        #[test]
        fn eight_kib_of_id_characters_is_refused() {
            let value = vec![b'a'; 8 * 1024];
            let headers = headers(&[value]);
            assert_eq!(Trust::IfValid.accept(&headers, &X_REQUEST_ID), None);
            assert_eq!(Trust::Always.accept(&headers, &X_REQUEST_ID), None);
        }

        #[test]
        fn duplicates_are_refused_even_when_identical() {
            let headers = headers(&[b"abc".to_vec(), b"abc".to_vec()]);
            assert_eq!(Trust::IfValid.accept(&headers, &X_REQUEST_ID), None);
            assert_eq!(Trust::Always.accept(&headers, &X_REQUEST_ID), None);
        }
    }
}
