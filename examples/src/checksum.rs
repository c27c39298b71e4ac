//! Order-sensitive 64-bit checksums of workload results.
//!
//! Not cryptographic: a word-at-a-time multiply-rotate hash in the style of FxHash (rustc's
//! hasher) finished with SplitMix64's avalanche mixer, so any changed, dropped or reordered
//! value changes the printed checksum with overwhelming probability.

use crate::rng::mix64;

/// Odd multiplier of the running hash (from FxHash: `0x51_7c_c1_b7_27_22_0a_95`).
const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

/// A running checksum.
///
/// ```
/// use hallows_examples::checksum::Checksum;
/// let mut a = Checksum::new();
/// a.add_u64(1);
/// a.add_u64(2);
/// let mut b = Checksum::new();
/// b.add_u64(2);
/// b.add_u64(1);
/// assert_ne!(a.finish(), b.finish());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Checksum {
    state: u64,
    words: u64,
}

impl Checksum {
    /// An empty checksum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one 64-bit word.
    #[inline]
    pub fn add_u64(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(MULTIPLIER);
        self.words += 1;
    }

    /// Adds the bit pattern of a float (so results must match bit for bit).
    #[inline]
    pub fn add_f64(&mut self, value: f64) {
        self.add_u64(value.to_bits());
    }

    /// Adds a byte string, with its length so that concatenations differ.
    pub fn add_bytes(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add_u64(u64::from_le_bytes(word));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add_u64(u64::from_le_bytes(tail));
        self.add_u64(bytes.len() as u64);
    }

    /// The final, avalanche-mixed value.
    pub fn finish(&self) -> u64 {
        mix64(self.state ^ self.words.wrapping_mul(MULTIPLIER))
    }
}

/// Checksum of a slice of `u32`s.
///
/// ```
/// let a = hallows_examples::checksum::of_u32s(&[1, 2, 3]);
/// assert_ne!(a, hallows_examples::checksum::of_u32s(&[1, 2, 4]));
/// ```
pub fn of_u32s(values: &[u32]) -> u64 {
    let mut sum = Checksum::new();
    let mut pairs = values.chunks_exact(2);
    for pair in &mut pairs {
        sum.add_u64(u64::from(pair[0]) | (u64::from(pair[1]) << 32));
    }
    for &v in pairs.remainder() {
        sum.add_u64(u64::from(v));
    }
    sum.add_u64(values.len() as u64);
    sum.finish()
}

/// Checksum of a slice of `u64`s.
///
/// ```
/// assert_ne!(hallows_examples::checksum::of_u64s(&[1]), hallows_examples::checksum::of_u64s(&[1, 0]));
/// ```
pub fn of_u64s(values: &[u64]) -> u64 {
    let mut sum = Checksum::new();
    for &v in values {
        sum.add_u64(v);
    }
    sum.add_u64(values.len() as u64);
    sum.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_of_different_length_differ() {
        let mut a = Checksum::new();
        a.add_bytes(b"abc");
        let mut b = Checksum::new();
        b.add_bytes(b"abc\0");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn every_single_value_change_is_seen() {
        let base: Vec<u32> = (0..64).collect();
        let reference = of_u32s(&base);
        for i in 0..base.len() {
            let mut changed = base.clone();
            changed[i] ^= 1;
            assert_ne!(of_u32s(&changed), reference, "change at {i} not seen");
        }
    }
}
