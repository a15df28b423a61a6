//! The `tracestate` header: checked whole, kept verbatim or dropped.

use std::error::Error;
use std::fmt;

use super::chars::trim_ows;

/// The most bytes of `tracestate` (all headers joined with `,`) kept: 512, what the
/// specification asks every vendor to propagate.
pub const MAX_TRACESTATE_BYTES: usize = 512;

/// The most list members a `tracestate` may have: 32, per the specification.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// Checks a joined `tracestate`; `Ok(false)` when it has no member at all.
pub(super) fn check_tracestate(value: &[u8]) -> Result<bool, TraceStateError> {
    let mut keys: [&[u8]; MAX_TRACESTATE_MEMBERS] = [&[]; MAX_TRACESTATE_MEMBERS];
    let mut count = 0;
    for member in value.split(|&b| b == b',').map(trim_ows) {
        if member.is_empty() {
            continue;
        }
        let index = count;
        if index == MAX_TRACESTATE_MEMBERS {
            let members = count_nonempty(value);
            return Err(TraceStateError::TooManyMembers { members });
        }
        let equals = member
            .iter()
            .position(|&b| b == b'=')
            .ok_or(TraceStateError::MissingEquals { index })?;
        let (key, value) = (&member[..equals], &member[equals + 1..]);
        let key_ok = |(at, &b): (usize, &u8)| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || (at > 0 && matches!(b, b'_' | b'-' | b'*' | b'/' | b'@'))
        };
        if let Some(at) = key.iter().enumerate().position(|c| !key_ok(c)) {
            return Err(TraceStateError::InvalidKey { index, at });
        }
        if key.is_empty() || key.len() > 256 {
            return Err(TraceStateError::InvalidKey {
                index,
                at: key.len().min(256),
            });
        }
        let value_ok = |&b: &u8| (0x20..=0x7E).contains(&b) && b != b',' && b != b'=';
        if let Some(at) = value.iter().position(|b| !value_ok(b)) {
            return Err(TraceStateError::InvalidValue {
                index,
                at: equals + 1 + at,
            });
        }
        // The member is trimmed, so the value cannot end in a space; it can be empty.
        if value.is_empty() || value.len() > 256 {
            return Err(TraceStateError::InvalidValue {
                index,
                at: equals + 1 + value.len().min(256),
            });
        }
        if keys[..count].contains(&key) {
            return Err(TraceStateError::DuplicateKey { index });
        }
        keys[count] = key;
        count += 1;
    }
    Ok(count > 0)
}

fn count_nonempty(value: &[u8]) -> usize {
    value
        .split(|&b| b == b',')
        .filter(|m| !trim_ows(m).is_empty())
        .count()
}

/// Why a `tracestate` was dropped. `index` counts the non-empty list members from 0;
/// `at` is a byte offset in the member, surrounding whitespace trimmed.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::{TraceContext, TraceStateError};
///
/// let mut context = TraceContext::new_root(true);
/// let error = context.set_tracestate(["rojo=1,Congo=2"]).unwrap_err();
/// assert_eq!(error, TraceStateError::InvalidKey { index: 1, at: 0 });
/// assert_eq!(
///     error.to_string(),
///     "tracestate dropped: byte 0 of the key of member 1 is not allowed (a-z 0-9 _ - * / @, \
///      starting with a letter or digit, at most 256)",
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceStateError {
    /// Longer than [`MAX_TRACESTATE_BYTES`], all headers joined with `,`.
    TooLong {
        /// The length, as far as it was read.
        bytes: usize,
    },
    /// More than [`MAX_TRACESTATE_MEMBERS`] non-empty members.
    TooManyMembers {
        /// How many.
        members: usize,
    },
    /// A member without `=`.
    MissingEquals {
        /// Which member.
        index: usize,
    },
    /// A key that breaks the key rule.
    InvalidKey {
        /// Which member.
        index: usize,
        /// Offset of the offending byte in the member.
        at: usize,
    },
    /// A value that breaks the value rule.
    InvalidValue {
        /// Which member.
        index: usize,
        /// Offset of the offending byte in the member.
        at: usize,
    },
    /// A key that an earlier member has.
    DuplicateKey {
        /// Which member.
        index: usize,
    },
}

impl fmt::Display for TraceStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tracestate dropped: ")?;
        match self {
            Self::TooLong { bytes } => write!(
                f,
                "{bytes} bytes, more than the {MAX_TRACESTATE_BYTES} kept"
            ),
            Self::TooManyMembers { members } => write!(
                f,
                "{members} list members, more than the limit of {MAX_TRACESTATE_MEMBERS}"
            ),
            Self::MissingEquals { index } => {
                write!(f, "member {index} is not `key=value`, it has no `=`")
            }
            Self::InvalidKey { index, at } => write!(
                f,
                "byte {at} of the key of member {index} is not allowed (a-z 0-9 _ - * / @, \
                 starting with a letter or digit, at most 256)"
            ),
            Self::InvalidValue { index, at } => write!(
                f,
                "byte {at} of member {index} is not allowed in a value (1 to 256 printable \
                 ASCII characters other than `,` and `=`)"
            ),
            Self::DuplicateKey { index } => {
                write!(f, "member {index} repeats the key of an earlier member")
            }
        }
    }
}

impl Error for TraceStateError {}
