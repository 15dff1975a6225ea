//! The rollout watcher. Three watches (the Deployment, its ReplicaSets, their Pods) feed one local view, and
//! every event re-assesses it with kubectl's `rollout status` rules, so completion is seen the moment the
//! controller writes it (no polling interval) and a failing pod is reported the moment its kubelet says why.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::Resource;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use super::error::KubeError;
use super::history::{owned_by, revision_of, rs_revision, selector_string};
use super::{KubeTarget, in_progress};
use crate::report::Reporter;

/// Waiting reasons that will not fix themselves: kubelet keeps retrying, but the rollout cannot succeed until
/// someone changes the image, the registry credentials, the config or the code.
const FATAL_WAITING: [&str; 6] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
];

pub enum Finished {
    Complete { revision: String, replicaset: Option<RolloutReplicaSet> },
    Failed { revision: String, reason: String, replicaset: Option<RolloutReplicaSet> },
}

/// The ReplicaSet a rollout brought up (or tried to), as the watch last saw it: where its outcome is recorded.
pub struct RolloutReplicaSet {
    pub name: String,
    /// It carries shipit's failed mark from an earlier rollout.
    pub marked_failed: bool,
}

impl RolloutReplicaSet {
    /// The new ReplicaSet, once the controller has acted on `generation` (before that, the Deployment's
    /// revision still names the old one, which must not take the blame).
    pub(crate) fn of(view: &RolloutView, generation: i64) -> Option<RolloutReplicaSet> {
        let rs = view.new_replicaset().filter(|_| assessable(view, generation))?;
        Some(RolloutReplicaSet {
            name: rs.metadata.name.clone()?,
            marked_failed: super::history::marked_failed(&rs.metadata),
        })
    }
}

/// What the watches have shown so far.
#[derive(Default)]
pub struct RolloutView {
    pub deployment: Option<Deployment>,
    pub replicasets: BTreeMap<String, ReplicaSet>,
    pub pods: BTreeMap<String, Pod>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Assessment {
    /// The controller has not acted on our change yet.
    Waiting(String),
    Progress {
        revision: String,
        line: String,
    },
    Complete {
        revision: String,
    },
    Failed {
        revision: String,
        reason: String,
    },
}

impl RolloutView {
    /// The ReplicaSet the Deployment's current revision points at.
    pub fn new_replicaset(&self) -> Option<&ReplicaSet> {
        let dep = self.deployment.as_ref()?;
        let uid = dep.metadata.uid.as_deref().unwrap_or_default();
        let revision = revision_of(dep)?;
        self.replicasets.values().find(|rs| owned_by(&rs.metadata, uid) && rs_revision(rs) == Some(revision.as_str()))
    }

    fn pods_of<'a>(&'a self, rs: &ReplicaSet) -> impl Iterator<Item = &'a Pod> + 'a {
        let uid = rs.metadata.uid.clone().unwrap_or_default();
        self.pods.values().filter(move |p| owned_by(&p.metadata, &uid))
    }
}

/// Judge the rollout of `generation` from what has been seen.
pub fn assess(view: &RolloutView, generation: i64) -> Assessment {
    let Some(dep) = view.deployment.as_ref() else {
        return Assessment::Waiting("waiting for the Deployment".into());
    };
    let status = dep.status.clone().unwrap_or_default();
    if status.observed_generation.unwrap_or(0) < generation {
        return Assessment::Waiting(format!(
            "waiting for the deployment controller to pick up generation {generation}"
        ));
    }
    let revision = revision_of(dep).unwrap_or_default();
    let new_rs = view.new_replicaset();
    let new_pods: Vec<&Pod> = new_rs.map(|rs| view.pods_of(rs).collect()).unwrap_or_default();

    for c in status.conditions.iter().flatten() {
        if super::history::is_deadline_exceeded(c) {
            let mut reason = format!(
                "ProgressDeadlineExceeded: {}",
                c.message.as_deref().unwrap_or("the rollout stopped progressing")
            );
            if let Some(hint) = new_pods.iter().find_map(|p| pod_not_ready(p)) {
                reason.push_str(&format!("\n{hint}"));
            }
            return Assessment::Failed { revision, reason };
        }
        if c.type_.as_deref() == Some("ReplicaFailure") && c.status.as_deref() == Some("True") {
            let why = c.reason.as_deref().unwrap_or("ReplicaFailure");
            let message = c.message.as_deref().unwrap_or("pods could not be created");
            return Assessment::Failed { revision, reason: format!("{why}: {message}") };
        }
    }
    if let Some(reason) = new_pods.iter().find_map(|p| pod_failure(p)) {
        return Assessment::Failed { revision, reason };
    }
    if in_progress(dep).is_none() {
        return Assessment::Complete { revision };
    }
    let desired = dep.spec.replicas.unwrap_or(1);
    let rs_status = new_rs.and_then(|rs| rs.status.clone()).unwrap_or_default();
    let mut line = format!(
        "revision {revision}: {}/{desired} updated, {}/{desired} ready, {}/{desired} available",
        status.updated_replicas.unwrap_or(0),
        rs_status.ready_replicas.unwrap_or(0),
        rs_status.available_replicas.unwrap_or(0),
    );
    // i64: the counts are the API server's, and nothing stops one from being i32::MIN.
    let old = i64::from(status.replicas.unwrap_or(0)) - i64::from(status.updated_replicas.unwrap_or(0));
    if old > 0 {
        line.push_str(&format!(", {old} old pending termination"));
    }
    Assessment::Progress { revision, line }
}

/// A container stuck for a reason that will not go away: pod, container, reason, message, restarts.
fn pod_failure(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let init = status.init_container_statuses.iter().flatten().map(|c| (c, true));
    let regular = status.container_statuses.iter().flatten().map(|c| (c, false));
    init.chain(regular).find_map(|(c, is_init)| {
        let waiting = c.state.as_ref()?.waiting.as_ref()?;
        let reason = waiting.reason.as_deref()?;
        FATAL_WAITING.contains(&reason).then(|| describe_container(pod, c, is_init, reason, waiting.message.as_deref()))
    })
}

fn describe_container(pod: &Pod, c: &ContainerStatus, init: bool, reason: &str, message: Option<&str>) -> String {
    let pod_name = pod.metadata.name.as_deref().unwrap_or("?");
    let kind = if init { "init container" } else { "container" };
    let mut out = format!("pod {pod_name} {kind} {}: {reason}", c.name);
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        out.push_str(&format!(": {m}"));
    }
    if c.restart_count > 0 || reason == "CrashLoopBackOff" {
        out.push_str(&format!(" (restarts: {}", c.restart_count));
        if let Some(t) = c.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
            out.push_str(&format!(", last exit code {}", t.exit_code));
            if let Some(r) = &t.reason {
                out.push_str(&format!(" {r}"));
            }
        }
        out.push(')');
    }
    out
}

/// Why a pod is not ready yet, for the message of a rollout that timed out or exceeded its deadline.
fn pod_not_ready(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let pod_name = pod.metadata.name.as_deref().unwrap_or("?");
    if let Some(c) = status.conditions.iter().flatten().find(|c| c.type_ == "PodScheduled" && c.status == "False") {
        return Some(format!(
            "pod {pod_name} is not scheduled: {}",
            c.message.as_deref().or(c.reason.as_deref()).unwrap_or("unschedulable")
        ));
    }
    let init = status.init_container_statuses.iter().flatten().map(|c| (c, true));
    let regular = status.container_statuses.iter().flatten().map(|c| (c, false));
    init.chain(regular).find_map(|(c, is_init)| {
        if c.ready {
            return None;
        }
        let state = c.state.as_ref()?;
        if let Some(w) = &state.waiting {
            let reason = format!("not ready, waiting ({})", w.reason.as_deref().unwrap_or("no reason given"));
            return Some(describe_container(pod, c, is_init, &reason, w.message.as_deref()));
        }
        state
            .running
            .as_ref()
            .map(|_| describe_container(pod, c, is_init, "running but not ready (readiness probe?)", None))
    })
}

/// Objects of one kind as the watch has shown them, honouring the watcher's relist protocol.
struct Cache<K> {
    items: BTreeMap<String, K>,
    relisting: Option<BTreeMap<String, K>>,
}

impl<K: Resource> Cache<K> {
    fn new() -> Self {
        Cache { items: BTreeMap::new(), relisting: None }
    }

    fn apply(&mut self, event: Event<K>) {
        let key = |k: &K| k.meta().name.clone().unwrap_or_default();
        match event {
            Event::Init => self.relisting = Some(BTreeMap::new()),
            Event::InitApply(k) => {
                self.relisting.get_or_insert_with(BTreeMap::new).insert(key(&k), k);
            }
            Event::InitDone => self.items = self.relisting.take().unwrap_or_default(),
            Event::Apply(k) => {
                self.items.insert(key(&k), k);
            }
            Event::Delete(k) => {
                self.items.remove(&key(&k));
            }
        }
    }
}

enum Update {
    Deployment(Event<Deployment>),
    ReplicaSet(Event<ReplicaSet>),
    Pod(Event<Pod>),
    Error(&'static str, watcher::Error),
}

fn events<K>(
    api: kube::Api<K>,
    config: watcher::Config,
    resource: &'static str,
    wrap: fn(Event<K>) -> Update,
) -> std::pin::Pin<Box<dyn Stream<Item = Update> + Send>>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    watcher::watcher(api, config)
        .default_backoff()
        .map(move |r| match r {
            Ok(ev) => wrap(ev),
            Err(e) => Update::Error(resource, e),
        })
        .boxed()
}

/// How long the server may hold one watch request open (`timeoutSeconds`): below the client's read timeout, so a
/// quiet watch is ended by the server and resumed, never cut by the client.
pub(super) const WATCH_SECONDS: u32 = 45;

/// Watch until the rollout of `generation` completes, fails, or `timeout` passes.
pub(super) async fn watch_rollout(
    target: &KubeTarget,
    patched: &Deployment,
    generation: i64,
    timeout: Duration,
    reporter: &dyn Reporter,
) -> Result<Finished, KubeError> {
    let base = watcher::Config::default().timeout(WATCH_SECONDS);
    let by_name = base.clone().fields(&format!("metadata.name={}", target.deployment));
    let by_labels = match selector_string(patched) {
        Some(s) => base.labels(&s),
        None => base,
    };
    let mut stream = futures_util::stream::select_all([
        events(target.deployments(), by_name, "deployments", Update::Deployment),
        events(target.replicasets(), by_labels.clone(), "replicasets", Update::ReplicaSet),
        events(target.pods(), by_labels, "pods", Update::Pod),
    ]);

    let mut deployments = Cache::new();
    deployments.items.insert(target.deployment.clone(), patched.clone());
    let mut replicasets = Cache::new();
    let mut pods = Cache::new();
    let mut view = RolloutView::default();
    let mut shown = String::new();
    let mut announced_rs: Option<String> = None;
    let mut last_error: Option<String> = None;
    let deadline = tokio::time::Instant::now() + timeout;

    loop {
        let update = tokio::select! {
            u = stream.next() => u,
            _ = tokio::time::sleep_until(deadline) => {
                let revision = view.deployment.as_ref().and_then(revision_of).unwrap_or_default();
                let mut reason = format!("the rollout did not finish within {}", humantime::format_duration(timeout));
                if !shown.is_empty() {
                    reason.push_str(&format!(" ({shown})"));
                }
                if let Some(hint) = view.new_replicaset().and_then(|rs| view.pods_of(rs).find_map(pod_not_ready)) {
                    reason.push_str(&format!("\n{hint}"));
                }
                if let Some(e) = last_error {
                    reason.push_str(&format!("\nlast watch error: {e}"));
                }
                return Ok(Finished::Failed { revision, reason, replicaset: RolloutReplicaSet::of(&view, generation) });
            }
        };
        match update {
            None => {
                // select_all ends only when every watch ended, which the watcher never does on its own.
                return Err(KubeError::Api {
                    action: "watch the rollout".into(),
                    code: 0,
                    message: "the watch streams ended unexpectedly".into(),
                });
            }
            Some(Update::Error(resource, e)) => {
                if let Some(denied) = forbidden(&e) {
                    return Err(KubeError::Forbidden {
                        verb: "watch".into(),
                        resource: resource.into(),
                        namespace: target.namespace.clone(),
                        message: denied,
                    });
                }
                let text = crate::error::chain(&e);
                reporter.detail(&format!("watch {resource}: {text} (retrying)"));
                last_error = Some(text);
                continue;
            }
            Some(Update::Deployment(Event::Delete(_))) => {
                return Err(KubeError::DeploymentNotFound {
                    namespace: target.namespace.clone(),
                    name: target.deployment.clone(),
                    context: format!("{}; it was deleted during the rollout", target.context),
                });
            }
            Some(Update::Deployment(ev)) => {
                log_event(reporter, "Deployment", &ev);
                deployments.apply(ev);
            }
            Some(Update::ReplicaSet(ev)) => {
                log_event(reporter, "ReplicaSet", &ev);
                replicasets.apply(ev);
            }
            Some(Update::Pod(ev)) => {
                log_event(reporter, "Pod", &ev);
                pods.apply(ev);
            }
        }
        view.deployment = deployments.items.get(&target.deployment).cloned();
        view.replicasets.clone_from(&replicasets.items);
        view.pods.clone_from(&pods.items);

        if let Some(rs) = view.new_replicaset().filter(|_| assessable(&view, generation)) {
            let name = rs.metadata.name.clone().unwrap_or_default();
            if announced_rs.as_deref() != Some(name.as_str()) {
                let was = rs
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("deployment.kubernetes.io/revision-history"))
                    .and_then(|h| h.rsplit(',').next())
                    .map(|old| format!(" (it was revision {old}; the controller re-used it)"))
                    .unwrap_or_default();
                reporter.line(&format!("ReplicaSet {name} is revision {}{was}", rs_revision(rs).unwrap_or("?")));
                announced_rs = Some(name);
            }
        }
        match assess(&view, generation) {
            Assessment::Waiting(line) | Assessment::Progress { line, .. } => {
                if line != shown {
                    reporter.status(&line);
                    shown = line;
                }
            }
            Assessment::Complete { revision } => {
                return Ok(Finished::Complete { revision, replicaset: RolloutReplicaSet::of(&view, generation) });
            }
            Assessment::Failed { revision, reason } => {
                return Ok(Finished::Failed { revision, reason, replicaset: RolloutReplicaSet::of(&view, generation) });
            }
        }
    }
}

fn assessable(view: &RolloutView, generation: i64) -> bool {
    view.deployment
        .as_ref()
        .and_then(|d| d.status.as_ref())
        .and_then(|s| s.observed_generation)
        .is_some_and(|g| g >= generation)
}

fn log_event<K: Resource>(reporter: &dyn Reporter, kind: &str, ev: &Event<K>) {
    let (what, obj) = match ev {
        Event::Apply(k) | Event::InitApply(k) => ("applied", k),
        Event::Delete(k) => ("deleted", k),
        Event::Init | Event::InitDone => return,
    };
    let meta = obj.meta();
    reporter.detail(&format!(
        "watch: {kind} {} {what} (resourceVersion {})",
        meta.name.as_deref().unwrap_or("?"),
        meta.resource_version.as_deref().unwrap_or("?")
    ));
}

/// RBAC refusals do not heal with retries; everything else (a dropped connection, a 410 Gone) does.
fn forbidden(err: &watcher::Error) -> Option<String> {
    match err {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
            if s.code == 401 || s.code == 403 =>
        {
            Some(s.message.clone())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep(generation: i64, observed: i64, revision: &str, status: serde_json::Value) -> Deployment {
        let mut s = status;
        s["observedGeneration"] = json!(observed);
        serde_json::from_value(json!({
            "metadata": {"name": "api", "uid": "d1", "generation": generation, "annotations": {"deployment.kubernetes.io/revision": revision}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}}, "template": {}},
            "status": s,
        }))
        .unwrap()
    }

    fn rs(name: &str, uid: &str, revision: &str) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name, "uid": uid, "annotations": {"deployment.kubernetes.io/revision": revision},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": "d1", "controller": true}]},
            "spec": {"selector": {"matchLabels": {"app": "api"}}},
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}
        }))
        .unwrap()
    }

    fn pod(name: &str, rs_uid: &str, statuses: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x", "uid": rs_uid, "controller": true}]},
            "status": {"containerStatuses": statuses}
        }))
        .unwrap()
    }

    #[test]
    fn stale_status_is_never_complete() {
        let view = RolloutView {
            deployment: Some(dep(3, 2, "4", json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}))),
            ..Default::default()
        };
        assert!(matches!(assess(&view, 3), Assessment::Waiting(_)));
    }

    #[test]
    fn progress_then_complete() {
        let mut view = RolloutView {
            deployment: Some(dep(3, 3, "4", json!({"replicas": 3, "updatedReplicas": 1, "availableReplicas": 2}))),
            ..Default::default()
        };
        view.replicasets.insert("api-new".into(), rs("api-new", "r4", "4"));
        assert_eq!(
            assess(&view, 3),
            Assessment::Progress {
                revision: "4".into(),
                line: "revision 4: 1/2 updated, 1/2 ready, 1/2 available, 2 old pending termination".into()
            }
        );
        view.deployment = Some(dep(3, 3, "4", json!({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})));
        assert_eq!(assess(&view, 3), Assessment::Complete { revision: "4".into() });
    }

    #[test]
    fn failing_pod_of_the_new_replicaset_fails_fast_with_its_reason() {
        let mut view = RolloutView {
            deployment: Some(dep(3, 3, "4", json!({"replicas": 3, "updatedReplicas": 1, "availableReplicas": 2}))),
            ..Default::default()
        };
        view.replicasets.insert("api-new".into(), rs("api-new", "r4", "4"));
        // A crashing pod of an *old* ReplicaSet is not this rollout's problem.
        view.pods.insert(
            "old".into(),
            pod(
                "old",
                "r3",
                json!([{"name": "api", "ready": false, "restartCount": 9, "image": "x", "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]),
            ),
        );
        assert!(matches!(assess(&view, 3), Assessment::Progress { .. }));
        view.pods.insert(
            "api-new-x".into(),
            pod("api-new-x", "r4", json!([{"name": "api", "ready": false, "restartCount": 4, "image": "x", "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}])),
        );
        assert_eq!(
            assess(&view, 3),
            Assessment::Failed {
                revision: "4".into(),
                reason: "pod api-new-x container api: CrashLoopBackOff: back-off 40s restarting failed container (restarts: 4, last exit code 1 Error)".into()
            }
        );
    }

    #[test]
    fn deadline_and_replica_failure_conditions_fail() {
        let view = RolloutView {
            deployment: Some(dep(
                3,
                3,
                "4",
                json!({"replicas": 3, "updatedReplicas": 1, "conditions": [
                    {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"api-new\" has timed out progressing."}
                ]}),
            )),
            ..Default::default()
        };
        match assess(&view, 3) {
            Assessment::Failed { reason, .. } => {
                assert!(reason.starts_with("ProgressDeadlineExceeded: ReplicaSet \"api-new\" has timed out"))
            }
            other => panic!("{other:?}"),
        }
        let view = RolloutView {
            deployment: Some(dep(
                3,
                3,
                "4",
                json!({"replicas": 2, "updatedReplicas": 0, "conditions": [
                    {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": "pods \"api-x\" is forbidden: exceeded quota: compute"}
                ]}),
            )),
            ..Default::default()
        };
        assert_eq!(
            assess(&view, 3),
            Assessment::Failed {
                revision: "4".into(),
                reason: "FailedCreate: pods \"api-x\" is forbidden: exceeded quota: compute".into()
            }
        );
    }
}
