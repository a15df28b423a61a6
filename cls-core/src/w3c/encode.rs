//! Writing the `baggage` header: [`BaggageEncoder`] appends members to a value, merging.

use std::error::Error;
use std::fmt::{self, Write as _};

use super::baggage::{MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS};
use super::chars::{is_raw_value_byte, is_token_byte, trim_ows, trim_ows_start, UPPER_HEX};

/// Appends `key=value` members to a `baggage` header value held in a `String`, merging
/// with what the string already holds.
///
/// Unlike opentelemetry-rust's `HeaderInjector`, which replaces a `baggage` header already
/// on a request, the encoder keeps every member present and only adds: a key already
/// present (there, or pushed before) is not added again, the existing member wins. It
/// never emits a partial member: a member that would take the value past
/// [`MAX_BAGGAGE_BYTES`], or that would be the 65th ([`MAX_BAGGAGE_MEMBERS`]), is left
/// out whole and [`push`](Self::push) says why.
///
/// Values are written through their [`Display`](fmt::Display), percent-encoded on the fly
/// straight into the string, with no intermediate `String`: every byte that is not a
/// `baggage-octet` (space, `"`, `,`, `;`, `\`, non-ASCII) becomes `%XX`, and so do `%`
/// and `=`. The specification allows `=` unescaped, but opentelemetry-rust up to 0.3x
/// cuts a value at its second `=`; `%3D` reads back as `=` everywhere. A value with a
/// control character is refused: [`Baggage`](super::Baggage) would drop it on the other
/// side, so it is never sent. Properties are never written.
///
/// Reuse one `String` (clear it) to encode without allocating.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::{BaggageEncoder, EncodeError};
///
/// let mut header = String::from("other=1");
/// let mut encoder = BaggageEncoder::new(&mut header);
/// encoder.push("tenant", "acme corp")?;
/// encoder.push("user.id", &42)?;
/// assert_eq!(encoder.push("other", "2"), Err(EncodeError::DuplicateKey));
/// assert_eq!(header, "other=1,tenant=acme%20corp,user.id=42");
/// # Ok::<(), cls_core::w3c::EncodeError>(())
/// ```
#[derive(Debug)]
pub struct BaggageEncoder<'b> {
    out: &'b mut String,
    members: usize,
}

impl<'b> BaggageEncoder<'b> {
    /// An encoder appending to `out`, whose content is the `baggage` value already there
    /// (empty for none).
    ///
    /// The existing content is kept as it is, valid or not, apart from trailing commas
    /// and whitespace; its non-empty list members count toward the limit. To merge with
    /// several existing `baggage` headers, join their values with `,` into `out` first
    /// (one header is what opentelemetry-rust's propagator reads: it ignores the others).
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::BaggageEncoder;
    ///
    /// let existing = ["a=1", "b=2, "];
    /// let mut header = existing.join(",");
    /// let encoder = BaggageEncoder::new(&mut header);
    /// assert_eq!(encoder.members(), 2);
    /// assert_eq!(encoder.as_str(), "a=1,b=2");
    /// ```
    pub fn new(out: &'b mut String) -> Self {
        let kept = out.trim_end_matches([',', ' ', '\t']).len();
        out.truncate(kept);
        let members = out
            .as_bytes()
            .split(|&b| b == b',')
            .filter(|m| !trim_ows(m).is_empty())
            .count();
        Self { out, members }
    }

    /// Appends `key=value`, the value written with its `Display` and percent-encoded.
    ///
    /// On any error nothing is written: the value is as before the call.
    ///
    /// # Errors
    ///
    /// In the order checked: [`EncodeError::EmptyKey`] or [`EncodeError::InvalidKeyByte`]
    /// when the key is not an RFC 7230 token; [`EncodeError::DuplicateKey`] when a member
    /// with this key is already there; [`EncodeError::TooManyMembers`] when
    /// [`MAX_BAGGAGE_MEMBERS`] are already there; [`EncodeError::TooLarge`] when the
    /// member would take the value past [`MAX_BAGGAGE_BYTES`];
    /// [`EncodeError::ControlCharacter`] when the value has a control character;
    /// [`EncodeError::Format`] when the value's `Display` fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::{BaggageEncoder, EncodeError};
    ///
    /// let mut header = String::new();
    /// let mut encoder = BaggageEncoder::new(&mut header);
    /// encoder.push("expr", "a=b; 50%, café")?;
    /// assert_eq!(encoder.push("bad key", "x"), Err(EncodeError::InvalidKeyByte { at: 3 }));
    /// assert_eq!(encoder.push("note", "line\nbreak"), Err(EncodeError::ControlCharacter));
    /// assert_eq!(header, "expr=a%3Db%3B%2050%25%2C%20caf%C3%A9");
    /// # Ok::<(), cls_core::w3c::EncodeError>(())
    /// ```
    pub fn push<V>(&mut self, key: &str, value: &V) -> Result<(), EncodeError>
    where
        V: fmt::Display + ?Sized,
    {
        self.push_with(key, |writer| write!(writer, "{value}"))
    }

    /// Appends `key=value` for a value that is text already: the same as
    /// [`push`](Self::push), without going through `fmt` (a few dozen nanoseconds less
    /// per member).
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push), except that text never fails to format.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut header = String::new();
    /// let mut encoder = cls_core::w3c::BaggageEncoder::new(&mut header);
    /// encoder.push_str("region", "eu west")?;
    /// assert_eq!(header, "region=eu%20west");
    /// # Ok::<(), cls_core::w3c::EncodeError>(())
    /// ```
    pub fn push_str(&mut self, key: &str, value: &str) -> Result<(), EncodeError> {
        self.push_with(key, |writer| writer.write_str(value))
    }

    fn push_with(
        &mut self,
        key: &str,
        write: impl FnOnce(&mut ValueWriter<'_>) -> fmt::Result,
    ) -> Result<(), EncodeError> {
        check_key(key)?;
        if has_key(self.out, key) {
            return Err(EncodeError::DuplicateKey);
        }
        if self.members >= MAX_BAGGAGE_MEMBERS {
            return Err(EncodeError::TooManyMembers);
        }
        let mark = self.out.len();
        if mark + usize::from(mark > 0) + key.len() + 1 > MAX_BAGGAGE_BYTES {
            return Err(EncodeError::TooLarge);
        }
        if mark > 0 {
            self.out.push(',');
        }
        self.out.push_str(key);
        self.out.push('=');
        let mut writer = ValueWriter {
            out: self.out,
            stopped: None,
        };
        if write(&mut writer).is_err() {
            let reason = writer.stopped.unwrap_or(EncodeError::Format);
            self.out.truncate(mark);
            return Err(reason);
        }
        self.members += 1;
        Ok(())
    }

    /// The number of non-empty list members in the value, existing ones included.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut header = String::from("a=1");
    /// let mut encoder = cls_core::w3c::BaggageEncoder::new(&mut header);
    /// encoder.push("b", "2")?;
    /// assert_eq!(encoder.members(), 2);
    /// # Ok::<(), cls_core::w3c::EncodeError>(())
    /// ```
    pub fn members(&self) -> usize {
        self.members
    }

    /// The value written so far.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut header = String::new();
    /// let mut encoder = cls_core::w3c::BaggageEncoder::new(&mut header);
    /// encoder.push("k", "v")?;
    /// assert_eq!(encoder.as_str(), "k=v");
    /// # Ok::<(), cls_core::w3c::EncodeError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        self.out
    }
}

fn check_key(key: &str) -> Result<(), EncodeError> {
    if key.is_empty() {
        return Err(EncodeError::EmptyKey);
    }
    match key.bytes().position(|b| !is_token_byte(b)) {
        Some(at) => Err(EncodeError::InvalidKeyByte { at }),
        None => Ok(()),
    }
}

/// Whether a list member of `value` has this key (what precedes its `=`, `;`, `,` or
/// whitespace). One pass, comparing only at the start of each member.
fn has_key(value: &str, key: &str) -> bool {
    let (value, key) = (value.as_bytes(), key.as_bytes());
    let mut start = 0;
    while start < value.len() {
        let rest = trim_ows_start(&value[start..]);
        if rest.starts_with(key)
            && matches!(
                rest.get(key.len()),
                None | Some(b'=' | b';' | b',' | b' ' | b'\t')
            )
        {
            return true;
        }
        match rest.iter().position(|&b| b == b',') {
            Some(comma) => start = value.len() - rest.len() + comma + 1,
            None => break,
        }
    }
    false
}

/// The `fmt::Write` that percent-encodes a value into the header as its `Display` writes
/// it, and stops (with the reason) at a control character or at the byte limit.
struct ValueWriter<'s> {
    out: &'s mut String,
    stopped: Option<EncodeError>,
}

impl ValueWriter<'_> {
    fn stop(&mut self, reason: EncodeError) -> fmt::Result {
        self.stopped = Some(reason);
        Err(fmt::Error)
    }

    fn room(&self) -> usize {
        MAX_BAGGAGE_BYTES.saturating_sub(self.out.len())
    }
}

impl fmt::Write for ValueWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        let mut run = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if is_raw_value_byte(b) {
                continue;
            }
            let is_control = b < 0x20
                || b == 0x7F
                // U+0080..=U+009F, the C1 controls, are 0xC2 0x80..=0x9F in UTF-8.
                || (b == 0xC2 && matches!(bytes.get(i + 1), Some(0x80..=0x9F)));
            if is_control {
                return self.stop(EncodeError::ControlCharacter);
            }
            // The run is ASCII and ends before `i`, so both ends are char boundaries.
            let pending = s.get(run..i).unwrap_or_default();
            if pending.len() + 3 > self.room() {
                return self.stop(EncodeError::TooLarge);
            }
            self.out.push_str(pending);
            self.out.push('%');
            self.out.push(char::from(UPPER_HEX[usize::from(b >> 4)]));
            self.out.push(char::from(UPPER_HEX[usize::from(b & 0xF)]));
            run = i + 1;
        }
        let pending = s.get(run..).unwrap_or_default();
        if pending.len() > self.room() {
            return self.stop(EncodeError::TooLarge);
        }
        self.out.push_str(pending);
        Ok(())
    }
}

/// Why [`BaggageEncoder::push`] left a member out.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::EncodeError;
///
/// assert_eq!(
///     EncodeError::TooManyMembers.to_string(),
///     "baggage member left out: the value already has 64 list members, the limit",
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// The key is empty.
    EmptyKey,
    /// The key has a byte that an RFC 7230 token cannot contain.
    InvalidKeyByte {
        /// Offset of the byte in the key.
        at: usize,
    },
    /// A member with this key is already in the value; it is kept.
    DuplicateKey,
    /// The value already has [`MAX_BAGGAGE_MEMBERS`] members.
    TooManyMembers,
    /// The member would take the value past [`MAX_BAGGAGE_BYTES`].
    TooLarge,
    /// The value contains a control character, which a reader must drop.
    ControlCharacter,
    /// The value's `Display` implementation returned an error.
    Format,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("baggage member left out: ")?;
        match self {
            Self::EmptyKey => f.write_str("the key is empty"),
            Self::InvalidKeyByte { at } => write!(
                f,
                "byte {at} of the key is not allowed in a token (letters, digits, !#$%&'*+-.^_`|~)"
            ),
            Self::DuplicateKey => f.write_str("the value already has a member with this key"),
            Self::TooManyMembers => write!(
                f,
                "the value already has {MAX_BAGGAGE_MEMBERS} list members, the limit"
            ),
            Self::TooLarge => write!(
                f,
                "the member would take the value past {MAX_BAGGAGE_BYTES} bytes"
            ),
            Self::ControlCharacter => f.write_str("the value contains a control character"),
            Self::Format => f.write_str("the value's `Display` implementation returned an error"),
        }
    }
}

impl Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_outside_the_raw_set_is_escaped() {
        for c in (0_u8..0x80).map(char::from).filter(|c| !c.is_control()) {
            let mut header = String::new();
            BaggageEncoder::new(&mut header).push("k", &c).unwrap();
            let b = c as u8;
            if is_raw_value_byte(b) {
                assert_eq!(header, format!("k={c}"));
            } else {
                assert_eq!(header, format!("k=%{b:02X}"));
            }
        }
    }

    #[test]
    fn existing_keys_are_found_with_whitespace_and_properties() {
        assert!(has_key("a=1, b ;p=2=3", "b"));
        assert!(has_key("a=1,\tc = 3", "c"));
        assert!(!has_key("ab=1", "a"));
        assert!(!has_key("x=a=1", "a"));
    }

    #[test]
    fn a_display_error_writes_nothing() {
        struct Failing;
        impl fmt::Display for Failing {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("partial")?;
                Err(fmt::Error)
            }
        }
        let mut header = String::from("a=1");
        let mut encoder = BaggageEncoder::new(&mut header);
        assert_eq!(encoder.push("k", &Failing), Err(EncodeError::Format));
        assert_eq!(encoder.members(), 1);
        assert_eq!(header, "a=1");
    }

    #[test]
    fn a_huge_value_stops_early_and_rolls_back() {
        let mut header = String::from("a=1");
        let big = "x".repeat(100_000);
        let mut encoder = BaggageEncoder::new(&mut header);
        assert_eq!(encoder.push("k", big.as_str()), Err(EncodeError::TooLarge));
        assert_eq!(header, "a=1");
        assert!(header.capacity() < 100_000);
    }
}
