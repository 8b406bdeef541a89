//! Memory sizes as job specs write them (`Resources.Memory`).

/// Parses a memory size as Bacalhau does (go-humanize): a number with an optional unit,
/// case-insensitive; `kb`/`mb`/`gb`/`tb` (and `k`, `m`, ...) are powers of 1000, `ki`/`kib`,
/// `mi`/`mib`, ... powers of 1024; no unit means bytes. "36mb" = 36,000,000.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim().to_ascii_lowercase());
    let value: f64 = number
        .parse()
        .map_err(|_| format!("memory {text:?}: expected a number with an optional unit"))?;
    let multiplier: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000_u64.pow(2),
        "g" | "gb" => 1000_u64.pow(3),
        "t" | "tb" => 1000_u64.pow(4),
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        _ => return Err(format!("memory {text:?}: unknown unit {unit:?}")),
    };
    let bytes = value * multiplier as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(format!("memory {text:?} is too large"));
    }
    Ok(bytes.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("36mb"), Ok(36_000_000));
        assert_eq!(parse_memory("64Mi"), Ok(64 << 20));
        assert_eq!(parse_memory("1gb"), Ok(1_000_000_000));
        assert_eq!(parse_memory("1GiB"), Ok(1 << 30));
        assert_eq!(parse_memory("4096"), Ok(4096));
        assert_eq!(parse_memory("0.5 kb"), Ok(500));
        assert!(parse_memory("lots").is_err());
        assert!(parse_memory("5 parsecs").is_err());
    }
}
