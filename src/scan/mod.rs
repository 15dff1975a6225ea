//! The scan gate's pure parts: reading Trivy's report and deciding what blocks. Running Trivy is
//! `providers::trivy`; saving and recording is `pipeline::scan`.

pub mod gate;
pub mod report;
pub mod trivyignore;

use std::path::Path;

use serde::Deserialize;

use crate::config::{Exception, line_col};
use crate::error::CliError;
use gate::RegisteredException;

/// `scan.exceptions_file`: the same `[[exceptions]]` entries as ship.toml, so a security team can own the
/// register in its own file (and its own CODEOWNERS line).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionsFile {
    #[serde(default)]
    exceptions: Vec<Exception>,
}

pub fn parse_exceptions_file(path: &Path, text: &str) -> Result<Vec<RegisteredException>, CliError> {
    let file: ExceptionsFile = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| line_col(text, s.start)).map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default();
        CliError::usage(format!("invalid exceptions file {}{at}: {}", path.display(), e.message().trim()))
            .hint("each entry is [[exceptions]] with id, reason, expires (YYYY-MM-DD) and optionally package")
    })?;
    let mut out = Vec::new();
    for e in file.exceptions {
        if e.id.trim().is_empty() || e.reason.trim().is_empty() {
            return Err(CliError::usage(format!("exception in {} without an `id` or `reason`", path.display()))
                .hint("the reason is shown in every verdict that uses the exception"));
        }
        out.push(RegisteredException { exception: e, source: path.display().to_string() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceptions_file() {
        let p = Path::new("security/exceptions.toml");
        let list = parse_exceptions_file(
            p,
            "[[exceptions]]\nid = \"CVE-1\"\nreason = \"r\"\nexpires = 2027-01-31\n\n[[exceptions]]\nid = \"CVE-2\"\npackage = \"bash\"\nreason = \"r\"\nexpires = \"2027-02-01\"\n",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].exception.package.as_deref(), Some("bash"));
        assert_eq!(list[0].source, "security/exceptions.toml");
        let err = parse_exceptions_file(p, "[[exceptions]]\nid = \"CVE-1\"\nreason = \"r\"\nexpires = \"soon\"\n")
            .unwrap_err();
        assert!(err.message.contains("security/exceptions.toml:4"), "{}", err.message);
        assert!(parse_exceptions_file(p, "[[exceptions]]\nid = \"\"\nreason = \"r\"\nexpires = 2027-01-31\n").is_err());
        assert!(parse_exceptions_file(p, "").unwrap().is_empty());
    }
}
