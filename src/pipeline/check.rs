//! The commit check: is HEAD fit to ship? Local git first (clean, allowed branch, pushed, tagged), then GitHub
//! (check-runs + statuses, pull-request approval) and SonarQube when ship.toml configures them.
//!
//! `evaluate` returns the full report even when something fails, so `--output json` can show it; `run` turns a
//! failed report into the exit-3 error.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{GitHubCheck, IString, Loaded};
use crate::error::CliError;
use crate::providers::github::{CheckState, CommitCheck, GitHub, PullApproval};
use crate::providers::{git, github};
use crate::release::Commit;
use crate::report::Reporter;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Wait for pending GitHub checks (up to `[check.github] wait_timeout`) and for SonarQube's analysis of
    /// HEAD (up to `[check.sonarqube] wait_timeout`) instead of failing on them.
    pub wait: bool,
    /// How often to poll GitHub and SonarQube while waiting.
    pub poll_interval: Duration,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { wait: false, poll_interval: Duration::from_secs(10) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    /// Not configured, not required, or not checkable because an earlier check failed.
    Skip,
}

/// One line of the verdict: what was checked, the result, and what to do about a failure.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// `clean`, `branch`, `pushed`, `tag`, `github`, `approval`, `sonarqube`.
    pub name: &'static str,
    pub outcome: Outcome,
    pub summary: String,
    /// Dirty paths, failed checks with their URL, failing conditions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
}

impl Item {
    pub(super) fn pass(name: &'static str, summary: impl Into<String>) -> Item {
        Item { name, outcome: Outcome::Pass, summary: summary.into(), details: Vec::new(), hints: Vec::new() }
    }
    pub(super) fn fail(name: &'static str, summary: impl Into<String>) -> Item {
        Item { name, outcome: Outcome::Fail, summary: summary.into(), details: Vec::new(), hints: Vec::new() }
    }
    pub(super) fn skip(name: &'static str, summary: impl Into<String>) -> Item {
        Item { name, outcome: Outcome::Skip, summary: summary.into(), details: Vec::new(), hints: Vec::new() }
    }
    pub(super) fn details(mut self, d: Vec<String>) -> Item {
        self.details = d;
        self
    }
    pub(super) fn hint(mut self, h: impl Into<String>) -> Item {
        self.hints.push(h.into());
        self
    }
    fn link(mut self, url: String) -> Item {
        self.details.push(url);
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub passed: bool,
    pub commit: Commit,
    pub items: Vec<Item>,
}

impl CheckReport {
    /// `3f2c1ab0c9d1 on main, clean, pushed; GitHub checks 7/7 green; PR #412 approved`.
    pub fn headline(&self) -> String {
        let mut local =
            vec![format!("{} on {}", self.commit.short_sha, self.commit.branch.as_deref().unwrap_or("detached HEAD"))];
        let mut remote = Vec::new();
        for i in &self.items {
            if i.outcome == Outcome::Skip || i.name == "branch" {
                continue;
            }
            let text = if i.outcome == Outcome::Fail { format!("✘ {}", i.summary) } else { i.summary.clone() };
            match i.name {
                "clean" | "pushed" | "tag" => local.push(text),
                _ => remote.push(text),
            }
        }
        let mut out = local.join(", ");
        for r in remote {
            out.push_str("; ");
            out.push_str(&r);
        }
        out
    }

    /// The exit-3 error: every failed item with its details, and the hints that fix them.
    pub fn gate_error(&self) -> CliError {
        let failed: Vec<&Item> = self.items.iter().filter(|i| i.outcome == Outcome::Fail).collect();
        let names: Vec<&str> = failed.iter().map(|i| i.name).collect();
        let mut detail = String::new();
        for i in &failed {
            detail.push_str(&format!("✘ {:<9} {}\n", i.name, i.summary));
            for d in &i.details {
                detail.push_str(&format!("    {d}\n"));
            }
        }
        let mut err =
            CliError::gate(format!("commit {} is not ready to ship: {}", self.commit.short_sha, names.join(", ")))
                .detail(detail);
        for h in failed.iter().flat_map(|i| &i.hints) {
            err = err.hint(h.clone());
        }
        err
    }
}

/// Check HEAD of the repository holding ship.toml. `env_branches` is an environment's own `branches` list,
/// which replaces `[check].branches` when given.
pub async fn evaluate(
    loaded: &Loaded,
    env_branches: Option<&[IString]>,
    opts: &CheckOptions,
    reporter: &dyn Reporter,
) -> Result<CheckReport, CliError> {
    let check = &loaded.config.check;
    reporter.status("reading the git repository");
    let commit = git::head_commit(&loaded.root)?;
    let repo = git::open(&loaded.root).map_err(git::GitError::from)?;
    let mut items = Vec::new();

    items.push(if check.require_clean {
        clean_item(&repo, loaded)?
    } else {
        Item::skip("clean", "not required (check.require_clean = false)")
    });
    let globs: Vec<&str> = env_branches.unwrap_or(&check.branches).iter().map(|s| s.as_str()).collect();
    let upstream = git::upstream(&repo)?;
    items.push(branch_item(&repo, &commit, &upstream, &globs)?);
    let pushed = pushed_item(&repo, &upstream)?;
    let is_pushed = pushed.outcome == Outcome::Pass;
    items.push(if check.require_pushed {
        pushed
    } else {
        Item::skip("pushed", "not required (check.require_pushed = false)")
    });
    if check.require_tag {
        items.push(match &commit.tag {
            Some(t) => Item::pass("tag", format!("tagged {t}")),
            None => Item::fail("tag", "HEAD has no tag")
                .hint("tag the release (`git tag v1.2.3 && git push --tags`), or set check.require_tag = false"),
        });
    }

    if let Some(gh) = &check.github {
        if !is_pushed {
            items.push(Item::skip("github", "not checked: GitHub cannot know a commit that is not pushed"));
        } else {
            let client = github_client(loaded, gh)?;
            items.push(github_checks(&client, gh, &commit.sha, opts, reporter).await?);
            if gh.require_approval {
                reporter.status(&format!("looking up the pull request for {} on {}", commit.short_sha, client.slug()));
                let approval = approval_item(client.pull_approval(&commit.sha).await?);
                items.push(match (approval.outcome, &commit.branch) {
                    (Outcome::Fail, Some(b)) if approval.details.is_empty() => {
                        approval.link(format!("{}/compare/{b}?expand=1", client.repo_url()))
                    }
                    _ => approval,
                });
            }
        }
    }

    if let Some(sq) = &check.sonarqube {
        items.push(super::sonar::item(sq, &commit, opts, reporter).await?);
    }

    let passed = items.iter().all(|i| i.outcome != Outcome::Fail);
    Ok(CheckReport { passed, commit, items })
}

/// For `shipit ship`: the report when everything passes, the exit-3 error otherwise.
pub async fn run(
    loaded: &Loaded,
    env_branches: Option<&[IString]>,
    opts: &CheckOptions,
    reporter: &dyn Reporter,
) -> Result<CheckReport, CliError> {
    let report = evaluate(loaded, env_branches, opts, reporter).await?;
    if report.passed { Ok(report) } else { Err(report.gate_error()) }
}

/// shipit's own outputs (`.shipit/`, `image_definitions` files) never make the tree dirty.
fn clean_item(repo: &git2::Repository, loaded: &Loaded) -> Result<Item, CliError> {
    let workdir = repo.workdir().map(std::path::Path::to_path_buf).unwrap_or_default();
    let entries: Vec<git::DirtyEntry> = git::dirty_entries(repo)
        .map_err(git::GitError::from)?
        .into_iter()
        .filter(|e| !loaded.is_own_output(&workdir, &e.path))
        .collect();
    if entries.is_empty() {
        return Ok(Item::pass("clean", "clean"));
    }
    let mut details: Vec<String> = entries.iter().take(20).map(|e| format!("{:<10} {}", e.state, e.path)).collect();
    if entries.len() > 20 {
        details.push(format!("… and {} more (see `git status`)", entries.len() - 20));
    }
    Ok(Item::fail("clean", format!("{} uncommitted change(s) in the working tree", entries.len()))
        .details(details)
        .hint("commit or stash the changes (`git stash -u`); a release must be exactly a commit"))
}

fn branch_item(
    repo: &git2::Repository,
    commit: &Commit,
    upstream: &git::Upstream,
    globs: &[&str],
) -> Result<Item, CliError> {
    let glob_err = |e: globset::Error| CliError::usage(format!("invalid branch pattern: {e}"));
    let allowed_list = globs.join(", ");
    match (&commit.branch, upstream) {
        (Some(b), _) => {
            if globs.is_empty() {
                Ok(Item::pass("branch", format!("on {b} (any branch may ship)")))
            } else if git::branch_matches(b, globs).map_err(glob_err)? {
                Ok(Item::pass("branch", format!("on {b}")))
            } else {
                Ok(Item::fail("branch", format!("branch {b} may not ship (allowed: {allowed_list})"))
                    .hint(format!("merge into an allowed branch ({allowed_list}) and ship from there, or change `branches` in ship.toml")))
            }
        }
        (None, git::Upstream::Detached { containing }) => {
            // A detached HEAD (CI checks out the SHA) is on a branch when a pushed branch contains it.
            let names: Vec<&str> = containing.iter().map(|c| git::strip_remote(repo, c)).collect();
            let matching: Vec<&str> = if globs.is_empty() {
                names.clone()
            } else {
                let mut m = Vec::new();
                for n in &names {
                    if git::branch_matches(n, globs).map_err(glob_err)? {
                        m.push(*n);
                    }
                }
                m
            };
            if globs.is_empty() {
                Ok(Item::pass("branch", "detached HEAD (any branch may ship)"))
            } else if let Some(first) = matching.first() {
                Ok(Item::pass("branch", format!("detached HEAD, contained in {first}")))
            } else {
                let where_ = if containing.is_empty() { "no pushed branch".to_string() } else { containing.join(", ") };
                Ok(Item::fail(
                    "branch",
                    format!(
                        "detached HEAD is not on an allowed branch (contained in {where_}; allowed: {allowed_list})"
                    ),
                )
                .hint("check out the branch to ship (`git switch main`), or push HEAD to an allowed branch first"))
            }
        }
        (None, _) => {
            Ok(Item::fail("branch", "HEAD is not on a branch").hint("check out the branch to ship (`git switch main`)"))
        }
    }
}

fn pushed_item(repo: &git2::Repository, upstream: &git::Upstream) -> Result<Item, CliError> {
    Ok(match upstream {
        git::Upstream::Tracking { name, ahead: 0, behind, .. } => {
            let mut s = format!("pushed to {name}");
            if *behind > 0 {
                s.push_str(&format!(" ({behind} commit(s) behind it)"));
            }
            Item::pass("pushed", s)
        }
        git::Upstream::Tracking { branch, name, ahead, .. } => {
            Item::fail("pushed", format!("{ahead} commit(s) ahead of {name}, not pushed"))
                .details(unpushed(repo, name, 10))
                .hint(format!("push them: `git push` (branch {branch})"))
        }
        git::Upstream::NoUpstream { branch } => {
            Item::fail("pushed", format!("branch {branch} has no upstream; it was never pushed"))
                .hint(format!("push it: `git push -u origin {branch}`"))
        }
        git::Upstream::Detached { containing } if !containing.is_empty() => {
            Item::pass("pushed", format!("pushed (in {})", containing.join(", ")))
        }
        git::Upstream::Detached { .. } => Item::fail("pushed", "detached HEAD is in no pushed branch")
            .hint("push the commit to a branch (`git push origin HEAD:refs/heads/NAME`)"),
    })
}

/// `abc123def456 message` for the commits HEAD has that `upstream` does not, newest first.
fn unpushed(repo: &git2::Repository, upstream: &str, max: usize) -> Vec<String> {
    let walk = || -> Result<Vec<String>, git2::Error> {
        let mut walk = repo.revwalk()?;
        walk.push_head()?;
        walk.hide_ref(&format!("refs/remotes/{upstream}"))?;
        let mut out = Vec::new();
        for (i, id) in walk.enumerate() {
            if i == max {
                out.push("…".to_string());
                break;
            }
            let c = repo.find_commit(id?)?;
            out.push(format!("{} {}", &c.id().to_string()[..12], c.summary().unwrap_or("")));
        }
        Ok(out)
    };
    walk().unwrap_or_default()
}

fn github_client(loaded: &Loaded, gh: &GitHubCheck) -> Result<GitHub, CliError> {
    let (owner, repo) = match &gh.repository {
        Some(r) => {
            let (o, n) = r.split_once('/').expect("validated as OWNER/NAME");
            (o.to_string(), n.to_string())
        }
        None => git::remote_url(&loaded.root, "origin").as_deref().and_then(any_host_slug).ok_or_else(|| {
            CliError::usage("cannot tell which GitHub repository to check: the `origin` remote is not a GitHub URL")
                .hint("set `[check.github] repository = \"OWNER/NAME\"` in ship.toml")
        })?,
    };
    let endpoints = github::Endpoints::from_env(gh.api_url.as_deref());
    Ok(GitHub::new(&endpoints, &owner, &repo, github::token())?)
}

/// `OWNER/NAME` from a remote URL on github.com or a GitHub Enterprise host.
fn any_host_slug(url: &str) -> Option<(String, String)> {
    if let Some(s) = git::github_slug(url) {
        return Some(s);
    }
    let path = if let Some(rest) = url.strip_prefix("git@") {
        rest.split_once(':')?.1
    } else {
        let after_scheme = url.split_once("://")?.1;
        after_scheme.split_once('/')?.1
    };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let mut parts = path.rsplitn(2, '/');
    let repo = parts.next()?;
    let owner = parts.next()?.rsplit('/').next()?;
    (!owner.is_empty() && !repo.is_empty()).then(|| (owner.to_string(), repo.to_string()))
}

async fn github_checks(
    client: &GitHub,
    gh: &GitHubCheck,
    sha: &str,
    opts: &CheckOptions,
    reporter: &dyn Reporter,
) -> Result<Item, CliError> {
    let required: Vec<&str> = gh.required.iter().map(|s| s.as_str()).collect();
    let timeout = gh.wait_timeout.get();
    let started = Instant::now();
    loop {
        reporter.status(&format!("reading check-runs and statuses of {} on {}", &sha[..12], client.slug()));
        let checks = client.commit_checks(sha).await?;
        let v = CheckVerdict::of(&checks, &required);
        if !v.failed.is_empty() {
            return Ok(v.failed_item(&checks).link(client.checks_url(sha)));
        }
        if v.pending.is_empty() {
            return Ok(v.passed_item());
        }
        let waited = started.elapsed();
        if !opts.wait {
            return Ok(v
                .pending_item("pending")
                .link(client.checks_url(sha))
                .hint("wait for them: `shipit check --wait` (up to `[check.github] wait_timeout`)"));
        }
        if waited >= timeout {
            return Ok(v
                .pending_item(&format!("still pending after {}", humantime::format_duration(secs(waited))))
                .link(client.checks_url(sha))
                .hint("raise `[check.github] wait_timeout`, or look at the checks on GitHub: they may be stuck"));
        }
        let left = timeout - waited;
        let names: Vec<&str> = v.pending.iter().map(|(n, _)| n.as_str()).collect();
        reporter.status(&format!(
            "waiting for {} pending check(s): {} ({}/{} done, {} left)",
            names.len(),
            names.join(", "),
            v.done,
            v.done + names.len(),
            humantime::format_duration(secs(left))
        ));
        tokio::time::sleep(opts.poll_interval.min(left)).await;
    }
}

pub(super) fn secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// The checks that matter (all of them, or the required ones), sorted by what they say.
struct CheckVerdict {
    failed: Vec<CommitCheck>,
    /// Name and why it is pending (`in_progress`, or not reported yet).
    pending: Vec<(String, String)>,
    done: usize,
    /// Failed checks that are not in `required`: shown, but they do not block.
    ignored_failures: Vec<CommitCheck>,
}

impl CheckVerdict {
    fn of(checks: &[CommitCheck], required: &[&str]) -> CheckVerdict {
        let relevant = |c: &&CommitCheck| required.is_empty() || required.contains(&c.name.as_str());
        let mut v = CheckVerdict { failed: Vec::new(), pending: Vec::new(), done: 0, ignored_failures: Vec::new() };
        for c in checks {
            if !relevant(&c) {
                if c.state == CheckState::Failure {
                    v.ignored_failures.push(c.clone());
                }
                continue;
            }
            match c.state {
                CheckState::Success => v.done += 1,
                CheckState::Failure => v.failed.push(c.clone()),
                CheckState::Pending => v.pending.push((c.name.clone(), c.detail.clone())),
            }
        }
        for r in required {
            if !checks.iter().any(|c| c.name == *r) {
                v.pending.push((r.to_string(), "not reported yet".into()));
            }
        }
        v
    }

    fn total(&self) -> usize {
        self.done + self.failed.len() + self.pending.len()
    }

    fn passed_item(&self) -> Item {
        let summary = if self.total() == 0 {
            "GitHub: no check-runs or statuses reported for this commit".to_string()
        } else {
            format!("GitHub checks {}/{} green", self.done, self.total())
        };
        let mut item = Item::pass("github", summary);
        if !self.ignored_failures.is_empty() {
            item.details =
                self.ignored_failures.iter().map(|c| format!("not required, failed: {}", describe(c))).collect();
        }
        item
    }

    fn failed_item(&self, _all: &[CommitCheck]) -> Item {
        let mut details: Vec<String> = self.failed.iter().map(|c| format!("failed:  {}", describe(c))).collect();
        details.extend(self.pending.iter().map(|(n, why)| format!("pending: {n} ({why})")));
        Item::fail("github", format!("{} of {} GitHub check(s) failed", self.failed.len(), self.total()))
            .details(details)
            .hint("fix the failing checks (open the URLs above) and push again, or re-run them on GitHub if they were flaky")
    }

    fn pending_item(&self, why: &str) -> Item {
        let details = self.pending.iter().map(|(n, d)| format!("pending: {n} ({d})")).collect();
        Item::fail("github", format!("{} of {} GitHub check(s) {why}", self.pending.len(), self.total()))
            .details(details)
    }
}

fn describe(c: &CommitCheck) -> String {
    match &c.url {
        Some(u) if !u.is_empty() => format!("{} ({}) {u}", c.name, c.detail),
        _ => format!("{} ({})", c.name, c.detail),
    }
}

fn approval_item(a: PullApproval) -> Item {
    match a {
        PullApproval::Merged { number, url } => {
            Item::pass("approval", format!("merged in PR #{number}")).details(vec![url])
        }
        PullApproval::Approved { number, url, approvers } => {
            Item::pass("approval", format!("PR #{number} approved by {}", approvers.join(", "))).details(vec![url])
        }
        PullApproval::ChangesRequested { number, url, by } => {
            Item::fail("approval", format!("PR #{number} has changes requested by {}", by.join(", ")))
                .details(vec![url])
                .hint("address the review and ask the reviewer to approve")
        }
        PullApproval::NotApproved { number, url } => {
            Item::fail("approval", format!("PR #{number} has no approving review"))
                .details(vec![url])
                .hint("ask for a review; the commit ships once the pull request is approved or merged")
        }
        PullApproval::NoPullRequest => Item::fail("approval", "no pull request contains this commit")
            .hint("open a pull request for it (`gh pr create`), or set `[check.github] require_approval = false`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, state: CheckState) -> CommitCheck {
        CommitCheck {
            name: name.into(),
            source: "check-run",
            state,
            detail: format!("{state:?}"),
            url: Some(format!("https://ci/{name}")),
        }
    }

    #[test]
    fn all_checks_when_none_required() {
        let checks = [c("build", CheckState::Success), c("lint", CheckState::Failure), c("e2e", CheckState::Pending)];
        let v = CheckVerdict::of(&checks, &[]);
        assert_eq!((v.done, v.failed.len(), v.pending.len()), (1, 1, 1));
        let item = v.failed_item(&checks);
        assert!(item.details[0].contains("lint") && item.details[0].contains("https://ci/lint"));
    }

    #[test]
    fn only_required_checks_block() {
        let checks = [c("build", CheckState::Success), c("lint", CheckState::Failure)];
        let v = CheckVerdict::of(&checks, &["build", "deploy-preview"]);
        assert!(v.failed.is_empty());
        assert_eq!(v.pending, vec![("deploy-preview".to_string(), "not reported yet".to_string())]);
        let v = CheckVerdict::of(&checks, &["build"]);
        assert!(v.failed.is_empty() && v.pending.is_empty());
        assert_eq!(v.passed_item().summary, "GitHub checks 1/1 green");
        assert!(v.passed_item().details[0].contains("not required, failed: lint"));
    }

    #[test]
    fn slugs_from_enterprise_remotes() {
        let want = Some(("acme".to_string(), "api".to_string()));
        assert_eq!(any_host_slug("git@github.acme.dev:acme/api.git"), want);
        assert_eq!(any_host_slug("https://github.acme.dev/acme/api"), want);
        assert_eq!(any_host_slug("ssh://git@github.acme.dev:2222/acme/api.git"), want);
        assert_eq!(any_host_slug("/tmp/remote.git"), None);
    }
}
