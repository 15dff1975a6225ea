//! The SonarQube part of the commit check: find the analysis of HEAD itself (never "the latest one"), read the
//! quality gate computed for that analysis, and with `--wait` wait for the analysis to appear.

use std::time::Instant;

use super::check::{CheckOptions, Item, secs};
use crate::config::SonarQube;
use crate::error::CliError;
use crate::providers::sonarqube::{Analysis, GateStatus, Lookup, Scope, Sonar, SonarError};
use crate::release::Commit;
use crate::report::Reporter;

/// `pull_request` when set, else `branch` when set (empty: the main branch), else HEAD's own branch.
pub fn scope(sq: &SonarQube, commit: &Commit) -> Scope {
    let set = |v: &Option<crate::config::IString>| v.as_ref().map(|s| s.trim().to_string());
    let pull_request = set(&sq.pull_request).filter(|s| !s.is_empty());
    let branch = match (&pull_request, set(&sq.branch)) {
        (Some(_), _) => None,
        (None, Some(b)) => Some(b).filter(|b| !b.is_empty()),
        (None, None) => commit.branch.clone(),
    };
    Scope { project_key: sq.project_key.to_string(), branch, pull_request }
}

/// Why there is no verdict yet: no analysis of HEAD in the scope, or the branch has never been analysed.
struct NotYet {
    lookup: Option<Lookup>,
    progress: Option<String>,
}

pub async fn item(
    sq: &SonarQube,
    commit: &Commit,
    opts: &CheckOptions,
    reporter: &dyn Reporter,
) -> Result<Item, CliError> {
    let scope = scope(sq, commit);
    let sonar = Sonar::new(&sq.url, sq.token.as_deref())?;
    let timeout = sq.wait_timeout.get();
    let started = Instant::now();
    loop {
        reporter.status(&format!(
            "looking for SonarQube's analysis of {} in {} ({})",
            commit.short_sha,
            scope.project_key,
            scope.describe()
        ));
        let lookup = match sonar.find_analysis(&scope, &commit.sha).await {
            Ok(l) => Some(l),
            Err(SonarError::NotFound { .. }) if scope.may_not_exist_yet() => None,
            Err(e) => return Err(e.into()),
        };
        if let Some(Lookup { found: Some(analysis), .. }) = &lookup {
            reporter.status(&format!("reading the quality gate of analysis {}", analysis.key));
            let gate = sonar.gate_of(&scope, analysis).await?;
            return Ok(gate_item(&gate, analysis, &scope, sonar.url()));
        }
        // Progress is a courtesy: a token without Browse on the queue must not fail the check.
        let progress = sonar.compute_engine(&scope).await.ok().and_then(|ce| ce.describe(&scope));
        let not_yet = NotYet { lookup, progress };
        let waited = started.elapsed();
        if !opts.wait {
            return Ok(not_yet.item(commit, &scope, sonar.url(), "yet").hint(
                "wait for it: `shipit check --wait` (up to `[check.sonarqube] wait_timeout`), or run the analysis for this commit",
            ));
        }
        if waited >= timeout {
            let after = format!("after {}", humantime::format_duration(secs(waited)));
            return Ok(not_yet.item(commit, &scope, sonar.url(), &after).hint(
                "raise `[check.sonarqube] wait_timeout`, or open Project Settings → Background Tasks in SonarQube: the analysis may have failed or never been submitted",
            ));
        }
        let left = timeout - waited;
        reporter.status(&format!(
            "waiting for SonarQube's analysis of {} ({}){} — {} left",
            commit.short_sha,
            scope.describe(),
            not_yet.progress.as_deref().map(|p| format!("; {p}")).unwrap_or_default(),
            // Rounded up: "0s left" while a poll is still to come reads as a bug.
            humantime::format_duration(std::time::Duration::from_secs(left.as_secs_f64().ceil() as u64))
        ));
        tokio::time::sleep(opts.poll_interval.min(left)).await;
    }
}

impl NotYet {
    fn item(&self, commit: &Commit, scope: &Scope, url: &str, when: &str) -> Item {
        let mut details = Vec::new();
        let mut no_revisions = false;
        match &self.lookup {
            None => details.push(format!(
                "SonarQube knows no {} of {} yet (its first analysis creates it)",
                scope.describe(),
                scope.project_key
            )),
            Some(l) => match &l.latest {
                None => details.push(format!("no analysis of the {} at all yet", scope.describe())),
                Some(latest) => {
                    details.push(format!(
                        "latest analysis: {} on {} — not this commit, so its verdict does not count",
                        latest.short_revision().unwrap_or("(no revision recorded)"),
                        latest.when()
                    ));
                    no_revisions = l.without_revision == l.searched;
                }
            },
        }
        if let Some(p) = &self.progress {
            details.push(p.clone());
        }
        details.push(scope.dashboard(url));
        let item = Item::fail(
            "sonarqube",
            format!("SonarQube has no analysis of {} {when} ({})", commit.short_sha, scope.describe()),
        )
        .details(details);
        let item = if no_revisions {
            item.hint("SonarQube recorded no commit for these analyses: run the scanner in the git checkout (it reads the revision from git) or pass -Dsonar.scm.revision=<sha>")
        } else {
            item
        };
        if self.lookup.is_none() {
            item.hint(format!(
                "check `[check.sonarqube] project_key` ({}) and which branch or pull request is analysed (`branch`, `pull_request`)",
                scope.project_key
            ))
        } else {
            item
        }
    }
}

/// `analysis of 3f2c1ab0c9d1 on 2026-11-30 14:02 UTC, branch main`.
fn which(analysis: &Analysis, scope: &Scope) -> String {
    format!("analysis of {} on {}, {}", analysis.short_revision().unwrap_or("?"), analysis.when(), scope.describe())
}

fn gate_item(gate: &GateStatus, analysis: &Analysis, scope: &Scope, url: &str) -> Item {
    let link = scope.dashboard(url);
    let of = which(analysis, scope);
    match gate.status.as_str() {
        "OK" => Item::pass("sonarqube", format!("SonarQube quality gate passed ({of})")),
        "WARN" => Item::pass("sonarqube", format!("SonarQube quality gate passed with warnings ({of})"))
            .details(gate.failing.iter().map(|c| format!("warning: {}", c.describe())).collect()),
        "NONE" => Item::fail("sonarqube", format!("SonarQube computed no quality gate for the {of}"))
            .details(vec![link])
            .hint("assign a quality gate to the project in SonarQube (Project Settings → Quality Gate) and re-run the analysis"),
        other => {
            let mut details: Vec<String> = gate.failing.iter().map(|c| format!("failed:  {}", c.describe())).collect();
            details.push(link);
            Item::fail(
                "sonarqube",
                format!("SonarQube quality gate {other}: {} condition(s) failed ({of})", gate.failing.len()),
            )
            .details(details)
            .hint("fix the failing conditions, commit, and let the analysis of the new commit run")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DurationStr, IString};

    fn sq(branch: Option<&str>, pr: Option<&str>) -> SonarQube {
        SonarQube {
            url: IString("https://sonar".into()),
            project_key: IString("acme_api".into()),
            token: None,
            branch: branch.map(|b| IString(b.into())),
            pull_request: pr.map(|p| IString(p.into())),
            wait_timeout: DurationStr(std::time::Duration::from_secs(60)),
        }
    }

    fn commit(branch: Option<&str>) -> Commit {
        Commit {
            sha: "3f2c1ab0c9d14e5f60718293a4b5c6d7e8f90123".into(),
            short_sha: "3f2c1ab0c9d1".into(),
            branch: branch.map(Into::into),
            author: None,
            message: None,
            tag: None,
            dirty: false,
        }
    }

    #[test]
    fn scope_rules() {
        let s = scope(&sq(None, None), &commit(Some("feature/x")));
        assert_eq!((s.branch.as_deref(), s.pull_request.as_deref()), (Some("feature/x"), None));
        let s = scope(&sq(None, None), &commit(None));
        assert_eq!((s.branch.as_deref(), s.pull_request.as_deref()), (None, None));
        let s = scope(&sq(Some(""), None), &commit(Some("feature/x")));
        assert_eq!(s.branch, None, "an empty branch means the main branch");
        let s = scope(&sq(Some("main"), Some(" 412 ")), &commit(Some("feature/x")));
        assert_eq!((s.branch.as_deref(), s.pull_request.as_deref()), (None, Some("412")));
        let s = scope(&sq(Some("release/1"), Some("")), &commit(Some("feature/x")));
        assert_eq!((s.branch.as_deref(), s.pull_request.as_deref()), (Some("release/1"), None));
    }
}
