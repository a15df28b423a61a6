//! Reading the `baggage` header: [`Baggage`], its members, and what was dropped and why.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::ops::Range;

use super::chars::{hex_value, is_baggage_octet, is_ows, is_token_byte, trim_ows, Escaped};

/// The most bytes a `baggage` value (all headers combined) may have: 8,192, the size the
/// W3C Baggage specification requires every platform to propagate.
///
/// Several headers count as one value joined with `,`: their lengths plus one byte per
/// extra header. Reading refuses a larger value as a whole ([`BaggageError::TooLarge`]);
/// [`BaggageEncoder`](super::BaggageEncoder) never writes past it.
pub const MAX_BAGGAGE_BYTES: usize = 8192;

/// The most list members a `baggage` value may have: 64, the count the W3C Baggage
/// specification requires every platform to propagate.
///
/// Every non-empty list member counts, valid or not. Reading refuses a value with more as
/// a whole ([`BaggageError::TooManyMembers`]);
/// [`BaggageEncoder`](super::BaggageEncoder) never adds a 65th.
pub const MAX_BAGGAGE_MEMBERS: usize = 64;

/// The members of one or more `baggage` header values, borrowed from them: the valid ones
/// with their values percent-decoded, and the rejected ones with the reason.
///
/// Unlike opentelemetry's `Baggage`, which owns a map of strings, this is a read-only view
/// built without copying: a value is decoded into a new `String` only when it contains a
/// `%` escape, and one `Vec` holds the members.
///
/// What [`parse`](Self::parse) accepts, per the W3C Baggage specification
/// (<https://www.w3.org/TR/baggage/>):
///
/// - list members `key=value;properties`, separated by `,`; empty members are skipped;
/// - spaces and tabs around `=`, `,` and `;`;
/// - a key is an RFC 7230 token (letters, digits, ``!#$%&'*+-.^_`|~``), taken as is;
/// - a value is made of `baggage-octet`s (visible ASCII except `"`, `,`, `;`, `\`) and
///   may contain `=`: a member is split at its first `=`;
/// - `%XX` escapes (either case) are decoded, and the result must be UTF-8;
/// - properties after the first `;` are ignored.
///
/// A member that breaks these rules is dropped, alone, and listed in
/// [`rejected`](Self::rejected). So is a member whose decoded value contains a control
/// character (`%0A` is a newline: a value that reaches a log line must not split it), and
/// one whose decoded value is not UTF-8 (the specification asks for U+FFFD replacement
/// characters instead; a silently altered value would then be parsed into a typed field,
/// so this reader drops it). A key that appears twice keeps its first valid value; the
/// later ones are rejected as [`MemberErrorKind::DuplicateKey`].
///
/// Past the limits, [`MAX_BAGGAGE_BYTES`] and [`MAX_BAGGAGE_MEMBERS`], nothing is used:
/// the whole header is refused, so a peer cannot make a service act on a truncated list.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::Baggage;
///
/// let baggage = Baggage::parse("userId=alice, serverNode = DF%2028;region=eu, isProduction=false")?;
/// assert_eq!(baggage.get("userId"), Some("alice"));
/// assert_eq!(baggage.get("serverNode"), Some("DF 28"));
/// assert_eq!(baggage.len(), 3);
/// assert!(baggage.rejected().is_empty());
/// # Ok::<(), cls_core::w3c::BaggageError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baggage<'a> {
    members: Vec<BaggageMember<'a>>,
    rejected: Vec<RejectedMember<'a>>,
}

impl<'a> Baggage<'a> {
    /// Reads one `baggage` header value: a `&str`, a `&[u8]` or an `http::HeaderValue`.
    ///
    /// The same as [`parse_all`](Self::parse_all) with one value.
    ///
    /// # Errors
    ///
    /// [`BaggageError::TooLarge`] past [`MAX_BAGGAGE_BYTES`],
    /// [`BaggageError::TooManyMembers`] past [`MAX_BAGGAGE_MEMBERS`]. An invalid member is
    /// not an error: it is dropped and listed in [`rejected`](Self::rejected).
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::{Baggage, MemberErrorKind};
    ///
    /// let baggage = Baggage::parse("tenant=acme,tenant=evil,user.id=%ZZ")?;
    /// assert_eq!(baggage.get("tenant"), Some("acme"));
    /// assert_eq!(baggage.get("user.id"), None);
    /// let reasons: Vec<_> = baggage.rejected().iter().map(|r| r.reason()).collect();
    /// assert_eq!(
    ///     reasons,
    ///     [MemberErrorKind::DuplicateKey, MemberErrorKind::InvalidPercentEscape { at: 8 }],
    /// );
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn parse<T>(value: &'a T) -> Result<Self, BaggageError>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        Self::parse_all(std::iter::once(value))
    }

    /// Reads several `baggage` header values as one list, as RFC 7230 combines repeated
    /// header fields: pass `headers.get_all("baggage")` to read every one of them.
    ///
    /// Unlike opentelemetry-rust's `BaggagePropagator`, which reads only the first header,
    /// every member of every value is seen. The limits apply to the combination.
    ///
    /// # Errors
    ///
    /// [`BaggageError::TooLarge`] when the values, joined with `,`, exceed
    /// [`MAX_BAGGAGE_BYTES`]; else [`BaggageError::TooManyMembers`] when they hold more than
    /// [`MAX_BAGGAGE_MEMBERS`] non-empty list members.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::Baggage;
    ///
    /// // With `http`: `Baggage::parse_all(request.headers().get_all("baggage"))`.
    /// let headers = ["userId=alice", "serverNode=DF%2028,isProduction=false"];
    /// let baggage = Baggage::parse_all(headers)?;
    /// let keys: Vec<_> = baggage.iter().map(|m| m.key()).collect();
    /// assert_eq!(keys, ["userId", "serverNode", "isProduction"]);
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn parse_all<I, T>(values: I) -> Result<Self, BaggageError>
    where
        I: IntoIterator<Item = &'a T>,
        T: AsRef<[u8]> + ?Sized + 'a,
    {
        let mut baggage = Baggage::default();
        let mut bytes = 0_usize;
        let mut count = 0_usize;
        let mut values = values.into_iter();
        let mut first = true;
        while let Some(value) = values.next() {
            let value = value.as_ref();
            bytes += value.len() + usize::from(!first);
            first = false;
            if bytes > MAX_BAGGAGE_BYTES {
                // Only lengths from here on: the report is exact, the work bounded.
                let bytes = values.fold(bytes, |sum, v| sum + v.as_ref().len() + 1);
                return Err(BaggageError::TooLarge { bytes });
            }
            let source = Source {
                bytes: value,
                // A header value is visible ASCII nearly always: checked once here, keys
                // and values are then sliced from it without another check.
                text: std::str::from_utf8(value).ok(),
            };
            let mut start = 0;
            while start <= value.len() {
                let end = value[start..]
                    .iter()
                    .position(|&b| b == b',')
                    .map_or(value.len(), |comma| start + comma);
                let member = trim_range(value, start, end);
                start = end + 1;
                if member.is_empty() {
                    continue;
                }
                count += 1;
                if count > MAX_BAGGAGE_MEMBERS {
                    let rest = value.get(start..).unwrap_or_default();
                    return Err(too_many(count + count_members(rest), bytes, values));
                }
                baggage.add(count - 1, source, member);
            }
        }
        Ok(baggage)
    }

    fn add(&mut self, index: usize, source: Source<'a>, member: Range<usize>) {
        let reason = match parse_member(source, member.clone()) {
            Ok(member) => {
                if self.get(member.key).is_none() {
                    self.members.push(member);
                    return;
                }
                MemberErrorKind::DuplicateKey
            }
            Err(reason) => reason,
        };
        self.rejected.push(RejectedMember {
            index,
            raw: &source.bytes[member],
            reason,
        });
    }

    /// The decoded value of the first valid member with this key (keys are
    /// case-sensitive).
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::Baggage;
    ///
    /// let baggage = Baggage::parse("expr=a%3Db=c, note=caf%C3%A9")?;
    /// assert_eq!(baggage.get("expr"), Some("a=b=c"));
    /// assert_eq!(baggage.get("note"), Some("café"));
    /// assert_eq!(baggage.get("Note"), None);
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn get(&self, key: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.key == key)
            .map(BaggageMember::value)
    }

    /// The valid members, in the order they came, each key once.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::Baggage;
    ///
    /// let baggage = Baggage::parse("a=1,b=2")?;
    /// let pairs: Vec<_> = baggage.iter().map(|m| (m.key(), m.value())).collect();
    /// assert_eq!(pairs, [("a", "1"), ("b", "2")]);
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, BaggageMember<'a>> {
        self.members.iter()
    }

    /// The valid members as a slice, in the order they came.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::Baggage;
    ///
    /// let baggage = Baggage::parse("a=1,b=2")?;
    /// assert_eq!(baggage.members()[1].key(), "b");
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn members(&self) -> &[BaggageMember<'a>] {
        &self.members
    }

    /// The members that were dropped, in order, each with the reason: for a debug log.
    ///
    /// Their [`Display`](fmt::Display) shows the member escaped and cut short, so
    /// logging it cannot forge a line.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::Baggage;
    ///
    /// let baggage = Baggage::parse("ok=1, bad=%0A")?;
    /// assert_eq!(
    ///     baggage.rejected()[0].to_string(),
    ///     r#"baggage member 1 "bad=%0A" dropped: the decoded value contains a control character"#,
    /// );
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn rejected(&self) -> &[RejectedMember<'a>] {
        &self.rejected
    }

    /// The number of valid members.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::Baggage;
    ///
    /// assert_eq!(Baggage::parse("a=1, ,b=2")?.len(), 2);
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether no member is valid (an empty header, or only rejected members).
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::Baggage;
    ///
    /// assert!(Baggage::parse("")?.is_empty());
    /// assert!(Baggage::parse("novalue")?.is_empty());
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl<'b, 'a> IntoIterator for &'b Baggage<'a> {
    type Item = &'b BaggageMember<'a>;
    type IntoIter = std::slice::Iter<'b, BaggageMember<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The error past the member limit: counts the members of the values left, as long as
/// the byte limit holds (so the work stays bounded by it).
fn too_many<'a, I, T>(mut members: usize, mut bytes: usize, mut rest: I) -> BaggageError
where
    I: Iterator<Item = &'a T>,
    T: AsRef<[u8]> + ?Sized + 'a,
{
    while let Some(v) = rest.next() {
        let v = v.as_ref();
        bytes += v.len() + 1;
        if bytes > MAX_BAGGAGE_BYTES {
            let bytes = rest.fold(bytes, |sum, v| sum + v.as_ref().len() + 1);
            return BaggageError::TooLarge { bytes };
        }
        members += count_members(v);
    }
    BaggageError::TooManyMembers { members }
}

fn count_members(value: &[u8]) -> usize {
    value
        .split(|&b| b == b',')
        .filter(|m| !trim_ows(m).is_empty())
        .count()
}

/// One header value: its bytes, and the same as text when it is UTF-8.
#[derive(Clone, Copy)]
struct Source<'a> {
    bytes: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> Source<'a> {
    /// The text of a range that holds ASCII only (so its ends are char boundaries).
    fn str(self, range: Range<usize>) -> Option<&'a str> {
        match self.text {
            Some(text) => text.get(range),
            None => std::str::from_utf8(self.bytes.get(range)?).ok(),
        }
    }
}

/// `start..end` of `bytes` without the OWS at either end.
fn trim_range(bytes: &[u8], mut start: usize, mut end: usize) -> Range<usize> {
    while start < end && is_ows(bytes[start]) {
        start += 1;
    }
    while end > start && is_ows(bytes[end - 1]) {
        end -= 1;
    }
    start..end
}

/// Checks one member (OWS already trimmed around it) in a single pass, and returns its
/// key and decoded value.
fn parse_member(
    source: Source<'_>,
    member: Range<usize>,
) -> Result<BaggageMember<'_>, MemberErrorKind> {
    let raw = &source.bytes[member.clone()];
    let n = raw.len();
    let mut i = 0;
    while i < n && is_token_byte(raw[i]) {
        i += 1;
    }
    let key_end = i;
    while i < n && is_ows(raw[i]) {
        i += 1;
    }
    match raw.get(i) {
        None | Some(b';') => return Err(MemberErrorKind::MissingEquals),
        Some(b'=') if key_end == 0 => return Err(MemberErrorKind::EmptyKey),
        Some(b'=') => {}
        // A byte that is neither a token's nor `=`: the first one after the key.
        Some(_) => return Err(MemberErrorKind::InvalidKeyByte { at: key_end }),
    }
    i += 1;
    while i < n && is_ows(raw[i]) {
        i += 1;
    }
    let value_start = i;
    let mut value_end = i;
    let mut escaped = false;
    while i < n {
        let b = raw[i];
        if is_baggage_octet(b) {
            if value_end < i {
                // Whitespace inside the value, not around it.
                return Err(MemberErrorKind::InvalidValueByte { at: value_end });
            }
            escaped |= b == b'%';
            value_end = i + 1;
        } else if b == b';' {
            break;
        } else if !is_ows(b) {
            return Err(MemberErrorKind::InvalidValueByte { at: i });
        }
        i += 1;
    }
    let at = member.start;
    // Both ranges hold ASCII only, so these lookups cannot fail.
    let key = source
        .str(at..at + key_end)
        .ok_or(MemberErrorKind::InvalidKeyByte { at: 0 })?;
    let value = source
        .str(at + value_start..at + value_end)
        .ok_or(MemberErrorKind::InvalidValueByte { at: value_start })?;
    let value = if escaped {
        Cow::Owned(percent_decode(value.as_bytes(), value_start)?)
    } else {
        Cow::Borrowed(value)
    };
    Ok(BaggageMember { key, value })
}

/// Decodes `%XX` escapes; `offset` is where `value` starts in its member, for errors.
fn percent_decode(value: &[u8], offset: usize) -> Result<String, MemberErrorKind> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b == b'%' {
            let digits = (value.get(i + 1).copied().and_then(hex_value))
                .zip(value.get(i + 2).copied().and_then(hex_value));
            let Some((high, low)) = digits else {
                return Err(MemberErrorKind::InvalidPercentEscape { at: offset + i });
            };
            bytes.push(high << 4 | low);
            i += 3;
        } else {
            bytes.push(b);
            i += 1;
        }
    }
    let text = String::from_utf8(bytes).map_err(|_| MemberErrorKind::InvalidUtf8)?;
    if text.chars().any(char::is_control) {
        return Err(MemberErrorKind::ControlCharacter);
    }
    Ok(text)
}

/// One valid `key=value` member of a [`Baggage`], its value decoded.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::Baggage;
///
/// let baggage = Baggage::parse("note = two%20words ;ttl=5")?;
/// let member = &baggage.members()[0];
/// assert_eq!((member.key(), member.value()), ("note", "two words"));
/// # Ok::<(), cls_core::w3c::BaggageError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaggageMember<'a> {
    key: &'a str,
    value: Cow<'a, str>,
}

impl<'a> BaggageMember<'a> {
    /// The key, as sent (keys are not percent-encoded).
    ///
    /// # Examples
    ///
    /// ```
    /// let baggage = cls_core::w3c::Baggage::parse("user.id=7")?;
    /// assert_eq!(baggage.members()[0].key(), "user.id");
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// The value, percent-decoded: UTF-8 without control characters, possibly empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let baggage = cls_core::w3c::Baggage::parse("k=100%25")?;
    /// assert_eq!(baggage.members()[0].value(), "100%");
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The value, borrowed from the header when it had no escape, else decoded into a
    /// `String`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::borrow::Cow;
    ///
    /// let baggage = cls_core::w3c::Baggage::parse("a=plain,b=two%20words")?;
    /// let values: Vec<_> = baggage.iter().map(|m| m.clone().into_value()).collect();
    /// assert!(matches!(values[0], Cow::Borrowed("plain")));
    /// assert!(matches!(&values[1], Cow::Owned(v) if v == "two words"));
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn into_value(self) -> Cow<'a, str> {
        self.value
    }
}

/// A list member of a `baggage` header that [`Baggage`] dropped, with the reason.
///
/// Its [`Display`](fmt::Display) is made for a debug log: the member's position, its text
/// escaped (no raw control character, quote or non-ASCII byte) and cut after 48 bytes,
/// and the reason.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::{Baggage, MemberErrorKind};
///
/// let baggage = Baggage::parse("a=1,b=%FF")?;
/// let rejected = &baggage.rejected()[0];
/// assert_eq!(rejected.index(), 1);
/// assert_eq!(rejected.raw(), b"b=%FF");
/// assert_eq!(rejected.reason(), MemberErrorKind::InvalidUtf8);
/// # Ok::<(), cls_core::w3c::BaggageError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RejectedMember<'a> {
    index: usize,
    raw: &'a [u8],
    reason: MemberErrorKind,
}

impl<'a> RejectedMember<'a> {
    /// The position of the member among the non-empty list members of all headers, from 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let baggage = cls_core::w3c::Baggage::parse("a=1,,b")?;
    /// assert_eq!(baggage.rejected()[0].index(), 1);
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// The member as received, surrounding whitespace trimmed: hostile input, to be
    /// escaped before it is shown anywhere.
    ///
    /// # Examples
    ///
    /// ```
    /// let baggage = cls_core::w3c::Baggage::parse(" a b=1 ")?;
    /// assert_eq!(baggage.rejected()[0].raw(), b"a b=1");
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Why the member was dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::{Baggage, MemberErrorKind};
    ///
    /// let baggage = Baggage::parse("a b=1")?;
    /// assert_eq!(baggage.rejected()[0].reason(), MemberErrorKind::InvalidKeyByte { at: 1 });
    /// # Ok::<(), cls_core::w3c::BaggageError>(())
    /// ```
    pub fn reason(&self) -> MemberErrorKind {
        self.reason
    }
}

impl fmt::Display for RejectedMember<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "baggage member {} {} dropped: {}",
            self.index,
            Escaped(self.raw),
            self.reason
        )
    }
}

/// Why a `baggage` list member was dropped. Positions (`at`) are byte offsets in the
/// member as [`RejectedMember::raw`] shows it.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::MemberErrorKind;
///
/// assert_eq!(
///     MemberErrorKind::InvalidPercentEscape { at: 4 }.to_string(),
///     "byte 4 starts a `%` escape not followed by two hex digits",
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MemberErrorKind {
    /// No `=` between the key and the value (before any `;`).
    MissingEquals,
    /// Nothing before the `=`.
    EmptyKey,
    /// The key has a byte that an RFC 7230 token cannot contain.
    InvalidKeyByte {
        /// Offset of the byte in the member.
        at: usize,
    },
    /// The value has a byte that is not a `baggage-octet`: a space, `"`, `\`, a control
    /// or non-ASCII byte (such characters must be percent-encoded).
    InvalidValueByte {
        /// Offset of the byte in the member.
        at: usize,
    },
    /// A `%` not followed by two hex digits.
    InvalidPercentEscape {
        /// Offset of the `%` in the member.
        at: usize,
    },
    /// The percent-decoded value is not UTF-8 (`%FF`).
    InvalidUtf8,
    /// The percent-decoded value contains a control character (`%0A`, `%00`, `%7F`,
    /// `%C2%85`).
    ControlCharacter,
    /// An earlier valid member has the same key; the first one wins.
    DuplicateKey,
}

impl fmt::Display for MemberErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingEquals => f.write_str("expected `key=value`, found no `=`"),
            Self::EmptyKey => f.write_str("the key before `=` is empty"),
            Self::InvalidKeyByte { at } => write!(
                f,
                "byte {at} of the key is not allowed in a token (letters, digits, !#$%&'*+-.^_`|~)"
            ),
            Self::InvalidValueByte { at } => write!(
                f,
                "byte {at} is not allowed in a value unescaped (spaces, `\"`, `,`, `;`, `\\`, \
                 controls and non-ASCII must be percent-encoded)"
            ),
            Self::InvalidPercentEscape { at } => write!(
                f,
                "byte {at} starts a `%` escape not followed by two hex digits"
            ),
            Self::InvalidUtf8 => f.write_str("the decoded value is not UTF-8"),
            Self::ControlCharacter => f.write_str("the decoded value contains a control character"),
            Self::DuplicateKey => {
                f.write_str("an earlier member has the same key (the first one wins)")
            }
        }
    }
}

/// Why a whole `baggage` header was refused: it is past a limit, and a partial list is
/// never used.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::{Baggage, BaggageError};
///
/// let header = vec!["k=v"; 65].join(",");
/// let error = Baggage::parse(&header).unwrap_err();
/// assert_eq!(error, BaggageError::TooManyMembers { members: 65 });
/// assert_eq!(
///     error.to_string(),
///     "baggage refused: 65 list members, more than the limit of 64",
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BaggageError {
    /// The value, all headers joined with `,`, is longer than [`MAX_BAGGAGE_BYTES`].
    TooLarge {
        /// Its length in bytes.
        bytes: usize,
    },
    /// The value has more non-empty list members than [`MAX_BAGGAGE_MEMBERS`].
    TooManyMembers {
        /// How many it has.
        members: usize,
    },
}

impl fmt::Display for BaggageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { bytes } => write!(
                f,
                "baggage refused: {bytes} bytes, more than the limit of {MAX_BAGGAGE_BYTES}"
            ),
            Self::TooManyMembers { members } => write!(
                f,
                "baggage refused: {members} list members, more than the limit of \
                 {MAX_BAGGAGE_MEMBERS}"
            ),
        }
    }
}

impl Error for BaggageError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(header: &str) -> Vec<MemberErrorKind> {
        Baggage::parse(header)
            .unwrap()
            .rejected()
            .iter()
            .map(RejectedMember::reason)
            .collect()
    }

    #[test]
    fn member_errors_name_the_byte() {
        assert_eq!(reasons("k"), [MemberErrorKind::MissingEquals]);
        assert_eq!(reasons("k;p=1"), [MemberErrorKind::MissingEquals]);
        assert_eq!(reasons(" =v"), [MemberErrorKind::EmptyKey]);
        assert_eq!(
            reasons("k\"=v"),
            [MemberErrorKind::InvalidKeyByte { at: 1 }]
        );
        assert_eq!(
            reasons("k = a b"),
            [MemberErrorKind::InvalidValueByte { at: 5 }]
        );
        assert_eq!(
            reasons("k=%4"),
            [MemberErrorKind::InvalidPercentEscape { at: 2 }]
        );
        assert_eq!(
            reasons("k=ab%g1"),
            [MemberErrorKind::InvalidPercentEscape { at: 4 }]
        );
        assert_eq!(reasons("k=%C3"), [MemberErrorKind::InvalidUtf8]);
        for control in ["%00", "%1F", "%7F", "%C2%85", "%09"] {
            assert_eq!(
                reasons(&format!("k={control}")),
                [MemberErrorKind::ControlCharacter],
                "{control}"
            );
        }
    }

    #[test]
    fn a_key_is_not_decoded() {
        let baggage = Baggage::parse("a%20b=1").unwrap();
        assert_eq!(baggage.get("a%20b"), Some("1"));
    }

    #[test]
    fn first_valid_member_wins_over_an_earlier_invalid_one() {
        let baggage = Baggage::parse("k=%ZZ,k=2,k=3").unwrap();
        assert_eq!(baggage.get("k"), Some("2"));
        assert_eq!(baggage.rejected().len(), 2);
    }

    #[test]
    fn too_many_reports_the_full_count_unless_too_large() {
        let header = vec!["k=v"; 181].join(",");
        assert_eq!(
            Baggage::parse(&header),
            Err(BaggageError::TooManyMembers { members: 181 })
        );
        let first = vec!["k=v"; 65].join(",");
        let big = "x".repeat(MAX_BAGGAGE_BYTES);
        assert_eq!(
            Baggage::parse_all([first.as_str(), big.as_str()]),
            Err(BaggageError::TooLarge {
                bytes: first.len() + 1 + big.len()
            })
        );
    }
}
