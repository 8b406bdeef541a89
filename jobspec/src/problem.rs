//! One thing Bacalhau would refuse in a job file, with the field it is about.
use std::fmt;

/// A problem found while reading or checking a job: the field path in Bacalhau's spelling
/// (`Tasks[0].Engine.Params.Entrypoint`), the input line when known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    pub fn new(
        path: impl Into<String>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.path.is_empty(), self.line) {
            (true, Some(line)) => write!(f, "line {line}: {}", self.message),
            (true, None) => write!(f, "{}", self.message),
            (false, Some(line)) => write!(f, "{} (line {line}): {}", self.path, self.message),
            (false, None) => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// Joins problems into one message, one per line, for callers that want a single error.
pub fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
