//! Request id generators: random UUIDs (version 4) and time-ordered UUIDs (version 7).
//!
//! Both draw their randomness from `rand`'s thread-local generator: ChaCha12, seeded from
//! the operating system on each thread's first use and reseeded from it every 64 KiB of
//! output, so an id costs no system call (`uuid::Uuid::new_v4()` with default features
//! makes one per id). The text is written straight into the id, which holds it inline:
//! making an id allocates nothing.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;

use super::RequestId;

/// A random UUID (version 4, RFC 9562) as a request id: 36 characters of lowercase hex and
/// dashes, 122 random bits.
///
/// The default generator. Where `uuid::Uuid::new_v4()` asks the operating system for
/// every id, this uses a thread-local CSPRNG: an order of magnitude cheaper, with the
/// same unpredictability for anyone who sees other ids.
///
/// # Examples
///
/// ```
/// let id = cls_core::web::uuid_v4();
/// let text = id.as_str();
/// assert_eq!(text.len(), 36);
/// assert_eq!(&text[14..15], "4"); // the version
/// assert!("89ab".contains(&text[19..20])); // the RFC 9562 variant
/// assert_eq!(text.matches('-').count(), 4);
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub fn uuid_v4() -> RequestId {
    let mut bytes = random_bytes();
    set_version_and_variant(&mut bytes, 4);
    hyphenated(&bytes)
}

/// A time-ordered UUID (version 7, RFC 9562) as a request id: the Unix time in
/// milliseconds in the first 48 bits, then 74 random bits.
///
/// Ids made in different milliseconds sort (as text) in the order they were made, which
/// keeps them close together in a database index and readable in logs; ids made in the same
/// millisecond are in random order (RFC 9562's optional counter is left out, so no state is
/// shared between threads). A clock set before 1970 gives a zero timestamp.
///
/// # Examples
///
/// ```
/// let first = cls_core::web::uuid_v7();
/// std::thread::sleep(std::time::Duration::from_millis(2));
/// let second = cls_core::web::uuid_v7();
/// assert_eq!(&first.as_str()[14..15], "7");
/// assert!(first.as_str()[..13] < second.as_str()[..13]); // the timestamp part
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub fn uuid_v7() -> RequestId {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    // 48 bits of milliseconds last until the year 10889.
    let millis = (millis as u64) & 0xffff_ffff_ffff;
    let mut bytes = random_bytes();
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    set_version_and_variant(&mut bytes, 7);
    hyphenated(&bytes)
}

fn random_bytes() -> [u8; 16] {
    let mut rng = rand::rng();
    let high = rng.next_u64().to_be_bytes();
    let low = rng.next_u64().to_be_bytes();
    let mut bytes = [0; 16];
    bytes[..8].copy_from_slice(&high);
    bytes[8..].copy_from_slice(&low);
    bytes
}

/// Octet 6's high nibble is the version; octet 8's two high bits are the variant, `10`.
fn set_version_and_variant(bytes: &mut [u8; 16], version: u8) {
    bytes[6] = (bytes[6] & 0x0f) | (version << 4);
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
}

/// The two lowercase hex digits of every byte value.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [HEX[byte >> 4], HEX[byte & 0x0f]];
        byte += 1;
    }
    pairs
};

/// Where the digits of each byte go in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
const TEXT_OFFSETS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase.
fn hyphenated(bytes: &[u8; 16]) -> RequestId {
    // Fixed offsets and a table, rather than a running position: the loop unrolls into
    // straight stores with no bounds checks, ~5x faster than a nibble at a time.
    let mut text = [b'-'; 36];
    for (byte, at) in bytes.iter().zip(TEXT_OFFSETS) {
        let [high, low] = HEX_PAIRS[usize::from(*byte)];
        text[at] = high;
        text[at + 1] = low;
    }
    RequestId::from_uuid_text(text)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn assert_uuid_text(text: &str, version: char) {
        assert_eq!(text.len(), 36, "{text}");
        for (i, c) in text.char_indices() {
            if matches!(i, 8 | 13 | 18 | 23) {
                assert_eq!(c, '-', "{text}");
            } else {
                assert!(matches!(c, '0'..='9' | 'a'..='f'), "{text}");
            }
        }
        assert_eq!(text.as_bytes()[14], version as u8, "{text}");
        assert!(
            matches!(text.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
            "{text}"
        );
    }

    #[test]
    fn v4_and_v7_have_the_rfc_9562_layout() {
        for _ in 0..10_000 {
            assert_uuid_text(uuid_v4().as_str(), '4');
            assert_uuid_text(uuid_v7().as_str(), '7');
        }
    }

    #[test]
    fn the_text_round_trips_through_the_uuid_crate() {
        let id = uuid_v4();
        let parsed = uuid::Uuid::parse_str(id.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(parsed.hyphenated().to_string(), id.as_str());
        let id = uuid_v7();
        let parsed = uuid::Uuid::parse_str(id.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        let (seconds, _) = parsed.get_timestamp().unwrap().to_unix();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(now.abs_diff(seconds) <= 1, "{seconds} vs {now}");
    }

    #[test]
    fn a_hundred_thousand_ids_are_all_different() {
        let v4: HashSet<RequestId> = (0..100_000).map(|_| uuid_v4()).collect();
        assert_eq!(v4.len(), 100_000);
        let v7: HashSet<RequestId> = (0..100_000).map(|_| uuid_v7()).collect();
        assert_eq!(v7.len(), 100_000);
    }

    #[test]
    fn threads_do_not_repeat_each_other() {
        let per_thread: Vec<Vec<RequestId>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| (0..10_000).map(|_| uuid_v4()).collect()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let all: HashSet<&RequestId> = per_thread.iter().flatten().collect();
        assert_eq!(all.len(), 40_000);
    }

    #[test]
    fn v7_timestamps_never_go_back_on_one_thread() {
        let mut previous = String::new();
        for _ in 0..20_000 {
            let id = uuid_v7();
            let stamp = id.as_str()[..13].to_owned(); // 48 bits: 8 + dash + 4 hex digits
            assert!(stamp >= previous, "{stamp} after {previous}");
            previous = stamp;
        }
    }

    #[test]
    fn v4_bits_look_uniform() {
        // Each of the 122 random bits is set in about half of 20,000 ids; a stuck bit or a
        // swapped nibble shows up as 0 % or 100 %.
        let mut ones = [0_u32; 128];
        let ids = 20_000;
        for _ in 0..ids {
            let hex: String = uuid_v4().as_str().chars().filter(|&c| c != '-').collect();
            let value = u128::from_str_radix(&hex, 16).unwrap();
            for (bit, count) in ones.iter_mut().enumerate() {
                *count += ((value >> bit) & 1) as u32;
            }
        }
        let fixed = [76, 77, 78, 79, 62, 63]; // version nibble and variant bits
        for (bit, &count) in ones.iter().enumerate() {
            if fixed.contains(&bit) {
                continue;
            }
            let share = f64::from(count) / f64::from(ids);
            assert!((0.45..0.55).contains(&share), "bit {bit}: {share}");
        }
        assert_eq!(ones[78], ids); // version 4 = 0100
        assert_eq!(ones[76] + ones[77] + ones[79], 0);
        assert_eq!((ones[63], ones[62]), (ids, 0)); // variant 10
    }
}
