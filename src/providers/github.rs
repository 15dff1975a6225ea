//! GitHub (octocrab): check-runs, commit statuses, and the pull request a commit belongs to.
//!
//! Requests go through octocrab's client (auth, base URL for GitHub Enterprise, retries on 5xx) but responses
//! are read raw: the gate needs the `Link` header to page past 100 check-runs and the rate-limit headers to
//! say when a 403 will clear, and octocrab's typed helpers hide both.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use http::StatusCode;
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// Where a GitHub token comes from, in the order the gh CLI and Actions users expect.
pub fn token() -> Option<(String, &'static str)> {
    for var in [crate::env_vars::EnvVars::GITHUB_TOKEN, crate::env_vars::EnvVars::GH_TOKEN] {
        if let Ok(t) = std::env::var(var)
            && !t.trim().is_empty()
        {
            return Some((t.trim().to_string(), var));
        }
    }
    // gh may be waiting on a keyring unlock nobody sees; a token that does not come in 10 s is not coming.
    let mut gh = std::process::Command::new("gh");
    gh.args(["auth", "token"]);
    let out = super::process::run(&mut gh, None, std::time::Duration::from_secs(10)).ok()?;
    let t = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !t.is_empty()).then_some((t, "gh auth token"))
}

/// Set by GitHub Actions to the API and web addresses of the GitHub running the workflow, which on GitHub
/// Enterprise Server are the server's own.
pub const API_URL_VAR: &str = crate::env_vars::EnvVars::GITHUB_API_URL;
pub const SERVER_URL_VAR: &str = crate::env_vars::EnvVars::GITHUB_SERVER_URL;
pub const PUBLIC_API: &str = "https://api.github.com";

/// Where the GitHub API and its web pages are, and what said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub api: String,
    /// `https://github.com`, or a GitHub Enterprise Server's `https://HOST`: for links a person opens.
    pub web: String,
    /// `[check.github] api_url`, `GITHUB_API_URL`, or `default`.
    pub api_source: &'static str,
}

impl Endpoints {
    /// `configured` (ship.toml's `api_url`) wins; then `GITHUB_API_URL`; then api.github.com. Links use
    /// `GITHUB_SERVER_URL` when set, else the web address that belongs to the API.
    pub fn resolve(configured: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Endpoints {
        let from_env =
            |name: &str| env(name).map(|v| v.trim().trim_end_matches('/').to_string()).filter(|v| !v.is_empty());
        let (api, api_source) = match configured.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => (c.trim_end_matches('/').to_string(), "[check.github] api_url"),
            None => match from_env(API_URL_VAR) {
                Some(v) => (v, API_URL_VAR),
                None => (PUBLIC_API.to_string(), "default"),
            },
        };
        let web = from_env(SERVER_URL_VAR).unwrap_or_else(|| web_for(&api));
        Endpoints { api, web, api_source }
    }

    pub fn from_env(configured: Option<&str>) -> Endpoints {
        Endpoints::resolve(configured, &|name| std::env::var(name).ok())
    }
}

/// api.github.com → github.com; `https://HOST/api/v3` (Enterprise Server) → `https://HOST`.
fn web_for(api: &str) -> String {
    if api == PUBLIC_API {
        return "https://github.com".to_string();
    }
    api.strip_suffix("/api/v3").unwrap_or(api).to_string()
}

/// The application's GitHub repository and API, as ship.toml says: `[github]`, then `[check.github]`, then the
/// `origin` remote (github.com). `None` when none of them names one.
pub fn repository_of(config: &crate::config::Config, root: &std::path::Path) -> Option<(String, String, Endpoints)> {
    let check = config.check.github.as_ref();
    let configured = config.github.repository.as_ref().or(check.and_then(|g| g.repository.as_ref()));
    let (owner, repo) = match configured {
        Some(r) => {
            let (o, n) = r.split_once('/')?;
            (o.to_string(), n.to_string())
        }
        None => super::git::github_slug(&super::git::remote_url(root, "origin")?)?,
    };
    let api = config.github.api_url.as_deref().or(check.and_then(|g| g.api_url.as_deref()));
    Some((owner, repo, Endpoints::from_env(api)))
}

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GitHub rejected the token{} (401 Unauthorized) at {api}", token_source.map(|s| format!(" from {s}")).unwrap_or_default())]
    Unauthorized { token_source: Option<&'static str>, api: String },
    #[error("GitHub answered 404 for {what} of {repo}")]
    NotFound { what: String, repo: String, authenticated: bool },
    #[error("GitHub API rate limit exceeded{}", reset_text(*reset))]
    RateLimited { reset: Option<DateTime<Utc>> },
    #[error("GitHub refused access (403) to {what} of {repo}: {message}")]
    Forbidden { what: String, repo: String, message: String },
    #[error("GitHub cannot find commit {sha} in {repo}: {message}")]
    UnknownCommit { sha: String, repo: String, message: String },
    #[error("GitHub API error {status} for {what}: {message}")]
    Api { status: u16, what: String, message: String },
    #[error("cannot reach the GitHub API at {api}: {detail}")]
    Transport { api: String, detail: String },
    #[error("unexpected response from GitHub for {what}: {detail}")]
    Parse { what: String, detail: String },
}

fn reset_text(reset: Option<DateTime<Utc>>) -> String {
    match reset {
        Some(t) => {
            let secs = (t - Utc::now()).num_seconds().max(0);
            format!(
                "; it resets at {} (in {})",
                t.format("%H:%M:%S UTC"),
                humantime::format_duration(Duration::from_secs(secs as u64))
            )
        }
        None => String::new(),
    }
}

impl From<GitHubError> for CliError {
    fn from(e: GitHubError) -> Self {
        let message = e.to_string();
        match e {
            GitHubError::Unauthorized { .. } => CliError::failure(message)
                .hint("the token is missing, expired or revoked: set GITHUB_TOKEN (or GH_TOKEN) to a valid token, or run `gh auth login`")
                .hint("for GitHub Enterprise, check that `[check.github] api_url` (or GITHUB_API_URL) points at your server's /api/v3"),
            GitHubError::NotFound { repo, authenticated, .. } => {
                let err = CliError::failure(message).hint(format!(
                    "check the repository name ({repo}): set `[check.github] repository = \"OWNER/NAME\"` if the origin remote is not it"
                ));
                if authenticated {
                    err.hint("GitHub answers 404 for private repositories the token cannot see: give it read access to the repository (fine-grained: Checks, Commit statuses, Pull requests: read; classic: `repo` scope)")
                } else {
                    err.hint("no token was sent: for a private repository set GITHUB_TOKEN or GH_TOKEN, or run `gh auth login`")
                }
            }
            GitHubError::RateLimited { .. } => CliError::failure(message)
                .hint("an authenticated token has a much higher limit: set GITHUB_TOKEN; or retry after the reset time"),
            GitHubError::Forbidden { .. } => CliError::failure(message)
                .hint("the token lacks a permission: fine-grained tokens need Checks, Commit statuses and Pull requests (read)")
                .hint("an organization may require SSO authorization of the token (`gh auth refresh`)"),
            GitHubError::UnknownCommit { .. } => CliError::failure(message).hint("push the commit first (`git push`)"),
            GitHubError::Api { .. } | GitHubError::Parse { .. } => CliError::failure(message).hint("retry; if it persists, run with -v and check https://www.githubstatus.com"),
            GitHubError::Transport { .. } => CliError::failure(message).hint("check the network and `[check.github] api_url` (or GITHUB_API_URL)"),
        }
    }
}

/// The pass/fail reading of one check-run or status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    Pending,
    Success,
    Failure,
}

/// One check-run or commit status for the commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitCheck {
    pub name: String,
    /// `check-run` or `status`.
    pub source: &'static str,
    pub state: CheckState,
    /// GitHub's own word: `failure`, `timed_out`, `in_progress`, `error`, …
    pub detail: String,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PullApproval {
    /// The commit reached its branch through a merged pull request.
    Merged {
        number: u64,
        url: String,
    },
    /// An open pull request with an approving review and no outstanding change requests.
    Approved {
        number: u64,
        url: String,
        approvers: Vec<String>,
    },
    ChangesRequested {
        number: u64,
        url: String,
        by: Vec<String>,
    },
    /// Open, but nobody has approved it yet.
    NotApproved {
        number: u64,
        url: String,
    },
    /// No pull request contains this commit.
    NoPullRequest,
}

impl PullApproval {
    pub fn ok(&self) -> bool {
        matches!(self, PullApproval::Merged { .. } | PullApproval::Approved { .. })
    }
}

pub struct GitHub {
    client: Octocrab,
    api: String,
    web: String,
    pub owner: String,
    pub repo: String,
    token_source: Option<&'static str>,
}

impl GitHub {
    /// `endpoints.api` is `https://api.github.com` or a GitHub Enterprise `https://HOST/api/v3`.
    pub fn new(
        endpoints: &Endpoints,
        owner: &str,
        repo: &str,
        token: Option<(String, &'static str)>,
    ) -> Result<GitHub, GitHubError> {
        let api = endpoints.api.trim_end_matches('/').to_string();
        let transport = |detail: String| GitHubError::Transport { api: api.clone(), detail };
        let mut builder = Octocrab::builder()
            .base_uri(api.as_str())
            .map_err(|e| transport(crate::error::chain(&e)))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)));
        let token_source = token.as_ref().map(|(_, s)| *s);
        if let Some((t, _)) = token {
            builder = builder.personal_token(t);
        }
        let client = builder.build().map_err(|e| transport(crate::error::chain(&e)))?;
        Ok(GitHub {
            client,
            api,
            web: endpoints.web.trim_end_matches('/').to_string(),
            owner: owner.to_string(),
            repo: repo.to_string(),
            token_source,
        })
    }

    pub fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// The repository's page, `https://github.com/acme/api` (or on the Enterprise Server).
    pub fn repo_url(&self) -> String {
        format!("{}/{}/{}", self.web, self.owner, self.repo)
    }

    /// The page listing every check of `sha`.
    pub fn checks_url(&self, sha: &str) -> String {
        format!("{}/commit/{sha}/checks", self.repo_url())
    }

    /// Every check-run and commit status for `sha`, the latest of each name.
    pub async fn commit_checks(&self, sha: &str) -> Result<Vec<CommitCheck>, GitHubError> {
        let base = format!("/repos/{}/{}/commits/{sha}", self.owner, self.repo);
        let run_pages: Vec<CheckRunPage> =
            self.get_pages(&format!("{base}/check-runs?per_page=100"), "check-runs", sha).await?;
        let status_pages: Vec<CombinedStatus> =
            self.get_pages(&format!("{base}/status?per_page=100"), "commit statuses", sha).await?;
        let runs = run_pages.into_iter().flat_map(|p| p.check_runs).collect();
        let statuses = status_pages.into_iter().flat_map(|p| p.statuses).collect();
        Ok(merge_checks(runs, statuses))
    }

    /// Whether `sha` belongs to a merged pull request, or an open one that is approved.
    pub async fn pull_approval(&self, sha: &str) -> Result<PullApproval, GitHubError> {
        let path = format!("/repos/{}/{}/commits/{sha}/pulls?per_page=100", self.owner, self.repo);
        let pulls: Vec<Pull> =
            self.get_pages::<Vec<Pull>>(&path, "pull requests", sha).await?.into_iter().flatten().collect();
        if let Some(p) = pulls.iter().find(|p| p.merged_at.is_some()) {
            return Ok(PullApproval::Merged { number: p.number, url: self.pull_url(p) });
        }
        let mut first = None;
        for p in pulls.iter().filter(|p| p.state.as_deref() == Some("open")) {
            let path = format!("/repos/{}/{}/pulls/{}/reviews?per_page=100", self.owner, self.repo, p.number);
            let reviews: Vec<Review> =
                self.get_pages::<Vec<Review>>(&path, "reviews", sha).await?.into_iter().flatten().collect();
            let verdict = review_decision(p, &self.pull_url(p), &reviews);
            if verdict.ok() {
                return Ok(verdict);
            }
            first.get_or_insert(verdict);
        }
        Ok(first.unwrap_or(PullApproval::NoPullRequest))
    }

    fn pull_url(&self, p: &Pull) -> String {
        p.html_url.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| format!("{}/pull/{}", self.repo_url(), p.number))
    }

    /// How `head` relates to `base` (the compare API; commits oldest first, at most one page of 250).
    pub async fn compare(&self, base: &str, head: &str) -> Result<Comparison, GitHubError> {
        let path = format!("/repos/{}/{}/compare/{base}...{head}?per_page=250", self.owner, self.repo);
        let raw: RawComparison = self.get_one(&path, "the compare view", head).await?;
        Ok(Comparison {
            status: raw.status,
            ahead_by: raw.ahead_by,
            behind_by: raw.behind_by,
            commits: raw.commits.into_iter().rev().map(RawCommit::into_info).collect(),
        })
    }

    /// One commit's subject, author and date.
    pub async fn commit(&self, sha: &str) -> Result<crate::providers::git::CommitInfo, GitHubError> {
        let path = format!("/repos/{}/{}/commits/{sha}", self.owner, self.repo);
        let raw: RawCommit = self.get_one(&path, "the commit", sha).await?;
        Ok(raw.into_info())
    }

    /// The compare page a person opens: `…/compare/base...head`.
    pub fn compare_url(&self, base: &str, head: &str) -> String {
        format!("{}/compare/{base}...{head}", self.repo_url())
    }

    pub fn commit_url(&self, sha: &str) -> String {
        format!("{}/commit/{sha}", self.repo_url())
    }

    /// POST /repos/…/deployments: a Deployment of `sha` to `environment`; returns its id. `required_contexts`
    /// is empty because shipit's own check stage has already judged the commit's checks.
    pub async fn create_deployment(
        &self,
        sha: &str,
        environment: &str,
        description: &str,
        payload: serde_json::Value,
    ) -> Result<u64, GitHubError> {
        let path = format!("/repos/{}/{}/deployments", self.owner, self.repo);
        let body = serde_json::json!({
            "ref": sha,
            "environment": environment,
            "description": description,
            "payload": payload,
            "auto_merge": false,
            "required_contexts": [],
        });
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        let created: Created = self.post_one(&path, &body, "a deployment", sha).await?;
        Ok(created.id)
    }

    /// POST /repos/…/deployments/{id}/statuses.
    pub async fn deployment_status(
        &self,
        id: u64,
        state: &str,
        description: &str,
        environment_url: Option<&str>,
        log_url: Option<&str>,
    ) -> Result<(), GitHubError> {
        let path = format!("/repos/{}/{}/deployments/{id}/statuses", self.owner, self.repo);
        let mut body = serde_json::json!({ "state": state, "description": description, "auto_inactive": true });
        if let Some(u) = environment_url {
            body["environment_url"] = u.into();
        }
        if let Some(u) = log_url {
            body["log_url"] = u.into();
        }
        let _: serde_json::Value = self.post_one(&path, &body, "a deployment status", "").await?;
        Ok(())
    }

    async fn post_one<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        what: &str,
        sha: &str,
    ) -> Result<T, GitHubError> {
        let resp = self.client._post(path, Some(body)).await;
        self.read_one(resp, what, sha).await
    }

    /// GET `path`, one page only.
    async fn get_one<T: DeserializeOwned>(&self, path: &str, what: &str, sha: &str) -> Result<T, GitHubError> {
        let resp = self.client._get(path).await;
        self.read_one(resp, what, sha).await
    }

    /// One answer: its body as `T`, or the error its status means.
    async fn read_one<T: DeserializeOwned>(
        &self,
        resp: Result<
            http::Response<http_body_util::combinators::BoxBody<bytes::Bytes, octocrab::Error>>,
            octocrab::Error,
        >,
        what: &str,
        sha: &str,
    ) -> Result<T, GitHubError> {
        let transport =
            |e: octocrab::Error| GitHubError::Transport { api: self.api.clone(), detail: crate::error::chain(&e) };
        let resp = resp.map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = self.client.body_to_string(resp).await.map_err(transport)?;
        if !status.is_success() {
            return Err(self.error_for(status, &headers, &body, what, sha));
        }
        serde_json::from_str(&body).map_err(|e| GitHubError::Parse { what: what.to_string(), detail: e.to_string() })
    }

    /// GET `path` and every following page its `Link: <…>; rel="next"` header names.
    async fn get_pages<T: DeserializeOwned>(&self, path: &str, what: &str, sha: &str) -> Result<Vec<T>, GitHubError> {
        let mut pages = Vec::new();
        let mut next = Some(path.to_string());
        // A safety stop: 50 pages of 100 is far beyond any real commit.
        while let Some(uri) = next.take() {
            if pages.len() >= 50 {
                break;
            }
            let (status, headers, body) = self.get_capped(&uri, what).await?;
            if !status.is_success() {
                return Err(self.error_for(status, &headers, &body, what, sha));
            }
            next = headers.get(http::header::LINK).and_then(|v| v.to_str().ok()).and_then(next_link);
            let page: T = serde_json::from_str(&body).map_err(|e| GitHubError::Parse {
                what: what.to_string(),
                detail: crate::providers::limits::not_json(body.as_bytes(), &e),
            })?;
            pages.push(page);
        }
        Ok(pages)
    }

    /// One GET, its body read up to `MAX_GITHUB_PAGE_BYTES` and the whole exchange bounded in time (the
    /// client's read timeout only catches silence, not a body that trickles forever).
    async fn get_capped(&self, uri: &str, what: &str) -> Result<(StatusCode, http::HeaderMap, String), GitHubError> {
        use crate::providers::limits::{self, MAX_GITHUB_PAGE_BYTES};
        use http_body_util::BodyExt as _;
        let transport = |detail: String| GitHubError::Transport { api: self.api.clone(), detail };
        let exchange = async {
            let resp = self.client._get(uri).await.map_err(|e| transport(crate::error::chain(&e)))?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body =
                http_body_util::Limited::new(resp.into_body(), MAX_GITHUB_PAGE_BYTES).collect().await.map_err(|e| {
                    match e.downcast_ref::<http_body_util::LengthLimitError>() {
                        Some(_) => GitHubError::Parse {
                            what: what.to_string(),
                            detail: format!(
                                "the answer is larger than {}; shipit stops reading there",
                                limits::size(MAX_GITHUB_PAGE_BYTES)
                            ),
                        },
                        None if limits::broke_off(&crate::error::chain(e.as_ref())) => GitHubError::Parse {
                            what: what.to_string(),
                            detail: "the answer broke off before its end (a truncated answer)".into(),
                        },
                        None => transport(crate::error::chain(e.as_ref())),
                    }
                })?;
            Ok((status, headers, String::from_utf8_lossy(&body.to_bytes()).into_owned()))
        };
        tokio::time::timeout(PAGE_TIMEOUT, exchange).await.unwrap_or_else(|_| {
            Err(transport(format!("no complete answer for {what} within {}s", PAGE_TIMEOUT.as_secs())))
        })
    }

    fn error_for(
        &self,
        status: StatusCode,
        headers: &http::HeaderMap,
        body: &str,
        what: &str,
        sha: &str,
    ) -> GitHubError {
        let message = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| body.chars().take(200).collect());
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let rate_limited = header("x-ratelimit-remaining") == Some("0")
            || status == StatusCode::TOO_MANY_REQUESTS
            || message.to_ascii_lowercase().contains("rate limit");
        match status {
            s if s.is_redirection() => GitHubError::Api {
                status: s.as_u16(),
                what: what.to_string(),
                message: "still a redirect after following 20 of them (a redirect loop?)".into(),
            },
            StatusCode::UNAUTHORIZED => {
                GitHubError::Unauthorized { token_source: self.token_source, api: self.api.clone() }
            }
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS if rate_limited => {
                GitHubError::RateLimited { reset: rate_limit_reset(header("x-ratelimit-reset"), header("retry-after")) }
            }
            StatusCode::FORBIDDEN => GitHubError::Forbidden { what: what.to_string(), repo: self.slug(), message },
            StatusCode::NOT_FOUND => GitHubError::NotFound {
                what: what.to_string(),
                repo: self.slug(),
                authenticated: self.token_source.is_some(),
            },
            StatusCode::UNPROCESSABLE_ENTITY => {
                GitHubError::UnknownCommit { sha: sha.to_string(), repo: self.slug(), message }
            }
            _ => GitHubError::Api { status: status.as_u16(), what: what.to_string(), message },
        }
    }
}

/// One page of a GitHub list, read in full, within this time.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

/// When a rate limit clears: `x-ratelimit-reset` (epoch seconds), else `Retry-After` (seconds from now).
/// Values from the server are not trusted to be sane: one that does not fit a date is no reset time at all.
pub(crate) fn rate_limit_reset(reset: Option<&str>, retry_after: Option<&str>) -> Option<DateTime<Utc>> {
    reset.and_then(|v| v.trim().parse::<i64>().ok()).and_then(|t| Utc.timestamp_opt(t, 0).single()).or_else(|| {
        let secs = retry_after?.trim().parse::<i64>().ok()?;
        Utc::now().checked_add_signed(chrono::TimeDelta::try_seconds(secs)?)
    })
}

/// The `rel="next"` target of a Link header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        is_next.then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// What the compare API says about two commits.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// `ahead`, `behind`, `diverged`, `identical`
    pub status: String,
    pub ahead_by: usize,
    pub behind_by: usize,
    /// Commits `head` has that `base` has not, newest first.
    pub commits: Vec<crate::providers::git::CommitInfo>,
}

#[derive(Debug, Deserialize)]
struct RawComparison {
    status: String,
    #[serde(default)]
    ahead_by: usize,
    #[serde(default)]
    behind_by: usize,
    #[serde(default)]
    commits: Vec<RawCommit>,
}

#[derive(Debug, Deserialize)]
struct RawCommit {
    sha: String,
    commit: RawCommitBody,
}

#[derive(Debug, Deserialize)]
struct RawCommitBody {
    #[serde(default)]
    message: String,
    author: Option<RawSignature>,
}

#[derive(Debug, Deserialize)]
struct RawSignature {
    name: Option<String>,
    date: Option<String>,
}

impl RawCommit {
    fn into_info(self) -> crate::providers::git::CommitInfo {
        let author = self.commit.author;
        let date = author.as_ref().and_then(|a| a.date.as_deref()).unwrap_or_default();
        let date = DateTime::parse_from_rfc3339(date)
            .map(|d| d.with_timezone(&Utc).format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|_| date.to_string());
        crate::providers::git::CommitInfo {
            sha: self.sha,
            subject: self.commit.message.lines().next().unwrap_or("").to_string(),
            author: author.and_then(|a| a.name).unwrap_or_else(|| "?".into()),
            date,
        }
    }
}

#[derive(Debug, Deserialize)]
struct CheckRunPage {
    #[serde(default)]
    check_runs: Vec<CheckRun>,
}

#[derive(Debug, Clone, Deserialize)]
struct CheckRun {
    id: u64,
    name: String,
    status: Option<String>,
    conclusion: Option<String>,
    html_url: Option<String>,
    details_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CombinedStatus {
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Debug, Clone, Deserialize)]
struct Status {
    context: String,
    state: String,
    target_url: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Pull {
    number: u64,
    state: Option<String>,
    merged_at: Option<String>,
    html_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Review {
    user: Option<User>,
    state: String,
}

#[derive(Debug, Deserialize)]
struct User {
    login: String,
}

/// Latest check-run per name (re-runs leave older ones behind) plus the latest status per context.
fn merge_checks(runs: Vec<CheckRun>, statuses: Vec<Status>) -> Vec<CommitCheck> {
    let mut latest: std::collections::BTreeMap<String, CheckRun> = std::collections::BTreeMap::new();
    for r in runs {
        match latest.get(&r.name) {
            Some(prev) if prev.id >= r.id => {}
            _ => {
                latest.insert(r.name.clone(), r);
            }
        }
    }
    let mut out: Vec<CommitCheck> = latest
        .into_values()
        .map(|r| {
            let (state, detail) = match (r.status.as_deref(), r.conclusion.as_deref()) {
                (Some("completed"), Some(c @ ("success" | "neutral" | "skipped"))) => {
                    (CheckState::Success, c.to_string())
                }
                (Some("completed"), Some(c)) => (CheckState::Failure, c.to_string()),
                (Some("completed"), None) => (CheckState::Failure, "completed without a conclusion".to_string()),
                (s, _) => (CheckState::Pending, s.unwrap_or("queued").to_string()),
            };
            CommitCheck { name: r.name, source: "check-run", state, detail, url: r.html_url.or(r.details_url) }
        })
        .collect();
    // The combined-status endpoint already keeps only the latest status per context.
    let mut seen = std::collections::BTreeSet::new();
    for s in statuses {
        if !seen.insert(s.context.clone()) {
            continue;
        }
        let state = match s.state.as_str() {
            "success" => CheckState::Success,
            "pending" => CheckState::Pending,
            _ => CheckState::Failure,
        };
        let detail = match s.description.filter(|d| !d.is_empty()) {
            Some(d) => format!("{}: {d}", s.state),
            None => s.state.clone(),
        };
        out.push(CommitCheck { name: s.context, source: "status", state, detail, url: s.target_url });
    }
    out
}

/// GitHub's review decision, per reviewer's latest review: a comment neither approves nor withdraws a
/// change request; a dismissed review withdraws whatever that reviewer said before.
fn review_decision(pull: &Pull, url: &str, reviews: &[Review]) -> PullApproval {
    let mut latest: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for r in reviews {
        let Some(user) = &r.user else { continue };
        match r.state.as_str() {
            "APPROVED" | "CHANGES_REQUESTED" | "DISMISSED" => {
                latest.insert(user.login.as_str(), r.state.as_str());
            }
            _ => {}
        }
    }
    let number = pull.number;
    let url = url.to_string();
    let who = |state: &str| latest.iter().filter(|(_, s)| **s == state).map(|(u, _)| u.to_string()).collect::<Vec<_>>();
    let blockers = who("CHANGES_REQUESTED");
    if !blockers.is_empty() {
        return PullApproval::ChangesRequested { number, url, by: blockers };
    }
    let approvers = who("APPROVED");
    if approvers.is_empty() {
        PullApproval::NotApproved { number, url }
    } else {
        PullApproval::Approved { number, url, approvers }
    }
}

/// Every answer shipit reads from GitHub, parsed and judged, for the fuzz targets: the `Link` header is the
/// first line, a page of check-runs, statuses, pull requests or reviews the rest.
#[doc(hidden)]
pub fn fuzz_pages(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let mut out: Vec<String> = next_link(text.lines().next().unwrap_or("")).into_iter().collect();
    let runs = serde_json::from_slice::<CheckRunPage>(data).map(|p| p.check_runs).unwrap_or_default();
    let statuses = serde_json::from_slice::<CombinedStatus>(data).map(|p| p.statuses).unwrap_or_default();
    out.extend(merge_checks(runs, statuses).into_iter().map(|c| format!("{c:?}")));
    let reviews = serde_json::from_slice::<Vec<Review>>(data).unwrap_or_default();
    for p in serde_json::from_slice::<Vec<Pull>>(data).unwrap_or_default() {
        out.push(format!("{:?}", review_decision(&p, "https://github.com/acme/api/pull/1", &reviews)));
    }
    out.push(GitHubError::RateLimited { reset: rate_limit_reset(None, Some(&text)) }.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_retry_after_is_no_reset_time_not_a_panic() {
        // Found by reading the code (issue 16): `chrono::Duration::seconds` panics past ±i64::MAX ms.
        for huge in ["9223372036854775807", "-9223372036854775808", "99999999999999"] {
            assert_eq!(rate_limit_reset(None, Some(huge)), None, "{huge}");
        }
        assert!(rate_limit_reset(None, Some(" 60 ")).is_some());
        assert_eq!(rate_limit_reset(Some("1700000000"), Some("60")).map(|t| t.timestamp()), Some(1_700_000_000));
        assert_eq!(rate_limit_reset(Some("99999999999999999"), None), None);
    }

    #[test]
    fn link_header() {
        let h = r#"<https://api.github.com/repositories/1/commits/abc/check-runs?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/commits/abc/check-runs?per_page=100&page=3>; rel="last""#;
        assert_eq!(
            next_link(h).unwrap(),
            "https://api.github.com/repositories/1/commits/abc/check-runs?per_page=100&page=2"
        );
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev""#), None);
    }

    fn run(id: u64, name: &str, status: &str, conclusion: Option<&str>) -> CheckRun {
        CheckRun {
            id,
            name: name.into(),
            status: Some(status.into()),
            conclusion: conclusion.map(Into::into),
            html_url: Some(format!("https://github.com/acme/api/runs/{id}")),
            details_url: None,
        }
    }

    #[test]
    fn latest_run_per_name_wins() {
        let checks = merge_checks(
            vec![
                run(1, "test", "completed", Some("failure")),
                run(3, "test", "completed", Some("success")),
                run(2, "lint", "in_progress", None),
                run(4, "docs", "completed", Some("skipped")),
                run(5, "e2e", "completed", Some("timed_out")),
            ],
            vec![Status {
                context: "ci/jenkins".into(),
                state: "error".into(),
                target_url: None,
                description: Some("boom".into()),
            }],
        );
        let by = |n: &str| checks.iter().find(|c| c.name == n).unwrap().clone();
        assert_eq!(by("test").state, CheckState::Success);
        assert_eq!(by("lint").state, CheckState::Pending);
        assert_eq!(by("docs").state, CheckState::Success);
        assert_eq!(by("e2e").state, CheckState::Failure);
        assert_eq!(by("ci/jenkins").detail, "error: boom");
        assert_eq!(by("ci/jenkins").source, "status");
    }

    fn review(user: &str, state: &str) -> Review {
        Review { user: Some(User { login: user.into() }), state: state.into() }
    }

    #[test]
    fn endpoints_from_config_and_actions() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let none = env(&[]);
        let e = Endpoints::resolve(None, &none);
        assert_eq!((e.api.as_str(), e.web.as_str(), e.api_source), (PUBLIC_API, "https://github.com", "default"));
        let ghes =
            env(&[("GITHUB_API_URL", "https://ghe.acme.dev/api/v3/"), ("GITHUB_SERVER_URL", "https://ghe.acme.dev")]);
        let e = Endpoints::resolve(None, &ghes);
        assert_eq!(
            (e.api.as_str(), e.web.as_str(), e.api_source),
            ("https://ghe.acme.dev/api/v3", "https://ghe.acme.dev", "GITHUB_API_URL")
        );
        let e = Endpoints::resolve(Some("https://other.dev/api/v3"), &ghes);
        assert_eq!((e.api.as_str(), e.api_source), ("https://other.dev/api/v3", "[check.github] api_url"));
        assert_eq!(e.web, "https://ghe.acme.dev", "GITHUB_SERVER_URL names the web address");
        let e = Endpoints::resolve(Some("https://other.dev/api/v3"), &none);
        assert_eq!(e.web, "https://other.dev");
    }

    #[test]
    fn review_decisions() {
        let pull = Pull { number: 7, state: Some("open".into()), merged_at: None, html_url: Some("u".into()) };
        assert!(matches!(review_decision(&pull, "u", &[]), PullApproval::NotApproved { .. }));
        assert!(review_decision(&pull, "u", &[review("ann", "APPROVED"), review("ann", "COMMENTED")]).ok());
        let d = review_decision(&pull, "u", &[review("bob", "CHANGES_REQUESTED"), review("ann", "APPROVED")]);
        assert!(matches!(d, PullApproval::ChangesRequested { ref by, .. } if by == &["bob"]));
        // bob later approved: his change request no longer stands.
        assert!(review_decision(&pull, "u", &[review("bob", "CHANGES_REQUESTED"), review("bob", "APPROVED")]).ok());
        assert!(!review_decision(&pull, "u", &[review("ann", "APPROVED"), review("ann", "DISMISSED")]).ok());
    }
}
