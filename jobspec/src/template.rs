//! A Go `text/template` subset, rendered as `bacalhau job run` does (`missingkey=error`).
//!
//! Supported inside `{{ }}`: `.` and `.key` (a missing key is an error), `(sub expressions)`,
//! string (`"..."`, `` `raw` ``), number and `true`/`false` literals, the functions `index`
//! (missing key yields "", as Go's map index does, so `or` can supply a default), `or`,
//! `and` (both lazy, as in Go >= 1.18), `not`, `eq`, `ne`, trim markers `{{- ` / ` -}}` and
//! `{{/* comments */}}`. Control structures (`if`, `range`, ...), variables and pipes are
//! refused with the line number rather than rendered wrongly.
use super::error::{Error, ErrorKind};
use std::collections::BTreeMap;

/// Renders `template` with `values`; see the module doc for the supported subset.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> Result<String, Error> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut line = 1;
    let mut trim_next_text = false;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        if trim_next_text {
            text = text.trim_start();
        }
        let after_open = &rest[open + 2..];
        let trim_before = after_open.starts_with("- ")
            || after_open.starts_with("-\t")
            || after_open.starts_with("-\n")
            || after_open.starts_with("-\r");
        if trim_before {
            text = text.trim_end();
        }
        out.push_str(text);
        line += rest[..open].matches('\n').count();
        let body_start = if trim_before { 1 } else { 0 };
        let (body, trim_after, consumed) = split_action(&after_open[body_start..], line)?;
        let action_line = line;
        line += after_open[..body_start + consumed].matches('\n').count();
        rest = &after_open[body_start + consumed..];
        trim_next_text = trim_after;
        let trimmed = body.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(Error::at(
                    ErrorKind::Template,
                    action_line,
                    "unclosed comment",
                ));
            }
            continue;
        }
        let tokens = tokenize(body, action_line)?;
        let mut parser = ExprParser {
            tokens: &tokens,
            pos: 0,
            line: action_line,
        };
        let expr = parser.command()?;
        if parser.pos != tokens.len() {
            return Err(parser.unexpected());
        }
        let value = eval(&expr, values, action_line)?;
        out.push_str(&value.print(action_line)?);
    }
    let tail = if trim_next_text {
        rest.trim_start()
    } else {
        rest
    };
    out.push_str(tail);
    Ok(out)
}

/// Splits `{{ body }}` after the opening braces: returns the body, whether it ended with a
/// ` -}}` trim marker, and how many bytes (including `}}`) it consumed. Quoted strings may
/// contain `}}`.
fn split_action(s: &str, line: usize) -> Result<(&str, bool, usize), Error> {
    let bytes = s.as_bytes();
    let mut i = 0;
    if s.trim_start().starts_with("/*") {
        let end = s
            .find("*/")
            .ok_or_else(|| Error::at(ErrorKind::Template, line, "unclosed comment"))?;
        i = end + 2;
    }
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'`' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    if quote == b'"' && bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= bytes.len() {
                    return Err(Error::at(ErrorKind::Template, line, "unterminated string"));
                }
                i += 1;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                let body = &s[..i];
                let trim_after = body.ends_with(" -")
                    || body.ends_with("\t-")
                    || body.ends_with("\n-")
                    || body == "-";
                let body = if trim_after {
                    &body[..body.len() - 1]
                } else {
                    body
                };
                return Ok((body, trim_after, i + 2));
            }
            _ => i += 1,
        }
    }
    Err(Error::at(
        ErrorKind::Template,
        line,
        "unclosed action: missing '}}'",
    ))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Dot,
    Field(String),
    Ident(String),
    Str(String),
    Number(String),
    LParen,
    RParen,
    Pipe,
    Variable(String),
}

fn tokenize(body: &str, line: usize) -> Result<Vec<Token>, Error> {
    let chars: Vec<char> = body.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let (token, next) =
            token_at(&chars, i).map_err(|m| Error::at(ErrorKind::Template, line, m))?;
        tokens.push(token);
        i = next;
    }
    Ok(tokens)
}

/// The token that starts at `chars[i]` (not whitespace), and the index after it.
fn token_at(chars: &[char], i: usize) -> Result<(Token, usize), String> {
    let text = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    let c = chars[i];
    Ok(match c {
        '(' => (Token::LParen, i + 1),
        ')' => (Token::RParen, i + 1),
        '|' => (Token::Pipe, i + 1),
        '.' => {
            let end = ident_end(chars, i + 1);
            if end == i + 1 {
                (Token::Dot, end)
            } else if chars.get(end) == Some(&'.') {
                return Err("nested fields (.a.b) are not supported".into());
            } else {
                (Token::Field(text(i + 1, end)), end)
            }
        }
        '$' => {
            let end = ident_end(chars, i + 1);
            (Token::Variable(text(i, end)), end)
        }
        '"' => {
            let (s, next) = read_quoted(chars, i + 1)?;
            (Token::Str(s), next)
        }
        '`' => {
            let len = chars[i + 1..]
                .iter()
                .position(|&x| x == '`')
                .ok_or("unterminated raw string")?;
            (Token::Str(text(i + 1, i + 1 + len)), i + len + 2)
        }
        _ if c.is_ascii_digit() || ((c == '-' || c == '+') && i + 1 < chars.len()) => {
            let mut end = i + 1;
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '.') {
                end += 1;
            }
            let number = text(i, end);
            if number.parse::<i64>().is_err() && number.parse::<f64>().is_err() {
                return Err(format!("bad number {number:?}"));
            }
            (Token::Number(number), end)
        }
        _ if is_ident_char(c) => {
            let end = ident_end(chars, i);
            (Token::Ident(text(i, end)), end)
        }
        _ => return Err(format!("unexpected character {c:?} in action")),
    })
}

/// The index after the identifier characters that start at `from`.
fn ident_end(chars: &[char], from: usize) -> usize {
    chars[from..]
        .iter()
        .position(|&c| !is_ident_char(c))
        .map_or(chars.len(), |n| from + n)
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads a Go interpreted string literal body starting after the opening quote.
fn read_quoted(chars: &[char], mut i: usize) -> Result<(String, usize), String> {
    let mut s = String::new();
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok((s, i + 1)),
            '\\' => {
                let esc = chars.get(i + 1).ok_or("unterminated string")?;
                match esc {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    '"' => s.push('"'),
                    '\\' => s.push('\\'),
                    other => return Err(format!("unsupported escape \\{other} in string")),
                }
                i += 2;
            }
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    Err("unterminated string".into())
}

#[derive(Debug, Clone)]
enum Expr {
    Dot,
    Field(String),
    Literal(Value),
    Call(String, Vec<Expr>),
}

struct ExprParser<'a> {
    tokens: &'a [Token],
    pos: usize,
    line: usize,
}

impl ExprParser<'_> {
    /// A command: a function name with arguments, or a single operand.
    fn command(&mut self) -> Result<Expr, Error> {
        let expr = match self.tokens.get(self.pos) {
            None => return Err(Error::at(ErrorKind::Template, self.line, "empty action")),
            Some(Token::Ident(name)) if !matches!(name.as_str(), "true" | "false" | "nil") => {
                let name = name.clone();
                if matches!(
                    name.as_str(),
                    "if" | "else" | "end" | "range" | "with" | "define" | "template" | "block"
                ) {
                    return Err(Error::at(
                        ErrorKind::Template,
                        self.line,
                        format!("'{name}' actions are not supported by this renderer"),
                    ));
                }
                if !matches!(name.as_str(), "index" | "or" | "and" | "not" | "eq" | "ne") {
                    return Err(Error::at(
                        ErrorKind::Template,
                        self.line,
                        format!("function \"{name}\" not defined"),
                    ));
                }
                self.pos += 1;
                let mut args = Vec::new();
                while let Some(tok) = self.tokens.get(self.pos) {
                    if *tok == Token::RParen {
                        break;
                    }
                    args.push(self.operand()?);
                }
                Expr::Call(name, args)
            }
            Some(_) => self.operand()?,
        };
        if self.tokens.get(self.pos) == Some(&Token::Pipe) {
            return Err(Error::at(
                ErrorKind::Template,
                self.line,
                "pipes are not supported",
            ));
        }
        Ok(expr)
    }

    fn operand(&mut self) -> Result<Expr, Error> {
        let tok = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        Ok(match tok {
            Some(Token::Dot) => Expr::Dot,
            Some(Token::Field(f)) => Expr::Field(f),
            Some(Token::Str(s)) => Expr::Literal(Value::Str(s)),
            Some(Token::Number(n)) => Expr::Literal(Value::Number(n)),
            Some(Token::Ident(b)) if b == "true" || b == "false" => {
                Expr::Literal(Value::Bool(b == "true"))
            }
            Some(Token::LParen) => {
                let inner = self.command()?;
                if self.tokens.get(self.pos) != Some(&Token::RParen) {
                    return Err(Error::at(ErrorKind::Template, self.line, "missing ')'"));
                }
                self.pos += 1;
                inner
            }
            Some(Token::Variable(v)) => {
                return Err(Error::at(
                    ErrorKind::Template,
                    self.line,
                    format!("variables ({v}) are not supported"),
                ))
            }
            _ => {
                self.pos -= 1;
                return Err(self.unexpected());
            }
        })
    }

    fn unexpected(&self) -> Error {
        let what = match self.tokens.get(self.pos) {
            Some(t) => format!("unexpected {t:?} in action"),
            None => "unexpected end of action".to_string(),
        };
        Error::at(ErrorKind::Template, self.line, what)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Number(String),
    Bool(bool),
    /// The whole value map (`.`).
    Map,
}

impl Value {
    fn truthy(&self, values: &BTreeMap<String, String>) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Number(n) => n.parse::<f64>().map(|x| x != 0.0).unwrap_or(true),
            Value::Bool(b) => *b,
            Value::Map => !values.is_empty(),
        }
    }

    fn print(&self, line: usize) -> Result<String, Error> {
        match self {
            Value::Str(s) => Ok(s.clone()),
            Value::Number(n) => Ok(match n.parse::<i64>() {
                Ok(i) => i.to_string(),
                Err(_) => n.clone(),
            }),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Map => Err(Error::at(
                ErrorKind::Template,
                line,
                "printing the whole value map ({{.}}) is not supported",
            )),
        }
    }
}

fn eval(expr: &Expr, values: &BTreeMap<String, String>, line: usize) -> Result<Value, Error> {
    let err = |m: String| Error::at(ErrorKind::Template, line, m);
    match expr {
        Expr::Dot => Ok(Value::Map),
        Expr::Literal(v) => Ok(v.clone()),
        // missingkey=error: Go reports `map has no entry for key "x"`.
        Expr::Field(f) => values
            .get(f)
            .map(|v| Value::Str(v.clone()))
            .ok_or_else(|| err(format!("map has no entry for key \"{f}\""))),
        Expr::Call(name, args) => match name.as_str() {
            "index" => {
                if args.len() != 2 {
                    return Err(err("index takes the map and one key here".into()));
                }
                if eval(&args[0], values, line)? != Value::Map {
                    return Err(err("index: first argument must be '.'".into()));
                }
                match eval(&args[1], values, line)? {
                    Value::Str(key) => {
                        Ok(Value::Str(values.get(&key).cloned().unwrap_or_default()))
                    }
                    other => Err(err(format!("index: key must be a string, got {other:?}"))),
                }
            }
            "or" | "and" => {
                if args.is_empty() {
                    return Err(err(format!("{name} needs at least one argument")));
                }
                let want = name == "or";
                let mut last = Value::Bool(false);
                for arg in args {
                    last = eval(arg, values, line)?;
                    if last.truthy(values) == want {
                        return Ok(last);
                    }
                }
                Ok(last)
            }
            "not" => match args.as_slice() {
                [a] => Ok(Value::Bool(!eval(a, values, line)?.truthy(values))),
                _ => Err(err("not takes one argument".into())),
            },
            "eq" | "ne" => match args.as_slice() {
                [a, b] => {
                    let equal = eval(a, values, line)? == eval(b, values, line)?;
                    Ok(Value::Bool(equal == (name == "eq")))
                }
                _ => Err(err(format!("{name} takes two arguments here"))),
            },
            other => Err(err(format!("function \"{other}\" not defined"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_text_passes_through() {
        assert_eq!(
            render("a: 1\nb: {x}\n", &vals(&[])).unwrap(),
            "a: 1\nb: {x}\n"
        );
    }

    #[test]
    fn field_with_and_without_spaces() {
        let v = vals(&[("queue_url", "q1")]);
        assert_eq!(
            render("u: {{.queue_url}} {{ .queue_url }}", &v).unwrap(),
            "u: q1 q1"
        );
    }

    #[test]
    fn missing_field_is_an_error_with_line() {
        let e = render("a\nb: {{ .proxy }}", &vals(&[])).unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().contains("no entry for key \"proxy\""), "{e}");
    }

    #[test]
    fn index_of_missing_key_is_empty_and_or_defaults() {
        let t = r#"count: {{ or (index . "REPLICAS") 3 }}"#;
        assert_eq!(render(t, &vals(&[])).unwrap(), "count: 3");
        assert_eq!(render(t, &vals(&[("REPLICAS", "7")])).unwrap(), "count: 7");
        assert_eq!(render(r#"{{index . "K"}}"#, &vals(&[])).unwrap(), "");
    }

    #[test]
    fn or_chains_per_region_override() {
        let t = r#"{{ or (index . "US_REPLICAS") (index . "REPLICAS") 3 }}"#;
        assert_eq!(render(t, &vals(&[])).unwrap(), "3");
        assert_eq!(render(t, &vals(&[("REPLICAS", "5")])).unwrap(), "5");
        let both = vals(&[("REPLICAS", "5"), ("US_REPLICAS", "9")]);
        assert_eq!(render(t, &both).unwrap(), "9");
    }

    #[test]
    fn or_is_lazy_but_missing_fields_error_when_reached() {
        let v = vals(&[("a", "x")]);
        assert_eq!(render("{{ or .a .b \"z\" }}", &v).unwrap(), "x");
        assert!(render("{{ or .b .a }}", &v).is_err());
        assert_eq!(
            render("{{ or .e \"z\" }}", &vals(&[("e", "")])).unwrap(),
            "z"
        );
    }

    #[test]
    fn trim_markers() {
        let v = vals(&[("x", "1")]);
        assert_eq!(render("a  \n {{- .x -}} \n b", &v).unwrap(), "a1b");
        assert_eq!(
            render("a {{-.x}}", &v).unwrap_err().kind(),
            ErrorKind::Template
        );
    }

    #[test]
    fn strings_numbers_bools_and_comments() {
        let v = vals(&[]);
        assert_eq!(render(r#"{{ "a}}b" }}"#, &v).unwrap(), "a}}b");
        assert_eq!(render("{{ `r\\n` }}", &v).unwrap(), "r\\n");
        assert_eq!(
            render("{{ 42 }} {{ 0.5 }} {{ true }}", &v).unwrap(),
            "42 0.5 true"
        );
        assert_eq!(render("a{{/* note */}}b", &v).unwrap(), "ab");
        assert_eq!(render(r#"{{ not (eq "a" "b") }}"#, &v).unwrap(), "true");
    }

    #[test]
    fn unsupported_constructs_are_errors_with_line() {
        let v = vals(&[("x", "1")]);
        for t in [
            "{{ if .x }}y{{ end }}",
            "{{ .x | quote }}",
            "{{ $v := 1 }}",
            "{{ default 1 .x }}",
            "{{ .x ",
            "{{ }}",
            "{{ . }}",
            "{{ .a.b }}",
        ] {
            let e = render(&format!("\n{t}"), &v).unwrap_err();
            assert_eq!(e.line(), Some(2), "{t}: {e}");
        }
    }
}
