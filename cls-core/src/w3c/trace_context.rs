//! W3C Trace Context level 1: the `traceparent` and `tracestate` headers.

use std::error::Error;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::chars::{lower_hex_value, trim_ows, EscapedByte, LOWER_HEX};
use super::random::next_nonzero_u64;

/// The length of a version `00` `traceparent`: `00-` + 32 + `-` + 16 + `-` + 2.
const TRACEPARENT_LEN: usize = 55;

/// The most bytes of `tracestate` (all headers joined with `,`) kept: 512, what the
/// specification asks every vendor to propagate.
pub const MAX_TRACESTATE_BYTES: usize = 512;

/// The most list members a `tracestate` may have: 32, per the specification.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

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

fn hex_into(bytes: &[u8], out: &mut [u8]) {
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
fn parse_hex<const N: usize>(
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

/// The trace context of a request, from its `traceparent` and `tracestate` headers
/// (W3C Trace Context level 1, <https://www.w3.org/TR/trace-context/>).
///
/// Like opentelemetry's `SpanContext`, reduced to what crosses the wire, and parsed
/// strictly: a `traceparent` that breaks any rule is refused whole, as the specification
/// requires, so a service never echoes a malformed one. What [`parse`](Self::parse)
/// accepts:
///
/// - `version-traceid-parentid-flags`, lowercase hex of 2, 32, 16 and 2 digits joined by
///   `-` (uppercase is refused);
/// - version `ff` is refused; version `00` has exactly 55 bytes; a later version has at
///   least 55, and when it has more, byte 55 is a `-` (the fields it adds are ignored);
/// - an all-zero trace id or parent id is refused.
///
/// To continue the trace in an outgoing call, take a [`child`](Self::child) (same trace
/// id, new parent id) and send its [`traceparent`](Self::traceparent), which is always
/// version `00`, and its [`tracestate`](Self::tracestate) unchanged.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::TraceContext;
///
/// let mut inbound = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
/// inbound.set_tracestate(["rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"]).unwrap();
/// assert_eq!(inbound.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(inbound.sampled());
///
/// let outbound = inbound.child();
/// assert_eq!(outbound.trace_id(), inbound.trace_id());
/// assert_ne!(outbound.parent_id(), inbound.parent_id());
/// let header = outbound.traceparent();
/// assert!(header.as_str().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
/// assert!(header.as_str().ends_with("-01"));
/// assert_eq!(outbound.tracestate(), Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
/// # Ok::<(), cls_core::w3c::TraceContextError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TraceContext {
    version: u8,
    trace_id: TraceId,
    parent_id: SpanId,
    flags: u8,
    tracestate: Option<Arc<str>>,
}

impl TraceContext {
    /// The `sampled` bit of the trace flags: the caller may have recorded trace data.
    pub const SAMPLED: u8 = 0x01;

    /// A version `00` context with these ids and flags, and no `tracestate`.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::{SpanId, TraceContext, TraceId};
    ///
    /// let trace_id = TraceId::from_bytes([1; 16]).unwrap();
    /// let parent_id = SpanId::from_bytes([2; 8]).unwrap();
    /// let context = TraceContext::new(trace_id, parent_id, TraceContext::SAMPLED);
    /// assert_eq!(
    ///     context.traceparent().as_str(),
    ///     "00-01010101010101010101010101010101-0202020202020202-01",
    /// );
    /// ```
    pub fn new(trace_id: TraceId, parent_id: SpanId, flags: u8) -> Self {
        Self {
            version: 0,
            trace_id,
            parent_id,
            flags,
            tracestate: None,
        }
    }

    /// A new trace: fresh trace id and parent id (see [`SpanId::random`]), sampled or
    /// not, as a service starts one when no valid `traceparent` came.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceContext;
    ///
    /// let root = TraceContext::new_root(false);
    /// assert!(!root.sampled());
    /// assert_ne!(root.trace_id(), TraceContext::new_root(false).trace_id());
    /// ```
    pub fn new_root(sampled: bool) -> Self {
        let flags = if sampled { Self::SAMPLED } else { 0 };
        Self::new(TraceId::random(), SpanId::random(), flags)
    }

    /// Reads a `traceparent` header value: a `&str`, a `&[u8]` or an `http::HeaderValue`.
    ///
    /// The context has no `tracestate`; add it with
    /// [`set_tracestate`](Self::set_tracestate) (the specification reads `tracestate` only
    /// after a valid `traceparent`).
    ///
    /// # Errors
    ///
    /// A [`TraceContextError`] naming the first rule broken and where, when the value is
    /// not a valid `traceparent`: the caller must then ignore it (and may start a new
    /// trace).
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::{TraceContext, TraceContextError, TraceField};
    ///
    /// let context = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")?;
    /// assert!(!context.sampled());
    ///
    /// let future = TraceContext::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds")?;
    /// assert_eq!(future.version(), 0xcc);
    /// assert!(future.sampled());
    ///
    /// let upper = TraceContext::parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01");
    /// assert_eq!(
    ///     upper,
    ///     Err(TraceContextError::NotLowercaseHex { field: TraceField::TraceId, at: 4, found: b'B' }),
    /// );
    /// # Ok::<(), TraceContextError>(())
    /// ```
    pub fn parse<T>(traceparent: &T) -> Result<Self, TraceContextError>
    where
        T: AsRef<[u8]> + ?Sized,
    {
        let v = traceparent.as_ref();
        let digit = |at: usize| match v.get(at) {
            Some(&found) => lower_hex_value(found).ok_or(TraceContextError::NotLowercaseHex {
                field: TraceField::Version,
                at,
                found,
            }),
            None => Err(TraceContextError::Length {
                version: None,
                found: v.len(),
            }),
        };
        let version = digit(0)? << 4 | digit(1)?;
        if version == 0xff {
            return Err(TraceContextError::ForbiddenVersion);
        }
        let length_ok = if version == 0 {
            v.len() == TRACEPARENT_LEN
        } else {
            v.len() >= TRACEPARENT_LEN
        };
        if !length_ok {
            return Err(TraceContextError::Length {
                version: Some(version),
                found: v.len(),
            });
        }
        // Byte 55 exists only for later versions, where it must start a new field.
        for at in [2, 35, 52, 55] {
            match v.get(at) {
                Some(b'-') | None => {}
                Some(&found) => return Err(TraceContextError::MissingDash { at, found }),
            }
        }
        let trace_id = parse_hex::<16>(&v[3..35], 3, TraceField::TraceId)?;
        let parent_id = parse_hex::<8>(&v[36..52], 36, TraceField::ParentId)?;
        let [flags] = parse_hex::<1>(&v[53..55], 53, TraceField::Flags)?;
        Ok(Self {
            version,
            trace_id: TraceId::from_bytes(trace_id).ok_or(TraceContextError::AllZero {
                field: TraceField::TraceId,
            })?,
            parent_id: SpanId::from_bytes(parent_id).ok_or(TraceContextError::AllZero {
                field: TraceField::ParentId,
            })?,
            flags,
            tracestate: None,
        })
    }

    /// Sets the `tracestate` from its header values (pass every `tracestate` header: they
    /// form one list), kept verbatim when valid, else none.
    ///
    /// Valid means: at most [`MAX_TRACESTATE_BYTES`] bytes joined with `,` (the 512 the
    /// specification asks every vendor to propagate) and [`MAX_TRACESTATE_MEMBERS`]
    /// members; each member `key=value`, the key 1 to 256 of `a-z 0-9 _ - * / @` starting
    /// with a letter or digit (the current draft's rule, which admits every level 1 key),
    /// the value 1 to 256 printable ASCII characters other than `,` and `=`, not ending in
    /// a space; no key twice. A service forwards `tracestate` unchanged, so it either
    /// forwards all of it or, when it is invalid or too long, none of it: the specification
    /// allows dropping entries, and a vendor value cut in the middle would be worse than
    /// none. An empty or blank value sets none, without error.
    ///
    /// # Errors
    ///
    /// A [`TraceStateError`] saying which member broke which rule; the context then has
    /// no `tracestate`.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::{TraceContext, TraceStateError};
    ///
    /// let mut context = TraceContext::new_root(true);
    /// context.set_tracestate(["rojo=00f067aa0ba902b7", " congo=t61rcWkgMzE "])?;
    /// assert_eq!(context.tracestate(), Some("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE "));
    ///
    /// let error = context.set_tracestate(["rojo=1,rojo=2"]).unwrap_err();
    /// assert_eq!(error, TraceStateError::DuplicateKey { index: 1 });
    /// assert_eq!(context.tracestate(), None);
    /// # Ok::<(), TraceStateError>(())
    /// ```
    pub fn set_tracestate<'a, I, T>(&mut self, values: I) -> Result<(), TraceStateError>
    where
        I: IntoIterator<Item = &'a T>,
        T: AsRef<[u8]> + ?Sized + 'a,
    {
        self.tracestate = None;
        let mut joined = Vec::new();
        for value in values {
            let value = value.as_ref();
            if !joined.is_empty() {
                joined.push(b',');
            }
            if joined.len() + value.len() > MAX_TRACESTATE_BYTES {
                return Err(TraceStateError::TooLong {
                    bytes: joined.len() + value.len(),
                });
            }
            joined.extend_from_slice(value);
        }
        if check_tracestate(&joined)? {
            let text = String::from_utf8(joined)
                .map_err(|_| TraceStateError::InvalidValue { index: 0, at: 0 })?;
            self.tracestate = Some(Arc::from(text));
        }
        Ok(())
    }

    /// The version the `traceparent` had (`0` for one built here). Outgoing headers are
    /// always version `00`.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceContext;
    ///
    /// let context = TraceContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
    /// assert_eq!(context.version(), 1);
    /// assert!(context.traceparent().as_str().starts_with("00-"));
    /// # Ok::<(), cls_core::w3c::TraceContextError>(())
    /// ```
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The trace id, the same in every service the request goes through.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceContext;
    ///
    /// let context = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
    /// assert_eq!(context.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// # Ok::<(), cls_core::w3c::TraceContextError>(())
    /// ```
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The parent id: the caller's span, which the request belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceContext;
    ///
    /// let context = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
    /// assert_eq!(context.parent_id().to_string(), "00f067aa0ba902b7");
    /// # Ok::<(), cls_core::w3c::TraceContextError>(())
    /// ```
    pub fn parent_id(&self) -> SpanId {
        self.parent_id
    }

    /// The trace flags as received, unknown bits included. Test bits with a mask, as
    /// [`sampled`](Self::sampled) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceContext;
    ///
    /// let context = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09")?;
    /// assert_eq!(context.flags(), 0x09);
    /// assert!(context.sampled());
    /// # Ok::<(), cls_core::w3c::TraceContextError>(())
    /// ```
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// Whether the `sampled` flag is set: the caller may have recorded this trace.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceContext;
    ///
    /// let context = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02")?;
    /// assert!(!context.sampled());
    /// # Ok::<(), cls_core::w3c::TraceContextError>(())
    /// ```
    pub fn sampled(&self) -> bool {
        self.flags & Self::SAMPLED != 0
    }

    /// The `tracestate`, verbatim (several headers joined with `,`), if it was valid.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceContext;
    ///
    /// let mut context = TraceContext::new_root(true);
    /// assert_eq!(context.tracestate(), None);
    /// context.set_tracestate(["congo=t61rcWkgMzE"]).unwrap();
    /// assert_eq!(context.tracestate(), Some("congo=t61rcWkgMzE"));
    /// ```
    pub fn tracestate(&self) -> Option<&str> {
        self.tracestate.as_deref()
    }

    /// The context of an outgoing call: the same trace id and `tracestate`, a fresh
    /// parent id (see [`SpanId::random`]), version `00`, and only the flags level 1
    /// defines (`sampled`); the others are reset, as the specification requires.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceContext;
    ///
    /// let inbound = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff")?;
    /// let child = inbound.child();
    /// assert_eq!(child.trace_id(), inbound.trace_id());
    /// assert_ne!(child.parent_id(), inbound.parent_id());
    /// assert_eq!(child.flags(), TraceContext::SAMPLED);
    /// # Ok::<(), cls_core::w3c::TraceContextError>(())
    /// ```
    pub fn child(&self) -> Self {
        Self {
            version: 0,
            trace_id: self.trace_id,
            parent_id: SpanId::random(),
            flags: self.flags & Self::SAMPLED,
            tracestate: self.tracestate.clone(),
        }
    }

    /// The `traceparent` header value of this context, version `00`, on the stack.
    ///
    /// Flags other than `sampled` are written as zero, as level 1 requires; the ids and
    /// the sampled bit are written as they are (no new parent id: for an outgoing call,
    /// format a [`child`](Self::child)).
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceContext;
    ///
    /// let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    /// let context = TraceContext::parse(value)?;
    /// assert_eq!(context.traceparent().as_str(), value);
    /// assert_eq!(context.to_string(), value);
    /// # Ok::<(), cls_core::w3c::TraceContextError>(())
    /// ```
    pub fn traceparent(&self) -> TraceParent {
        let mut text = *b"00-00000000000000000000000000000000-0000000000000000-00";
        hex_into(&self.trace_id.0, &mut text[3..35]);
        hex_into(&self.parent_id.0, &mut text[36..52]);
        hex_into(&[self.flags & Self::SAMPLED], &mut text[53..55]);
        TraceParent(text)
    }
}

/// Writes the `traceparent` header value (see [`TraceContext::traceparent`]).
impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.traceparent().as_str())
    }
}

/// Parses a `traceparent` (see [`TraceContext::parse`]).
impl FromStr for TraceContext {
    type Err = TraceContextError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// Checks a joined `tracestate`; `Ok(false)` when it has no member at all.
fn check_tracestate(value: &[u8]) -> Result<bool, TraceStateError> {
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

/// A `traceparent` header value, version `00`, 55 bytes on the stack.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::TraceContext;
///
/// let header = TraceContext::new_root(true).traceparent();
/// assert_eq!(header.as_str().len(), 55);
/// let bytes: &[u8] = header.as_ref();
/// assert_eq!(bytes, header.as_str().as_bytes());
/// // With `http`: `HeaderValue::from_bytes(header.as_ref())`.
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent([u8; TRACEPARENT_LEN]);

impl TraceParent {
    /// The value as text.
    ///
    /// # Examples
    ///
    /// ```
    /// use cls_core::w3c::TraceContext;
    ///
    /// let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    /// assert_eq!(TraceContext::parse(value)?.traceparent().as_str(), value);
    /// # Ok::<(), cls_core::w3c::TraceContextError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        // Built from hex digits and dashes only, so this never fails; the checked
        // conversion keeps the crate free of `unsafe` for a 55-byte scan.
        match std::str::from_utf8(&self.0) {
            Ok(text) => text,
            Err(_) => unreachable!("a traceparent holds ASCII only"),
        }
    }
}

impl AsRef<str> for TraceParent {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for TraceParent {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceParent({:?})", self.as_str())
    }
}

/// A field of a `traceparent`, as named in the specification.
///
/// # Examples
///
/// ```
/// assert_eq!(cls_core::w3c::TraceField::ParentId.to_string(), "parent-id");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceField {
    /// `version`, 2 digits.
    Version,
    /// `trace-id`, 32 digits.
    TraceId,
    /// `parent-id`, 16 digits.
    ParentId,
    /// `trace-flags`, 2 digits.
    Flags,
}

impl fmt::Display for TraceField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Version => "version",
            Self::TraceId => "trace-id",
            Self::ParentId => "parent-id",
            Self::Flags => "trace-flags",
        })
    }
}

/// Why a `traceparent`, a [`TraceId`] or a [`SpanId`] was refused. Positions (`at`) are
/// byte offsets in the text parsed.
///
/// Its `Display` shows at most one escaped byte of the input, so logging it is safe.
///
/// # Examples
///
/// ```
/// use cls_core::w3c::TraceContext;
///
/// let error = TraceContext::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").unwrap_err();
/// assert_eq!(error.to_string(), "invalid traceparent: the trace-id is all zeros");
/// let error = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0\n").unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     r"invalid traceparent: byte 54 (in the trace-flags) is '\n', expected a lowercase hex digit",
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceContextError {
    /// The value's length does not fit its version: exactly 55 bytes for version `00`, at
    /// least 55 for a later one.
    Length {
        /// The version, when the value is long enough to show one.
        version: Option<u8>,
        /// The length found.
        found: usize,
    },
    /// An id parsed alone has the wrong number of digits (32 for a trace id, 16 for a
    /// span id).
    IdLength {
        /// Which id.
        field: TraceField,
        /// The length found.
        found: usize,
    },
    /// A byte that is not a lowercase hex digit where one is expected.
    NotLowercaseHex {
        /// The field the byte is in.
        field: TraceField,
        /// Offset of the byte.
        at: usize,
        /// The byte.
        found: u8,
    },
    /// A byte other than `-` where a `-` is expected.
    MissingDash {
        /// Offset of the byte.
        at: usize,
        /// The byte.
        found: u8,
    },
    /// Version `ff`, which the specification forbids.
    ForbiddenVersion,
    /// An id that is all zeros, which the specification forbids.
    AllZero {
        /// Which id.
        field: TraceField,
    },
}

impl fmt::Display for TraceContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length {
                version: Some(0),
                found,
            } => write!(
                f,
                "invalid traceparent: version 00 has exactly {TRACEPARENT_LEN} bytes, found {found}"
            ),
            Self::Length {
                version: Some(version),
                found,
            } => write!(
                f,
                "invalid traceparent: version {version:02x} has at least {TRACEPARENT_LEN} bytes, \
                 found {found}"
            ),
            Self::Length {
                version: None,
                found,
            } => write!(
                f,
                "invalid traceparent: {found} bytes, too short to hold a version"
            ),
            Self::IdLength { field, found } => {
                let digits = if *field == TraceField::TraceId {
                    32
                } else {
                    16
                };
                write!(
                    f,
                    "invalid {field}: expected {digits} lowercase hex digits, found {found} bytes"
                )
            }
            Self::NotLowercaseHex { field, at, found } => write!(
                f,
                "invalid traceparent: byte {at} (in the {field}) is {}, expected a lowercase \
                 hex digit",
                EscapedByte(*found)
            ),
            Self::MissingDash { at, found } => write!(
                f,
                "invalid traceparent: byte {at} is {}, expected `-`",
                EscapedByte(*found)
            ),
            Self::ForbiddenVersion => f.write_str("invalid traceparent: version ff is forbidden"),
            Self::AllZero { field } => write!(f, "invalid traceparent: the {field} is all zeros"),
        }
    }
}

impl Error for TraceContextError {}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_debug_as_hex() {
        let id = SpanId::from_bytes([0xab; 8]).unwrap();
        assert_eq!(format!("{id:?}"), "SpanId(abababababababab)");
        assert_eq!(
            "abc".parse::<TraceId>(),
            Err(TraceContextError::IdLength {
                field: TraceField::TraceId,
                found: 3
            })
        );
    }

    #[test]
    fn tracestate_limits() {
        let mut context = TraceContext::new_root(true);
        let members: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert_eq!(
            context.set_tracestate([members.join(",").as_str()]),
            Err(TraceStateError::TooManyMembers { members: 33 })
        );
        context
            .set_tracestate([members[..32].join(",").as_str()])
            .unwrap();
        assert!(context.tracestate().is_some());
        let long = format!("k={}", "v".repeat(MAX_TRACESTATE_BYTES - 2));
        context.set_tracestate([long.as_str()]).unwrap_err();
        assert_eq!(context.tracestate(), None);
        context.set_tracestate([" ", ""]).unwrap();
        assert_eq!(context.tracestate(), None);
    }
}
