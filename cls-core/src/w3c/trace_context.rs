//! W3C Trace Context level 1: the `traceparent` and `tracestate` headers.

use std::error::Error;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::chars::{lower_hex_value, trim_ows_end, trim_ows_start, EscapedByte};
use super::ids::{hex_into, parse_hex, SpanId, TraceId};
use super::tracestate::{
    list_members, truncate, TraceStateError, MAX_TRACESTATE_BYTES, MAX_TRACESTATE_MEMBERS,
    MAX_TRACESTATE_READ_BYTES,
};

/// The length of a version `00` `traceparent`: `00-` + 32 + `-` + 16 + `-` + 2.
const TRACEPARENT_LEN: usize = 55;

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
    /// Spaces and tabs around the value are ignored: RFC 7230 (section 3.2.4) makes them
    /// optional whitespace around a field value, which HTTP/1 parsers usually strip but a
    /// value taken from elsewhere may still carry. Error positions count from the start
    /// of the value as given.
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
    /// let padded = TraceContext::parse(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\t")?;
    /// assert_eq!(padded.trace_id(), future.trace_id());
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
        let given = traceparent.as_ref();
        let start = trim_ows_start(given);
        let leading = given.len() - start.len();
        Self::parse_trimmed(trim_ows_end(start)).map_err(|error| error.shifted(leading))
    }

    /// [`parse`](Self::parse) of a value without surrounding whitespace; positions count
    /// from its start.
    fn parse_trimmed(v: &[u8]) -> Result<Self, TraceContextError> {
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
    /// form one list): kept verbatim when valid and within the limits, truncated by whole
    /// members when valid but past them, else none.
    ///
    /// Valid means every non-empty member is `key=value` per Trace Context level 1, and no
    /// key comes twice:
    ///
    /// - a simple key is a letter `a-z` then up to 255 of `a-z 0-9 _ - * /`;
    /// - a multi-tenant key is `tenant@system`, exactly one `@`: the tenant id up to 241 of
    ///   those characters, starting with a letter or a digit (so a leading digit needs the
    ///   `@`), the system id up to 14, starting with a letter;
    /// - a value is 1 to 256 printable ASCII characters other than `,` and `=`, not ending
    ///   in a space.
    ///
    /// Empty members and the spaces and tabs around members are allowed, as the
    /// specification says. When one member is invalid the whole `tracestate` is dropped:
    /// the specification lets a vendor discard either the entire header or only the
    /// invalid entries, and a header with a broken entry may have been mangled on the way
    /// (a comma lost, two headers run together), so what seems valid in it cannot be
    /// trusted to be what its vendors wrote.
    ///
    /// The limits are [`MAX_TRACESTATE_BYTES`] (the 512 the specification asks every
    /// vendor to propagate, commas and whitespace included) and [`MAX_TRACESTATE_MEMBERS`]
    /// (its maximum of 32). A valid list past them is truncated as the specification
    /// says, whole members only, never part of one: while it is longer than 512 bytes,
    /// the members longer than 128 bytes are removed first, right-most first; then
    /// members are removed from the end until both limits hold. The members kept are
    /// written in their order, joined by single commas, without the whitespace and empty
    /// members of the input; a list that fits is kept byte for byte. A list whose members
    /// are all removed (a single member of 513 bytes) sets none, without error, as does an
    /// empty or blank value.
    ///
    /// # Errors
    ///
    /// A [`TraceStateError`] saying which member broke which rule, or
    /// [`TooLong`](TraceStateError::TooLong) for values longer than
    /// [`MAX_TRACESTATE_READ_BYTES`] joined, which are not read further; the context then
    /// has no `tracestate`.
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
    /// // Past 512 bytes: the member longer than 128 bytes is removed, the others are kept.
    /// let long = format!("long={}", "x".repeat(200));
    /// let fill = "y".repeat(120);
    /// let value = format!("rojo=1,{long},a={fill},b={fill},c={fill},congo=2");
    /// assert!(value.len() > 512);
    /// context.set_tracestate([value.as_str()])?;
    /// let kept = format!("rojo=1,a={fill},b={fill},c={fill},congo=2");
    /// assert_eq!(context.tracestate(), Some(kept.as_str()));
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
            if joined.len() + value.len() > MAX_TRACESTATE_READ_BYTES {
                return Err(TraceStateError::TooLong {
                    bytes: joined.len() + value.len(),
                });
            }
            joined.extend_from_slice(value);
        }
        let mut members = list_members(&joined)?;
        if members.is_empty() {
            return Ok(());
        }
        let kept =
            if joined.len() <= MAX_TRACESTATE_BYTES && members.len() <= MAX_TRACESTATE_MEMBERS {
                joined
            } else {
                truncate(&mut members);
                if members.is_empty() {
                    return Ok(());
                }
                members.join(&b',')
            };
        // Valid members, whitespace and commas: ASCII, so this never fails.
        let text = String::from_utf8(kept)
            .map_err(|_| TraceStateError::InvalidValue { index: 0, at: 0 })?;
        self.tracestate = Some(Arc::from(text));
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
        hex_into(&self.trace_id.to_bytes(), &mut text[3..35]);
        hex_into(&self.parent_id.to_bytes(), &mut text[36..52]);
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

impl TraceContextError {
    /// The same error with its position moved `by` bytes later: for a value parsed after
    /// `by` bytes of leading whitespace were skipped.
    fn shifted(self, by: usize) -> Self {
        match self {
            Self::NotLowercaseHex { field, at, found } => Self::NotLowercaseHex {
                field,
                at: at + by,
                found,
            },
            Self::MissingDash { at, found } => Self::MissingDash { at: at + by, found },
            other => other,
        }
    }
}

impl Error for TraceContextError {}

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
        context
            .set_tracestate([members.join(",").as_str()])
            .unwrap();
        assert_eq!(context.tracestate(), Some(members[..32].join(",").as_str()));
        let long = format!("k={}", "v".repeat(MAX_TRACESTATE_BYTES - 2));
        context.set_tracestate([long.as_str()]).unwrap_err();
        assert_eq!(context.tracestate(), None);
        context.set_tracestate([" ", ""]).unwrap();
        assert_eq!(context.tracestate(), None);
        let past_reading = "a=1,".repeat(MAX_TRACESTATE_READ_BYTES / 4 + 1);
        assert_eq!(
            context.set_tracestate([past_reading.as_str()]),
            Err(TraceStateError::TooLong {
                bytes: MAX_TRACESTATE_READ_BYTES + 4
            })
        );
    }

    #[test]
    fn surrounding_whitespace_is_skipped_and_positions_count_it() {
        let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        for padded in [
            format!(" {value}"),
            format!("{value}\t "),
            format!("\t {value} "),
        ] {
            assert_eq!(TraceContext::parse(&padded), TraceContext::parse(value));
        }
        assert_eq!(
            TraceContext::parse(&format!("  {}", value.replace("-00f", "-00F"))),
            Err(TraceContextError::NotLowercaseHex {
                field: TraceField::ParentId,
                at: 2 + 38,
                found: b'F'
            })
        );
        assert!(TraceContext::parse(&format!("{value}\n")).is_err());
        assert!(TraceContext::parse(" \t ").is_err());
    }
}
