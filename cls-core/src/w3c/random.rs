//! Fresh trace and span ids, without a dependency and without a system call per id.
//!
//! Each thread holds a 64-bit counter that starts at a random point, taken from the
//! keys std seeds `HashMap`s with (drawn from the OS once per thread), and advances by
//! an odd constant; each output is the counter passed through SplitMix64's finalizer, a
//! bijection. So a thread never repeats an id before 2^64 draws, and two threads start
//! at unrelated points. The ids are unique, not secret: they are not cryptographic, and
//! need not be, since a trace id or parent id travels in clear text and grants nothing.
//! This keeps the `w3c` feature free of `rand`, and the cost at a few nanoseconds.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    // Distinct keys per thread already; the thread id is cheap insurance.
    hasher.write(format!("{:?}", std::thread::current().id()).as_bytes());
    hasher.finish()
}

/// The next 64 bits of this thread's sequence; never zero.
pub(super) fn next_nonzero_u64() -> u64 {
    loop {
        let state = STATE.with(|s| {
            let next = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            s.set(next);
            next
        });
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // Zero comes once in 2^64 draws; draw again rather than emit an invalid id.
        if z != 0 {
            return z;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_do_not_repeat_within_or_across_threads() {
        let draw = || (0..10_000).map(|_| next_nonzero_u64()).collect::<Vec<_>>();
        let other = std::thread::spawn(draw).join().unwrap();
        let mut seen: HashSet<u64> = draw().into_iter().collect();
        assert_eq!(seen.len(), 10_000);
        seen.extend(other);
        assert_eq!(seen.len(), 20_000);
    }
}
