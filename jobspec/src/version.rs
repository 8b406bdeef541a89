//! The Bacalhau versions whose rules differ for the jobs here.
use std::fmt;

/// A Bacalhau release line, ordered. `1.6` means v1.6.0–v1.6.3; v1.6.4 changed the network
/// types and added `env:` references, so it is its own step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BacalhauVersion {
    V1_5,
    V1_6,
    V1_6_4,
    V1_7,
}

impl BacalhauVersion {
    /// `1.5`, `1.6`, `1.6.4`, `1.7` (a patch level picks its line: `1.6.5` is 1.6.4's rules).
    pub fn parse(raw: &str) -> Result<BacalhauVersion, String> {
        let t = raw.trim().trim_start_matches('v');
        let mut parts = t.split('.');
        let (major, minor) = (parts.next(), parts.next());
        let patch: u32 = match parts.next() {
            None => 0,
            Some(p) => p.parse().map_err(|_| bad(raw))?,
        };
        if parts.next().is_some() {
            return Err(bad(raw));
        }
        match (major, minor) {
            (Some("1"), Some("5")) => Ok(BacalhauVersion::V1_5),
            (Some("1"), Some("6")) if patch >= 4 => Ok(BacalhauVersion::V1_6_4),
            (Some("1"), Some("6")) => Ok(BacalhauVersion::V1_6),
            (Some("1"), Some("7")) => Ok(BacalhauVersion::V1_7),
            _ => Err(bad(raw)),
        }
    }
}

fn bad(raw: &str) -> String {
    format!("unknown Bacalhau version {raw:?} (expected 1.5, 1.6, 1.6.4 or 1.7)")
}

impl fmt::Display for BacalhauVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BacalhauVersion::V1_5 => "v1.5",
            BacalhauVersion::V1_6 => "v1.6.0-v1.6.3",
            BacalhauVersion::V1_6_4 => "v1.6.4",
            BacalhauVersion::V1_7 => "v1.7",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(BacalhauVersion::parse("1.5"), Ok(BacalhauVersion::V1_5));
        assert_eq!(BacalhauVersion::parse("1.6"), Ok(BacalhauVersion::V1_6));
        assert_eq!(
            BacalhauVersion::parse("v1.6.4"),
            Ok(BacalhauVersion::V1_6_4)
        );
        assert_eq!(BacalhauVersion::parse("1.7.0"), Ok(BacalhauVersion::V1_7));
        assert!(BacalhauVersion::parse("1.8").is_err());
        assert!(BacalhauVersion::parse("one").is_err());
        assert!(BacalhauVersion::V1_6 < BacalhauVersion::V1_6_4);
    }
}
