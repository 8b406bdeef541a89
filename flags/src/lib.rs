//! A tiny command-line tokenizer shared by every edge-sensors binary.
//!
//! The binaries follow ripgrep's shape: a tokenizer turns argv into [`Arg`]s, each binary's
//! `args` module records what was typed into a `LowArgs`, then validates it into the real
//! configuration. This crate is only the first step plus the exit-code conventions:
//! 0 success, 1 runtime failure, 2 usage error.
//!
//! Accepted spellings: `--name value`, `--name=value`, `-x value`, `-xvalue`, clustered short
//! switches are *not* supported (no binary needs them), `--` ends flags.
#![forbid(unsafe_code)]

use std::fmt;
use std::str::FromStr;

/// Exit code for a usage error (unknown flag, bad value), as ripgrep and most Unix tools do.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a runtime failure.
pub const EXIT_FAILURE: u8 = 1;

/// One token of the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// `-x`
    Short(char),
    /// `--name` (without the dashes)
    Long(String),
    /// A positional value (anything after `--` is always a value).
    Value(String),
}

impl Arg {
    /// The flag as the user typed it, for error messages.
    pub fn display(&self) -> String {
        match self {
            Arg::Short(c) => format!("-{c}"),
            Arg::Long(n) => format!("--{n}"),
            Arg::Value(v) => v.clone(),
        }
    }
}

/// A usage error: what was wrong with the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }

    /// The error for a flag the binary does not know.
    pub fn unknown(arg: &Arg) -> Error {
        match arg {
            Arg::Value(v) => Error::new(format!("unexpected argument '{v}'")),
            other => Error::new(format!("unknown flag '{}'", other.display())),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Splits argv into [`Arg`]s. `--name=value` keeps its value pending so that
/// [`Parser::value`] returns it.
#[derive(Debug)]
pub struct Parser {
    args: std::vec::IntoIter<String>,
    /// The `value` part of `--name=value` or `-xvalue`, waiting for [`Parser::value`].
    pending: Option<String>,
    /// The last flag returned, for "flag needs a value" messages.
    last_flag: Option<Arg>,
    only_values: bool,
}

impl Parser {
    /// A parser over the arguments *after* the program name.
    pub fn new<I, S>(args: I) -> Parser
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        Parser {
            args: args.into_iter(),
            pending: None,
            last_flag: None,
            only_values: false,
        }
    }

    /// A parser over this process's arguments (program name skipped). Arguments that are not
    /// valid UTF-8 are replaced lossily; no binary here takes non-UTF-8 paths.
    pub fn from_env() -> Parser {
        Parser::new(
            std::env::args_os()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned()),
        )
    }

    /// The next token, or `None` at the end.
    // Not an Iterator: a malformed token is an error the caller must see, not an item.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Arg>, Error> {
        if let Some(value) = self.pending.take() {
            let flag = self
                .last_flag
                .as_ref()
                .map(Arg::display)
                .unwrap_or_default();
            return Err(Error::new(format!(
                "flag '{flag}' does not take a value (got '{value}')"
            )));
        }
        let Some(raw) = self.args.next() else {
            return Ok(None);
        };
        if self.only_values {
            return Ok(Some(Arg::Value(raw)));
        }
        let arg = if raw == "--" {
            self.only_values = true;
            return self.next();
        } else if let Some(long) = raw.strip_prefix("--") {
            match long.split_once('=') {
                Some((name, value)) => {
                    self.pending = Some(value.to_string());
                    Arg::Long(name.to_string())
                }
                None => Arg::Long(long.to_string()),
            }
        } else if raw.len() > 1 && raw.starts_with('-') && !looks_numeric(&raw) {
            let mut chars = raw[1..].chars();
            let c = chars.next().unwrap_or('-');
            let rest: String = chars.collect();
            if !rest.is_empty() {
                self.pending = Some(rest.trim_start_matches('=').to_string());
            }
            Arg::Short(c)
        } else {
            Arg::Value(raw)
        };
        self.last_flag = Some(arg.clone());
        Ok(Some(arg))
    }

    /// The value of the flag just returned by [`Parser::next`].
    pub fn value(&mut self) -> Result<String, Error> {
        if let Some(value) = self.pending.take() {
            return Ok(value);
        }
        let flag = self
            .last_flag
            .as_ref()
            .map(Arg::display)
            .unwrap_or_default();
        match self.args.next() {
            Some(v) => Ok(v),
            None => Err(Error::new(format!("flag '{flag}' needs a value"))),
        }
    }

    /// The value of the flag just returned, parsed as `T`, with a message naming the flag.
    pub fn parse<T>(&mut self) -> Result<T, Error>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let flag = self
            .last_flag
            .as_ref()
            .map(Arg::display)
            .unwrap_or_default();
        let raw = self.value()?;
        parse_value(&flag, &raw)
    }

    /// Everything not yet read, as plain values (for `-- guest args...`).
    pub fn rest(&mut self) -> Vec<String> {
        let mut out: Vec<String> = self.pending.take().into_iter().collect();
        out.extend(self.args.by_ref());
        out
    }
}

/// Parses `raw` as `T`, naming `what` (a flag or variable) in the error.
pub fn parse_value<T>(what: &str, raw: &str) -> Result<T, Error>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    raw.parse::<T>()
        .map_err(|e| Error::new(format!("invalid value '{raw}' for '{what}': {e}")))
}

/// Checks that `value` lies in `min..=max`, naming `flag` (as the user spells it) otherwise.
pub fn in_range<T>(flag: &str, value: T, min: T, max: T) -> Result<T, Error>
where
    T: PartialOrd + fmt::Display + Copy,
{
    if value < min || value > max {
        return Err(Error::new(format!(
            "'{flag}' must be between {min} and {max}, got {value}"
        )));
    }
    Ok(value)
}

/// Reads environment variable `name` and parses it; `Ok(None)` when unset or empty.
pub fn env_value<T>(name: &str) -> Result<Option<T>, Error>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => parse_value(name, v.trim()).map(Some),
        _ => Ok(None),
    }
}

/// Parses a boolean environment value the way demo.sh did (`true`/`1`/`yes` are true).
pub fn env_flag(name: &str) -> bool {
    matches!(
        std::env::var(name)
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref(),
        Ok("true" | "1" | "yes" | "on")
    )
}

/// Negative numbers such as `-1` (the publisher's `--emoji -1`) are values, not flags.
fn looks_numeric(raw: &str) -> bool {
    raw[1..].chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Prints a binary's `--help` text to stdout and returns success. A reader that went away
/// (`edge-node --help | head`) is not an error worth a panic, which `print!` would give: the
/// text is written with `write_all` and a failed write is ignored, as ripgrep does.
pub fn print_help(text: &str) -> std::process::ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
    std::process::ExitCode::SUCCESS
}

/// Prints `error: <err>` plus a hint to stderr, the convention every binary shares, and
/// returns the usage exit code.
pub fn usage_error(bin: &str, err: &Error) -> std::process::ExitCode {
    eprintln!("{bin}: error: {err}\n\nRun '{bin} --help' for usage.");
    std::process::ExitCode::from(EXIT_USAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(args: &[&str]) -> Vec<Arg> {
        let mut p = Parser::new(args.iter().copied());
        let mut out = Vec::new();
        while let Some(a) = p.next().expect("tokenize") {
            if let Arg::Long(ref n) = a {
                if n == "port" {
                    out.push(a.clone());
                    out.push(Arg::Value(p.value().expect("value")));
                    continue;
                }
            }
            out.push(a);
        }
        out
    }

    #[test]
    fn long_with_equals_and_space() {
        let want = vec![Arg::Long("port".into()), Arg::Value("9091".into())];
        assert_eq!(tokens(&["--port=9091"]), want);
        assert_eq!(tokens(&["--port", "9091"]), want);
    }

    #[test]
    fn negative_numbers_are_values() {
        let mut p = Parser::new(["--emoji", "-1"]);
        assert_eq!(p.next().expect("next"), Some(Arg::Long("emoji".into())));
        assert_eq!(p.parse::<i32>().expect("parse"), -1);
    }

    #[test]
    fn double_dash_ends_flags() {
        assert_eq!(tokens(&["--", "--port"]), vec![Arg::Value("--port".into())]);
    }

    #[test]
    fn missing_value_is_an_error() {
        let mut p = Parser::new(["--port"]);
        p.next().expect("next");
        let err = p.value().expect_err("should fail");
        assert_eq!(err.to_string(), "flag '--port' needs a value");
    }

    #[test]
    fn switch_given_a_value_is_an_error() {
        let mut p = Parser::new(["--help=yes"]);
        p.next().expect("next");
        assert!(p.next().is_err());
    }

    #[test]
    fn bad_number_names_the_flag() {
        let mut p = Parser::new(["--workers=many"]);
        p.next().expect("next");
        let err = p.parse::<usize>().expect_err("should fail");
        assert!(err.to_string().contains("'--workers'"), "{err}");
    }

    #[test]
    fn range_errors_name_the_flag() {
        assert_eq!(in_range("--workers", 4, 1, 256), Ok(4));
        let err = in_range("--workers", 0, 1, 256).expect_err("out of range");
        assert_eq!(
            err.to_string(),
            "'--workers' must be between 1 and 256, got 0"
        );
    }

    #[test]
    fn unknown_flag_message() {
        assert_eq!(
            Error::unknown(&Arg::Long("bogus".into())).to_string(),
            "unknown flag '--bogus'"
        );
    }
}
