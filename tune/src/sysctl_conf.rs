//! tune's sysctl.d file, which makes the applied kernel values survive a reboot
//! (systemd-sysctl and `sysctl --system` read it; sysctl.d(5)).
//!
//! An apply limited with `--only` updates its own lines and keeps the lines an earlier apply
//! wrote for other settings.

const HEADER: &str =
    "# Written by `tune apply` (edge sensors); `tune revert` restores the previous state.\n\
                      # Sized for a fleet of edge nodes; see `tune plan` for each reason.\n";

/// The `key = value` entries of a sysctl.d text, comments and blank lines skipped.
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().trim_start_matches('-').to_string(),
                v.trim().to_string(),
            )
        })
        .collect()
}

/// The file text: the existing entries (with `updates` replacing theirs) in their order, then
/// new entries in the order given.
pub fn render(existing: Option<&str>, updates: &[(String, String)]) -> String {
    let mut entries = existing.map(parse).unwrap_or_default();
    for (key, value) in updates {
        match entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.clone(),
            None => entries.push((key.clone(), value.clone())),
        }
    }
    let mut out = HEADER.to_string();
    for (key, value) in entries {
        out.push_str(&format!("{key} = {value}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_keep_other_entries_in_order() {
        let first = render(
            None,
            &[("a.b".into(), "1".into()), ("c.d".into(), "2 3".into())],
        );
        assert_eq!(
            parse(&first),
            vec![("a.b".into(), "1".into()), ("c.d".into(), "2 3".into())]
        );
        let second = render(
            Some(&first),
            &[("c.d".into(), "4 5".into()), ("e".into(), "6".into())],
        );
        assert_eq!(
            parse(&second),
            vec![
                ("a.b".into(), "1".into()),
                ("c.d".into(), "4 5".into()),
                ("e".into(), "6".into())
            ]
        );
        assert_eq!(render(Some(&second), &[]), second);
    }

    #[test]
    fn parse_skips_comments_and_junk() {
        let text = "# c\n; c\n\n-net.x = 1\nnot an entry\n y.z=2 \n";
        assert_eq!(
            parse(text),
            vec![("net.x".into(), "1".into()), ("y.z".into(), "2".into())]
        );
    }
}
