//! Bacalhau-style job and execution ids (`j-<uuid>`, `e-<uuid>`), unique per process run.
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fresh id such as `e-1b4e28ba-2fa1-41d2-883f-0016d3cca427` (UUID v4 layout; unique, not
/// cryptographic: time, pid and a counter mixed).
pub fn new_id(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed =
        nanos ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0xA24B_AED4_963E_E407);
    let (hi, lo) = (mix(seed), mix(seed ^ 0xDEAD_BEEF_CAFE_F00D));
    let hi = (hi & !0xF000) | 0x4000;
    let lo = (lo & !(0xC << 60)) | (0x8 << 60);
    format!(
        "{prefix}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn unique_and_shaped() {
        let a = super::new_id("e");
        let b = super::new_id("e");
        assert_ne!(a, b);
        assert_eq!(a.len(), 2 + 36);
        assert_eq!(&a[16..17], "4");
    }
}
