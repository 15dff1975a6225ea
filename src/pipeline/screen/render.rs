//! The screen as text (terminal, CI log; fits 100 columns, readable without colour — the one exception is a
//! full image URI, which is never cut so it can be copied) and as markdown (the job summary). Pure.

use super::{Commits, SHOWN, Screen, Side};
use crate::deploy::meta::short_commit;
use crate::providers::git::CommitInfo;

const WIDTH: usize = 100;
const LABEL: usize = 12;

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `  label     value`, with later values indented under the first.
struct Block(String);

impl Block {
    fn row(&mut self, label: &str, lines: &[String]) {
        for (i, l) in lines.iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            let l = if l.contains("@sha256:") { l.clone() } else { cut(l, WIDTH - LABEL) };
            self.0.push_str(&format!("  {label:<w$}{l}\n", w = LABEL - 2));
        }
    }
}

fn commit_line(c: &CommitInfo) -> String {
    format!("{} {} — {}", short_commit(&c.sha), c.subject, c.author)
}

fn side_lines(s: &Side) -> Vec<String> {
    let mut head = Vec::new();
    if let Some(r) = &s.revision {
        head.push(format!("revision {r}"));
    }
    if !s.tags.is_empty() {
        head.push(format!("tags {}", s.tags.join(", ")));
    }
    let mut lines = Vec::new();
    if !head.is_empty() {
        lines.push(head.join(" · "));
    }
    lines.push(s.uri.clone());
    match (&s.commit, &s.commit_sha) {
        (Some(c), _) => lines.push(format!("{} · {}", commit_line(c), c.date)),
        (None, Some(sha)) => lines.push(format!(
            "commit {} (not in the local history{})",
            short_commit(sha),
            if s.commit_source == Some("image labels") { "; from the image's labels" } else { "" }
        )),
        (None, None) => lines.push("commit unknown".into()),
    }
    lines
}

fn commit_rows(commits: &Commits, all: bool) -> Vec<String> {
    let list = |what: String, count: usize, commits: &[CommitInfo], source: &str| {
        let mut lines = vec![format!("{what} ({source})")];
        let shown = if all { commits.len() } else { commits.len().min(SHOWN) };
        lines.extend(commits.iter().take(shown).map(commit_line));
        if count > shown {
            lines.push(format!("… and {} more{}", count - shown, if all { "" } else { " (d shows them)" }));
        }
        lines
    };
    match commits {
        Commits::First => vec!["the first release of this environment".into()],
        Commits::SameRelease => vec!["the same release again (same commit, same digest)".into()],
        Commits::SameCommit => vec!["same commit, different image (only the build changed)".into()],
        Commits::Forward { count, commits, source } => {
            list(format!("{count} new since the running release"), *count, commits, source)
        }
        Commits::Back { count, commits, source } => {
            list(format!("a rollback: {count} commits back (these leave)"), *count, commits, source)
        }
        Commits::Diverged { ahead, behind, commits, source } => list(
            format!("diverged: {ahead} commits not in the running release, {behind} of it not in the new one"),
            *ahead,
            commits,
            source,
        ),
        Commits::Unknown { why } => vec![format!("cannot tell: {why}")],
    }
}

fn scan_rows(s: &Screen) -> Vec<String> {
    let v = &s.scan;
    let mut lines = Vec::new();
    let counts: Vec<String> = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]
        .iter()
        .filter_map(|k| v.counts.get(*k).filter(|n| **n > 0).map(|n| format!("{n} {k}")))
        .collect();
    if !v.scanned {
        lines.push(v.summary.clone());
    } else {
        let counts = if counts.is_empty() { "no findings".to_string() } else { counts.join(", ") };
        lines.push(format!("{counts} — {}", v.summary));
    }
    match &v.delta {
        Some(d) if d.new.is_empty() && d.fixed.is_empty() => {
            lines.push("against the running release: no new findings, none fixed".into())
        }
        Some(d) => {
            let mut parts = Vec::new();
            if !d.new.is_empty() {
                parts.push(format!("{} new ({})", d.new.len(), cut(&d.new.join(", "), 50)));
            }
            if !d.fixed.is_empty() {
                parts.push(format!("{} fixed", d.fixed.len()));
            }
            lines.push(format!("against the running release: {}", parts.join(", ")));
        }
        None if v.scanned && s.running.is_some() => lines.push("against the running release: no earlier report".into()),
        None => {}
    }
    lines.extend(v.exceptions.iter().map(|e| format!("exception used: {e}")));
    lines
}

fn approval_rows(s: &Screen) -> Vec<String> {
    s.approvals
        .iter()
        .take(5)
        .map(|a| {
            let from = a.promoted_from.as_deref().map(|f| format!(" (promoted from {f})")).unwrap_or_default();
            format!(
                "{}{from} by {} · {} · {}",
                a.environment,
                a.by,
                a.at.format("%Y-%m-%d %H:%M UTC"),
                a.method.as_str()
            )
        })
        .collect()
}

/// The compact block shown before the question.
pub fn text(s: &Screen) -> String {
    let title = format!("── {} to {} · {} ", s.change, s.environment, s.target);
    let pad = WIDTH.saturating_sub(title.chars().count());
    let mut b = Block(format!("{}{}\n", cut(&title, WIDTH), "─".repeat(pad)));
    match &s.running {
        Some(r) => b.row("running", &side_lines(r)),
        None => b.row("running", &["nothing".into()]),
    }
    b.row("new", &side_lines(&s.new));
    b.row("commits", &commit_rows(&s.commits, false));
    b.row("scan", &scan_rows(s));
    if !s.target_change.is_empty() {
        b.row("change", &s.target_change);
    }
    let approvals = approval_rows(s);
    if !approvals.is_empty() {
        b.row("approved", &approvals);
    }
    b.0.push_str(&"─".repeat(WIDTH));
    b.0.push('\n');
    b.0
}

/// What `d` shows: every commit between, and every finding of the new image.
pub fn text_details(s: &Screen) -> String {
    let mut b = Block(String::new());
    b.row("commits", &commit_rows(&s.commits, true));
    if s.scan.findings.is_empty() {
        b.row("findings", &["none".into()]);
    } else {
        b.row("findings", &s.scan.findings);
    }
    if let Some(d) = &s.scan.delta {
        if !d.new.is_empty() {
            b.row("new", &d.new);
        }
        if !d.fixed.is_empty() {
            b.row("fixed", &d.fixed);
        }
    }
    for (name, url) in &s.links {
        b.row(name, std::slice::from_ref(url));
    }
    b.0
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('<', "&lt;")
}

/// The block for the job summary.
pub fn markdown(s: &Screen) -> String {
    let mut out = format!("### {} to {} — approval\n\n", s.change, md(&s.environment));
    out.push_str(&format!("Target: `{}`\n\n| | running | new |\n|---|---|---|\n", s.target));
    let get = |f: &dyn Fn(&Side) -> String| -> (String, String) {
        (s.running.as_ref().map(f).unwrap_or_else(|| "nothing".into()), f(&s.new))
    };
    type Cell<'a> = &'a dyn Fn(&Side) -> String;
    let rows: [(&str, Cell); 5] = [
        ("image", &|x: &Side| format!("`{}`", x.uri)),
        ("tags", &|x: &Side| x.tags.join(", ")),
        ("revision", &|x: &Side| x.revision.clone().unwrap_or_default()),
        ("commit", &|x: &Side| match (&x.commit, &x.commit_sha) {
            (Some(c), _) => format!("`{}` {}", short_commit(&c.sha), md(&c.subject)),
            (None, Some(sha)) => format!("`{}`", short_commit(sha)),
            _ => String::new(),
        }),
        ("author", &|x: &Side| {
            x.commit.as_ref().map(|c| format!("{} · {}", md(&c.author), c.date)).unwrap_or_default()
        }),
    ];
    for (name, f) in rows {
        let (a, b) = get(f);
        out.push_str(&format!("| {name} | {a} | {b} |\n"));
    }
    out.push('\n');
    let commits = commit_rows(&s.commits, true);
    out.push_str(&format!("**Commits:** {}\n\n", md(&commits[0])));
    for c in commits.iter().skip(1) {
        out.push_str(&format!("- {}\n", md(c)));
    }
    out.push_str(&format!("\n**Scan:** {}\n\n", scan_rows(s).iter().map(|l| md(l)).collect::<Vec<_>>().join("; ")));
    if !s.scan.findings.is_empty() {
        out.push_str(&format!(
            "<details><summary>{} findings</summary>\n\n```\n{}\n```\n\n</details>\n\n",
            s.scan.findings.len(),
            s.scan.findings.join("\n")
        ));
    }
    if !s.target_change.is_empty() {
        out.push_str("**Change:**\n\n");
        for l in &s.target_change {
            out.push_str(&format!("- {}\n", md(l)));
        }
        out.push('\n');
    }
    for a in approval_rows(s) {
        out.push_str(&format!("Approved before: {}\n\n", md(&a)));
    }
    for (name, url) in &s.links {
        out.push_str(&format!("[{name}]({url}) "));
    }
    out
}

#[cfg(test)]
pub(super) fn commit_rows_for_test(c: &Commits) -> Vec<String> {
    commit_rows(c, false)
}
