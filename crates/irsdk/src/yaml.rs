//! A parser for iRacing's session-info "YAML".
//!
//! iRacing writes a small, regular subset of YAML: block mappings and block sequences indented
//! with spaces, one `Key: value` per line, values written verbatim to the end of the line. It does
//! not quote or escape user text, so real files contain lines such as `TeamName: Foo: Bar`,
//! `UserName: Jim #1`, `TeamName: @home` or `AbbrevName: O'Neil, J` that a YAML parser rejects or
//! silently cuts (`#` starts a comment). Instead of sanitising and handing the text to a YAML
//! library, this parser reads the subset directly: the key is everything before the first `": "`
//! of a line and the value is the rest of the line, verbatim. Only a value that is entirely a
//! quoted scalar (`"0"`, `""`, `'x'`) is unquoted, as YAML would. It never fails on odd text in a
//! value; it fails (with the line number) only on structure it cannot place, and never panics.

use crate::error::{IrsdkError, Result};
use serde::Serialize;

/// Maximum nesting depth (iRacing uses about 6).
pub const MAX_DEPTH: usize = 64;

/// A node of the session-info tree. Mappings keep their order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Node {
    /// An empty value (`Key:` with nothing below it).
    Null,
    /// A scalar, as text.
    Scalar(String),
    /// A mapping, in file order.
    Map(Vec<(String, Node)>),
    /// A sequence.
    Seq(Vec<Node>),
}

impl Node {
    /// The value at `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Looks a path up: keys separated by `.`, sequence indexes in brackets, e.g.
    /// `DriverInfo.Drivers[3].UserName` or `SplitTimeInfo.Sectors[0].SectorStartPct`.
    pub fn path(&self, path: &str) -> Option<&Node> {
        let mut cur = self;
        for part in path.split('.').filter(|p| !p.is_empty()) {
            let (key, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if !key.is_empty() {
                cur = cur.get(key)?;
            }
            while let Some(stripped) = rest.strip_prefix('[') {
                let close = stripped.find(']')?;
                let idx: usize = stripped[..close].trim().parse().ok()?;
                cur = match cur {
                    Node::Seq(s) => s.get(idx)?,
                    _ => return None,
                };
                rest = &stripped[close + 1..];
            }
        }
        Some(cur)
    }

    /// The scalar text, `None` for null, mappings and sequences.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The items of a sequence (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq(s) => s,
            _ => &[],
        }
    }

    /// Converts to a JSON value (scalars stay strings).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Node::Null => serde_json::Value::Null,
            Node::Scalar(s) => serde_json::Value::String(s.clone()),
            Node::Seq(s) => serde_json::Value::Array(s.iter().map(Node::to_json).collect()),
            Node::Map(m) => serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

#[derive(Debug, Clone)]
struct Line<'a> {
    no: usize,
    indent: usize,
    text: &'a str,
}

/// Parses session-info text into a tree.
pub fn parse(text: &str) -> Result<Node> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches(['\r', '\0']);
        let body = raw.trim_start_matches(' ');
        let trimmed = body.trim_end();
        if trimmed.is_empty() || trimmed == "---" || trimmed == "..." {
            continue;
        }
        lines.push(Line { no: i + 1, indent: raw.len() - body.len(), text: trimmed });
    }
    if lines.is_empty() {
        return Ok(Node::Map(Vec::new()));
    }
    let mut p = Parser { lines, pos: 0 };
    let indent = p.lines[0].indent;
    let root = p.block(indent, 0)?;
    if let Some(l) = p.lines.get(p.pos) {
        return Err(IrsdkError::Yaml {
            line: l.no,
            reason: format!("indentation {} is less than the document's first line ({indent})", l.indent),
        });
    }
    Ok(root)
}

struct Parser<'a> {
    lines: Vec<Line<'a>>,
    pos: usize,
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// Splits `Key: value` / `Key:`; `None` when the line has no key.
fn split_key(text: &str) -> Option<(&str, &str)> {
    if let Some(i) = text.find(": ") {
        return Some((&text[..i], text[i + 2..].trim()));
    }
    text.strip_suffix(':').map(|k| (k, ""))
}

/// Unquotes a value that is entirely one quoted YAML scalar; anything else is verbatim.
fn scalar(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && b[0] == b'"' && b[b.len() - 1] == b'"' {
        let inner = &v[1..v.len() - 1];
        // Only a well-formed double-quoted scalar (no bare inner quote) is unquoted.
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(o) => out.push(o),
                    None => return v.to_string(),
                },
                '"' => return v.to_string(),
                c => out.push(c),
            }
        }
        return out;
    }
    if b.len() >= 2 && b[0] == b'\'' && b[b.len() - 1] == b'\'' {
        let inner = &v[1..v.len() - 1];
        if !inner.replace("''", "").contains('\'') {
            return inner.replace("''", "'");
        }
    }
    v.to_string()
}

impl<'a> Parser<'a> {
    fn err(&self, line: usize, reason: impl Into<String>) -> IrsdkError {
        IrsdkError::Yaml { line, reason: reason.into() }
    }

    /// A block (mapping or sequence) whose lines sit at `indent`.
    fn block(&mut self, indent: usize, depth: usize) -> Result<Node> {
        if depth > MAX_DEPTH {
            let no = self.lines.get(self.pos).map_or(0, |l| l.no);
            return Err(self.err(no, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        match self.lines.get(self.pos) {
            Some(l) if is_item(l.text) => self.seq(indent, depth),
            Some(_) => self.map(indent, depth),
            None => Ok(Node::Null),
        }
    }

    /// The value after `Key:` with nothing on the line: a deeper block, a sequence at the same
    /// indentation (YAML allows `Key:\n- item`), or null.
    fn nested(&mut self, indent: usize, depth: usize) -> Result<Node> {
        match self.lines.get(self.pos) {
            Some(n) if n.indent > indent => {
                let ni = n.indent;
                self.block(ni, depth + 1)
            }
            Some(n) if n.indent == indent && is_item(n.text) => self.seq(indent, depth + 1),
            _ => Ok(Node::Null),
        }
    }

    fn map(&mut self, indent: usize, depth: usize) -> Result<Node> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(l) = self.lines.get(self.pos).cloned() {
            if l.indent < indent || (l.indent == indent && is_item(l.text)) {
                break;
            }
            if l.indent > indent {
                // A deeper line that is not a value of ours: fold it into the previous scalar
                // (a YAML plain multi-line scalar) or reject it.
                match entries.last_mut() {
                    Some((_, Node::Scalar(s))) if split_key(l.text).is_none() => {
                        s.push(' ');
                        s.push_str(l.text);
                        self.pos += 1;
                        continue;
                    }
                    _ => {
                        return Err(
                            self.err(l.no, format!("unexpected indentation {} (block is at {indent})", l.indent))
                        );
                    }
                }
            }
            self.pos += 1;
            let Some((key, value)) = split_key(l.text) else {
                // A plain line at our level with no key: continuation of the previous scalar.
                if let Some((_, Node::Scalar(s))) = entries.last_mut() {
                    s.push(' ');
                    s.push_str(l.text);
                    continue;
                }
                return Err(self.err(l.no, format!("expected `Key: value`, found {:?}", l.text)));
            };
            let node = if value.is_empty() { self.nested(indent, depth)? } else { Node::Scalar(scalar(value)) };
            entries.push((key.trim().to_string(), node));
        }
        Ok(Node::Map(entries))
    }

    fn seq(&mut self, indent: usize, depth: usize) -> Result<Node> {
        let mut items = Vec::new();
        while let Some(l) = self.lines.get(self.pos).cloned() {
            if l.indent != indent || !is_item(l.text) {
                if l.indent > indent {
                    return Err(
                        self.err(l.no, format!("unexpected indentation {} in a sequence at {indent}", l.indent))
                    );
                }
                break;
            }
            let rest = l.text[1..].trim_start_matches(' ');
            if rest.is_empty() {
                self.pos += 1;
                items.push(self.nested(indent, depth)?);
                continue;
            }
            // `- Key: value` opens a mapping whose keys sit at the column after the dash.
            let col = indent + (l.text.len() - rest.len());
            if split_key(rest).is_some() || is_item(rest) {
                self.lines[self.pos] = Line { no: l.no, indent: col, text: rest };
                items.push(self.block(col, depth + 1)?);
            } else {
                self.pos += 1;
                items.push(Node::Scalar(scalar(rest)));
            }
        }
        Ok(Node::Seq(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn irsdk_subset() {
        let t = "---\nWeekendInfo:\n TrackName: monza full\n TrackConfigName: \n Opts:\n  A: 1\n\nDriverInfo:\n Drivers:\n - CarIdx: 0\n   UserName: Jim #1: the 'best' @home\n   CarNumber: \"07\"\n   TeamName: Foo: Bar\n - CarIdx: 1\n   UserName: 'Quoted'\n   TeamName: O'Neil, J & [co] {x} *y !z %q |p >g `b\n Empty:\n Next: 2\n...\n";
        let n = parse(t).unwrap();
        assert_eq!(n.path("WeekendInfo.TrackName").unwrap().as_str(), Some("monza full"));
        assert_eq!(n.path("WeekendInfo.TrackConfigName"), Some(&Node::Null));
        assert_eq!(n.path("WeekendInfo.Opts.A").unwrap().as_str(), Some("1"));
        assert_eq!(n.path("DriverInfo.Drivers[0].UserName").unwrap().as_str(), Some("Jim #1: the 'best' @home"));
        assert_eq!(n.path("DriverInfo.Drivers[0].CarNumber").unwrap().as_str(), Some("07"));
        assert_eq!(n.path("DriverInfo.Drivers[0].TeamName").unwrap().as_str(), Some("Foo: Bar"));
        assert_eq!(n.path("DriverInfo.Drivers[1].UserName").unwrap().as_str(), Some("Quoted"));
        assert_eq!(
            n.path("DriverInfo.Drivers[1].TeamName").unwrap().as_str(),
            Some("O'Neil, J & [co] {x} *y !z %q |p >g `b")
        );
        assert_eq!(n.path("DriverInfo.Empty"), Some(&Node::Null));
        assert_eq!(n.path("DriverInfo.Next").unwrap().as_str(), Some("2"));
        assert!(n.path("DriverInfo.Drivers[2]").is_none());
    }

    #[test]
    fn sequences_of_scalars_and_nested() {
        let n = parse("A:\n- x\n- y\nB:\n - - 1\n   - 2\n").unwrap();
        assert_eq!(n.path("A[1]").unwrap().as_str(), Some("y"));
        assert_eq!(n.path("B[0][1]").unwrap().as_str(), Some("2"));
    }

    #[test]
    fn bad_structure_has_line_number() {
        let e = parse("A: 1\n   B: 2\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let deep: String = (0..200).map(|i| format!("{}K{i}:\n", " ".repeat(i))).collect();
        assert!(parse(&deep).is_err());
    }
}
