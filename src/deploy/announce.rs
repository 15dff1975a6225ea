//! Telling others about a change: GitHub Deployments (`[github] deployments = true`: the repository's
//! Environments page shows what runs where) and `[[notify]]` webhooks. Both are best effort — a GitHub or
//! webhook failure is a warning, never a failed deploy — and bounded in time.

use std::time::Duration;

use serde_json::json;

use super::engine::DeployReport;
use crate::config::{Config, Environment, Loaded, Notify, NotifyEvent};
use crate::providers::github::{self, GitHub};
use crate::providers::webhook;
use crate::release::short_digest;
use crate::rollout::Outcome;
use crate::ui::Ui;

const GITHUB_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Announcer {
    app: String,
    notify: Vec<Notify>,
    /// Set when `[github] deployments = true` and a repository and token are known.
    deployments: Option<GitHub>,
    /// Why Deployments are configured but cannot be made (said once, as a warning).
    deployments_unavailable: Option<String>,
}

/// One change as the announcements describe it.
pub struct Event<'a> {
    pub env_name: &'a str,
    pub env: &'a Environment,
    /// `deploy`, `rollback`, `promote`
    pub change: &'a str,
    pub image: &'a str,
    pub digest: Option<&'a str>,
    pub commit: Option<&'a str>,
    pub actor: &'a str,
}

impl Announcer {
    pub fn new(loaded: &Loaded) -> Announcer {
        let config: &Config = &loaded.config;
        let (deployments, deployments_unavailable) = if !config.github.deployments {
            (None, None)
        } else {
            match github::repository_of(config, &loaded.root) {
                None => (None, Some("[github] deployments = true, but no GitHub repository is known (set `[github] repository = \"OWNER/NAME\"`)".to_string())),
                Some((owner, repo, endpoints)) => match github::token() {
                    None => (None, Some("[github] deployments = true, but there is no GitHub token (set GITHUB_TOKEN)".to_string())),
                    Some(token) => match GitHub::new(&endpoints, &owner, &repo, Some(token)) {
                        Ok(gh) => (Some(gh), None),
                        Err(e) => (None, Some(format!("GitHub Deployments: {e}"))),
                    },
                },
            }
        };
        Announcer {
            app: config.app.name.to_string(),
            notify: config.notify.clone(),
            deployments,
            deployments_unavailable,
        }
    }

    /// Someone has to approve (a prompt is open, or CI stopped for want of `--yes`).
    pub async fn approval_pending(&self, ui: &Ui, ev: &Event<'_>) {
        self.notify_all(ui, NotifyEvent::ApprovalPending, ev, "waiting for approval", None).await;
    }

    /// The change is about to be applied: a GitHub Deployment in `in_progress`. Returns its id.
    pub async fn started(&self, ui: &Ui, ev: &Event<'_>) -> Option<u64> {
        if let Some(why) = &self.deployments_unavailable {
            ui.warn(why);
        }
        let gh = self.deployments.as_ref()?;
        let Some(sha) = ev.commit.filter(|c| *c != "unknown") else {
            ui.warn(format!("no GitHub Deployment for {}: the commit of {} is not known", ev.env_name, ev.image));
            return None;
        };
        let payload = json!({ "app": self.app, "image": ev.image, "digest": ev.digest, "change": ev.change });
        let description =
            format!("shipit {} of {}", ev.change, ev.digest.map(short_digest).unwrap_or_else(|| ev.image.to_string()));
        let made = tokio::time::timeout(GITHUB_TIMEOUT, gh.create_deployment(sha, ev.env_name, &description, payload));
        let id = match made.await {
            Ok(Ok(id)) => id,
            Ok(Err(e)) => {
                ui.warn(format!("could not create the GitHub Deployment for {}: {e}", ev.env_name));
                return None;
            }
            Err(_) => {
                ui.warn(format!("GitHub did not answer in time creating the Deployment for {}", ev.env_name));
                return None;
            }
        };
        self.status(ui, gh, id, "in_progress", &description, ev).await;
        Some(id)
    }

    /// How the change ended: the Deployment's final status, and the notification.
    pub async fn finished(
        &self,
        ui: &Ui,
        ev: &Event<'_>,
        deployment: Option<u64>,
        result: &Result<DeployReport, String>,
    ) {
        let (event, state, line) = match result {
            Ok(r) => match &r.outcome {
                Outcome::Completed { revision } if ev.change == "rollback" => {
                    (NotifyEvent::RolledBack, "success", format!("rolled back: revision {revision} is live"))
                }
                Outcome::Completed { revision } => {
                    (NotifyEvent::Deployed, "success", format!("revision {revision} is live"))
                }
                Outcome::RolledBack { revision, restored, .. } => (
                    NotifyEvent::RolledBack,
                    "failure",
                    format!("revision {revision} failed; revision {restored} runs again"),
                ),
                Outcome::Failed { revision, .. } => {
                    (NotifyEvent::Failed, "failure", format!("revision {revision} failed"))
                }
                Outcome::Interrupted { revision, .. } => {
                    (NotifyEvent::Failed, "error", format!("interrupted during revision {revision}"))
                }
                // Nothing runs yet: the change waits for its pull request to be merged.
                Outcome::Proposed { url, .. } => {
                    if let (Some(gh), Some(id)) = (&self.deployments, deployment) {
                        self.status(ui, gh, id, "pending", &format!("proposed: {url}"), ev).await;
                    }
                    return;
                }
            },
            Err(message) => (NotifyEvent::Failed, "error", message.clone()),
        };
        if let (Some(gh), Some(id)) = (&self.deployments, deployment) {
            self.status(ui, gh, id, state, &line, ev).await;
        }
        let result_word = match result {
            Ok(r) => serde_json::to_value(&r.outcome).ok().and_then(|v| v["result"].as_str().map(str::to_string)),
            Err(_) => Some("error".to_string()),
        };
        self.notify_all(ui, event, ev, &line, result_word.as_deref()).await;
    }

    async fn status(&self, ui: &Ui, gh: &GitHub, id: u64, state: &str, description: &str, ev: &Event<'_>) {
        let (_, run) = crate::evidence::ci_identity();
        let url = ev.env.url.as_deref();
        // GitHub cuts descriptions at 140 characters.
        let description: String = description.chars().take(140).collect();
        let sent =
            tokio::time::timeout(GITHUB_TIMEOUT, gh.deployment_status(id, state, &description, url, run.as_deref()));
        match sent.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => ui.warn(format!("could not set the GitHub Deployment of {} to {state}: {e}", ev.env_name)),
            Err(_) => {
                ui.warn(format!("GitHub did not answer in time setting the Deployment of {} to {state}", ev.env_name))
            }
        }
    }

    async fn notify_all(&self, ui: &Ui, event: NotifyEvent, ev: &Event<'_>, line: &str, result: Option<&str>) {
        let (_, run) = crate::evidence::ci_identity();
        for n in &self.notify {
            if !n.events.contains(&event)
                || n.environments.as_ref().is_some_and(|envs| !envs.iter().any(|e| e.as_str() == ev.env_name))
            {
                continue;
            }
            let (url, body) = match (&n.webhook, &n.slack) {
                (Some(url), _) => (url, webhook_body(&self.app, event, ev, line, result, run.as_deref())),
                (None, Some(url)) => (url, slack_body(&self.app, event, ev, line, run.as_deref())),
                (None, None) => continue,
            };
            if let Err(e) = webhook::post(url, &body).await {
                ui.warn(format!("notification `{}` for {} not sent: {e}", event.as_str(), ev.env_name));
            }
        }
    }
}

/// The generic webhook's JSON body (documented in docs/approval.md#notifications).
pub fn webhook_body(
    app: &str,
    event: NotifyEvent,
    ev: &Event<'_>,
    message: &str,
    result: Option<&str>,
    run: Option<&str>,
) -> serde_json::Value {
    json!({
        "event": event.as_str(),
        "app": app,
        "environment": ev.env_name,
        "change": ev.change,
        "image": ev.image,
        "digest": ev.digest,
        "commit": ev.commit.filter(|c| *c != "unknown"),
        "actor": ev.actor,
        "result": result,
        "message": message,
        "url": ev.env.url.as_deref(),
        "run_url": run,
    })
}

/// Slack's incoming-webhook message: `text` (the fallback and the notification) and one section block.
pub fn slack_body(
    app: &str,
    event: NotifyEvent,
    ev: &Event<'_>,
    message: &str,
    run: Option<&str>,
) -> serde_json::Value {
    let icon = match event {
        NotifyEvent::ApprovalPending => ":hourglass:",
        NotifyEvent::Deployed => ":white_check_mark:",
        NotifyEvent::Failed => ":x:",
        NotifyEvent::RolledBack => ":leftwards_arrow_with_hook:",
    };
    let what = ev.digest.map(short_digest).unwrap_or_else(|| ev.image.to_string());
    let mut text = format!("{icon} *{app}* {} to *{}*: {message} (`{what}`, by {})", ev.change, ev.env_name, ev.actor);
    if let Some(url) = ev.env.url.as_deref() {
        text.push_str(&format!(" <{url}|open>"));
    }
    if let Some(run) = run {
        text.push_str(&format!(" <{run}|run>"));
    }
    json!({ "text": text, "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": text } }] })
}
