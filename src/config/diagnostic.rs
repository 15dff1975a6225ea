//! Config errors that point at the line: `--> ship.toml:7:1`, the line itself, a caret under the span, and a
//! hint. The format follows rustc/cargo because every developer can already read it.

use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub path: PathBuf,
    /// 1-based line and column (in characters) of the start of the span, when known.
    pub location: Option<(usize, usize)>,
    /// The rendered source excerpt with carets, when a span is known.
    pub snippet: Option<String>,
    pub hints: Vec<String>,
}

impl Diagnostic {
    pub fn new(path: &Path, source: &str, span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        let (location, snippet) = match span {
            Some(span) if span.start <= source.len() => {
                let (line, col) = line_col(source, span.start);
                (Some((line, col)), Some(render_snippet(source, span, line)))
            }
            _ => (None, None),
        };
        Diagnostic { message: message.into(), path: path.to_path_buf(), location, snippet, hints: Vec::new() }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// `path:line:col` (or just the path).
    pub fn position(&self) -> String {
        match self.location {
            Some((l, c)) => format!("{}:{l}:{c}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }

    /// The `--> file:line:col` header followed by the excerpt.
    pub fn render_detail(&self) -> String {
        let mut out = format!("  --> {}", self.position());
        if let Some(snippet) = &self.snippet {
            out.push('\n');
            out.push_str(snippet);
        }
        out
    }
}

pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(source, offset.min(source.len()));
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = source[line_start..offset].chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn render_snippet(source: &str, span: Range<usize>, line: usize) -> String {
    let start = floor_char_boundary(source, span.start.min(source.len()));
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[start..].find('\n').map_or(source.len(), |i| start + i);
    let text = source[line_start..line_end].trim_end_matches('\r');
    // Very long lines (a minified blob, a 10 MB single line) are cut so the error stays readable.
    const MAX: usize = 120;
    let col = source[line_start..start].chars().count();
    let (shown, shift) = if text.chars().count() > MAX {
        let skip = col.saturating_sub(40);
        let s: String = text.chars().skip(skip).take(MAX).collect();
        (format!("…{s}…"), skip as isize - 1)
    } else {
        (text.to_string(), 0)
    };
    let end = floor_char_boundary(source, span.end.min(line_end).max(start));
    let width = source[start..end].chars().count().clamp(1, MAX);
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);
    let caret_col = (col as isize - shift).max(0) as usize;
    format!("{pad} |\n{line} | {shown}\n{pad} | {}{}", " ".repeat(caret_col), "^".repeat(width))
}

/// "did you mean `x`?" for the closest candidate, if any is close enough to be a plausible typo.
pub fn did_you_mean<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for cand in candidates {
        let score = strsim::jaro_winkler(&given.to_ascii_lowercase(), &cand.to_ascii_lowercase());
        if score > 0.8 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, cand));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let src = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        let off = src.find('=').unwrap();
        assert_eq!(line_col(src, off), (1, 3));
        let off2 = src.rfind('=').unwrap();
        assert_eq!(line_col(src, off2), (2, 4));
    }

    #[test]
    fn snippet_points_at_span() {
        let src = "[build]\ndockerfle = \"Dockerfile\"\n";
        let start = src.find("dockerfle").unwrap();
        let d = Diagnostic::new(Path::new("ship.toml"), src, Some(start..start + 9), "unknown key");
        assert_eq!(d.position(), "ship.toml:2:1");
        assert_eq!(d.snippet.unwrap(), "  |\n2 | dockerfle = \"Dockerfile\"\n  | ^^^^^^^^^");
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("dockerfle", ["context", "dockerfile"]).unwrap(), "did you mean `dockerfile`?");
        assert_eq!(did_you_mean("zzz", ["context", "dockerfile"]), None);
    }
}
