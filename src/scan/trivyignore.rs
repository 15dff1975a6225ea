//! `.trivyignore`, Trivy's own list of accepted findings. shipit runs Trivy so that it never reads one (the
//! list has no reason and usually no expiry, and would hide findings before the gate sees them); this module
//! reads it only to say so, and to turn its entries into `[[scan.exceptions]]` a person then completes.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

pub const FILE_NAME: &str = ".trivyignore";

/// How long a converted entry without Trivy's `exp:` lasts: long enough to write the reasons, short enough
/// that nobody forgets the entry exists.
pub const DEFAULT_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    /// Trivy's `exp:YYYY-MM-DD`.
    pub expires: Option<NaiveDate>,
    /// The comment on the line or on the lines just above it: the closest thing to a reason the file has.
    pub comment: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrivyIgnore {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

impl TrivyIgnore {
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.id.as_str())
    }

    pub fn lists(&self, id: &str) -> bool {
        self.ids().any(|i| i.eq_ignore_ascii_case(id))
    }
}

/// The `.trivyignore` files Trivy would have read: the working directory's, and the project root's when shipit
/// runs from a subdirectory.
pub fn find(cwd: Option<&Path>, root: &Path) -> Vec<TrivyIgnore> {
    let mut out: Vec<TrivyIgnore> = Vec::new();
    for dir in cwd.into_iter().chain([root]) {
        let path = dir.join(FILE_NAME);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        if out.iter().any(|t| t.path.canonicalize().unwrap_or_else(|_| t.path.clone()) == canonical) {
            continue;
        }
        out.push(TrivyIgnore { path, entries: parse(&text) });
    }
    out
}

/// Trivy's format: one id per line, optionally `exp:YYYY-MM-DD`; `#` starts a comment.
pub fn parse(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut pending_comment: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            pending_comment.clear();
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            let c = c.trim();
            if !c.is_empty() {
                pending_comment.push(c.to_string());
            }
            continue;
        }
        let (body, inline) = match line.split_once(" #").or_else(|| line.split_once("\t#")) {
            Some((b, c)) => (b, Some(c.trim().to_string()).filter(|c| !c.is_empty())),
            None => (line, None),
        };
        let mut fields = body.split_whitespace();
        let Some(id) = fields.next() else { continue };
        let expires =
            fields.filter_map(|f| f.strip_prefix("exp:")).find_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let mut comments = std::mem::take(&mut pending_comment);
        comments.extend(inline);
        entries.push(Entry {
            id: id.to_string(),
            expires,
            comment: (!comments.is_empty()).then(|| comments.join("; ")),
            line: i + 1,
        });
    }
    entries
}

/// The entries as TOML for ship.toml (`table = "scan.exceptions"`) or an exceptions file (`"exceptions"`).
/// A reason cannot be invented: an entry without a comment gets an empty `reason`, which shipit refuses until
/// someone writes one.
pub fn to_toml(ignore: &TrivyIgnore, table: &str, today: NaiveDate) -> String {
    let default_expiry = today + chrono::Duration::days(DEFAULT_DAYS);
    let mut out = format!("# converted from {} by `shipit scan --convert-trivyignore`\n", ignore.path.display());
    for e in &ignore.entries {
        out.push_str(&format!("\n[[{table}]]\nid = {}\n", quote(&e.id)));
        match &e.comment {
            Some(c) => out.push_str(&format!("reason = {}\n", quote(c))),
            None => {
                out.push_str("reason = \"\"  # write why this finding is accepted; shipit refuses an empty reason\n")
            }
        }
        match e.expires {
            Some(d) if d < today => {
                out.push_str(&format!("expires = {d}  # already past: this exception does not apply\n"))
            }
            Some(d) => out.push_str(&format!("expires = {d}\n")),
            None => out.push_str(&format!(
                "expires = {default_expiry}  # .trivyignore had no expiry; review the finding by then\n"
            )),
        }
    }
    out
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Accept: libidn2 is only reached through curl's IDN support\nCVE-2019-18224\n\n# unrelated note\n\nCVE-2019-18276 exp:2027-01-31 # bash: no shell in the image at runtime\nGHSA-5crp-9r3c-p9vr exp:2020-01-01\n";

    #[test]
    fn parses_trivys_format() {
        let e = parse(SAMPLE);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].id, "CVE-2019-18224");
        assert_eq!(e[0].comment.as_deref(), Some("Accept: libidn2 is only reached through curl's IDN support"));
        assert_eq!(e[0].line, 2);
        assert_eq!(e[1].expires, NaiveDate::from_ymd_opt(2027, 1, 31));
        assert_eq!(
            e[1].comment.as_deref(),
            Some("bash: no shell in the image at runtime"),
            "a blank line ends a comment"
        );
        assert_eq!(e[2].comment, None);
    }

    #[test]
    fn converts_to_exceptions_that_parse() {
        let ignore = TrivyIgnore { path: PathBuf::from(".trivyignore"), entries: parse(SAMPLE) };
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let toml_text = to_toml(&ignore, "exceptions", today);
        assert!(toml_text.contains("expires = 2027-03-01  # .trivyignore had no expiry"), "{toml_text}");
        assert!(toml_text.contains("expires = 2020-01-01  # already past"), "{toml_text}");
        assert!(toml_text.contains("reason = \"\"  # write why"), "{toml_text}");
        let list = crate::scan::parse_exceptions_file(Path::new("x.toml"), &toml_text);
        assert!(list.is_err(), "an empty reason is refused until someone writes one");
        let filled = toml_text.replace("reason = \"\"", "reason = \"reviewed\"");
        let list = crate::scan::parse_exceptions_file(Path::new("x.toml"), &filled).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[1].exception.reason.as_str(), "bash: no shell in the image at runtime");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
