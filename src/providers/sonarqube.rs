//! SonarQube's quality gate through its Web API (`/api/qualitygates/project_status`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::CliError;

#[derive(Debug, thiserror::Error)]
pub enum SonarError {
    #[error("SonarQube at {url} rejected the token (401)")]
    Unauthorized { url: String, had_token: bool },
    #[error("SonarQube at {url} refused access to project {project} (403)")]
    Forbidden { url: String, project: String },
    #[error("SonarQube has no {what}: {message}")]
    NotFound { what: String, message: String },
    #[error("SonarQube answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("cannot reach SonarQube at {url}: {detail}")]
    Transport { url: String, detail: String },
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
                .hint("check `[check.sonarqube] project_key`, and that an analysis of this branch has run")
                .hint("SonarQube Community Edition analyses only the main branch"),
            SonarError::Api { .. } => CliError::failure(message),
            SonarError::Transport { .. } => CliError::failure(message).hint("check `[check.sonarqube] url` and the network"),
        }
    }
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
    /// `OK`, `WARN`, `ERROR`, or `NONE` (no quality gate / no analysis).
    pub status: String,
    /// Conditions that are not OK.
    pub failing: Vec<Condition>,
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

pub async fn quality_gate(
    url: &str,
    project_key: &str,
    branch: Option<&str>,
    token: Option<&str>,
) -> Result<GateStatus, SonarError> {
    let base = url.trim_end_matches('/');
    let transport =
        |e: reqwest::Error| SonarError::Transport { url: base.to_string(), detail: crate::error::chain(&e) };
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("shipit/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(transport)?;
    let mut query = vec![("projectKey", project_key)];
    if let Some(b) = branch {
        query.push(("branch", b));
    }
    let mut req = client.get(format!("{base}/api/qualitygates/project_status")).query(&query);
    // SonarQube takes a user token as the basic-auth user name with an empty password.
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        req = req.basic_auth(t, Some(""));
    }
    let resp = req.send().await.map_err(transport)?;
    let status = resp.status();
    let body = resp.text().await.map_err(transport)?;
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["errors"][0]["msg"].as_str().map(str::to_string))
            .unwrap_or_else(|| body.chars().take(200).collect());
        return Err(match status.as_u16() {
            401 => SonarError::Unauthorized { url: base.to_string(), had_token: token.is_some_and(|t| !t.is_empty()) },
            403 => SonarError::Forbidden { url: base.to_string(), project: project_key.to_string() },
            404 => SonarError::NotFound {
                what: match branch {
                    Some(b) => format!("analysis of project {project_key}, branch {b}"),
                    None => format!("analysis of project {project_key}"),
                },
                message,
            },
            s => SonarError::Api { status: s, message },
        });
    }
    let env: Envelope = serde_json::from_str(&body)
        .map_err(|e| SonarError::Api { status: status.as_u16(), message: format!("unexpected response: {e}") })?;
    let failing = env.project_status.conditions.into_iter().filter(|c| c.status != "OK").collect();
    Ok(GateStatus { status: env.project_status.status, failing })
}

#[cfg(test)]
mod tests {
    use super::Condition;

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
}
