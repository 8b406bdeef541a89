//! Template values as `bacalhau job run` builds them from `-V key=value` and `-E REGEX`.
use super::error::{Error, ErrorKind};
use super::regex::Regex;
use std::collections::BTreeMap;

/// Builds the template values: every host environment variable whose NAME fully matches one
/// of `env_patterns` (Bacalhau's `-E` takes a regex, not `NAME=value`), then the `-V` pairs,
/// which win over environment values of the same name.
pub fn template_values(
    vars: &[(String, String)],
    env_patterns: &[String],
    env: &[(String, String)],
) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    let patterns = env_patterns
        .iter()
        .map(|p| Regex::new(p))
        .collect::<Result<Vec<_>, _>>()?;
    for (name, value) in env {
        if patterns.iter().any(|re| re.full_match(name)) {
            out.insert(name.clone(), value.clone());
        }
    }
    for (key, value) in vars {
        if key.is_empty() {
            return Err(Error::new(
                ErrorKind::Values,
                format!("-V {key}={value}: empty key"),
            ));
        }
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_names_must_fully_match_and_v_wins() {
        let env = pairs(&[("REPLICAS", "5"), ("US_REPLICAS", "9"), ("HOME", "/root")]);
        let vals = template_values(
            &pairs(&[("REPLICAS", "2"), ("color", "#FF0000")]),
            &["REPLICAS".into(), "US_.*".into()],
            &env,
        )
        .unwrap();
        assert_eq!(vals.get("REPLICAS").map(String::as_str), Some("2"));
        assert_eq!(vals.get("US_REPLICAS").map(String::as_str), Some("9"));
        assert_eq!(vals.get("color").map(String::as_str), Some("#FF0000"));
        assert!(!vals.contains_key("HOME"));
    }

    #[test]
    fn name_equals_value_form_is_not_a_match() {
        let env = pairs(&[("REPLICAS", "5")]);
        let vals = template_values(&[], &["REPLICAS=5".into()], &env).unwrap();
        assert!(vals.is_empty());
    }

    #[test]
    fn bad_regex_and_empty_key_are_errors() {
        assert_eq!(
            template_values(&[], &["(".into()], &[]).unwrap_err().kind(),
            ErrorKind::Values
        );
        assert!(template_values(&pairs(&[("", "x")]), &[], &[]).is_err());
    }
}
