//! Trace ids and span ids: 16 and 8 bytes, never all zero, shown as lowercase hex.

use std::fmt;
use std::str::FromStr;

use super::chars::{lower_hex_value, LOWER_HEX};
use super::random::next_nonzero_u64;
use super::trace_context::{TraceContextError, TraceField};

/// A trace id: 16 bytes, never all zero, shown as 32 lowercase hex digits.
///
/// Like opentelemetry's `TraceId`, but only valid ids exist: the all-zero id, which the
/// specification forbids, cannot be built.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::TraceId;
///
/// let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse()?;
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(id.to_bytes()[0], 0x4b);
/// assert!("4BF92F3577B34DA6A3CE929D0E0E4736".parse::<TraceId>().is_err());
/// # Ok::<(), cls_core::w3c::TraceContextError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId([u8; 16]);

impl TraceId {
    /// The id with these bytes, or `None` for all zeros.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceId;
    ///
    /// assert!(TraceId::from_bytes([0; 16]).is_none());
    /// let id = TraceId::from_bytes([1; 16]).unwrap();
    /// assert_eq!(id.to_string(), "01".repeat(16));
    /// ```
    pub const fn from_bytes(bytes: [u8; 16]) -> Option<Self> {
        if u128::from_be_bytes(bytes) == 0 {
            None
        } else {
            Some(Self(bytes))
        }
    }

    /// The 16 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let id = cls_core::w3c::TraceId::from_bytes([7; 16]).unwrap();
    /// assert_eq!(id.to_bytes(), [7; 16]);
    /// ```
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }

    /// A fresh id, unique but not cryptographically random: see
    /// [`SpanId::random`].
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceId;
    ///
    /// assert_ne!(TraceId::random(), TraceId::random());
    /// ```
    pub fn random() -> Self {
        let high = u128::from(next_nonzero_u64()) << 64;
        Self((high | u128::from(next_nonzero_u64())).to_be_bytes())
    }
}

/// A span id, the `parent-id` of a `traceparent`: 8 bytes, never all zero, shown as 16
/// lowercase hex digits.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::SpanId;
///
/// let id: SpanId = "00f067aa0ba902b7".parse()?;
/// assert_eq!(id.to_string(), "00f067aa0ba902b7");
/// assert!("0000000000000000".parse::<SpanId>().is_err());
/// # Ok::<(), cls_core::w3c::TraceContextError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId([u8; 8]);

impl SpanId {
    /// The id with these bytes, or `None` for all zeros.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::SpanId;
    ///
    /// assert!(SpanId::from_bytes([0; 8]).is_none());
    /// assert_eq!(SpanId::from_bytes([0, 0, 0, 0, 0, 0, 0, 1]).unwrap().to_string(), "0000000000000001");
    /// ```
    pub const fn from_bytes(bytes: [u8; 8]) -> Option<Self> {
        if u64::from_be_bytes(bytes) == 0 {
            None
        } else {
            Some(Self(bytes))
        }
    }

    /// The 8 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let id = cls_core::w3c::SpanId::from_bytes([9; 8]).unwrap();
    /// assert_eq!(id.to_bytes(), [9; 8]);
    /// ```
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// A fresh id, unique but not cryptographically random.
    ///
    /// Each thread draws from its own 64-bit sequence that starts at a point seeded from
    /// the OS (through std's `RandomState`) and never repeats before 2^64 ids; no system
    /// call and no lock per id. An id is not a secret (it travels in clear text in every
    /// request), so uniqueness is what matters; this keeps the `w3c` feature free of a
    /// random-number dependency.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::SpanId;
    ///
    /// assert_ne!(SpanId::random(), SpanId::random());
    /// ```
    pub fn random() -> Self {
        Self(next_nonzero_u64().to_be_bytes())
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    let mut text = [0_u8; 32];
    let text = &mut text[..bytes.len() * 2];
    hex_into(bytes, text);
    f.write_str(std::str::from_utf8(text).map_err(|_| fmt::Error)?)
}

pub(super) fn hex_into(bytes: &[u8], out: &mut [u8]) {
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = LOWER_HEX[usize::from(b >> 4)];
        pair[1] = LOWER_HEX[usize::from(b & 0xF)];
    }
}

macro_rules! id_traits {
    ($id:ident, $len:literal, $field:expr) => {
        impl fmt::Display for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($id), "({})"), self)
            }
        }

        impl FromStr for $id {
            type Err = TraceContextError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let text = text.as_bytes();
                if text.len() != 2 * $len {
                    return Err(TraceContextError::IdLength {
                        field: $field,
                        found: text.len(),
                    });
                }
                let bytes = parse_hex::<$len>(text, 0, $field)?;
                Self::from_bytes(bytes).ok_or(TraceContextError::AllZero { field: $field })
            }
        }
    };
}

id_traits!(TraceId, 16, TraceField::TraceId);
id_traits!(SpanId, 8, TraceField::ParentId);

/// Reads `2 * N` lowercase hex digits; `offset` is where they start, for errors.
pub(super) fn parse_hex<const N: usize>(
    text: &[u8],
    offset: usize,
    field: TraceField,
) -> Result<[u8; N], TraceContextError> {
    let mut bytes = [0_u8; N];
    for (i, byte) in bytes.iter_mut().enumerate() {
        let digit = |k: usize| {
            let found = text[k];
            lower_hex_value(found).ok_or(TraceContextError::NotLowercaseHex {
                field,
                at: offset + k,
                found,
            })
        };
        *byte = digit(2 * i)? << 4 | digit(2 * i + 1)?;
    }
    Ok(bytes)
}
