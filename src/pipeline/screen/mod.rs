//! The approval screen: before anyone approves a change, what runs, what replaces it, the commits between
//! them, what the scan found compared with the running release, what the target will change, and who
//! approved this digest before. Gathered best effort — every part that cannot be learnt says so instead of
//! failing the deploy — and rendered by `render` as text (terminal and CI log) and markdown (job summary).

mod render;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::config::Loaded;
use crate::deploy::target::Target;
use crate::evidence::Approval;
use crate::evidence::gate::{Checked, Gate, Known};
use crate::evidence::scan::Judged;
use crate::providers::git::{self, Between, CommitInfo};
use crate::providers::github::{self, GitHub};
use crate::release::{ImageRef, Release};
use crate::rollout::{LiveState, Revision};

pub use render::{markdown, text, text_details};

/// How many commits the screen lists before "… and N more"; `d` shows up to `MAX_LISTED`.
pub const SHOWN: usize = 10;
pub const MAX_LISTED: usize = 200;
/// GitHub is asked with this bound per request: a slow API must not hold a deploy.
const GITHUB_TIMEOUT: Duration = Duration::from_secs(8);
/// The registry's evidence and the target's preview get this long each; the screen then says what it lacks.
const PART_TIMEOUT: Duration = Duration::from_secs(15);

/// What the registry knows about `image`, or nothing when it does not answer in time.
async fn known(gate: &Gate, image: &ImageRef) -> Known {
    tokio::time::timeout(PART_TIMEOUT, gate.known(image)).await.unwrap_or_default()
}

#[derive(Debug, Clone, Serialize)]
pub struct Screen {
    pub environment: String,
    pub target: String,
    /// `deploy`, `rollback`, `promote`
    pub change: String,
    pub running: Option<Side>,
    pub new: Side,
    pub commits: Commits,
    pub scan: ScanView,
    /// What the target will change, line by line.
    pub target_change: Vec<String>,
    /// Earlier approvals of the new digest (another environment's, an earlier run's), newest first.
    pub approvals: Vec<Approval>,
    /// Links for the job summary (commit, compare view), when the repository is on GitHub.
    pub links: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub repository: Option<String>,
    pub tags: Vec<String>,
    /// `repo@sha256:…`, or the image as the target has it when it is not pinned.
    pub uri: String,
    pub digest: Option<String>,
    pub revision: Option<String>,
    pub commit: Option<CommitInfo>,
    /// The commit SHA when nothing more is known about it.
    pub commit_sha: Option<String>,
    /// Where the commit details came from: `git`, `GitHub`, `image labels`.
    pub commit_source: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "relation", rename_all = "snake_case")]
pub enum Commits {
    /// Nothing runs yet: the first release.
    First,
    /// Same commit, same digest: the release again (`--force`).
    SameRelease,
    /// Same commit, another digest: only the build changed.
    SameCommit,
    Forward {
        count: usize,
        commits: Vec<CommitInfo>,
        source: &'static str,
    },
    /// A rollback: the commits being taken away.
    Back {
        count: usize,
        commits: Vec<CommitInfo>,
        source: &'static str,
    },
    Diverged {
        ahead: usize,
        behind: usize,
        commits: Vec<CommitInfo>,
        source: &'static str,
    },
    Unknown {
        why: String,
    },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanView {
    /// A stored report of the new image was read (else `summary` says why not).
    pub scanned: bool,
    /// `0 CRITICAL, 1 HIGH …` under today's policy, or why there is none.
    pub summary: String,
    pub counts: std::collections::BTreeMap<String, usize>,
    /// Compared with the running release's stored report (`None`: no earlier report).
    pub delta: Option<Delta>,
    /// `CVE-… (pkg) until 2027-01-10`
    pub exceptions: Vec<String>,
    /// Every finding of the new report, for the `d` view: `SEVERITY ID package installed → fixed`.
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Delta {
    pub new: Vec<String>,
    pub fixed: Vec<String>,
}

/// What the screen reads besides the engine's own state: the repository and, when it is on GitHub, its API.
pub struct Sources {
    root: PathBuf,
    github: Option<GitHub>,
}

impl Sources {
    /// The repository at ship.toml's directory; GitHub when `[check.github]` or the `origin` remote names a
    /// repository there and a token is at hand (without one, the local history is all there is).
    pub fn new(loaded: &Loaded) -> Sources {
        Sources { root: loaded.root.clone(), github: github_for(loaded) }
    }

    /// Only the local repository (tests, and commands without a ship.toml context).
    pub fn local(root: &Path) -> Sources {
        Sources { root: root.to_path_buf(), github: None }
    }
}

fn github_for(loaded: &Loaded) -> Option<GitHub> {
    let (owner, repo, endpoints) = github::repository_of(&loaded.config, &loaded.root)?;
    // Only a token at hand: the screen must not wait on `gh auth token`.
    let token = std::env::var(crate::env_vars::EnvVars::GITHUB_TOKEN)
        .or_else(|_| std::env::var(crate::env_vars::EnvVars::GH_TOKEN))
        .ok()
        .filter(|t| !t.trim().is_empty())?;
    GitHub::new(&endpoints, &owner, &repo, Some((token.trim().to_string(), "GITHUB_TOKEN"))).ok()
}

/// The new side of the change, as the engine knows it.
pub struct Incoming<'a> {
    pub change: &'static str,
    pub image: Option<&'a ImageRef>,
    /// The image string when it is not pinned (a rollback to an old tag).
    pub image_text: String,
    pub commit: Option<&'a str>,
    pub revision: Option<&'a Revision>,
}

pub async fn gather(
    src: &Sources,
    env_name: &str,
    target: &Target,
    live: Option<&LiveState>,
    incoming: Incoming<'_>,
    checked: &Checked,
    gate: &Gate,
) -> Screen {
    let running_image = live.and_then(LiveState::image_ref);
    let running_known = match &running_image {
        Some(i) => known(gate, i).await,
        None => Known::default(),
    };
    let running = match live {
        Some(l) => {
            let commit = l.commit.clone().filter(|c| c != "unknown").or(running_known.revision.clone());
            Some(side(src, &l.image, running_image.as_ref(), commit, l.revision.clone()).await)
        }
        None => None,
    };
    let new_commit = incoming.commit.map(str::to_string).filter(|c| c != "unknown");
    // What the engine's check did not read (the plan has not checked; a digest without a commit).
    let new_known = match incoming.image {
        Some(i) if new_commit.is_none() || checked.judged.is_none() => Some(known(gate, i).await),
        _ => None,
    };
    let new_commit = new_commit.or_else(|| new_known.as_ref().and_then(|k| k.revision.clone()));
    let new = side(
        src,
        &incoming.image_text,
        incoming.image,
        new_commit.clone(),
        incoming.revision.map(|r| r.revision.clone()),
    )
    .await;

    let commits = commits_between(src, live, running.as_ref(), &new).await;
    let judged = checked.judged.as_ref().or(new_known.as_ref().and_then(|k| k.judged.as_ref()));
    let scan = match incoming.image {
        None => ScanView { summary: "scanned once it is built".into(), ..Default::default() },
        Some(_) => scan_view(judged, running_known.judged.as_ref(), checked, gate),
    };
    // A rollback is previewed as putting its revision back, not as a deploy of that revision's image.
    let deployed = if incoming.revision.is_some() { None } else { incoming.image };
    let target_change = match (deployed, incoming.revision) {
        (None, None) => vec!["known once the image is built and pushed".to_string()],
        _ => match tokio::time::timeout(PART_TIMEOUT, target.preview(deployed, incoming.revision)).await {
            Ok(Ok(lines)) => lines,
            Ok(Err(e)) => vec![format!("cannot tell: {}", e.message)],
            Err(_) => {
                vec![format!("cannot tell: {} did not answer within {}s", target.describe(), PART_TIMEOUT.as_secs())]
            }
        },
    };
    let mut approvals = checked.approvals.clone();
    if approvals.is_empty()
        && let Some(k) = &new_known
    {
        approvals = k.approvals.clone();
    }
    let mut links = Vec::new();
    if let Some(gh) = &src.github {
        if let Some(sha) = &new_commit {
            links.push(("commit".into(), gh.commit_url(sha)));
        }
        if let (Some(from), Some(to)) = (running.as_ref().and_then(side_sha), &new_commit)
            && from != *to
        {
            links.push(("compare".into(), gh.compare_url(&from, to)));
        }
    }
    Screen {
        environment: env_name.to_string(),
        target: target.describe(),
        change: incoming.change.to_string(),
        running,
        new,
        commits,
        scan,
        target_change,
        approvals,
        links,
    }
}

fn side_sha(s: &Side) -> Option<String> {
    s.commit.as_ref().map(|c| c.sha.clone()).or(s.commit_sha.clone())
}

async fn side(
    src: &Sources,
    image_text: &str,
    image: Option<&ImageRef>,
    commit: Option<String>,
    revision: Option<String>,
) -> Side {
    let (info, source) = match &commit {
        Some(sha) => match git::commit_info(&src.root, sha) {
            Some(i) => (Some(i), Some("git")),
            None => match &src.github {
                Some(gh) => match tokio::time::timeout(GITHUB_TIMEOUT, gh.commit(sha)).await {
                    Ok(Ok(i)) => (Some(i), Some("GitHub")),
                    _ => (None, Some("image labels")),
                },
                None => (None, Some("image labels")),
            },
        },
        None => (None, None),
    };
    let tags = match (&commit, image) {
        (Some(sha), Some(img)) => {
            let mut tags: Vec<String> = Release::all_for_commit(&src.root, sha)
                .into_iter()
                .filter(|r| r.image.digest == img.digest)
                .flat_map(|r| r.tags)
                .collect();
            tags.sort();
            tags.dedup();
            tags
        }
        _ => Vec::new(),
    };
    Side {
        repository: image.map(|i| i.repository.clone()),
        tags,
        uri: image.map(ImageRef::pinned).unwrap_or_else(|| image_text.to_string()),
        digest: image.map(|i| i.digest.clone()),
        revision,
        commit_sha: if info.is_none() { commit } else { None },
        commit: info,
        commit_source: source,
    }
}

async fn commits_between(src: &Sources, live: Option<&LiveState>, running: Option<&Side>, new: &Side) -> Commits {
    let Some(running) = running else {
        return if live.is_none() { Commits::First } else { Commits::Unknown { why: "nothing known runs".into() } };
    };
    let (Some(from), Some(to)) = (side_sha(running), side_sha(new)) else {
        return Commits::Unknown { why: "the running release does not say which commit it was built from".into() };
    };
    if from == to {
        return if running.digest.is_some() && running.digest == new.digest {
            Commits::SameRelease
        } else {
            Commits::SameCommit
        };
    }
    if let Some(b) = git::between(&src.root, &from, &to, MAX_LISTED) {
        return match b {
            Between::Same => Commits::SameCommit,
            Between::Ahead { count, commits } => Commits::Forward { count, commits, source: "git" },
            Between::Behind { count, commits } => Commits::Back { count, commits, source: "git" },
            Between::Diverged { ahead, behind, commits } => Commits::Diverged { ahead, behind, commits, source: "git" },
        };
    }
    let Some(gh) = &src.github else {
        return Commits::Unknown {
            why: format!(
                "{} is not in the local history (fetch it, or set GITHUB_TOKEN to ask GitHub)",
                crate::deploy::meta::short_commit(&from)
            ),
        };
    };
    match tokio::time::timeout(GITHUB_TIMEOUT, gh.compare(&from, &to)).await {
        Ok(Ok(c)) if c.status == "behind" => {
            let back = tokio::time::timeout(GITHUB_TIMEOUT, gh.compare(&to, &from)).await;
            let commits = match back {
                Ok(Ok(b)) => b.commits,
                _ => Vec::new(),
            };
            Commits::Back { count: c.behind_by, commits, source: "GitHub" }
        }
        Ok(Ok(c)) if c.status == "identical" => Commits::SameCommit,
        Ok(Ok(c)) if c.status == "diverged" => {
            Commits::Diverged { ahead: c.ahead_by, behind: c.behind_by, commits: c.commits, source: "GitHub" }
        }
        Ok(Ok(c)) => Commits::Forward { count: c.ahead_by, commits: c.commits, source: "GitHub" },
        Ok(Err(e)) => Commits::Unknown { why: format!("GitHub's compare view: {e}") },
        Err(_) => Commits::Unknown { why: "GitHub's compare view did not answer in time".into() },
    }
}

fn scan_view(new: Option<&Judged>, running: Option<&Judged>, checked: &Checked, gate: &Gate) -> ScanView {
    let Some(j) = new else {
        let summary = if let Some(f) = &checked.forced {
            format!("forced past the gate: {} (--reason \"{}\")", f.missing, f.reason)
        } else if let Some(s) = checked.scan.as_deref().filter(|s| s.starts_with("skipped")) {
            format!("scan {s}")
        } else if !gate.require_scan {
            "not checked: require_scan = false".to_string()
        } else {
            "no stored scan of this digest".to_string()
        };
        return ScanView { summary, ..Default::default() };
    };
    let key = |f: &crate::scan::report::Finding| format!("{} ({})", f.id, f.package);
    let delta = running.map(|r| {
        let before: std::collections::BTreeSet<String> = r.findings.iter().map(key).collect();
        let after: std::collections::BTreeSet<String> = j.findings.iter().map(key).collect();
        Delta { new: after.difference(&before).cloned().collect(), fixed: before.difference(&after).cloned().collect() }
    });
    let mut findings: Vec<&crate::scan::report::Finding> = j.findings.iter().collect();
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    ScanView {
        scanned: true,
        summary: j.verdict.headline(),
        counts: j.verdict.counts.clone(),
        delta,
        exceptions: j
            .verdict
            .exceptions_used
            .iter()
            .map(|e| {
                let pkg = e.package.as_deref().map(|p| format!(" ({p})")).unwrap_or_default();
                format!("{}{pkg} until {}: {}", e.id, e.expires, e.reason)
            })
            .collect(),
        findings: findings
            .iter()
            .map(|f| {
                format!(
                    "{:<8} {} {} {} → {}",
                    f.severity.to_string(),
                    f.id,
                    f.package,
                    f.installed.as_deref().unwrap_or("?"),
                    f.fixed.as_deref().unwrap_or("no fix yet")
                )
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    const OLD: &str = "1111111111111111111111111111111111111111";
    const NEW: &str = "2222222222222222222222222222222222222222";

    fn commit(sha: &str, message: &str, author: &str) -> serde_json::Value {
        json!({"sha": sha, "commit": {"message": message, "author": {"name": author, "date": "2026-11-30T10:00:00Z"}}})
    }

    async fn github(server: &MockServer) -> Sources {
        let endpoints =
            github::Endpoints { api: server.uri(), web: "https://github.example".into(), api_source: "test" };
        let gh = GitHub::new(&endpoints, "acme", "web", Some(("t".into(), "GITHUB_TOKEN"))).unwrap();
        Sources { root: tempfile::tempdir().unwrap().keep(), github: Some(gh) }
    }

    fn side_at(sha: &str) -> Side {
        Side {
            repository: None,
            tags: Vec::new(),
            uri: String::new(),
            digest: None,
            revision: None,
            commit: None,
            commit_sha: Some(sha.into()),
            commit_source: None,
        }
    }

    fn live() -> LiveState {
        LiveState {
            revision: None,
            image: String::new(),
            digest: None,
            commit: Some(OLD.into()),
            rollout: "COMPLETED".into(),
            desired: 1,
            running: 1,
            pending: 0,
            details: Vec::new(),
        }
    }

    /// Commits not in the local history come from GitHub's compare view, newest first, and a commit's
    /// details from its own endpoint.
    #[tokio::test]
    async fn commits_between_from_githubs_compare_view() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/compare/{OLD}...{NEW}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "ahead", "ahead_by": 3, "behind_by": 0, "total_commits": 3,
                "commits": [commit("a1", "First\n\nbody", "Ann"), commit("a2", "Second", "Bo"), commit(NEW, "Third", "Cy")]
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/commits/{NEW}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(commit(NEW, "Third\n\nwith a body", "Cy")))
            .mount(&server)
            .await;
        let src = github(&server).await;
        let l = live();
        let between = commits_between(&src, Some(&l), Some(&side_at(OLD)), &side_at(NEW)).await;
        let Commits::Forward { count, commits, source } = &between else { panic!("{between:?}") };
        assert_eq!((*count, *source), (3, "GitHub"));
        let subjects: Vec<&str> = commits.iter().map(|c| c.subject.as_str()).collect();
        assert_eq!(subjects, ["Third", "Second", "First"], "newest first, subject line only");

        let new = side(&src, "img", None, Some(NEW.into()), None).await;
        let info = new.commit.as_ref().expect("from GitHub");
        assert_eq!((info.subject.as_str(), info.author.as_str(), new.commit_source), ("Third", "Cy", Some("GitHub")));
        assert_eq!(info.date, "2026-11-30 10:00 UTC");
    }

    /// A rollback: GitHub says `behind`, and the commits being taken away are asked for the other way round.
    #[tokio::test]
    async fn a_rollback_lists_the_commits_it_takes_away() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/compare/{OLD}...{NEW}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "behind", "ahead_by": 0, "behind_by": 2, "commits": []
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/compare/{NEW}...{OLD}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "ahead", "ahead_by": 2, "behind_by": 0,
                "commits": [commit("b1", "Break it", "Ann"), commit(OLD, "Break it more", "Ann")]
            })))
            .mount(&server)
            .await;
        let src = github(&server).await;
        let l = live();
        let between = commits_between(&src, Some(&l), Some(&side_at(OLD)), &side_at(NEW)).await;
        assert!(matches!(&between, Commits::Back { count: 2, commits, .. } if commits.len() == 2), "{between:?}");
        let rows = render::commit_rows_for_test(&between);
        assert_eq!(rows[0], "a rollback: 2 commits back (these leave) (GitHub)");
        assert!(rows[1].contains("Break it more — Ann"), "{rows:?}");
    }

    /// Without GitHub, a commit that is not local is said to be unknown, with what would help.
    #[tokio::test]
    async fn without_github_an_unknown_commit_is_said_so() {
        let src = Sources::local(tempfile::tempdir().unwrap().path());
        let l = live();
        let between = commits_between(&src, Some(&l), Some(&side_at(OLD)), &side_at(NEW)).await;
        let Commits::Unknown { why } = between else { panic!() };
        assert!(why.contains("not in the local history") && why.contains("GITHUB_TOKEN"), "{why}");
    }
}
