//! Randomness and retry pacing. Bacalhau's `random_get` is deterministic (no entropy source
//! is configured), so every node would pick the same "random" colour: the generator is
//! seeded from the clocks and the node's identity instead.

/// xorshift64* — small, fast, good enough for colours, emojis and jitter.
pub struct Rng(u64);

impl Rng {
    pub fn seeded(parts: &[u64]) -> Rng {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for &p in parts {
            state = (state ^ p).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            state ^= state >> 31;
        }
        Rng(if state == 0 { 1 } else { state })
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// FNV-1a, to fold strings (hostname, execution id) into the seed.
pub fn hash(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01B3)
    })
}

/// Exponential backoff with jitter: each failure doubles the delay up to `max_ns`; the delay
/// actually waited is drawn from [d/2, d] so thousands of nodes cut off together do not
/// retry in lockstep when their proxy returns.
pub struct Backoff {
    current_ns: u64,
    min_ns: u64,
    max_ns: u64,
}

impl Backoff {
    pub fn new(min_ns: u64, max_ns: u64) -> Backoff {
        Backoff {
            current_ns: min_ns,
            min_ns,
            max_ns: max_ns.max(min_ns),
        }
    }

    pub fn next_delay(&mut self, rng: &mut Rng) -> u64 {
        let d = self.current_ns;
        self.current_ns = (d.saturating_mul(2)).min(self.max_ns);
        d / 2 + rng.below(d / 2 + 1)
    }

    pub fn reset(&mut self) {
        self.current_ns = self.min_ns;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_and_sequences_vary() {
        let mut a = Rng::seeded(&[1, hash("edge-us-0")]);
        let mut b = Rng::seeded(&[1, hash("edge-us-1")]);
        assert_ne!(a.next(), b.next());
        let firsts: Vec<u64> = (0..20).map(|_| a.below(20)).collect();
        assert!(firsts.iter().any(|&x| x != firsts[0]));
        assert!(firsts.iter().all(|&x| x < 20));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let mut rng = Rng::seeded(&[7]);
        let mut b = Backoff::new(100, 1000);
        let delays: Vec<u64> = (0..6).map(|_| b.next_delay(&mut rng)).collect();
        let nominal = [100, 200, 400, 800, 1000, 1000];
        for (d, n) in delays.iter().zip(nominal) {
            assert!(*d >= n / 2 && *d <= n, "{d} vs {n}");
        }
        b.reset();
        assert!(b.next_delay(&mut rng) <= 100);
    }
}
