//! Waiting for Flux after a change is on the branch: the Kustomization (`kustomize.toolkit.fluxcd.io/v1`, read
//! through the Kubernetes API with the kubeconfig, as `flux get kustomizations` does) must report `Ready=True`
//! with `lastAppliedRevision` at the commit. `Ready=False` for an attempt at the commit (a build, apply or
//! health-check failure) is a failed deploy, with Flux's own message.

use std::time::{Duration, Instant};

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::config::KubeConfigOptions;
use serde_json::Value;

use super::{GitOpsError, Waited};
use crate::report::Reporter;

const POLL: Duration = Duration::from_secs(2);

pub struct Flux {
    client: kube::Client,
    api: Api<DynamicObject>,
    pub name: String,
    pub namespace: String,
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Done,
    Waiting(String),
    Failed(String),
}

impl Flux {
    pub async fn connect(name: &str, namespace: &str, context: Option<&str>) -> Result<Flux, GitOpsError> {
        let fail = |message: String| GitOpsError::Flux {
            kustomization: name.to_string(),
            namespace: namespace.to_string(),
            message,
        };
        let options = KubeConfigOptions { context: context.map(str::to_string), ..Default::default() };
        let config = kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| fail(format!("cannot read the kubeconfig: {}", crate::error::chain(&e))))?;
        let client = kube::Client::try_from(config).map_err(|e| fail(crate::error::chain(&e)))?;
        let gvk = GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
        let resource = ApiResource::from_gvk_with_plural(&gvk, "kustomizations");
        Ok(Flux {
            api: Api::namespaced_with(client.clone(), namespace, &resource),
            client,
            name: name.to_string(),
            namespace: namespace.to_string(),
        })
    }

    fn error(&self, message: String) -> GitOpsError {
        GitOpsError::Flux { kustomization: self.name.clone(), namespace: self.namespace.clone(), message }
    }

    /// Wait until the Kustomization has applied `revision` (a full commit id) and is Ready. `Waited::Failed`:
    /// it will not.
    pub async fn wait(
        &self,
        revision: &str,
        timeout: Duration,
        reporter: &dyn Reporter,
    ) -> Result<Waited, GitOpsError> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        let mut first = true;
        loop {
            let object = self.api.get(&self.name).await.map_err(|e| match e {
                kube::Error::Api(s) => self.error(format!("{} (HTTP {})", s.message, s.code)),
                other => self.error(crate::error::chain(&other)),
            })?;
            if std::mem::take(&mut first) {
                self.request_fetch(&object, reporter).await;
            }
            match verdict(object.data.get("status").unwrap_or(&Value::Null), revision) {
                Verdict::Done => {
                    reporter.line(&format!(
                        "Flux: Kustomization {}/{} is Ready at {}",
                        self.namespace,
                        self.name,
                        &revision[..12]
                    ));
                    return Ok(Waited::Done);
                }
                Verdict::Failed(reason) => {
                    return Ok(Waited::Failed(format!(
                        "Flux Kustomization {}/{}: {reason}",
                        self.namespace, self.name
                    )));
                }
                Verdict::Waiting(what) => {
                    if what != last {
                        reporter.status(&format!("Flux: {}/{}: {what}", self.namespace, self.name));
                        last = what;
                    }
                }
            }
            if Instant::now() >= deadline {
                return Ok(Waited::Failed(format!(
                    "Flux Kustomization {}/{} did not apply {} within {}: {last}",
                    self.namespace,
                    self.name,
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

impl Flux {
    /// Ask the Kustomization's GitRepository to fetch now, as `flux reconcile kustomization --with-source` does
    /// (the `reconcile.fluxcd.io/requestedAt` annotation); else Flux sees the commit at the source's interval.
    /// A refusal (RBAC) is a line, not a failure: the wait still works, only slower.
    async fn request_fetch(&self, kustomization: &DynamicObject, reporter: &dyn Reporter) {
        let source = kustomization.data.pointer("/spec/sourceRef").cloned().unwrap_or(Value::Null);
        let kind = source.get("kind").and_then(Value::as_str).unwrap_or_default();
        let Some(name) = source.get("name").and_then(Value::as_str).filter(|_| kind == "GitRepository") else {
            return;
        };
        let namespace = source.get("namespace").and_then(Value::as_str).unwrap_or(&self.namespace);
        let gvk = GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "GitRepository");
        let resource = ApiResource::from_gvk_with_plural(&gvk, "gitrepositories");
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &resource);
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let patch = serde_json::json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": now}}});
        match api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => reporter.line(&format!("asked Flux to fetch GitRepository {namespace}/{name} now")),
            Err(e) => reporter.line(&format!(
                "could not ask Flux to fetch GitRepository {namespace}/{name} now ({}); it fetches at its interval",
                crate::error::chain(&e)
            )),
        }
    }
}

/// Flux writes revisions as `main@sha1:<sha>` (Flux 2) or `main/<sha>` (before).
fn is_revision(value: &str, revision: &str) -> bool {
    !value.is_empty()
        && (value.ends_with(&format!(":{revision}")) || value.ends_with(&format!("/{revision}")) || value == revision)
}

fn verdict(status: &Value, revision: &str) -> Verdict {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let ready = status
        .get("conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c.get("type").and_then(Value::as_str) == Some("Ready")))
        .cloned()
        .unwrap_or(Value::Null);
    let (state, reason, message) = (text(&ready, "status"), text(&ready, "reason"), text(&ready, "message"));
    let applied = text(status, "lastAppliedRevision");
    let attempted = text(status, "lastAttemptedRevision");
    if is_revision(&applied, revision) && state == "True" {
        return Verdict::Done;
    }
    let settled = !matches!(reason.as_str(), "Progressing" | "DependencyNotReady" | "ProgressingWithRetry" | "");
    if is_revision(&attempted, revision) && state == "False" && settled {
        return Verdict::Failed(format!("Ready=False ({reason}): {message}"));
    }
    let applied = if applied.is_empty() { "nothing yet".to_string() } else { applied };
    Verdict::Waiting(format!(
        "Ready={} ({}){}; applied {applied}",
        if state.is_empty() { "Unknown" } else { &state },
        if reason.is_empty() { "no reason" } else { &reason },
        if message.is_empty() { String::new() } else { format!(": {message}") }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REV: &str = "5f0c2e81d9a4b7c6e5f4a3b2c1d0e9f8a7b6c5d4";

    #[test]
    fn ready_at_the_commit_is_done_a_failed_attempt_at_it_is_not() {
        let done = json!({"lastAppliedRevision": format!("main@sha1:{REV}"), "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded", "message": format!("Applied revision: main@sha1:{REV}")}]});
        assert_eq!(verdict(&done, REV), Verdict::Done);
        let old = json!({"lastAppliedRevision": "main/0123", "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded"}]});
        assert!(matches!(verdict(&old, REV), Verdict::Waiting(w) if w.contains("applied main/0123")));
        let failed = json!({"lastAppliedRevision": "main@sha1:0123", "lastAttemptedRevision": format!("main@sha1:{REV}"),
            "conditions": [{"type": "Ready", "status": "False", "reason": "HealthCheckFailed", "message": "timeout waiting for: [Deployment/prod/api status: 'Failed']"}]});
        assert_eq!(
            verdict(&failed, REV),
            Verdict::Failed(
                "Ready=False (HealthCheckFailed): timeout waiting for: [Deployment/prod/api status: 'Failed']".into()
            )
        );
        let progressing = json!({"lastAttemptedRevision": format!("main@sha1:{REV}"), "conditions": [{"type": "Ready", "status": "Unknown", "reason": "Progressing", "message": "Reconciliation in progress"}]});
        assert!(matches!(verdict(&progressing, REV), Verdict::Waiting(_)));
        assert!(is_revision(&format!("main/{REV}"), REV));
    }
}
