//! SonarQube's Web API: the analyses of a project (`/api/project_analyses/search`), the quality gate of one
//! analysis (`/api/qualitygates/project_status?analysisId=…`) and the compute engine's queue
//! (`/api/ce/component`), which says whether an analysis is still being processed.
//!
//! The gate must judge the analysis of the exact commit: `project_status?projectKey=…` answers for whatever
//! analysis ran last (another commit, possibly red or green for reasons that have nothing to do with HEAD).

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::CliError;
use crate::providers::limits::{self, MAX_SONAR_ANSWER_BYTES, ReadError};

#[derive(Debug, thiserror::Error)]
pub enum SonarError {
    #[error("SonarQube at {url} rejected the token (401)")]
    Unauthorized { url: String, had_token: bool },
    #[error("SonarQube at {url} refused access to project {project} (403)")]
    Forbidden { url: String, project: String },
    #[error("SonarQube has no {what}: {message}")]
    NotFound { what: String, message: String },
    #[error("SonarQube answered {status} for {what}: {message}")]
    Api { status: u16, what: String, message: String },
    #[error("cannot reach SonarQube at {url}: {detail}")]
    Transport { url: String, detail: String },
    #[error("SonarQube at {url} answered {what} with an HTML page (a login page or a proxy?), not its web API")]
    NotTheApi { url: String, what: String },
}

impl From<SonarError> for CliError {
    fn from(e: SonarError) -> Self {
        let message = e.to_string();
        match e {
            SonarError::Unauthorized { had_token: false, .. } => CliError::failure(message)
                .hint("set `[check.sonarqube] token = \"${SONAR_TOKEN}\"` and export SONAR_TOKEN (a user token from My Account → Security)"),
            SonarError::Unauthorized { .. } => CliError::failure(message).hint("the token is invalid or revoked: create a new one in SonarQube (My Account → Security)"),
            SonarError::Forbidden { .. } => {
                CliError::failure(message).hint("the token's user needs the Browse permission on the project")
            }
            SonarError::NotFound { .. } => CliError::failure(message)
                .hint("check `[check.sonarqube] project_key`: the project must exist and have been analysed once"),
            SonarError::Api { .. } => CliError::failure(message),
            SonarError::Transport { .. } => CliError::failure(message).hint("check `[check.sonarqube] url` and the network"),
            SonarError::NotTheApi { .. } => CliError::failure(message)
                .hint("`[check.sonarqube] url` must be the server's base URL (the API answers under /api), reachable with the token alone"),
        }
    }
}

/// Which analyses to look at: the project's main branch, a branch, or a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scope {
    pub project_key: String,
    pub branch: Option<String>,
    pub pull_request: Option<String>,
}

impl Scope {
    /// `branch main`, `pull request 412`, `main branch`.
    pub fn describe(&self) -> String {
        match (&self.pull_request, &self.branch) {
            (Some(pr), _) => format!("pull request {pr}"),
            (None, Some(b)) => format!("branch {b}"),
            (None, None) => "main branch".to_string(),
        }
    }

    /// A branch or pull request is created by its first analysis; before that SonarQube answers 404.
    pub fn may_not_exist_yet(&self) -> bool {
        self.branch.is_some() || self.pull_request.is_some()
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        match (&self.pull_request, &self.branch) {
            (Some(pr), _) => vec![("pullRequest", pr.clone())],
            (None, Some(b)) => vec![("branch", b.clone())],
            (None, None) => Vec::new(),
        }
    }

    /// The project's page in SonarQube for this branch or pull request.
    pub fn dashboard(&self, url: &str) -> String {
        let mut link = format!("{}/dashboard?id={}", url.trim_end_matches('/'), encode(&self.project_key));
        for (k, v) in self.params() {
            link.push_str(&format!("&{k}={}", encode(&v)));
        }
        link
    }
}

/// Enough percent-encoding for a query value (branch names carry `/`, keys carry `:`).
fn encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One analysis of the project, as `/api/project_analyses/search` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub key: String,
    /// `2016-12-12T17:12:45+0100`.
    pub date: String,
    /// The commit the scanner analysed (`sonar.scm.revision`); absent when the scanner did not run in a git
    /// checkout.
    #[serde(default)]
    pub revision: Option<String>,
    #[serde(default)]
    pub project_version: Option<String>,
}

impl Analysis {
    /// The date in UTC, `2016-12-12 16:12 UTC`; SonarQube's own text when it does not parse.
    pub fn when(&self) -> String {
        chrono::DateTime::parse_from_str(&self.date, "%Y-%m-%dT%H:%M:%S%z")
            .map(|d| d.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|_| self.date.clone())
    }

    pub fn short_revision(&self) -> Option<&str> {
        self.revision.as_deref().map(|r| r.get(..12).unwrap_or(r))
    }

    fn is_of(&self, sha: &str) -> bool {
        self.revision.as_deref().is_some_and(|r| r.trim().eq_ignore_ascii_case(sha))
    }
}

/// What a search for a commit's analysis found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The newest analysis of the commit.
    pub found: Option<Analysis>,
    /// The newest analysis of any commit (for "the latest one is of …").
    pub latest: Option<Analysis>,
    /// How many analyses were looked at.
    pub searched: usize,
    /// Of those, how many carry no revision.
    pub without_revision: usize,
}

/// A quality-gate condition, e.g. coverage on new code below 80%.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    pub status: String,
    pub metric_key: String,
    #[serde(default)]
    pub comparator: Option<String>,
    #[serde(default)]
    pub error_threshold: Option<String>,
    #[serde(default)]
    pub actual_value: Option<String>,
}

impl Condition {
    /// `new_coverage is 65.2, must not be below 80`.
    pub fn describe(&self) -> String {
        let actual = self.actual_value.as_deref().unwrap_or("?");
        match (self.comparator.as_deref(), self.error_threshold.as_deref()) {
            (Some("LT"), Some(t)) => format!("{} is {actual}, must not be below {t}", self.metric_key),
            (Some("GT"), Some(t)) => format!("{} is {actual}, must not be above {t}", self.metric_key),
            (Some(c), Some(t)) => format!("{} is {actual} ({c} {t})", self.metric_key),
            _ => format!("{} is {actual}", self.metric_key),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateStatus {
    /// `OK`, `WARN`, `ERROR`, or `NONE` (no quality gate computed for the analysis).
    pub status: String,
    /// Conditions that are not OK.
    pub failing: Vec<Condition>,
}

/// The compute engine's work for the project: reports waiting or being processed, and the last one done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ComputeEngine {
    #[serde(default)]
    pub queue: Vec<CeTask>,
    #[serde(default)]
    pub current: Option<CeTask>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CeTask {
    /// `PENDING`, `IN_PROGRESS`, `SUCCESS`, `FAILED`, `CANCELED`.
    pub status: String,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub pull_request: Option<String>,
    #[serde(default)]
    pub submitted_at: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
}

impl ComputeEngine {
    /// `1 report in progress, 1 pending` / `last task FAILED: …`, for the tasks of `scope`.
    pub fn describe(&self, scope: &Scope) -> Option<String> {
        let mine = |t: &&CeTask| match (&scope.pull_request, &scope.branch) {
            (Some(pr), _) => t.pull_request.as_deref() == Some(pr.as_str()),
            // A task without a branch is the main branch's; SonarQube names the main branch too on newer servers.
            (None, Some(b)) => t.branch.as_deref().is_none_or(|tb| tb == b),
            (None, None) => t.pull_request.is_none(),
        };
        let queued: Vec<&CeTask> = self.queue.iter().filter(mine).collect();
        let running = queued.iter().filter(|t| t.status == "IN_PROGRESS").count();
        let pending = queued.len() - running;
        if running + pending > 0 {
            let mut parts = Vec::new();
            if running > 0 {
                parts.push(format!("{running} report(s) being processed"));
            }
            if pending > 0 {
                parts.push(format!("{pending} waiting"));
            }
            return Some(format!("compute engine: {}", parts.join(", ")));
        }
        let last = self.current.as_ref().filter(|t| mine(t))?;
        Some(match (&last.status[..], &last.error_message) {
            ("FAILED", Some(m)) => format!("compute engine: the last report FAILED: {m}"),
            (s, _) => format!("compute engine: nothing queued; the last report ended {s}"),
        })
    }
}

#[derive(Deserialize)]
struct SearchPage {
    #[serde(default)]
    paging: Option<Paging>,
    #[serde(default)]
    analyses: Vec<Analysis>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Paging {
    total: usize,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "projectStatus")]
    project_status: ProjectStatus,
}

#[derive(Deserialize)]
struct ProjectStatus {
    status: String,
    #[serde(default)]
    conditions: Vec<Condition>,
}

/// Analyses per page (SonarQube's default is 100, its maximum 500) and how many pages are read at most: HEAD's
/// analysis is normally among the newest, and a commit analysed more than 500 analyses ago is not "HEAD" of
/// anything that is being shipped.
const PAGE_SIZE: usize = 100;
const MAX_PAGES: usize = 5;

pub struct Sonar {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Sonar {
    pub fn new(url: &str, token: Option<&str>) -> Result<Sonar, SonarError> {
        let base = url.trim_end_matches('/').to_string();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("shipit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SonarError::Transport { url: base.clone(), detail: crate::error::chain(&e) })?;
        Ok(Sonar { client, base, token: token.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string) })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        project: &str,
    ) -> Result<T, SonarError> {
        let transport =
            |e: reqwest::Error| SonarError::Transport { url: self.base.clone(), detail: crate::error::chain(&e) };
        let mut req = self.client.get(format!("{}{path}", self.base)).query(query);
        // SonarQube takes a user token as the basic-auth user name with an empty password.
        if let Some(t) = &self.token {
            req = req.basic_auth(t, Some(""));
        }
        let resp = req.send().await.map_err(|e| match e.is_redirect() {
            true => SonarError::Transport { url: self.base.clone(), detail: format!("{what}: redirected in a loop") },
            false => transport(e),
        })?;
        let status = resp.status();
        let is_html = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("text/html"));
        let body = limits::read_capped(resp, MAX_SONAR_ANSWER_BYTES).await.map_err(|e| match e {
            ReadError::TooLarge { limit } => SonarError::Api {
                status: status.as_u16(),
                what: what.to_string(),
                message: format!("the answer is larger than {}; shipit stops reading there", limits::size(limit)),
            },
            ReadError::Transport(e) if limits::broke_off(&crate::error::chain(&e)) => SonarError::Api {
                status: status.as_u16(),
                what: what.to_string(),
                message: "the answer broke off before its end (a truncated answer)".into(),
            },
            ReadError::Transport(e) => transport(e),
        })?;
        let body = String::from_utf8_lossy(&body);
        if status.is_success() && (is_html || limits::looks_like_html(body.as_bytes())) {
            return Err(SonarError::NotTheApi { url: self.base.clone(), what: what.to_string() });
        }
        if !status.is_success() {
            // Errors come as {"errors":[{"msg":"Component key 'x' not found"}]}.
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["errors"][0]["msg"].as_str().map(str::to_string))
                .unwrap_or_else(|| body.chars().take(200).collect());
            return Err(match status.as_u16() {
                401 => SonarError::Unauthorized { url: self.base.clone(), had_token: self.token.is_some() },
                403 => SonarError::Forbidden { url: self.base.clone(), project: project.to_string() },
                404 => SonarError::NotFound { what: what.to_string(), message },
                s => SonarError::Api { status: s, what: what.to_string(), message },
            });
        }
        serde_json::from_str(&body).map_err(|e| SonarError::Api {
            status: status.as_u16(),
            what: what.to_string(),
            message: format!("unexpected response: {}", limits::not_json(body.as_bytes(), &e)),
        })
    }

    /// The newest analysis of `sha` in `scope`, newest first through at most `MAX_PAGES` pages.
    pub async fn find_analysis(&self, scope: &Scope, sha: &str) -> Result<Lookup, SonarError> {
        let what = format!("analyses of project {} ({})", scope.project_key, scope.describe());
        let mut lookup = Lookup { found: None, latest: None, searched: 0, without_revision: 0 };
        for page in 1..=MAX_PAGES {
            let mut query = vec![("project", scope.project_key.clone())];
            query.extend(scope.params());
            query.push(("p", page.to_string()));
            query.push(("ps", PAGE_SIZE.to_string()));
            let resp: SearchPage = self.get("/api/project_analyses/search", &query, &what, &scope.project_key).await?;
            let count = resp.analyses.len();
            for a in resp.analyses {
                lookup.searched += 1;
                if a.revision.is_none() {
                    lookup.without_revision += 1;
                }
                if lookup.latest.is_none() {
                    lookup.latest = Some(a.clone());
                }
                if a.is_of(sha) {
                    lookup.found = Some(a);
                    return Ok(lookup);
                }
            }
            let total = resp.paging.map_or(lookup.searched, |p| p.total);
            if count == 0 || lookup.searched >= total {
                break;
            }
        }
        Ok(lookup)
    }

    /// The quality gate as it was computed for `analysis`.
    pub async fn gate_of(&self, scope: &Scope, analysis: &Analysis) -> Result<GateStatus, SonarError> {
        let what = format!("quality gate of analysis {}", analysis.key);
        let env: Envelope = self
            .get("/api/qualitygates/project_status", &[("analysisId", analysis.key.clone())], &what, &scope.project_key)
            .await?;
        let failing = env.project_status.conditions.into_iter().filter(|c| c.status != "OK").collect();
        Ok(GateStatus { status: env.project_status.status, failing })
    }

    /// The compute engine's queue for the project (progress while waiting; needs Browse permission).
    pub async fn compute_engine(&self, scope: &Scope) -> Result<ComputeEngine, SonarError> {
        let what = format!("compute-engine tasks of {}", scope.project_key);
        self.get("/api/ce/component", &[("component", scope.project_key.clone())], &what, &scope.project_key).await
    }
}

/// Every answer shipit reads from SonarQube, parsed and described, for the fuzz targets.
#[doc(hidden)]
pub fn fuzz_answers(body: &[u8]) -> Vec<String> {
    let scope = Scope { project_key: "acme_api".into(), branch: Some("main".into()), pull_request: None };
    let mut out = Vec::new();
    if let Ok(page) = serde_json::from_slice::<SearchPage>(body) {
        out.extend(
            page.analyses.iter().map(|a| format!("{} {:?} {}", a.when(), a.short_revision(), a.is_of("be6c75b"))),
        );
    }
    if let Ok(env) = serde_json::from_slice::<Envelope>(body) {
        out.extend(env.project_status.conditions.iter().map(Condition::describe));
    }
    if let Ok(ce) = serde_json::from_slice::<ComputeEngine>(body) {
        out.extend(ce.describe(&scope));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_conditions() {
        let c = Condition {
            status: "ERROR".into(),
            metric_key: "new_coverage".into(),
            comparator: Some("LT".into()),
            error_threshold: Some("80".into()),
            actual_value: Some("65.2".into()),
        };
        assert_eq!(c.describe(), "new_coverage is 65.2, must not be below 80");
    }

    #[test]
    fn analysis_dates_and_revisions() {
        let a: Analysis = serde_json::from_str(
            r#"{"key":"A2","date":"2016-12-12T17:12:45+0100","projectVersion":"1.2.1","buildString":"1.2.1.423",
                "revision":"BE6C75B85DA526349C44E3978374C95E0B80A96D","manualNewCodePeriodBaseline":false,"events":[]}"#,
        )
        .unwrap();
        assert_eq!(a.when(), "2016-12-12 16:12 UTC");
        assert!(a.is_of("be6c75b85da526349c44e3978374c95e0b80a96d"));
        assert_eq!(a.short_revision(), Some("BE6C75B85DA5"));
        let b: Analysis = serde_json::from_str(r#"{"key":"P1","date":"yesterday","events":[]}"#).unwrap();
        assert_eq!(b.when(), "yesterday");
        assert!(!b.is_of("be6c75b85da526349c44e3978374c95e0b80a96d"));
    }

    #[test]
    fn scopes() {
        let mut s = Scope { project_key: "acme:api".into(), branch: Some("feature/x".into()), pull_request: None };
        assert_eq!(s.dashboard("https://sonar/"), "https://sonar/dashboard?id=acme:api&branch=feature%2Fx");
        assert_eq!(s.describe(), "branch feature/x");
        s.pull_request = Some("412".into());
        assert_eq!(s.params(), vec![("pullRequest", "412".to_string())]);
        assert_eq!(s.describe(), "pull request 412");
    }

    #[test]
    fn compute_engine_progress() {
        let ce: ComputeEngine = serde_json::from_str(
            r#"{"queue":[{"id":"AU1","type":"REPORT","componentKey":"acme_api","status":"IN_PROGRESS","branch":"main","submittedAt":"2026-11-30T14:00:00+0000"},
                         {"id":"AU2","type":"REPORT","componentKey":"acme_api","status":"PENDING","branch":"other"}],
                "current":{"id":"AU0","type":"REPORT","status":"FAILED","errorMessage":"boom","branch":"main"}}"#,
        )
        .unwrap();
        let main = Scope { project_key: "acme_api".into(), branch: Some("main".into()), pull_request: None };
        assert_eq!(ce.describe(&main).as_deref(), Some("compute engine: 1 report(s) being processed"));
        let idle = ComputeEngine { queue: vec![], current: ce.current.clone() };
        assert_eq!(idle.describe(&main).as_deref(), Some("compute engine: the last report FAILED: boom"));
        let pr = Scope { project_key: "acme_api".into(), branch: None, pull_request: Some("7".into()) };
        assert_eq!(idle.describe(&pr), None);
    }
}
