//! A config repository as a deploy target (GitOps): Argo CD or Flux reconcile the cluster from a branch, and a
//! release is the commit that changes one value in one file there — the image digest. shipit edits that value
//! byte for byte (edit.rs), commits it on the branch (repo.rs, `mode = "push"`), and reads everything else
//! from the branch itself: what runs is what the file pins at the tip, the history is every commit that
//! changed the digest, and the deploy lock is a ref in the same repository (lock.rs). So every machine that
//! can fetch the repository sees the same releases and the same lock.
//!
//! - edit.rs: the byte-preserving edit of a kustomization, Helm values file or manifest
//! - repo.rs: the git side (fetch, commit without a checkout, compare-and-swap push)
//! - history.rs: releases from the file's history on the branch
//! - lock.rs: the deploy lock, `refs/heads/shipit-lock/<environment>`
//! - github.rs: the pull request of `mode = "pull-request"` on GitHub
//! - argocd.rs: waiting for an Argo CD Application to be Synced at the commit and Healthy
//! - flux.rs: waiting for a Flux Kustomization to be Ready at the commit

mod argocd;
pub mod edit;
mod flux;
mod github;
mod history;
mod lock;
pub mod repo;

use git2::Oid;

use crate::config::{GitOpsEnv, GitOpsFile, GitOpsMode, HelmValue};
use crate::error::CliError;
use crate::release::{ImageRef, short_digest};
use crate::report::Reporter;
use crate::rollout::{DeployMeta, DeployOptions, LiveState, Outcome, Revision};

use repo::{ConfigRepo, Expect, Pushed};

/// Where the base branch is fetched to, in shipit's private repository.
const LOCAL_BASE: &str = "refs/shipit/base";
/// How many times a push goes again on top of a branch that moved.
const PUSH_ATTEMPTS: u32 = 5;
/// `mode = "pull-request"`: the branch a change is proposed on, `shipit/<environment>`, and where the
/// branches of that prefix are fetched to.
const PROPOSAL_PREFIX: &str = "refs/heads/shipit/";
const LOCAL_PROPOSALS: &str = "refs/shipit/proposals/";

#[derive(Debug, thiserror::Error)]
pub enum GitOpsError {
    #[error("{0}")]
    Local(String),
    #[error("{what} failed: {detail}")]
    Git { url: String, what: String, detail: String },
    #[error("the config repository {url} has no such branch: {detail}")]
    NoBranch { url: String, detail: String },
    #[error("{path} does not exist on branch {branch} of {url}")]
    FileNotFound { path: String, branch: String, url: String },
    #[error("cannot change {path} (branch {branch}): {error}")]
    Edit { path: String, branch: String, error: edit::EditError },
    #[error("{path} is not UTF-8 text (branch {branch})")]
    NotText { path: String, branch: String },
    #[error("the config repository {url} refused the push to {reference}: {message}")]
    PushRejected { url: String, reference: String, message: String, detail: String },
    #[error(
        "branch {branch} kept moving while shipit pushed ({attempts} attempts, each rejected as not a fast-forward)"
    )]
    KeptMoving { branch: String, attempts: u32 },
    #[error("the pull request was not merged into {branch} within {}s: {url}", waited.as_secs())]
    NotMerged { branch: String, url: String, waited: std::time::Duration },
    #[error("the deploy lock ({reference}) is no longer ours{}", now.as_ref().map(|n| format!(": held by {n}")).unwrap_or_default())]
    LockLost { reference: String, now: Option<String> },
    #[error("{reference} exists in the config repository but holds no shipit lock record")]
    ForeignLock { reference: String },
    #[error("revision {revision} is not a commit on branch {branch}")]
    RevisionNotFound { revision: String, branch: String },
    #[error("Argo CD at {url} (application {application}): {message}")]
    ArgoCd { url: String, application: String, message: String, token_env: Option<String> },
    #[error("Flux Kustomization {namespace}/{kustomization}: {message}")]
    Flux { kustomization: String, namespace: String, message: String },
    #[error("GitHub refused to {what} in {repo}{}: {message}", if *status == 0 { String::new() } else { format!(" (HTTP {status})") })]
    GitHub { status: u16, what: String, message: String, repo: String, token_source: Option<&'static str> },
}

impl From<GitOpsError> for CliError {
    fn from(e: GitOpsError) -> CliError {
        let message = e.to_string();
        match e {
            GitOpsError::Local(_) => CliError::failure(message)
                .hint("shipit works in a temporary bare repository; check that the temporary directory (TMPDIR) is writable"),
            GitOpsError::Git { url, detail, .. } => {
                let err = CliError::failure(message);
                if detail.contains("cannot run it") {
                    err.hint("shipit fetches and pushes the config repository with the `git` program: install git")
                } else {
                    err.hint(format!("check that this machine can reach it: `git ls-remote {url}`"))
                        .hint("credentials come from git itself (credential helper, SSH key or agent); shipit never prompts for them")
                }
            }
            GitOpsError::NoBranch { url, .. } => CliError::usage(message)
                .hint("set `branch` in the environment's ship.toml table to the branch Argo CD or Flux reconciles from")
                .hint(format!("the branches there: `git ls-remote --heads {url}`")),
            GitOpsError::FileNotFound { .. } => CliError::usage(message)
                .hint("set `path` (relative to the repository's root) to the file that pins the image; shipit changes an existing file, it does not create one"),
            GitOpsError::Edit { error: edit::EditError::NotFound(_), .. } => CliError::usage(message)
                .hint("check `image_name` (kustomize), `value_path` (helm) or `container` (manifest) in ship.toml against the file"),
            GitOpsError::Edit { .. } => CliError::usage(message)
                .hint("shipit changes one literal value and keeps every other byte; make the value at that path a plain value (see docs/gitops.md#what-can-be-edited)"),
            GitOpsError::NotText { .. } => CliError::usage(message).hint("`path` must name a YAML file"),
            GitOpsError::PushRejected { detail, .. } => {
                let err = CliError::failure(message);
                let err = if detail.is_empty() { err } else { err.detail(indent(&detail)) };
                err.hint("nothing was changed; a protected branch needs `mode = \"pull-request\"`, or a token or key allowed to push to it")
            }
            GitOpsError::NotMerged { .. } => CliError::failure(message).hint(
                "nothing runs it yet and the pull request stays open; merge it, or wait longer with a larger `timeout`",
            ),
            GitOpsError::KeptMoving { .. } => CliError::failure(message)
                .hint("something else commits to the branch all the time (another pipeline, a bot); run the command again"),
            GitOpsError::LockLost { .. } => CliError::locked(message)
                .hint("someone broke the lock with --force-unlock; `shipit status <env>` shows what the branch pins now"),
            GitOpsError::ForeignLock { reference } => CliError::failure(message)
                .hint(format!("that ref name is shipit's deploy lock; if nothing else uses it, delete it (`git push <remote> :{reference}`)")),
            GitOpsError::RevisionNotFound { .. } => {
                CliError::usage(message).hint("pick one that `shipit history <env>` lists")
            }
            GitOpsError::ArgoCd { token_env: Some(var), .. } => CliError::usage(message).hint(format!(
                "set {var} to an Argo CD API token allowed to get the application (`argocd account generate-token`, or a project role's token)"
            )),
            GitOpsError::ArgoCd { url, application, .. } => CliError::failure(message)
                .hint(format!("the change is committed; check the application with `argocd app get {application} --server {}`", url.trim_start_matches("https://").trim_start_matches("http://")))
                .hint("`shipit status <env>` shows what the branch pins"),
            GitOpsError::Flux { kustomization, namespace, .. } => CliError::failure(message)
                .hint(format!("check it with `flux get kustomizations -n {namespace} {kustomization}` (or `kubectl -n {namespace} get kustomization {kustomization}`)"))
                .hint("shipit reads it with the kubeconfig (KUBECONFIG, then ~/.kube/config; `flux.context` picks the context) and needs get on kustomizations.kustomize.toolkit.fluxcd.io"),
            GitOpsError::GitHub { status, message: said, token_source, .. } => {
                let err = CliError::failure(message).hint(
                    "the branch is pushed and nothing is merged; run the command again once the cause is fixed (the pull request is then opened or updated)",
                );
                match status {
                    0 => err.hint("check the network and GITHUB_API_URL (GitHub Enterprise: https://HOST/api/v3)"),
                    401 => err.hint(format!(
                        "the token{} is missing, expired or revoked: set GITHUB_TOKEN (or GH_TOKEN), or run `gh auth login`",
                        token_source.map(|s| format!(" from {s}")).unwrap_or_default()
                    )),
                    403 | 404 => err.hint(
                        "the token needs Pull requests: write on the config repository (classic tokens: `repo`); GitHub answers 404 for a private repository the token cannot see",
                    ),
                    409 => err.hint("GitHub answers 409 when the branch changed under the request (another run, a bot); run the command again"),
                    422 if said.contains("already exists") => err.hint(
                        "a pull request from that branch is already open against another base branch: close it, or set `branch` to its base",
                    ),
                    422 if said.contains("No commits between") => err.hint(
                        "the branch holds nothing the base does not: the base already pins this digest (see `shipit status <env>`)",
                    ),
                    422 => err.hint("GitHub's message above says which field it refused (a label or reviewer that does not exist is a usual cause)"),
                    _ => err.hint("retry; if it persists, check https://www.githubstatus.com"),
                }
            }
        }
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

/// One file on one branch of one config repository.
pub struct GitOpsTarget {
    env_name: String,
    app: String,
    /// As written in ship.toml (for messages).
    repository: String,
    branch: String,
    path: String,
    spec: edit::Spec,
    repo: ConfigRepo,
    mode: GitOpsMode,
    labels: Vec<String>,
    reviewers: Vec<String>,
    auto_merge: Option<crate::config::AutoMerge>,
    /// Push mode: the Application to wait for, `(url, application, token variable)`; the token is read at the
    /// start of a change (before anything is committed), not for `status` or `history`.
    argocd: Option<(String, String, String)>,
    /// Push mode: the Flux Kustomization to wait for, `(name, namespace, context)`.
    flux: Option<(String, String, Option<String>)>,
}

/// How a wait for Argo CD or Flux ended.
#[derive(Debug, PartialEq)]
pub enum Waited {
    Done,
    /// It will not run the commit (Degraded, a failed sync or health check, the timeout): why.
    Failed(String),
    /// A signal stopped the wait; what the reconciler said last.
    Interrupted(String),
}

/// What reconciles the branch into the cluster, when shipit is told to wait for it.
enum Reconciler {
    ArgoCd(argocd::ArgoCd),
    Flux(Box<flux::Flux>),
}

impl Reconciler {
    async fn wait(
        &self,
        revision: &str,
        timeout: std::time::Duration,
        reporter: &dyn Reporter,
    ) -> Result<Waited, GitOpsError> {
        match self {
            Reconciler::ArgoCd(a) => a.wait(revision, timeout, reporter).await,
            Reconciler::Flux(f) => f.wait(revision, timeout, reporter).await,
        }
    }
}

impl GitOpsTarget {
    /// Makes no network call: the first operation fetches, and reports an unreachable repository.
    pub async fn connect(env_name: &str, env: &GitOpsEnv, app_name: &str) -> Result<GitOpsTarget, GitOpsError> {
        let web = crate::providers::github::Endpoints::from_env(None).web;
        let url = repo::remote_url(&env.repository, &web);
        let spec = match &env.file {
            GitOpsFile::Kustomize { image_name } => {
                edit::Spec::Kustomize { name: image_name.clone().unwrap_or_else(|| app_name.to_string()) }
            }
            GitOpsFile::Helm { value_path, value } => edit::Spec::Helm {
                path: value_path.clone(),
                form: match value {
                    HelmValue::Digest => edit::HelmForm::Digest,
                    HelmValue::Image => edit::HelmForm::Image,
                    HelmValue::TagAtDigest => edit::HelmForm::TagAtDigest,
                },
            },
            GitOpsFile::Manifest { container } => {
                edit::Spec::Manifest { container: container.clone().unwrap_or_else(|| app_name.to_string()) }
            }
        };
        Ok(GitOpsTarget {
            env_name: env_name.to_string(),
            app: app_name.to_string(),
            repository: env.repository.clone(),
            branch: env.branch.clone(),
            path: env.path.clone(),
            spec,
            repo: ConfigRepo::open(&url)?,
            mode: env.mode,
            labels: env.labels.clone(),
            reviewers: env.reviewers.clone(),
            auto_merge: env.auto_merge,
            argocd: env.argocd.clone(),
            flux: env.flux.clone(),
        })
    }

    /// Pull-request mode: the change goes to reviewers, who get the approval screen in its body.
    pub fn proposes(&self) -> bool {
        self.mode == GitOpsMode::PullRequest
    }

    /// "gitops acme/deploy main:apps/api/prod/kustomization.yaml"
    pub fn describe(&self) -> String {
        format!("gitops {} {}:{}", self.repository, self.branch, self.path)
    }

    /// Fetch the branch, the lock and the failure marks; the branch's tip.
    fn sync(&self) -> Result<Oid, GitOpsError> {
        self.repo.fetch(&[
            format!("+refs/heads/{}:{LOCAL_BASE}", self.branch),
            format!("+{}*:{}*", lock::REMOTE_PREFIX, lock::LOCAL_PREFIX),
            format!("+{}:{}*", self.failed_prefix_remote_glob(), history::LOCAL_FAILED),
            format!("+{PROPOSAL_PREFIX}*:{LOCAL_PROPOSALS}*"),
        ])?;
        self.repo.resolve(LOCAL_BASE)?.ok_or_else(|| GitOpsError::NoBranch {
            url: self.repo.url.clone(),
            detail: format!("refs/heads/{} was not fetched", self.branch),
        })
    }

    fn failed_prefix_remote_glob(&self) -> String {
        format!("{}*", history::failed_prefix(&self.env_name))
    }

    fn text_at(&self, commit: Oid) -> Result<String, GitOpsError> {
        let bytes = self.repo.file_at(commit, &self.path)?.ok_or_else(|| GitOpsError::FileNotFound {
            path: self.path.clone(),
            branch: self.branch.clone(),
            url: self.repo.url.clone(),
        })?;
        String::from_utf8(bytes)
            .map_err(|_| GitOpsError::NotText { path: self.path.clone(), branch: self.branch.clone() })
    }

    fn edit_error(&self, error: edit::EditError) -> GitOpsError {
        GitOpsError::Edit { path: self.path.clone(), branch: self.branch.clone(), error }
    }

    /// What the branch pins now. The cluster follows it through Argo CD or Flux, which shipit does not watch
    /// (yet): the state is the branch's.
    pub async fn live(&self) -> Result<Option<LiveState>, GitOpsError> {
        let tip = self.sync()?;
        let text = self.text_at(tip)?;
        let current = edit::read(&text, &self.spec).map_err(|e| self.edit_error(e))?;
        let releases = self.releases(tip, 1)?;
        let release = releases.first().filter(|r| r.digest == current.digest);
        let mut details = vec![
            format!("{}:{} on {} at {}", self.path, current.line, self.branch, short(tip)),
            match (&self.argocd, &self.flux) {
                (Some((_, app, _)), _) => format!("Argo CD application {app} applies it to the cluster"),
                (None, Some((ks, ns, _))) => format!("Flux Kustomization {ns}/{ks} applies it to the cluster"),
                (None, None) => "Argo CD or Flux applies it to the cluster; shipit does not watch that".to_string(),
            },
        ];
        if let Some(line) = self.open_proposal(tip, &current)? {
            details.push(line);
        }
        Ok(Some(LiveState {
            revision: release.map(|r| r.revision.clone()),
            image: current.image,
            digest: current.digest,
            commit: release.and_then(|r| r.commit.clone()),
            rollout: "COMMITTED".into(),
            desired: 0,
            running: 0,
            pending: 0,
            details,
        }))
    }

    /// A proposal (`shipit/<environment>`) not merged yet, in words; `None` when there is none, or when the
    /// branch already has it.
    fn open_proposal(&self, tip: Oid, current: &edit::Current) -> Result<Option<String>, GitOpsError> {
        let Some(proposal) = self.repo.resolve(&format!("{LOCAL_PROPOSALS}{}", self.env_name))? else {
            return Ok(None);
        };
        let repo = self.repo.repository()?;
        let merged = proposal == tip || repo.graph_descendant_of(tip, proposal).unwrap_or(false);
        let Some(proposed) = self.text_at(proposal).ok().and_then(|t| edit::read(&t, &self.spec).ok()) else {
            return Ok(None);
        };
        if merged || proposed.digest == current.digest {
            return Ok(None);
        }
        let what = proposed.digest.as_deref().map(short_digest).unwrap_or(proposed.image);
        Ok(Some(format!("proposed, not merged: {what} on branch shipit/{} at {}", self.env_name, short(proposal))))
    }

    /// Every commit on the branch that changed the digest, newest first; the newest is live.
    pub async fn history(&self, limit: usize) -> Result<Vec<Revision>, GitOpsError> {
        let tip = self.sync()?;
        self.releases(tip, limit)
    }

    pub async fn deploy(
        &self,
        image: &ImageRef,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, GitOpsError> {
        self.change(image, meta, opts, "deploy", reporter).await
    }

    /// What a deploy (image) or rollback (revision) would change in the file, without committing: for the
    /// approval screen. The lines that differ, as the edit would write them, and where the commit goes.
    pub async fn preview(&self, image: Option<&ImageRef>, to: Option<&Revision>) -> Result<Vec<String>, GitOpsError> {
        let image = match (image, to) {
            (Some(i), _) => i.clone(),
            (None, Some(r)) => match (ImageRef::parse_pinned(&r.image), &r.digest) {
                (Some(i), _) => i,
                (None, Some(d)) => ImageRef { repository: String::new(), digest: d.clone() },
                (None, None) => return Ok(Vec::new()),
            },
            (None, None) => return Ok(Vec::new()),
        };
        let tip = self.sync()?;
        let text = self.text_at(tip)?;
        let after = edit::apply(&text, &self.spec, &image).map_err(|e| self.edit_error(e))?;
        let mut lines: Vec<String> = text
            .lines()
            .zip(after.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(n, (a, b))| format!("{}:{}: {} → {}", self.path, n + 1, a.trim(), b.trim()))
            .collect();
        if lines.is_empty() {
            lines.push(format!("{} already pins {}; nothing to commit", self.path, image.short_digest()));
        }
        lines.push(match self.mode {
            GitOpsMode::Push => {
                format!("one commit on {} of {}; every other byte of the file stays", self.branch, self.repository)
            }
            GitOpsMode::PullRequest => {
                format!("a pull request into {} of {} from shipit/{}", self.branch, self.repository, self.env_name)
            }
        });
        Ok(lines)
    }

    /// The same kind of change as a deploy, back to the revision's digest.
    pub async fn rollback(
        &self,
        to: &Revision,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, GitOpsError> {
        let image = match (ImageRef::parse_pinned(&to.image), &to.digest) {
            (Some(i), _) => i,
            // A Helm `digest` value names no repository; only the digest is written.
            (None, Some(d)) => ImageRef { repository: String::new(), digest: d.clone() },
            (None, None) => {
                return Err(GitOpsError::RevisionNotFound {
                    revision: to.revision.clone(),
                    branch: self.branch.clone(),
                });
            }
        };
        self.change(&image, meta, opts, "rollback", reporter).await
    }

    /// Edit the file on the tip of the branch, commit, push; when the branch moved meanwhile, fetch and do it
    /// again on top of the new tip (the edit is re-done on the new bytes, never a merge).
    async fn change(
        &self,
        image: &ImageRef,
        meta: &DeployMeta,
        opts: &DeployOptions,
        verb: &str,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, GitOpsError> {
        let branch_ref = format!("refs/heads/{}", self.branch);
        let argo = match (&self.argocd, &self.flux) {
            (Some((url, application, token_env)), _) => {
                Some(Reconciler::ArgoCd(argocd::ArgoCd::new(url, application, token_env)?))
            }
            (None, Some((name, namespace, context))) => {
                Some(Reconciler::Flux(Box::new(flux::Flux::connect(name, namespace, context.as_deref()).await?)))
            }
            (None, None) => None,
        };
        for attempt in 1..=PUSH_ATTEMPTS {
            reporter.status(&format!("fetching {} of {}", self.branch, self.repository));
            let tip = self.sync()?;
            let text = self.text_at(tip)?;
            let before = edit::read(&text, &self.spec).map_err(|e| self.edit_error(e))?;
            let after = edit::apply(&text, &self.spec, image).map_err(|e| self.edit_error(e))?;
            if after == text {
                let revision = self.releases(tip, 1)?.first().map(|r| r.revision.clone()).unwrap_or_else(|| short(tip));
                reporter.line(&format!(
                    "{}:{} already pins {}; nothing to commit{}",
                    self.path,
                    before.line,
                    image.short_digest(),
                    if opts.force { " (--force cannot make a change that changes nothing)" } else { "" }
                ));
                return Ok(Outcome::Completed { revision });
            }
            let previous = self.releases(tip, 1)?.into_iter().next().map(|r| r.revision);
            let message = self.message(verb, &before, image, meta);
            let commit = self.repo.commit_file(tip, &self.path, after.as_bytes(), &message, &repo::signature())?;
            if self.mode == GitOpsMode::PullRequest {
                match self.propose(commit, &message, &before, image, meta, reporter).await? {
                    Some(Outcome::Proposed { url, .. }) if opts.wait_merge => {
                        let merged = self.merged(image, &url, opts, reporter).await?;
                        return self.reconciled(argo.as_ref(), merged, &before, previous, meta, opts, reporter).await;
                    }
                    Some(outcome) => return Ok(outcome),
                    None => continue,
                }
            }
            reporter.status(&format!("pushing {} to {}", short(commit), self.branch));
            let pushed = {
                // A push is one ref update on the server: let it finish rather than leave the question open.
                let _c = crate::interrupt::critical();
                self.repo.push(Some(commit), &branch_ref, Expect::At(tip))?
            };
            match pushed {
                Pushed::Done => {
                    reporter.line(&format!(
                        "committed {} on {}: {}:{} {} → {}",
                        short(commit),
                        self.branch,
                        self.path,
                        before.line,
                        before.digest.as_deref().map(short_digest).unwrap_or_else(|| before.image.clone()),
                        image.short_digest()
                    ));
                    return self.reconciled(argo.as_ref(), commit, &before, previous, meta, opts, reporter).await;
                }
                Pushed::Stale(why) => {
                    reporter.line(&format!(
                        "{} moved on while shipit pushed ({why}); again on top of it ({attempt}/{PUSH_ATTEMPTS})",
                        self.branch
                    ));
                }
            }
        }
        Err(GitOpsError::KeptMoving { branch: self.branch.clone(), attempts: PUSH_ATTEMPTS })
    }

    /// `--wait` in pull-request mode: fetch the branch every few seconds until its file pins `image` (the pull
    /// request was merged, however: a merge commit, a squash, a rebase, or by hand) and return that tip. Works
    /// the same on GitHub and on any other remote, since it asks the branch, not the forge.
    async fn merged(
        &self,
        image: &ImageRef,
        url: &str,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Oid, GitOpsError> {
        let started = std::time::Instant::now();
        loop {
            let tip = self.sync()?;
            let current = edit::read(&self.text_at(tip)?, &self.spec).map_err(|e| self.edit_error(e))?;
            if current.digest.as_deref() == Some(image.digest.as_str()) {
                reporter.line(&format!("merged: {} pins {} at {}", self.branch, image.short_digest(), short(tip)));
                return Ok(tip);
            }
            let waited = started.elapsed();
            if waited >= opts.timeout {
                return Err(GitOpsError::NotMerged { branch: self.branch.clone(), url: url.to_string(), waited });
            }
            reporter.status(&format!(
                "waiting for the merge into {} ({}s of {}s): {url}",
                self.branch,
                waited.as_secs(),
                opts.timeout.as_secs()
            ));
            // A signal ends the wait in the engine (the pull request stays open; nothing ran).
            tokio::time::sleep(std::time::Duration::from_secs(3).min(opts.timeout.saturating_sub(waited))).await;
        }
    }

    /// The commit is on the branch: with `argocd`, wait for the Application to run it; when it will not, and
    /// `auto_rollback` is on, commit what ran before back and wait for that.
    #[allow(clippy::too_many_arguments)]
    async fn reconciled(
        &self,
        argo: Option<&Reconciler>,
        commit: Oid,
        before: &edit::Current,
        previous: Option<String>,
        meta: &DeployMeta,
        opts: &DeployOptions,
        reporter: &dyn Reporter,
    ) -> Result<Outcome, GitOpsError> {
        let revision = short(commit);
        let Some(argo) = argo else { return Ok(Outcome::Completed { revision }) };
        let reason = match argo.wait(&commit.to_string(), opts.timeout, reporter).await? {
            Waited::Done => return Ok(Outcome::Completed { revision }),
            Waited::Failed(reason) => reason,
            Waited::Interrupted(last) => {
                let state = format!(
                    "revision {revision} is committed on {}; the cluster catches up without shipit (last seen: {last})",
                    self.branch
                );
                return Ok(Outcome::Interrupted { revision, state });
            }
        };
        // On the repository, so every machine's `history` shows it failed and `rollback --previous` skips it.
        self.mark_commit_failed(commit, reporter)?;
        let restore = ImageRef::parse_pinned(&before.image)
            .or_else(|| before.digest.clone().map(|digest| ImageRef { repository: String::new(), digest }));
        let (Some(restore), Some(restored), true) = (restore, previous, opts.auto_rollback) else {
            return Ok(Outcome::Failed { revision, reason });
        };
        reporter.line(&format!("rollout of revision {revision} failed: {reason}"));
        reporter.line(&format!("auto-rollback: committing revision {restored}'s {} back", restore.short_digest()));
        let meta =
            DeployMeta { cause: format!("shipit auto-rollback of {} after: {reason}", self.env_name), ..meta.clone() };
        let once = DeployOptions { auto_rollback: false, ..opts.clone() };
        let back = {
            let _c = crate::interrupt::critical();
            Box::pin(self.change(&restore, &meta, &once, "rollback", reporter)).await
        };
        match back {
            Ok(Outcome::Completed { .. }) => Ok(Outcome::RolledBack { revision, restored, reason }),
            Ok(other) => Ok(Outcome::Failed {
                revision,
                reason: format!("{reason}\nthe automatic rollback to revision {restored} did not complete: {other:?}"),
            }),
            Err(e) => Ok(Outcome::Failed {
                revision,
                reason: format!("{reason}\nthe automatic rollback to revision {restored} failed: {e}"),
            }),
        }
    }

    /// `mode = "pull-request"`: put `commit` (made on the base's tip) on `shipit/<environment>` — replacing
    /// what an earlier proposal left there, but only if nobody moved it since it was fetched — then open or
    /// update the pull request on GitHub, or say where to open the merge request elsewhere. `None`: the branch
    /// moved; the caller starts again from a fresh fetch.
    async fn propose(
        &self,
        commit: Oid,
        message: &str,
        before: &edit::Current,
        image: &ImageRef,
        meta: &DeployMeta,
        reporter: &dyn Reporter,
    ) -> Result<Option<Outcome>, GitOpsError> {
        let head = format!("shipit/{}", self.env_name);
        let expect = match self.repo.resolve(&format!("{LOCAL_PROPOSALS}{}", self.env_name))? {
            Some(oid) => Expect::At(oid),
            None => Expect::Absent,
        };
        reporter.status(&format!("pushing {} to {head}", short(commit)));
        let pushed = {
            let _c = crate::interrupt::critical();
            self.repo.push(Some(commit), &format!("refs/heads/{head}"), expect)?
        };
        if let Pushed::Stale(why) = pushed {
            reporter.line(&format!("{head} moved while shipit pushed ({why}); again from a fresh fetch"));
            return Ok(None);
        }
        reporter.line(&format!("pushed {} to branch {head}", short(commit)));
        let revision = short(commit);
        if !repo::is_github_slug(&self.repository) {
            let url = merge_request_url(&self.repo.url, &head, &self.branch);
            reporter.line(&format!("open a merge request from {head} into {}: {url}", self.branch));
            return Ok(Some(Outcome::Proposed { revision, url }));
        }
        let title = message.lines().next().unwrap_or_default();
        let body = self.pull_body(before, image, meta, &revision);
        let prs = github::PullRequests::new(&self.repository)?;
        reporter.status(&format!("opening the pull request on {}", self.repository));
        let proposal = github::Proposal {
            head: &head,
            base: &self.branch,
            title,
            body: &body,
            labels: &self.labels,
            reviewers: &self.reviewers,
        };
        let (pull, updated) = prs.open_or_update(&proposal).await?;
        if let Some(method) = self.auto_merge {
            // The pull request exists either way: a refused auto-merge is said, not a failed deploy.
            match prs.enable_auto_merge(&pull, method.graphql()).await {
                Ok(()) => reporter.line(&format!(
                    "auto-merge ({}) is on for #{}",
                    method.graphql().to_lowercase(),
                    pull.number
                )),
                Err(e) => reporter.line(&format!("auto-merge not turned on for #{}: {e}", pull.number)),
            }
        }
        reporter.line(&format!(
            "{} pull request #{}: {}",
            if updated { "updated the open" } else { "opened" },
            pull.number,
            pull.html_url
        ));
        Ok(Some(Outcome::Proposed { revision, url: pull.html_url }))
    }

    /// The approval block of the pull request: what runs, what is proposed, from which commit, by whom.
    fn pull_body(&self, before: &edit::Current, image: &ImageRef, meta: &DeployMeta, revision: &str) -> String {
        let running = before.digest.clone().unwrap_or_else(|| before.image.clone());
        let source = if meta.commit == "unknown" { "unknown".to_string() } else { format!("`{}`", meta.commit) };
        let new = if image.repository.is_empty() { image.digest.clone() } else { image.pinned() };
        let (app, env, base) = (&self.app, &self.env_name, &self.branch);
        let mut body = [
            format!("**shipit** proposes a release of `{app}` to **{env}**."),
            String::new(),
            "| | image |".into(),
            "|---|---|".into(),
            format!("| running | `{running}` |"),
            format!("| new | `{new}` |"),
            String::new(),
            format!("- source commit: {source}"),
            format!("- file: `{}` line {} on `{base}` (commit `{revision}` on this branch)", self.path, before.line),
            format!("- requested by {}: `{}`", meta.deployer, meta.cause),
            String::new(),
            format!(
                "Merging this pull request is the deploy: Argo CD or Flux apply `{base}`. Until then {env} runs what it \
                 ran. A later `shipit deploy {env}` updates this pull request instead of opening another."
            ),
            String::new(),
            format!("<!-- shipit:environment={env} -->"),
        ]
        .join("\n");
        body.push('\n');
        if let Some(md) = &meta.summary {
            body.push_str(&format!("\n{md}\n"));
        }
        body
    }

    /// Subject: app, environment, old → new digest, source commit; trailers: the full values, for history.
    fn message(&self, verb: &str, before: &edit::Current, image: &ImageRef, meta: &DeployMeta) -> String {
        let old = before.digest.as_deref().map(short_digest).unwrap_or_else(|| before.image.clone());
        let source: String = meta.commit.chars().take(7).collect();
        let mut m = format!(
            "{verb} {} to {}: {old} → {}{}\n\n{}\n{}: {} → {}\n\n",
            self.app,
            self.env_name,
            image.short_digest(),
            if meta.commit == "unknown" { String::new() } else { format!(" ({source})") },
            meta.cause,
            self.path,
            before.image,
            if image.repository.is_empty() { image.digest.clone() } else { image.pinned() },
        );
        m.push_str(&format!("{}: {}\n", history::TRAILER_ENV, self.env_name));
        m.push_str(&format!("{}: {}\n", history::TRAILER_DIGEST, image.digest));
        if let Some(d) = &before.digest {
            m.push_str(&format!("{}: {d}\n", history::TRAILER_PREVIOUS));
        }
        if meta.commit != "unknown" {
            m.push_str(&format!("{}: {}\n", history::TRAILER_COMMIT, meta.commit));
        }
        m.push_str(&format!("{}: {}\n", history::TRAILER_DEPLOYER, meta.deployer));
        m
    }

    /// Mark a revision failed (a post-deploy verification failed): a tag on its commit, so every machine sees it.
    pub async fn mark_failed(&self, revision: &Revision, reporter: &dyn Reporter) -> Result<(), GitOpsError> {
        let repo = self.repo.repository()?;
        let commit = repo.revparse_single(&revision.revision).and_then(|o| o.peel_to_commit()).map_err(|_| {
            GitOpsError::RevisionNotFound { revision: revision.revision.clone(), branch: self.branch.clone() }
        })?;
        self.mark_commit_failed(commit.id(), reporter)
    }

    fn mark_commit_failed(&self, commit: Oid, reporter: &dyn Reporter) -> Result<(), GitOpsError> {
        let revision = short(commit);
        let tag = format!("{}{revision}", history::failed_prefix(&self.env_name));
        match self.repo.push(Some(commit), &tag, Expect::Absent)? {
            Pushed::Done => reporter.line(&format!("marked revision {revision} failed ({tag})")),
            Pushed::Stale(_) => {}
        }
        Ok(())
    }
}

/// Where a person opens the merge request for a branch pushed to a non-GitHub remote: GitLab's "new merge
/// request" page when the remote is a GitLab over https, else the remote and the branch.
fn merge_request_url(remote: &str, head: &str, base: &str) -> String {
    if let Some(rest) = remote.strip_prefix("https://")
        && rest.split('/').next().is_some_and(|host| host.contains("gitlab"))
    {
        let project = rest.trim_end_matches('/').trim_end_matches(".git");
        return format!(
            "https://{project}/-/merge_requests/new?merge_request%5Bsource_branch%5D={head}&merge_request%5Btarget_branch%5D={base}"
        );
    }
    format!("{remote} (branch {head})")
}

fn short(oid: Oid) -> String {
    oid.to_string()[..12].to_string()
}
