//! Template values as `bacalhau job run` builds them (cmd/cli/job/run.go and
//! pkg/lib/template/parser.go at v1.7.0): `-V` is a pflag string-to-string flag (`k=v`, also
//! `k1=v1,k2=v2`; repeated flags merge, a later key wins), `-E` is ONE regular expression (a
//! later `-E` replaces an earlier one; `*` alone means `.*`) matched UNANCHORED against host
//! variable names, and a `-V` key wins over an environment variable of the same name.
use super::error::{Error, ErrorKind};
use super::regex::Regex;
use std::collections::BTreeMap;

/// Splits `-V` arguments as pflag's StringToString does: each argument is a comma-separated
/// (CSV) list of `key=value` pairs; a pair without `=` is an error.
pub fn parse_template_vars(args: &[String]) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for arg in args {
        for pair in csv_fields(arg) {
            match pair.split_once('=') {
                Some((k, v)) => out.push((k.to_string(), v.to_string())),
                None => {
                    return Err(Error::new(
                        ErrorKind::Values,
                        format!("-V {arg:?}: {pair:?} must be formatted as key=value"),
                    ))
                }
            }
        }
    }
    Ok(out)
}

/// CSV fields of one line: commas split, double quotes group (`""` is a quote).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let field = fields.last_mut().expect("fields starts non-empty");
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' if quoted || field.is_empty() => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            other => field.push(other),
        }
    }
    fields
}

/// Builds the template values: every host environment variable whose NAME `env_pattern`
/// matches anywhere, then the `-V` pairs, which win.
pub fn template_values(
    vars: &[(String, String)],
    env_pattern: Option<&str>,
    env: &[(String, String)],
) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    if let Some(pattern) = env_pattern.filter(|p| !p.is_empty()) {
        let pattern = if pattern == "*" { ".*" } else { pattern };
        let re = Regex::new(pattern)?;
        for (name, value) in env {
            if re.is_match(name) {
                out.insert(name.clone(), value.clone());
            }
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
    fn one_unanchored_pattern_and_v_wins() {
        let env = pairs(&[("REPLICAS", "5"), ("US_REPLICAS", "9"), ("HOME", "/root")]);
        let vals = template_values(&pairs(&[("REPLICAS", "2")]), Some("REPLICAS"), &env).unwrap();
        assert_eq!(vals.get("REPLICAS").map(String::as_str), Some("2"));
        assert_eq!(
            vals.get("US_REPLICAS").map(String::as_str),
            Some("9"),
            "-E REPLICAS also pulls in US_REPLICAS, as Go's MatchString does"
        );
        assert!(!vals.contains_key("HOME"));
        let all = template_values(&[], Some("*"), &env).unwrap();
        assert_eq!(all.len(), 3, "`*` alone means .*");
        assert!(template_values(&[], None, &env).unwrap().is_empty());
    }

    #[test]
    fn name_equals_value_form_is_not_a_match() {
        let env = pairs(&[("REPLICAS", "5")]);
        let vals = template_values(&[], Some("REPLICAS=5"), &env).unwrap();
        assert!(vals.is_empty());
    }

    #[test]
    fn v_flags_split_like_pflag_string_to_string() {
        let got = parse_template_vars(&[
            "a=1,b=2".to_string(),
            "color=#FF0000".to_string(),
            "\"list=x,y\"".to_string(),
            "a=3".to_string(),
        ])
        .unwrap();
        assert_eq!(
            got,
            pairs(&[
                ("a", "1"),
                ("b", "2"),
                ("color", "#FF0000"),
                ("list", "x,y"),
                ("a", "3")
            ])
        );
        assert!(parse_template_vars(&["a=1,b".to_string()]).is_err());
        assert!(parse_template_vars(&["novalue".to_string()]).is_err());
    }

    #[test]
    fn bad_regex_and_empty_key_are_errors() {
        assert_eq!(
            template_values(&[], Some("("), &[]).unwrap_err().kind(),
            ErrorKind::Values
        );
        assert!(template_values(&pairs(&[("", "x")]), None, &[]).is_err());
    }
}
