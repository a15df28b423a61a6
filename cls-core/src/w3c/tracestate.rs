//! The `tracestate` header: every member checked against the level 1 grammar, then kept
//! verbatim, or cut down to the limits by removing whole members, or dropped whole.

use std::error::Error;
use std::fmt;

use super::chars::trim_ows;

/// The most bytes of `tracestate` kept and forwarded: 512, what the specification asks
/// every vendor to propagate (commas and whitespace included).
///
/// A longer list is truncated, never cut inside a member: see
/// [`TraceContext::set_tracestate`](super::TraceContext::set_tracestate).
pub const MAX_TRACESTATE_BYTES: usize = 512;

/// The most list members a `tracestate` keeps: 32, the specification's maximum. A longer
/// list loses members from its end.
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// The most bytes of `tracestate` read (all headers joined with `,`): past this, the
/// header is refused whole ([`TraceStateError::TooLong`]) without being read further.
///
/// 8 KiB is what common HTTP servers and proxies accept in one header line, and it bounds
/// the work a hostile header costs. The longest list the grammar admits (32 members, each
/// a 256-byte key and a 256-byte value) is about twice that; such a list would be
/// truncated to [`MAX_TRACESTATE_BYTES`] anyway.
pub const MAX_TRACESTATE_READ_BYTES: usize = 8192;

/// Members longer than this are the first removed when a list is truncated for its size.
const LONG_MEMBER_BYTES: usize = 128;

/// The longest key of either form, and the longest value.
const MAX_KEY_BYTES: usize = 256;
const MAX_TENANT_BYTES: usize = 241;
const MAX_SYSTEM_BYTES: usize = 14;
const MAX_VALUE_BYTES: usize = 256;

/// The non-empty members of a joined `tracestate`, surrounding whitespace trimmed, in
/// order, each checked against the grammar, no key twice. The first rule broken, in list
/// order, is the error.
pub(super) fn list_members(value: &[u8]) -> Result<Vec<&[u8]>, TraceStateError> {
    let mut members = Vec::new();
    let mut invalid = None;
    for member in value.split(|&b| b == b',').map(trim_ows) {
        if member.is_empty() {
            continue;
        }
        if let Err(error) = check_member(member, members.len()) {
            invalid = Some(error);
            break;
        }
        members.push(member);
    }
    // A repeat among the members before the invalid one comes first in the list.
    if let Some(index) = first_repeated_key(&members) {
        return Err(TraceStateError::DuplicateKey { index });
    }
    match invalid {
        Some(error) => Err(error),
        None => Ok(members),
    }
}

/// Removes whole members until the list fits [`MAX_TRACESTATE_BYTES`] (its members joined
/// by single commas) and [`MAX_TRACESTATE_MEMBERS`], as the specification's truncation
/// rule says: while the list is too long in bytes, members longer than 128 bytes go first
/// (right-most first); then members go from the end of the list. A list that is only past
/// the member count loses its last members.
pub(super) fn truncate(members: &mut Vec<&[u8]>) {
    let mut total: usize = members.iter().map(|m| m.len()).sum();
    let mut count = members.len();
    let bytes = |total: usize, count: usize| total + count.saturating_sub(1);
    let mut keep = vec![true; members.len()];
    for (i, member) in members.iter().enumerate().rev() {
        if bytes(total, count) <= MAX_TRACESTATE_BYTES {
            break;
        }
        if member.len() > LONG_MEMBER_BYTES {
            keep[i] = false;
            total -= member.len();
            count -= 1;
        }
    }
    let mut kept = keep.iter();
    members.retain(|_| kept.next().copied().unwrap_or(true));
    while count > MAX_TRACESTATE_MEMBERS || bytes(total, count) > MAX_TRACESTATE_BYTES {
        let Some(last) = members.pop() else { break };
        total -= last.len();
        count -= 1;
    }
}

/// The index of the first member whose key an earlier member has.
fn first_repeated_key(members: &[&[u8]]) -> Option<usize> {
    let key = |member: &[u8]| -> usize { member.iter().position(|&b| b == b'=').unwrap_or(0) };
    if members.len() <= MAX_TRACESTATE_MEMBERS {
        // At most 496 short comparisons, without allocating: the common case.
        return (1..members.len()).find(|&i| {
            let this = &members[i][..key(members[i])];
            members[..i].iter().any(|m| &m[..key(m)] == this)
        });
    }
    // A long list (on its way to be truncated): sorted, each repeat next to its first.
    let mut keys: Vec<(&[u8], usize)> = members
        .iter()
        .enumerate()
        .map(|(i, m)| (&m[..key(m)], i))
        .collect();
    keys.sort_unstable();
    keys.windows(2)
        .filter(|pair| pair[0].0 == pair[1].0)
        .map(|pair| pair[1].1)
        .min()
}

/// Checks one trimmed, non-empty member: `key=value`.
fn check_member(member: &[u8], index: usize) -> Result<(), TraceStateError> {
    let equals = member
        .iter()
        .position(|&b| b == b'=')
        .ok_or(TraceStateError::MissingEquals { index })?;
    let (key, value) = (&member[..equals], &member[equals + 1..]);
    if let Some(at) = key_error(key) {
        return Err(TraceStateError::InvalidKey { index, at });
    }
    if let Some(at) = value_error(value) {
        return Err(TraceStateError::InvalidValue {
            index,
            at: equals + 1 + at,
        });
    }
    Ok(())
}

/// `lcalpha / DIGIT / "_" / "-" / "*" / "/"`: what follows the first byte of a simple
/// key, a tenant id or a system id.
fn is_key_tail_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/')
}

/// Where `key` breaks the level 1 key rule, if it does:
///
/// ```text
/// key              = simple-key / multi-tenant-key
/// simple-key       = lcalpha 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
/// multi-tenant-key = tenant-id "@" system-id
/// tenant-id        = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
/// system-id        = lcalpha 0*13( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
/// ```
///
/// The offset is that of the first byte not allowed where it stands (a second `@`
/// included), else that of the first byte past a length limit, or the end of an empty id.
fn key_error(key: &[u8]) -> Option<usize> {
    let Some(at_sign) = key.iter().position(|&b| b == b'@') else {
        return id_error(key, u8::is_ascii_lowercase, MAX_KEY_BYTES);
    };
    let tenant_first = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if let Some(at) = id_error(&key[..at_sign], tenant_first, MAX_TENANT_BYTES) {
        return Some(at);
    }
    let system = &key[at_sign + 1..];
    id_error(system, u8::is_ascii_lowercase, MAX_SYSTEM_BYTES).map(|at| at_sign + 1 + at)
}

/// Where an id (a simple key, a tenant id or a system id) breaks its rule: a first byte
/// that `first` admits, then tail bytes, at most `max` in all.
fn id_error(id: &[u8], first: impl Fn(&u8) -> bool, max: usize) -> Option<usize> {
    match id.split_first() {
        None => Some(0),
        Some((head, _)) if !first(head) => Some(0),
        Some((_, tail)) => match tail.iter().position(|&b| !is_key_tail_byte(b)) {
            Some(at) => Some(1 + at),
            None => (id.len() > max).then_some(max),
        },
    }
}

/// Where `value` breaks `0*255(chr) nblk-chr` (printable ASCII other than `,` and `=`, the
/// last not a space): its first byte not allowed, else the first byte past 256, or 0 when
/// empty.
fn value_error(value: &[u8]) -> Option<usize> {
    let chr = |b: u8| (0x20..=0x7E).contains(&b) && b != b',' && b != b'=';
    if let Some(at) = value.iter().position(|&b| !chr(b)) {
        return Some(at);
    }
    match value.last() {
        None => Some(0),
        Some(_) if value.len() > MAX_VALUE_BYTES => Some(MAX_VALUE_BYTES),
        // Members are trimmed, so only a caller of `check_member` with an untrimmed
        // member could get here; the rule holds all the same.
        Some(b' ') => Some(value.len() - 1),
        Some(_) => None,
    }
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
///     "tracestate dropped: byte 0 of the key of member 1 breaks the key rule (a-z, then up \
///      to 255 of a-z 0-9 _ - * /; or tenant@system, a tenant id of up to 241 of those \
///      starting with a-z or 0-9, a system id of up to 14 starting with a-z)",
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceStateError {
    /// Longer than [`MAX_TRACESTATE_READ_BYTES`], all headers joined with `,`.
    TooLong {
        /// The length, as far as it was read.
        bytes: usize,
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
                "{bytes} bytes or more, past the {MAX_TRACESTATE_READ_BYTES} read"
            ),
            Self::MissingEquals { index } => {
                write!(f, "member {index} is not `key=value`, it has no `=`")
            }
            Self::InvalidKey { index, at } => write!(
                f,
                "byte {at} of the key of member {index} breaks the key rule (a-z, then up to \
                 255 of a-z 0-9 _ - * /; or tenant@system, a tenant id of up to 241 of those \
                 starting with a-z or 0-9, a system id of up to 14 starting with a-z)"
            ),
            Self::InvalidValue { index, at } => write!(
                f,
                "byte {at} of member {index} is not allowed in a value (1 to 256 printable \
                 ASCII characters other than `,` and `=`, not ending in a space)"
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

    fn key(text: &str) -> Option<usize> {
        key_error(text.as_bytes())
    }

    #[test]
    fn simple_keys_start_with_a_letter_and_hold_256_bytes() {
        assert_eq!(key("a"), None);
        assert_eq!(key("a0_-*/z"), None);
        assert_eq!(
            key("0a"),
            Some(0),
            "a digit first needs a tenant@system key"
        );
        assert_eq!(key("_a"), Some(0));
        assert_eq!(key(""), Some(0));
        assert_eq!(key("aBc"), Some(1));
        assert_eq!(key("a.b"), Some(1));
        assert_eq!(key(&"k".repeat(256)), None);
        assert_eq!(key(&"k".repeat(257)), Some(256));
    }

    #[test]
    fn multi_tenant_keys_have_one_at_and_bounded_ids() {
        assert_eq!(key("fw529a3039@dt"), None);
        assert_eq!(key("0@a"), None, "a tenant id may start with a digit");
        assert_eq!(key("a@b@c"), Some(3), "a second `@`");
        assert_eq!(key("@dt"), Some(0), "an empty tenant id");
        assert_eq!(key("t@"), Some(2), "an empty system id");
        assert_eq!(key("t@0a"), Some(2), "a system id starting with a digit");
        assert_eq!(key("_t@a"), Some(0));
        let tenant = "t".repeat(241);
        assert_eq!(key(&format!("{tenant}@a")), None);
        assert_eq!(key(&format!("{tenant}t@a")), Some(241));
        let system = "s".repeat(14);
        assert_eq!(key(&format!("t@{system}")), None);
        assert_eq!(key(&format!("t@{system}s")), Some(2 + 14));
        // The longest multi-tenant key: 241 + 1 + 14 = 256 bytes.
        assert_eq!(key(&format!("{tenant}@{system}")), None);
    }

    #[test]
    fn values_are_1_to_256_printable_bytes_not_ending_in_a_space() {
        assert_eq!(value_error(b"x"), None);
        assert_eq!(value_error(b" leading space"), None);
        assert_eq!(value_error(b""), Some(0));
        assert_eq!(value_error(b"a b "), Some(3));
        assert_eq!(value_error(b"a=b"), Some(1));
        assert_eq!(value_error(b"a\x7f"), Some(1));
        assert_eq!(value_error("v".repeat(256).as_bytes()), None);
        assert_eq!(value_error("v".repeat(257).as_bytes()), Some(256));
    }

    #[test]
    fn duplicates_are_found_in_short_and_long_lists() {
        let short: Vec<&[u8]> = vec![b"a=1", b"b=2", b"a=3", b"b=4"];
        assert_eq!(first_repeated_key(&short), Some(2));
        let names: Vec<String> = (0..40).map(|i| format!("k{i}=v")).collect();
        let mut long: Vec<&[u8]> = names.iter().map(String::as_bytes).collect();
        assert_eq!(first_repeated_key(&long), None);
        long.push(b"k39=w");
        long.push(b"k3=w");
        assert_eq!(first_repeated_key(&long), Some(40));
    }

    #[test]
    fn truncation_removes_long_members_first_then_from_the_end() {
        let long = format!("long={}", "x".repeat(124));
        assert_eq!(long.len(), 129);
        let filler = format!("f={}", "y".repeat(98));
        // long (129) + 4 fillers (100 each) + 4 commas = 533 bytes: the long one goes.
        let mut members: Vec<&[u8]> = vec![long.as_bytes()];
        members.extend(std::iter::repeat_n(filler.as_bytes(), 4));
        truncate(&mut members);
        assert_eq!(members.len(), 4);
        assert!(members.iter().all(|m| *m == filler.as_bytes()));

        // 33 short members: the last one goes.
        let names: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        let mut members: Vec<&[u8]> = names.iter().map(String::as_bytes).collect();
        truncate(&mut members);
        assert_eq!(members.len(), 32);
        assert_eq!(members[31], b"k31=v");
    }
}
