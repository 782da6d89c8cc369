//! A small deterministic random number generator for the examples' self-tests (xorshift64*),
//! so a failing run can be replayed from the seed it prints. Not for anything but tests.

/// xorshift64* (Vigna): 64 bits of state, good enough to cut byte streams at random places.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; 0 is mapped to a fixed non-zero state).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// A seed from the clock, for runs that differ from one another.
    pub fn clock_seed() -> u64 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        nanos | 1
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`n > 0`; slightly biased for huge `n`, which does not matter here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// `true` with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    /// Cuts `data` into pieces of random odd lengths (mostly small, sometimes large), the way
    /// a network delivers a stream: requests and lines split at arbitrary points.
    pub fn pieces<'a>(&mut self, mut data: &'a [u8]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let len = match self.below(4) {
                0 => 1,
                1 => self.range(1, 16) | 1,
                2 => self.range(1, 700) | 1,
                _ => self.range(1, 20_000) | 1,
            };
            let (piece, rest) = data.split_at(len.min(data.len()));
            out.push(piece);
            data = rest;
        }
        out
    }
}
