//! The byte classes of the two grammars, and the escaping used to show hostile text.

use std::fmt;

const TOKEN: u8 = 1;
const OCTET: u8 = 2;
const RAW_VALUE: u8 = 4;

/// The class bits of every byte: one table load per byte on the hot paths, where a chain
/// of range comparisons cost several times as much.
static CLASSES: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0_u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        let token = matches!(
            byte,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
                | b'0'..=b'9'
                | b'a'..=b'z'
                | b'A'..=b'Z'
        );
        // `baggage-octet`: visible ASCII except `"`, `,`, `;` and `\`.
        let octet = matches!(byte, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E);
        // What the encoder writes unescaped: `%` introduces an escape, and `=`, which the
        // spec allows, is escaped because opentelemetry-rust up to 0.3x cuts a value at
        // its second `=`.
        let raw_value = octet && byte != b'%' && byte != b'=';
        table[b] = (token as u8 * TOKEN) | (octet as u8 * OCTET) | (raw_value as u8 * RAW_VALUE);
        b += 1;
    }
    table
}

/// `tchar` of RFC 7230, section 3.2.6: what a baggage key is made of.
#[inline]
pub(super) fn is_token_byte(b: u8) -> bool {
    CLASSES[usize::from(b)] & TOKEN != 0
}

/// `baggage-octet`: visible ASCII except `"`, `,`, `;` and `\`.
#[inline]
pub(super) fn is_baggage_octet(b: u8) -> bool {
    CLASSES[usize::from(b)] & OCTET != 0
}

/// What the encoder writes unescaped: a `baggage-octet` other than `%` and `=`.
#[inline]
pub(super) fn is_raw_value_byte(b: u8) -> bool {
    CLASSES[usize::from(b)] & RAW_VALUE != 0
}

/// `OWS` of RFC 7230: spaces and horizontal tabs.
#[inline]
pub(super) const fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(super) fn trim_ows(bytes: &[u8]) -> &[u8] {
    trim_ows_end(trim_ows_start(bytes))
}

pub(super) fn trim_ows_start(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if !is_ows(*first) {
            break;
        }
        bytes = rest;
    }
    bytes
}

pub(super) fn trim_ows_end(mut bytes: &[u8]) -> &[u8] {
    while let [rest @ .., last] = bytes {
        if !is_ows(*last) {
            break;
        }
        bytes = rest;
    }
    bytes
}

/// The value of an ASCII hex digit of either case (percent escapes allow both).
pub(super) const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The value of a lowercase hex digit, the only kind Trace Context admits.
pub(super) const fn lower_hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

pub(super) const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
pub(super) const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The longest piece of hostile input an error message shows.
const SHOWN_BYTES: usize = 48;

/// Shows bytes received from a peer inside an error message: every byte outside printable
/// ASCII escaped (`\n`, `\xff`), quotes and backslashes escaped, cut after
/// [`SHOWN_BYTES`] bytes with `...` appended. A log line built from it cannot be split or
/// forged, whatever the peer sent.
pub(super) struct Escaped<'a>(pub(super) &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.0[..self.0.len().min(SHOWN_BYTES)];
        write!(f, "\"{}\"", shown.escape_ascii())?;
        if shown.len() < self.0.len() {
            write!(f, "... ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

/// One byte inside an error message, escaped like [`Escaped`].
pub(super) struct EscapedByte(pub(super) u8);

impl fmt::Display for EscapedByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", std::ascii::escape_default(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_grammars() {
        for b in 0..=255_u8 {
            let token = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_token_byte(b), token, "token byte {b:#x}");
            let octet = b.is_ascii_graphic() && !b"\",;\\".contains(&b);
            assert_eq!(is_baggage_octet(b), octet, "baggage-octet {b:#x}");
        }
    }

    #[test]
    fn escaping_shows_no_raw_control_and_cuts_long_text() {
        let shown = Escaped(b"a\nb\"\xff").to_string();
        assert_eq!(shown, r#""a\nb\"\xff""#);
        let long = Escaped(&[b'x'; 100]).to_string();
        assert!(long.ends_with("... (100 bytes)"), "{long}");
        assert_eq!(EscapedByte(b'\r').to_string(), r"'\r'");
    }
}
