//! The regular-expression subset `-E REGEX` needs to select environment variable names:
//! literals, `.`, `*`, `+`, `?`, `^`, `$`, `[classes]` (ranges, `^` negation), groups `( )`,
//! alternation `|` and `\` escapes (`\d`, `\w`, `\s` and escaped punctuation). Matching is
//! Go's `regexp.MatchString`: UNANCHORED (a match anywhere in the name counts; use `^…$` for
//! a whole name). A small backtracker: names and patterns are short.
use super::error::{Error, ErrorKind};

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Group(Alternation),
    Start,
    End,
}

#[derive(Debug, Clone)]
struct Piece {
    atom: Atom,
    min: usize,
    max: Option<usize>,
}

type Sequence = Vec<Piece>;
type Alternation = Vec<Sequence>;

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    root: Alternation,
}

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, Error> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = RegexParser {
            chars: &chars,
            pos: 0,
            pattern,
        };
        let root = p.alternation()?;
        if p.pos != chars.len() {
            return Err(p.error("unbalanced ')'"));
        }
        Ok(Regex { root })
    }

    /// True if the pattern matches somewhere in `text`, as Go's `MatchString`.
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        (0..=chars.len()).any(|start| match_alt(&self.root, &chars, start, &mut |_| true))
    }
}

struct RegexParser<'a> {
    chars: &'a [char],
    pos: usize,
    pattern: &'a str,
}

impl RegexParser<'_> {
    fn error(&self, what: &str) -> Error {
        Error::new(ErrorKind::Values, format!("-E {:?}: {what}", self.pattern))
    }

    fn alternation(&mut self) -> Result<Alternation, Error> {
        let mut alt = vec![self.sequence()?];
        while self.chars.get(self.pos) == Some(&'|') {
            self.pos += 1;
            alt.push(self.sequence()?);
        }
        Ok(alt)
    }

    fn sequence(&mut self) -> Result<Sequence, Error> {
        let mut seq = Vec::new();
        while let Some(&c) = self.chars.get(self.pos) {
            if c == '|' || c == ')' {
                break;
            }
            self.pos += 1;
            let atom = match c {
                '.' => Atom::Any,
                '^' => Atom::Start,
                '$' => Atom::End,
                '(' => {
                    // Accept Go's non-capturing `(?:` prefix; captures mean nothing here.
                    if self.chars.get(self.pos) == Some(&'?') {
                        if self.chars.get(self.pos + 1) == Some(&':') {
                            self.pos += 2;
                        } else {
                            return Err(self.error("group flags are not supported"));
                        }
                    }
                    let inner = self.alternation()?;
                    if self.chars.get(self.pos) != Some(&')') {
                        return Err(self.error("missing ')'"));
                    }
                    self.pos += 1;
                    Atom::Group(inner)
                }
                '[' => self.class()?,
                '\\' => self.escape()?,
                '*' | '+' | '?' | '{' => return Err(self.error("nothing to repeat")),
                other => Atom::Char(other),
            };
            let (min, max) = match self.chars.get(self.pos) {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => return Err(self.error("counted repetition {n,m} is not supported")),
                _ => (1, Some(1)),
            };
            if (min, max) != (1, Some(1)) {
                self.pos += 1;
                if matches!(self.chars.get(self.pos), Some('?') | Some('+')) {
                    return Err(self.error("lazy or possessive quantifiers are not supported"));
                }
            }
            seq.push(Piece { atom, min, max });
        }
        Ok(seq)
    }

    fn escape(&mut self) -> Result<Atom, Error> {
        let c = *self
            .chars
            .get(self.pos)
            .ok_or_else(|| self.error("trailing '\\'"))?;
        self.pos += 1;
        Ok(match c {
            'd' => Atom::Class {
                negated: false,
                ranges: vec![('0', '9')],
            },
            'w' => Atom::Class {
                negated: false,
                ranges: word_ranges(),
            },
            's' => Atom::Class {
                negated: false,
                ranges: vec![(' ', ' '), ('\t', '\r')],
            },
            c if c.is_ascii_punctuation() => Atom::Char(c),
            other => return Err(self.error(&format!("unsupported escape \\{other}"))),
        })
    }

    fn class(&mut self) -> Result<Atom, Error> {
        let mut negated = false;
        if self.chars.get(self.pos) == Some(&'^') {
            negated = true;
            self.pos += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = *self
                .chars
                .get(self.pos)
                .ok_or_else(|| self.error("missing ']'"))?;
            self.pos += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                match self.escape()? {
                    Atom::Char(c) => c,
                    Atom::Class { ranges: r, .. } => {
                        ranges.extend(r);
                        continue;
                    }
                    _ => return Err(self.error("bad escape in class")),
                }
            } else {
                c
            };
            if self.chars.get(self.pos) == Some(&'-')
                && self.chars.get(self.pos + 1).is_some_and(|&n| n != ']')
            {
                let hi = self.chars[self.pos + 1];
                self.pos += 2;
                if hi < lo {
                    return Err(self.error("bad class range"));
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Ok(Atom::Class { negated, ranges })
    }
}

fn word_ranges() -> Vec<(char, char)> {
    vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')]
}

fn match_alt(alt: &Alternation, t: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    alt.iter().any(|seq| match_seq(seq, t, pos, k))
}

fn match_seq(seq: &[Piece], t: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match seq.split_first() {
        None => k(pos),
        Some((piece, rest)) => match_piece(piece, 0, t, pos, &mut |p| match_seq(rest, t, p, k)),
    }
}

/// Greedy repetition with backtracking; an iteration that consumes nothing ends the loop so
/// patterns such as `(a*)*` terminate.
fn match_piece(
    piece: &Piece,
    count: usize,
    t: &[char],
    pos: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    let may_repeat = piece.max.is_none_or(|m| count < m);
    if may_repeat
        && match_atom(&piece.atom, t, pos, &mut |p| {
            (p != pos || count < piece.min) && match_piece(piece, count + 1, t, p, k)
        })
    {
        return true;
    }
    count >= piece.min && k(pos)
}

fn match_atom(atom: &Atom, t: &[char], pos: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match atom {
        Atom::Char(c) => t.get(pos) == Some(c) && k(pos + 1),
        Atom::Any => pos < t.len() && k(pos + 1),
        Atom::Class { negated, ranges } => match t.get(pos) {
            Some(&c) => {
                let inside = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                inside != *negated && k(pos + 1)
            }
            None => false,
        },
        Atom::Group(alt) => match_alt(alt, t, pos, k),
        Atom::Start => pos == 0 && k(pos),
        Atom::End => pos == t.len() && k(pos),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).unwrap().is_match(t)
    }

    #[test]
    fn a_literal_matches_anywhere_as_in_go() {
        // Go's regexp.MatchString is unanchored: `-E REPLICAS` also selects US_REPLICAS.
        assert!(m("REPLICAS", "REPLICAS"));
        assert!(m("REPLICAS", "US_REPLICAS"));
        assert!(m("REPLICAS", "REPLICAS_X"));
        assert!(!m("^REPLICAS$", "US_REPLICAS"));
        assert!(m("^REPLICAS$", "REPLICAS"));
        assert!(!m("REPLICAS", "REPLICA"));
    }

    #[test]
    fn wildcards_classes_and_alternation() {
        assert!(m("^(US|EU|AS)_REPLICAS$", "EU_REPLICAS"));
        assert!(!m("^(US|EU|AS)_REPLICAS$", "XX_REPLICAS"));
        assert!(m("^AWS_[A-Z_]+$", "AWS_SECRET_ACCESS_KEY"));
        assert!(!m("^AWS_[A-Z_]+$", "AWS_"));
        assert!(m("^[^0-9]\\w*$", "x_1"));
        assert!(!m("^[^0-9]\\w*$", "1x"));
        assert!(m("a\\.b", "xa.b"));
        assert!(!m("a\\.b", "axb"));
        assert!(m("(a*)*b", "aaab"));
        assert!(m("", "anything"), "the empty pattern matches every name");
    }

    #[test]
    fn bad_patterns_are_errors() {
        for p in ["(a", "a)", "*a", "[a-", "a{2}", "\\", "a*?", "[z-a]"] {
            assert!(Regex::new(p).is_err(), "{p}");
        }
    }
}
