//! Waiting for Argo CD after a change is on the branch: the Application (Argo CD's HTTP API, a bearer token)
//! must report `sync.status = Synced` at that commit and `health.status = Healthy`. Failure truth: a sync
//! operation for the commit that failed, a `Degraded` application, or `OutOfSync` after Argo CD finished
//! syncing the commit is a failed deploy, with Argo CD's own message; so is no answer within the rollout's
//! `timeout`.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{GitOpsError, Waited};
use crate::report::Reporter;

/// Between two looks at the Application. Argo CD's own UI refreshes every few seconds.
const POLL: Duration = Duration::from_secs(2);
/// The largest Application answer read.
const MAX_ANSWER: usize = 32 << 20;

pub struct ArgoCd {
    client: reqwest::Client,
    base: String,
    pub application: String,
    token: String,
}

/// What an Application says, the parts shipit reads (Argo CD's `v1alpha1.Application`).
#[derive(Debug, Default, Deserialize)]
struct Application {
    #[serde(default)]
    status: Status,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    sync: Sync,
    #[serde(default)]
    health: Health,
    operation_state: Option<OperationState>,
    #[serde(default)]
    conditions: Vec<Condition>,
    #[serde(default)]
    resources: Vec<Resource>,
}

#[derive(Debug, Default, Deserialize)]
struct Sync {
    #[serde(default)]
    status: String,
    #[serde(default)]
    revision: String,
}

#[derive(Debug, Default, Deserialize)]
struct Health {
    #[serde(default)]
    status: String,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperationState {
    #[serde(default)]
    phase: String,
    message: Option<String>,
    sync_result: Option<SyncResult>,
    operation: Option<Operation>,
}

#[derive(Debug, Deserialize)]
struct SyncResult {
    #[serde(default)]
    revision: String,
}

#[derive(Debug, Deserialize)]
struct Operation {
    sync: Option<SyncResult>,
}

#[derive(Debug, Deserialize)]
struct Condition {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct Resource {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    health: Option<Health>,
}

/// Where the Application stands with respect to one commit.
#[derive(Debug, PartialEq)]
enum Verdict {
    Done,
    Waiting(String),
    Failed(String),
}

impl ArgoCd {
    pub fn new(url: &str, application: &str, token_env: &str) -> Result<ArgoCd, GitOpsError> {
        let base = url.trim_end_matches('/').to_string();
        let token =
            std::env::var(token_env).ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).ok_or_else(|| {
                GitOpsError::ArgoCd {
                    url: base.clone(),
                    application: application.to_string(),
                    message: format!("no token: {token_env} is not set"),
                    token_env: Some(token_env.to_string()),
                }
            })?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("shipit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GitOpsError::ArgoCd {
                url: base.clone(),
                application: application.to_string(),
                message: crate::error::chain(&e),
                token_env: None,
            })?;
        Ok(ArgoCd { client, base, application: application.to_string(), token })
    }

    fn error(&self, message: String) -> GitOpsError {
        GitOpsError::ArgoCd { url: self.base.clone(), application: self.application.clone(), message, token_env: None }
    }

    async fn get(&self, refresh: bool) -> Result<Application, GitOpsError> {
        let mut url = format!("{}/api/v1/applications/{}", self.base, self.application);
        if refresh {
            // Ask Argo CD to look at the repository now rather than at its next poll (3 minutes by default).
            url.push_str("?refresh=normal");
        }
        let resp = self
            .client
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| self.error(format!("cannot reach it: {}", crate::error::chain(&e))))?;
        let status = resp.status();
        let body = self.read_capped(resp).await?;
        if !status.is_success() {
            let said = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
                .unwrap_or_else(|| body.chars().take(200).collect());
            return Err(self.error(format!("HTTP {}: {said}", status.as_u16())));
        }
        serde_json::from_str(&body).map_err(|e| self.error(format!("unexpected answer: {e}")))
    }

    /// The answer, up to `MAX_ANSWER`: an Application with thousands of resources is a few MiB; a server that
    /// sends more is not answering the question.
    async fn read_capped(&self, mut resp: reqwest::Response) -> Result<String, GitOpsError> {
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.error(crate::error::chain(&e)))? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(self.error(format!("its answer is larger than {} MiB", MAX_ANSWER >> 20)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Wait until the Application runs `revision` (a full commit id), healthy. `Waited::Failed`: it will not.
    pub async fn wait(
        &self,
        revision: &str,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Result<Waited, GitOpsError> {
        let deadline = Instant::now() + timeout;
        let mut first = true;
        let mut last = String::new();
        loop {
            let app = self.get(first).await?;
            first = false;
            match verdict(&app, revision) {
                Verdict::Done => {
                    reporter.line(&format!(
                        "Argo CD: {} is Synced at {} and Healthy",
                        self.application,
                        &revision[..12]
                    ));
                    return Ok(Waited::Done);
                }
                Verdict::Failed(reason) => {
                    return Ok(Waited::Failed(format!("Argo CD application {}: {reason}", self.application)));
                }
                Verdict::Waiting(what) => {
                    if what != last {
                        reporter.status(&format!("Argo CD: {}: {what}", self.application));
                        last = what;
                    }
                }
            }
            if Instant::now() >= deadline {
                return Ok(Waited::Failed(format!(
                    "Argo CD application {} did not become Synced and Healthy at {} within {}: {last}",
                    self.application,
                    &revision[..12],
                    humantime::format_duration(timeout)
                )));
            }
            if crate::interrupt::unless_interrupted(tokio::time::sleep(POLL)).await.is_none() {
                return Ok(Waited::Interrupted(last));
            }
        }
    }
}

fn verdict(app: &Application, revision: &str) -> Verdict {
    let s = &app.status;
    // The revision the last sync operation was for: its result, else what it was asked to sync (running).
    let op_revision = s.operation_state.as_ref().and_then(|o| {
        let asked = || o.operation.as_ref().and_then(|op| op.sync.as_ref()).map(|r| r.revision.as_str());
        o.sync_result.as_ref().map(|r| r.revision.as_str()).or_else(asked)
    });
    let op_ours = op_revision == Some(revision);
    if let Some(op) = s.operation_state.as_ref().filter(|_| op_ours)
        && matches!(op.phase.as_str(), "Failed" | "Error")
    {
        return Verdict::Failed(format!(
            "the sync of {} {}: {}",
            &revision[..12],
            op.phase.to_lowercase(),
            op.message.clone().unwrap_or_default()
        ));
    }
    if s.sync.revision != revision {
        let seen = if s.sync.revision.is_empty() {
            "nothing yet".to_string()
        } else {
            s.sync.revision.chars().take(12).collect()
        };
        return Verdict::Waiting(format!("waiting for it to see {} (it compares {seen})", &revision[..12]));
    }
    let health = s.health.status.as_str();
    let sync = s.sync.status.as_str();
    if health == "Degraded" {
        let mut why =
            vec![format!("Degraded{}", s.health.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())];
        for r in &s.resources {
            if let Some(h) = r.health.as_ref().filter(|h| h.status == "Degraded") {
                why.push(format!("{} {}: {}", r.kind, r.name, h.message.as_deref().unwrap_or("Degraded")));
            }
        }
        return Verdict::Failed(why.join("; "));
    }
    let finished = s.operation_state.as_ref().is_some_and(|o| op_ours && o.phase == "Succeeded");
    if sync == "OutOfSync" && finished {
        let conditions: Vec<String> = s.conditions.iter().map(|c| format!("{}: {}", c.kind, c.message)).collect();
        return Verdict::Failed(format!(
            "OutOfSync after the sync of {} succeeded{}",
            &revision[..12],
            if conditions.is_empty() { String::new() } else { format!(" ({})", conditions.join("; ")) }
        ));
    }
    if sync == "Synced" && health == "Healthy" {
        return Verdict::Done;
    }
    let message = s.health.message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default();
    Verdict::Waiting(format!("sync {}, health {}{message}", or_unknown(sync), or_unknown(health)))
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "Unknown" } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REV: &str = "5f0c2e81d9a4b7c6e5f4a3b2c1d0e9f8a7b6c5d4";

    fn app(json: serde_json::Value) -> Application {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn synced_and_healthy_at_the_commit_is_done_and_anything_else_is_not() {
        let a = app(
            serde_json::json!({"status": {"sync": {"status": "Synced", "revision": REV}, "health": {"status": "Healthy"}}}),
        );
        assert_eq!(verdict(&a, REV), Verdict::Done);
        let a = app(
            serde_json::json!({"status": {"sync": {"status": "Synced", "revision": "0000"}, "health": {"status": "Healthy"}}}),
        );
        assert!(matches!(verdict(&a, REV), Verdict::Waiting(w) if w.contains("waiting for it to see 5f0c2e81d9a4")));
        let a = app(
            serde_json::json!({"status": {"sync": {"status": "Synced", "revision": REV}, "health": {"status": "Progressing", "message": "Waiting for rollout to finish: 1 of 3 updated replicas are available..."}}}),
        );
        assert!(
            matches!(verdict(&a, REV), Verdict::Waiting(w) if w.contains("health Progressing (Waiting for rollout"))
        );
    }

    #[test]
    fn degraded_failed_sync_and_out_of_sync_after_the_sync_fail() {
        let a = app(serde_json::json!({"status": {
            "sync": {"status": "Synced", "revision": REV},
            "health": {"status": "Degraded"},
            "resources": [{"kind": "Deployment", "name": "api", "health": {"status": "Degraded", "message": "Deployment \"api\" exceeded its progress deadline"}}]
        }}));
        assert_eq!(
            verdict(&a, REV),
            Verdict::Failed("Degraded; Deployment api: Deployment \"api\" exceeded its progress deadline".into())
        );
        let a = app(serde_json::json!({"status": {
            "sync": {"status": "OutOfSync", "revision": "0000"},
            "operationState": {"phase": "Failed", "message": "one or more objects failed to apply", "syncResult": {"revision": REV}}
        }}));
        assert!(
            matches!(verdict(&a, REV), Verdict::Failed(f) if f.contains("failed: one or more objects failed to apply"))
        );
        let a = app(serde_json::json!({"status": {
            "sync": {"status": "OutOfSync", "revision": REV}, "health": {"status": "Healthy"},
            "operationState": {"phase": "Succeeded", "syncResult": {"revision": REV}},
            "conditions": [{"type": "SyncError", "message": "admission webhook denied the request"}]
        }}));
        assert!(matches!(verdict(&a, REV), Verdict::Failed(f) if f.contains("SyncError: admission webhook denied")));
    }
}
