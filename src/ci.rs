//! GitHub Actions integration: step outputs (`$GITHUB_OUTPUT`) and the job summary (`$GITHUB_STEP_SUMMARY`).
//! Both are files Actions creates per step; outside Actions the variables are unset and nothing is written.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::env_vars::EnvVars;

fn target(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(text.as_bytes())
}

/// `name=value` lines for `steps.<id>.outputs.<name>`. Multi-line values use the documented heredoc form.
/// Returns whether anything was written (false outside Actions).
pub fn set_outputs(pairs: &[(&str, &str)]) -> std::io::Result<bool> {
    let Some(path) = target(EnvVars::GITHUB_OUTPUT) else { return Ok(false) };
    append(&path, &format_outputs(pairs))?;
    Ok(true)
}

fn format_outputs(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if value.contains('\n') {
            let mut delim = String::from("SHIPIT_EOF");
            while value.contains(&delim) {
                delim.push('_');
            }
            out.push_str(&format!("{name}<<{delim}\n{value}\n{delim}\n"));
        } else {
            out.push_str(&format!("{name}={value}\n"));
        }
    }
    out
}

/// Append markdown to the job summary. Returns whether anything was written.
pub fn append_summary(markdown: &str) -> std::io::Result<bool> {
    let Some(path) = target(EnvVars::GITHUB_STEP_SUMMARY) else { return Ok(false) };
    let mut text = markdown.trim_end().to_string();
    text.push_str("\n\n");
    append(&path, &text)?;
    Ok(true)
}

/// A two-column markdown table (`| key | value |`), values shown as code.
pub fn summary_table(title: &str, rows: &[(&str, String)]) -> String {
    let mut md = format!("### {title}\n\n| | |\n|---|---|\n");
    for (k, v) in rows {
        md.push_str(&format!("| {k} | `{}` |\n", v.replace('|', "\\|").replace('`', "'")));
    }
    md
}

/// The run's stages as a markdown table: stage, result, duration, what it said.
pub fn stages_table(stages: &[crate::ui::StageResult]) -> String {
    let mut md = String::from("### shipit stages\n\n| stage | result | time | |\n|---|---|---|---|\n");
    for s in stages {
        let icon = match s.result {
            "ok" => "✅",
            "failed" => "❌",
            "warning" => "⚠️",
            _ => "➖",
        };
        md.push_str(&format!(
            "| {} | {icon} {} | {:.1}s | {} |\n",
            s.stage,
            s.result,
            s.seconds,
            s.message.replace('|', "\\|").replace('\n', " ")
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_single_and_multi_line() {
        let out = format_outputs(&[("image", "a@sha256:1"), ("notes", "x\ny")]);
        assert_eq!(out, "image=a@sha256:1\nnotes<<SHIPIT_EOF\nx\ny\nSHIPIT_EOF\n");
        let tricky = format_outputs(&[("v", "SHIPIT_EOF\nz")]);
        assert!(tricky.starts_with("v<<SHIPIT_EOF_\n"), "{tricky}");
    }

    #[test]
    fn stages_table_rows() {
        let md = stages_table(&[crate::ui::StageResult {
            stage: "scan",
            result: "failed",
            message: "2 HIGH | blocking".into(),
            seconds: 3.25,
        }]);
        assert!(md.contains("| scan | ❌ failed | 3.2s | 2 HIGH \\| blocking |"), "{md}");
    }

    #[test]
    fn summary_table_escapes() {
        let md = summary_table("push", &[("image", "a|b".into())]);
        assert!(md.contains("| image | `a\\|b` |"), "{md}");
    }
}
