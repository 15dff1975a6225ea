//! A fake Kubernetes API server that speaks the real wire protocol over TCP, so kube-rs (in-process or inside the
//! shipit binary, through a generated kubeconfig) cannot tell it from a cluster for what shipit does:
//!
//! - apps/v1 Deployments and ReplicaSets, v1 Pods: GET, LIST (with `metadata.resourceVersion`, label and field
//!   selectors), WATCH (`?watch=true`, newline-separated `{"type":…,"object":…}`, from a resourceVersion, ended
//!   after `timeoutSeconds`), and PATCH of Deployments (strategic merge, JSON merge, server-side apply
//!   approximated as a merge; a `metadata.resourceVersion` in the patch is a precondition → 409), and PATCH of
//!   ReplicaSets' metadata (JSON merge or strategic merge: the annotations shipit records outcomes in).
//! - a deployment controller: a pod-template change bumps `generation`, creates (or, for a template seen before,
//!   re-uses) a ReplicaSet with the next `deployment.kubernetes.io/revision`, then plays a [`Behaviour`]: replace
//!   pods step by step until complete, or leave pods failing with a chosen reason, or exceed the progress
//!   deadline. Behaviours are scripted per image (a substring of the new template's images).
//!
//! - coordination.k8s.io/v1 Leases, the platform's lock: create (409 `AlreadyExists` when the name is taken),
//!   GET, PUT (409 `Conflict` when `metadata.resourceVersion` is not the stored one; the apiserver's optimistic
//!   concurrency), DELETE (with `preconditions.resourceVersion` / `uid` honoured the same way).
//!
//! The server runs on its own thread and runtime so blocking tests (assert_cmd) and async tests can both use it.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const TEMPLATE_HASH: &str = "pod-template-hash";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Deployment,
    ReplicaSet,
    Pod,
}

impl Kind {
    fn api_version(self) -> &'static str {
        match self {
            Kind::Deployment | Kind::ReplicaSet => "apps/v1",
            Kind::Pod => "v1",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::Pod => "Pod",
        }
    }
    fn plural(self) -> &'static str {
        match self {
            Kind::Deployment => "deployments",
            Kind::ReplicaSet => "replicasets",
            Kind::Pod => "pods",
        }
    }
    fn group_resource(self) -> &'static str {
        match self {
            Kind::Deployment => "deployments.apps",
            Kind::ReplicaSet => "replicasets.apps",
            Kind::Pod => "pods",
        }
    }
}

/// What the simulated controller does with a new pod template.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Replace one pod every `step` (one new up, one old down) until the rollout completes.
    Succeed { step: Duration },
    /// The first new pod's matching containers wait with `reason` (ImagePullBackOff, CrashLoopBackOff,
    /// CreateContainerConfigError, …), `message` and `restarts`; the rollout never progresses.
    PodWaiting { reason: String, message: String, restarts: i32 },
    /// A new pod that never becomes ready; after `after`, the Deployment's Progressing condition turns
    /// False with reason ProgressDeadlineExceeded.
    ProgressDeadline { after: Duration },
    /// A new pod that never becomes ready, and nothing else: a rollout that stays in progress.
    Stall,
    /// Pods cannot be created (a quota): ReplicaFailure condition with `message`.
    ReplicaFailure { message: String },
}

impl Behaviour {
    pub fn succeed() -> Behaviour {
        Behaviour::Succeed { step: Duration::from_millis(60) }
    }
    pub fn waiting(reason: &str, message: &str, restarts: i32) -> Behaviour {
        Behaviour::PodWaiting { reason: reason.into(), message: message.into(), restarts }
    }
}

#[derive(Clone, Debug)]
pub struct PatchRecord {
    pub name: String,
    pub content_type: String,
    pub field_manager: Option<String>,
    pub body: Value,
    /// HTTP status the fake answered.
    pub status: u16,
}

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
}

impl Request {
    pub fn is_watch(&self) -> bool {
        self.query.get("watch").is_some_and(|w| w == "true" || w == "1")
    }
}

/// When the controller wrote the status that completes a rollout.
#[derive(Clone, Debug)]
pub struct Completion {
    pub deployment: String,
    pub revision: String,
    pub at: SystemTime,
}

struct StoredEvent {
    rv: u64,
    kind: Kind,
    namespace: String,
    kind_of_event: &'static str,
    object: Value,
}

struct Store {
    rv: u64,
    uid: u64,
    objects: BTreeMap<(Kind, String, String), Value>,
    events: Vec<StoredEvent>,
    scripts: Vec<(String, Behaviour)>,
    default_behaviour: Behaviour,
    patch_failures: VecDeque<(u16, String, String)>,
    patches: Vec<PatchRecord>,
    rs_patch_failures: VecDeque<(u16, String, String)>,
    rs_patches: Vec<PatchRecord>,
    requests: Vec<Request>,
    completions: Vec<Completion>,
    /// Leases by (namespace, name); kept apart from the watched kinds (nothing here watches them).
    leases: BTreeMap<(String, String), Value>,
    tick: tokio::sync::watch::Sender<u64>,
}

struct Shared {
    store: Mutex<Store>,
    tick: tokio::sync::watch::Receiver<u64>,
    handle: tokio::runtime::Handle,
}

pub struct FakeKube {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl FakeKube {
    /// Listen on 127.0.0.1:<free port>.
    pub fn start() -> FakeKube {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fake-kube".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("fake-kube runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake kube");
                    let addr = listener.local_addr().unwrap();
                    let (tick_tx, tick_rx) = tokio::sync::watch::channel(0u64);
                    let shared = Arc::new(Shared {
                        store: Mutex::new(Store {
                            rv: 1000,
                            uid: 0,
                            objects: BTreeMap::new(),
                            events: Vec::new(),
                            scripts: Vec::new(),
                            default_behaviour: Behaviour::succeed(),
                            patch_failures: VecDeque::new(),
                            patches: Vec::new(),
                            rs_patch_failures: VecDeque::new(),
                            rs_patches: Vec::new(),
                            requests: Vec::new(),
                            completions: Vec::new(),
                            leases: BTreeMap::new(),
                            tick: tick_tx,
                        }),
                        tick: tick_rx,
                        handle: tokio::runtime::Handle::current(),
                    });
                    ready_tx.send((addr, shared.clone())).unwrap();
                    let app = router(shared);
                    tokio::select! {
                        r = axum::serve(listener, app) => { r.expect("fake kube server"); }
                        _ = shutdown_rx => {}
                    }
                });
            })
            .expect("spawn fake kube");
        let (addr, shared) = ready_rx.recv().expect("fake kube started");
        FakeKube { addr, shared, shutdown: Some(shutdown_tx), thread: Some(thread) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.shared.store.lock().unwrap()
    }

    /// A kubeconfig with context `context` (the current one, namespace `namespace` if given) pointing at this
    /// server, plus a context `elsewhere` pointing at a closed port.
    pub fn write_kubeconfig(&self, dir: &Path, context: &str, namespace: Option<&str>) -> PathBuf {
        let ns = namespace.map(|n| format!("\n    namespace: {n}")).unwrap_or_default();
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {context}\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n- name: closed\n  cluster:\n    server: http://127.0.0.1:9\ncontexts:\n- name: {context}\n  context:\n    cluster: fake\n    user: tester{ns}\n- name: elsewhere\n  context:\n    cluster: closed\n    user: tester\nusers:\n- name: tester\n  user:\n    token: fake-token\n",
            url = self.url()
        );
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A Deployment already rolled out at revision 1: `replicas` ready pods of one ReplicaSet.
    pub fn add_deployment(
        &self,
        ns: &str,
        name: &str,
        replicas: i64,
        containers: &[(&str, &str)],
        init: &[(&str, &str)],
    ) {
        let mut store = self.store();
        let uid = store.next_uid();
        let container_json = |list: &[(&str, &str)]| -> Vec<Value> {
            list.iter().map(|(n, i)| json!({"name": n, "image": i, "imagePullPolicy": "IfNotPresent"})).collect()
        };
        let mut pod_spec = json!({"containers": container_json(containers), "restartPolicy": "Always"});
        if !init.is_empty() {
            pod_spec["initContainers"] = json!(container_json(init));
        }
        let dep = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": name, "namespace": ns, "uid": uid, "generation": 1,
                "creationTimestamp": now(), "labels": {"app": name}, "annotations": {},
            },
            "spec": {
                "replicas": replicas,
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
                "selector": {"matchLabels": {"app": name}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
            },
            "status": {"observedGeneration": 0},
        });
        store.put(Kind::Deployment, dep);
        store.sync_template(ns, name);
        let rs = store.new_replicaset(ns, name).expect("first ReplicaSet");
        for _ in 0..replicas {
            store.add_pod(ns, &rs, None);
        }
        store.set_rs_replicas(ns, &rs, replicas);
        store.refresh_status(ns, name);
        store.complete(ns, name, false);
    }

    /// Use `behaviour` for templates with an image containing `image_part` (e.g. a digest's hex).
    pub fn script(&self, image_part: &str, behaviour: Behaviour) {
        self.store().scripts.push((image_part.to_string(), behaviour));
    }

    pub fn set_default(&self, behaviour: Behaviour) {
        self.store().default_behaviour = behaviour;
    }

    /// Answer the next PATCH with this status (then behave normally).
    pub fn fail_next_patch(&self, code: u16, reason: &str, message: &str) {
        self.store().patch_failures.push_back((code, reason.into(), message.into()));
    }

    /// The API server's answer when the object changed since the client read it.
    pub fn conflict_next_patch(&self, name: &str) {
        self.fail_next_patch(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on deployments.apps \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        );
    }

    pub fn patches(&self) -> Vec<PatchRecord> {
        self.store().patches.clone()
    }

    /// Answer the next PATCH of a ReplicaSet with this status (an RBAC refusal, say).
    pub fn fail_next_replicaset_patch(&self, code: u16, reason: &str, message: &str) {
        self.store().rs_patch_failures.push_back((code, reason.into(), message.into()));
    }

    /// PATCH requests for ReplicaSets, in order (Deployment patches are in `patches`).
    pub fn replicaset_patches(&self) -> Vec<PatchRecord> {
        self.store().rs_patches.clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.store().requests.clone()
    }

    pub fn completions(&self) -> Vec<Completion> {
        self.store().completions.clone()
    }

    pub fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<Value> {
        self.store().objects.get(&(kind, ns.to_string(), name.to_string())).cloned()
    }

    pub fn deployment(&self, ns: &str, name: &str) -> Value {
        self.get(Kind::Deployment, ns, name).expect("deployment exists")
    }

    pub fn list(&self, kind: Kind, ns: &str) -> Vec<Value> {
        self.store().objects.iter().filter(|((k, n, _), _)| *k == kind && n == ns).map(|(_, v)| v.clone()).collect()
    }

    /// Change a Deployment as another client would (kubectl edit, an operator): merge `patch` into it.
    pub fn edit(&self, ns: &str, name: &str, patch: Value) {
        let mut store = self.store();
        let mut obj = store.objects.get(&(Kind::Deployment, ns.to_string(), name.to_string())).cloned().unwrap();
        let before = obj.clone();
        strategic_merge(&mut obj, &patch, "");
        omit_empty_maps(&mut obj);
        let (_, template_changed) = store.apply_update(ns, name, before, obj);
        drop(store);
        if template_changed {
            spawn_controller(&self.shared, ns, name);
        }
    }
}

fn spawn_controller(shared: &Arc<Shared>, ns: &str, name: &str) {
    let pending = {
        let store = shared.store.lock().unwrap();
        store.pending_rollout(ns, name)
    };
    if let Some((generation, behaviour, images)) = pending {
        let shared2 = shared.clone();
        let (ns, name) = (ns.to_string(), name.to_string());
        shared.handle.spawn(async move { run_rollout(shared2, ns, name, generation, behaviour, images).await });
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------- the store and the simulated controller

impl Store {
    fn next_uid(&mut self) -> String {
        self.uid += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.uid)
    }

    fn key(kind: Kind, obj: &Value) -> (Kind, String, String) {
        (kind, str_at(obj, "/metadata/namespace"), str_at(obj, "/metadata/name"))
    }

    /// Store `obj` with a new resourceVersion and tell the watchers.
    fn put(&mut self, kind: Kind, mut obj: Value) -> Value {
        self.rv += 1;
        obj["apiVersion"] = json!(kind.api_version());
        obj["kind"] = json!(kind.name());
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let key = Store::key(kind, &obj);
        let kind_of_event = if self.objects.contains_key(&key) { "MODIFIED" } else { "ADDED" };
        self.objects.insert(key.clone(), obj.clone());
        self.events.push(StoredEvent { rv: self.rv, kind, namespace: key.1, kind_of_event, object: obj.clone() });
        self.tick.send_replace(self.rv);
        obj
    }

    fn delete(&mut self, kind: Kind, ns: &str, name: &str) {
        if let Some(mut obj) = self.objects.remove(&(kind, ns.to_string(), name.to_string())) {
            self.rv += 1;
            obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
            self.events.push(StoredEvent {
                rv: self.rv,
                kind,
                namespace: ns.to_string(),
                kind_of_event: "DELETED",
                object: obj,
            });
            self.tick.send_replace(self.rv);
        }
    }

    fn obj(&self, kind: Kind, ns: &str, name: &str) -> Option<Value> {
        self.objects.get(&(kind, ns.to_string(), name.to_string())).cloned()
    }

    fn owned(&self, kind: Kind, ns: &str, owner_uid: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((k, n, _), v)| {
                *k == kind
                    && n == ns
                    && v["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner_uid))
            })
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn replicasets_of(&self, ns: &str, dep: &str) -> Vec<Value> {
        let Some(d) = self.obj(Kind::Deployment, ns, dep) else { return Vec::new() };
        self.owned(Kind::ReplicaSet, ns, &str_at(&d, "/metadata/uid"))
    }

    /// The name of the ReplicaSet the Deployment's revision points at.
    fn new_replicaset(&self, ns: &str, dep: &str) -> Option<String> {
        let d = self.obj(Kind::Deployment, ns, dep)?;
        let rev = d["metadata"]["annotations"][REVISION].as_str()?.to_string();
        self.replicasets_of(ns, dep)
            .into_iter()
            .find(|rs| rs["metadata"]["annotations"][REVISION] == rev.as_str())
            .map(|rs| str_at(&rs, "/metadata/name"))
    }

    /// Write a patched Deployment: generation bumps when the spec changed; a template change syncs a
    /// ReplicaSet at once (as the controller would within milliseconds).
    fn apply_update(&mut self, ns: &str, name: &str, before: Value, mut after: Value) -> (Value, bool) {
        if after["spec"] != before["spec"] {
            let g = after["metadata"]["generation"].as_i64().unwrap_or(1);
            after["metadata"]["generation"] = json!(g + 1);
        }
        let template_changed = after["spec"]["template"] != before["spec"]["template"];
        let stored = self.put(Kind::Deployment, after);
        if template_changed {
            self.sync_template(ns, name);
        }
        (stored, template_changed)
    }

    /// The deployment controller's reaction to a new template: find or create its ReplicaSet, give it the next
    /// revision, and record that the controller observed this generation.
    fn sync_template(&mut self, ns: &str, name: &str) {
        let mut dep = self.obj(Kind::Deployment, ns, name).unwrap();
        let dep_uid = str_at(&dep, "/metadata/uid");
        let mut template = dep["spec"]["template"].clone();
        if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
            labels.remove(TEMPLATE_HASH);
        }
        let hash = template_hash(&template);
        let owned = self.replicasets_of(ns, name);
        let next = owned
            .iter()
            .filter_map(|rs| rs["metadata"]["annotations"][REVISION].as_str()?.parse::<i64>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let copied: Map<String, Value> = dep["metadata"]["annotations"]
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != REVISION && k != "kubectl.kubernetes.io/last-applied-configuration")
            .collect();
        let existing = owned.into_iter().find(|rs| rs["metadata"]["labels"][TEMPLATE_HASH] == hash.as_str());
        let rs_name = match existing {
            Some(mut rs) => {
                let old = rs["metadata"]["annotations"][REVISION].as_str().unwrap_or_default().to_string();
                let mut ann = rs["metadata"]["annotations"].as_object().cloned().unwrap_or_default();
                ann.extend(copied);
                let history = match ann.get("deployment.kubernetes.io/revision-history").and_then(Value::as_str) {
                    Some(h) if !h.is_empty() => format!("{h},{old}"),
                    _ => old,
                };
                ann.insert("deployment.kubernetes.io/revision-history".into(), json!(history));
                ann.insert(REVISION.into(), json!(next.to_string()));
                rs["metadata"]["annotations"] = Value::Object(ann);
                let rs = self.put(Kind::ReplicaSet, rs);
                str_at(&rs, "/metadata/name")
            }
            None => {
                let rs_name = format!("{name}-{hash}");
                let mut labels = template["metadata"]["labels"].as_object().cloned().unwrap_or_default();
                labels.insert(TEMPLATE_HASH.into(), json!(hash));
                let mut selector = dep["spec"]["selector"]["matchLabels"].as_object().cloned().unwrap_or_default();
                selector.insert(TEMPLATE_HASH.into(), json!(hash));
                let mut rs_template = template.clone();
                rs_template["metadata"]["labels"] = Value::Object(labels.clone());
                let mut ann = copied;
                ann.insert(REVISION.into(), json!(next.to_string()));
                ann.insert(
                    "deployment.kubernetes.io/desired-replicas".into(),
                    json!(dep["spec"]["replicas"].to_string()),
                );
                let uid = self.next_uid();
                self.put(
                    Kind::ReplicaSet,
                    json!({
                        "metadata": {
                            "name": rs_name, "namespace": ns, "uid": uid, "generation": 1,
                            "creationTimestamp": now(), "labels": labels, "annotations": ann,
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                "uid": dep_uid, "controller": true, "blockOwnerDeletion": true}],
                        },
                        "spec": {"replicas": 0, "selector": {"matchLabels": selector}, "template": rs_template},
                        "status": {"replicas": 0, "observedGeneration": 1},
                    }),
                );
                rs_name
            }
        };
        dep["metadata"]["annotations"][REVISION] = json!(next.to_string());
        dep["status"]["observedGeneration"] = dep["metadata"]["generation"].clone();
        set_condition(
            &mut dep,
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{rs_name}\" is progressing."),
        );
        remove_condition(&mut dep, "ReplicaFailure");
        self.put(Kind::Deployment, dep);
        self.refresh_status(ns, name);
    }

    /// The behaviour for the Deployment's current template, if a rollout is pending (the new ReplicaSet is not
    /// the only one with pods, or lacks pods).
    fn pending_rollout(&self, ns: &str, name: &str) -> Option<(i64, Behaviour, Vec<String>)> {
        let dep = self.obj(Kind::Deployment, ns, name)?;
        let generation = dep["metadata"]["generation"].as_i64().unwrap_or(1);
        let mut images = Vec::new();
        for list in ["containers", "initContainers"] {
            for c in dep["spec"]["template"]["spec"][list].as_array().into_iter().flatten() {
                images.push(c["image"].as_str().unwrap_or_default().to_string());
            }
        }
        let behaviour = self
            .scripts
            .iter()
            .rev()
            .find(|(part, _)| images.iter().any(|i| i.contains(part.as_str())))
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| self.default_behaviour.clone());
        let matching: Vec<String> = self
            .scripts
            .iter()
            .filter(|(part, _)| images.iter().any(|i| i.contains(part.as_str())))
            .map(|(part, _)| part.clone())
            .collect();
        Some((generation, behaviour, matching))
    }

    fn add_pod(&mut self, ns: &str, rs_name: &str, fail: Option<(&Behaviour, &[String])>) -> String {
        let rs = self.obj(Kind::ReplicaSet, ns, rs_name).unwrap();
        let uid = self.next_uid();
        let pod_name = format!("{rs_name}-{}", suffix(self.uid));
        let template = &rs["spec"]["template"];
        let status_of = |c: &Value, init: bool| -> Value {
            let image = c["image"].as_str().unwrap_or_default();
            let name = c["name"].clone();
            let targeted = |parts: &[String]| parts.is_empty() || parts.iter().any(|p| image.contains(p.as_str()));
            match fail {
                Some((Behaviour::PodWaiting { reason, message, restarts }, parts)) if targeted(parts) => {
                    let mut s = json!({"name": name, "image": image, "imageID": "", "ready": false,
                        "restartCount": restarts, "started": false,
                        "state": {"waiting": {"reason": reason, "message": message}}});
                    if *restarts > 0 {
                        s["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error",
                            "startedAt": now(), "finishedAt": now()}});
                    }
                    s
                }
                Some(_) => json!({"name": name, "image": image, "imageID": "", "ready": false, "restartCount": 0,
                    "started": false, "state": {"waiting": {"reason": "ContainerCreating"}}}),
                None if init => json!({"name": name, "image": image, "imageID": format!("{image}-id"), "ready": true,
                    "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                        "startedAt": now(), "finishedAt": now()}}}),
                None => json!({"name": name, "image": image, "imageID": format!("{image}-id"), "ready": true,
                    "restartCount": 0, "started": true, "state": {"running": {"startedAt": now()}}}),
            }
        };
        let statuses: Vec<Value> =
            template["spec"]["containers"].as_array().into_iter().flatten().map(|c| status_of(c, false)).collect();
        let init_statuses: Vec<Value> =
            template["spec"]["initContainers"].as_array().into_iter().flatten().map(|c| status_of(c, true)).collect();
        let ready = fail.is_none();
        let pod = json!({
            "metadata": {
                "name": pod_name, "namespace": ns, "uid": uid, "creationTimestamp": now(),
                "labels": template["metadata"]["labels"].clone(),
                "annotations": template["metadata"]["annotations"].clone(),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name,
                    "uid": rs["metadata"]["uid"].clone(), "controller": true, "blockOwnerDeletion": true}],
            },
            "spec": template["spec"].clone(),
            "status": {
                "phase": if ready { "Running" } else { "Pending" },
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Ready", "status": if ready { "True" } else { "False" }},
                ],
                "containerStatuses": statuses,
                "initContainerStatuses": init_statuses,
            },
        });
        self.put(Kind::Pod, pod);
        pod_name
    }

    fn pods_of(&self, ns: &str, rs_name: &str) -> Vec<Value> {
        let Some(rs) = self.obj(Kind::ReplicaSet, ns, rs_name) else { return Vec::new() };
        self.owned(Kind::Pod, ns, &str_at(&rs, "/metadata/uid"))
    }

    fn set_rs_replicas(&mut self, ns: &str, rs_name: &str, replicas: i64) {
        let mut rs = self.obj(Kind::ReplicaSet, ns, rs_name).unwrap();
        let pods = self.pods_of(ns, rs_name);
        let ready = pods.iter().filter(|p| p["status"]["conditions"][1]["status"] == "True").count();
        rs["spec"]["replicas"] = json!(replicas);
        rs["status"] = json!({
            "replicas": pods.len(), "fullyLabeledReplicas": pods.len(), "readyReplicas": ready,
            "availableReplicas": ready, "observedGeneration": rs["metadata"]["generation"].clone(),
        });
        self.put(Kind::ReplicaSet, rs);
    }

    /// Deployment status from its ReplicaSets (what the controller computes on every sync).
    fn refresh_status(&mut self, ns: &str, name: &str) -> Value {
        let mut dep = self.obj(Kind::Deployment, ns, name).unwrap();
        let new_rs = self.new_replicaset(ns, name);
        let (mut replicas, mut updated, mut ready, mut available) = (0, 0, 0, 0);
        for rs in self.replicasets_of(ns, name) {
            let n = rs["status"]["replicas"].as_i64().unwrap_or(0);
            replicas += n;
            ready += rs["status"]["readyReplicas"].as_i64().unwrap_or(0);
            available += rs["status"]["availableReplicas"].as_i64().unwrap_or(0);
            if Some(str_at(&rs, "/metadata/name")) == new_rs {
                updated = n;
            }
        }
        let desired = dep["spec"]["replicas"].as_i64().unwrap_or(1);
        let status = dep["status"].as_object_mut().unwrap();
        status.insert("replicas".into(), json!(replicas));
        status.insert("updatedReplicas".into(), json!(updated));
        status.insert("readyReplicas".into(), json!(ready));
        status.insert("availableReplicas".into(), json!(available));
        status.insert("unavailableReplicas".into(), json!((desired - available).max(0)));
        let avail = if available >= desired - desired / 4 { "True" } else { "False" };
        let (reason, msg) = if avail == "True" {
            ("MinimumReplicasAvailable", "Deployment has minimum availability.")
        } else {
            ("MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        };
        set_condition(&mut dep, "Available", avail, reason, msg);
        self.put(Kind::Deployment, dep)
    }

    /// Mark the rollout complete (Progressing=NewReplicaSetAvailable) and remember when.
    fn complete(&mut self, ns: &str, name: &str, record: bool) {
        let mut dep = self.obj(Kind::Deployment, ns, name).unwrap();
        let rs = self.new_replicaset(ns, name).unwrap_or_default();
        set_condition(
            &mut dep,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{rs}\" has successfully progressed."),
        );
        if record {
            self.completions.push(Completion {
                deployment: name.to_string(),
                revision: dep["metadata"]["annotations"][REVISION].as_str().unwrap_or_default().to_string(),
                at: SystemTime::now(),
            });
        }
        self.put(Kind::Deployment, dep);
    }

    fn current_generation(&self, ns: &str, name: &str) -> i64 {
        self.obj(Kind::Deployment, ns, name).and_then(|d| d["metadata"]["generation"].as_i64()).unwrap_or(-1)
    }
}

/// Play `behaviour` for the rollout of `generation`; stops as soon as a newer generation takes over.
async fn run_rollout(
    shared: Arc<Shared>,
    ns: String,
    name: String,
    generation: i64,
    behaviour: Behaviour,
    scripted: Vec<String>,
) {
    let step = match &behaviour {
        Behaviour::Succeed { step } => *step,
        _ => Duration::from_millis(40),
    };
    loop {
        tokio::time::sleep(step).await;
        match rollout_step(&shared, &ns, &name, generation, &behaviour, &scripted) {
            Step::Continue => continue,
            Step::Done => return,
            Step::DeadlineAfter(after, new_rs) => {
                tokio::time::sleep(after).await;
                let mut store = shared.store.lock().unwrap();
                if store.current_generation(&ns, &name) != generation {
                    return;
                }
                let mut dep = store.obj(Kind::Deployment, &ns, &name).unwrap();
                set_condition(
                    &mut dep,
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    &format!("ReplicaSet \"{new_rs}\" has timed out progressing."),
                );
                store.put(Kind::Deployment, dep);
                return;
            }
        }
    }
}

enum Step {
    Continue,
    Done,
    DeadlineAfter(Duration, String),
}

/// One controller sync, under the lock.
fn rollout_step(
    shared: &Shared,
    ns: &str,
    name: &str,
    generation: i64,
    behaviour: &Behaviour,
    scripted: &[String],
) -> Step {
    let mut store = shared.store.lock().unwrap();
    if store.current_generation(ns, name) != generation {
        return Step::Done;
    }
    let Some(new_rs) = store.new_replicaset(ns, name) else { return Step::Done };
    let desired = store.obj(Kind::Deployment, ns, name).unwrap()["spec"]["replicas"].as_i64().unwrap_or(1);
    let olds: Vec<String> = store
        .replicasets_of(ns, name)
        .iter()
        .map(|rs| str_at(rs, "/metadata/name"))
        .filter(|n| *n != new_rs && !store.pods_of(ns, n).is_empty())
        .collect();
    match behaviour {
        Behaviour::Succeed { .. } => {
            let have = store.pods_of(ns, &new_rs).len() as i64;
            if have < desired {
                store.add_pod(ns, &new_rs, None);
                store.set_rs_replicas(ns, &new_rs, have + 1);
            } else {
                store.set_rs_replicas(ns, &new_rs, desired);
            }
            if let Some(old) = olds.first() {
                let pods = store.pods_of(ns, old);
                store.delete(Kind::Pod, ns, &str_at(&pods[0], "/metadata/name"));
                store.set_rs_replicas(ns, old, pods.len() as i64 - 1);
            }
            let dep = store.refresh_status(ns, name);
            let old_left: usize = olds.iter().map(|o| store.pods_of(ns, o).len()).sum();
            if dep["status"]["updatedReplicas"] == desired
                && dep["status"]["availableReplicas"] == desired
                && old_left == 0
            {
                store.complete(ns, name, true);
                return Step::Done;
            }
            Step::Continue
        }
        Behaviour::PodWaiting { .. } | Behaviour::ProgressDeadline { .. } | Behaviour::Stall => {
            if store.pods_of(ns, &new_rs).is_empty() {
                let fail = match behaviour {
                    Behaviour::PodWaiting { .. } => behaviour.clone(),
                    _ => Behaviour::Stall,
                };
                store.add_pod(ns, &new_rs, Some((&fail, scripted)));
                store.set_rs_replicas(ns, &new_rs, 1);
                store.refresh_status(ns, name);
            }
            match behaviour {
                Behaviour::ProgressDeadline { after } => Step::DeadlineAfter(*after, new_rs),
                _ => Step::Done,
            }
        }
        Behaviour::ReplicaFailure { message } => {
            let mut dep = store.obj(Kind::Deployment, ns, name).unwrap();
            set_condition(&mut dep, "ReplicaFailure", "True", "FailedCreate", message);
            store.put(Kind::Deployment, dep);
            Step::Done
        }
    }
}

fn set_condition(dep: &mut Value, kind: &str, status: &str, reason: &str, message: &str) {
    if !dep["status"].is_object() {
        dep["status"] = json!({});
    }
    let conditions = dep["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let mut kept: Vec<Value> = conditions.into_iter().filter(|c| c["type"] != kind).collect();
    kept.push(json!({"type": kind, "status": status, "reason": reason, "message": message,
        "lastUpdateTime": now(), "lastTransitionTime": now()}));
    dep["status"]["conditions"] = Value::Array(kept);
}

fn remove_condition(dep: &mut Value, kind: &str) {
    if let Some(cs) = dep["status"]["conditions"].as_array_mut() {
        cs.retain(|c| c["type"] != kind);
    }
}

fn str_at(v: &Value, pointer: &str) -> String {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn suffix(n: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..5)
        .map(|_| {
            let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
            x /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// FNV-1a over canonical JSON (keys sorted), in the controller's "safe" alphabet.
fn template_hash(template: &Value) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push(':');
                    canonical(&m[k], out);
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for x in a {
                    canonical(x, out);
                    out.push(',');
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    canonical(template, &mut text);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10)
        .map(|_| {
            let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
            h /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

// ---------------------------------------------------------------- patches

/// Strategic merge patch as the API server applies it for the fields shipit and tests touch: objects merge,
/// `null` deletes, lists with a merge key (containers by name, …) merge by that key, other lists replace.
pub fn strategic_merge(target: &mut Value, patch: &Value, path: &str) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().unwrap();
    for (k, v) in p {
        if k.starts_with('$') {
            continue; // $setElementOrder, $retainKeys, …: order and retention directives, not data.
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        let child_path = format!("{path}/{k}");
        match (t.get_mut(k), v, merge_key(&child_path)) {
            (Some(Value::Array(existing)), Value::Array(items), Some(key)) => {
                for item in items {
                    match existing.iter_mut().find(|e| e.get(key).is_some() && e.get(key) == item.get(key)) {
                        Some(e) => strategic_merge(e, item, &format!("{child_path}[]")),
                        None => existing.push(strip_nulls(item)),
                    }
                }
            }
            (Some(existing @ Value::Object(_)), Value::Object(_), _) => strategic_merge(existing, v, &child_path),
            _ => {
                t.insert(k.clone(), strip_nulls(v));
            }
        }
    }
}

fn merge_key(path: &str) -> Option<&'static str> {
    let last = path.rsplit('/').next().unwrap_or_default();
    match last {
        "containers" | "initContainers" | "ephemeralContainers" | "env" | "volumes" | "imagePullSecrets" => {
            Some("name")
        }
        "ports" => Some("containerPort"),
        "volumeMounts" => Some("mountPath"),
        _ => None,
    }
}

/// RFC 7386 JSON merge patch.
pub fn json_merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().unwrap();
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            json_merge(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), strip_nulls(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------- HTTP

fn router(shared: Arc<Shared>) -> Router {
    let collection = |kind: Kind| {
        move |s: State<Arc<Shared>>, UrlPath(ns): UrlPath<String>, q: Query<BTreeMap<String, String>>| {
            list_or_watch(s, kind, ns, q)
        }
    };
    let item = |kind: Kind| {
        move |s: State<Arc<Shared>>,
              UrlPath((ns, name)): UrlPath<(String, String)>,
              q: Query<BTreeMap<String, String>>| { get_one(s, kind, ns, name, q) }
    };
    Router::new()
        .route("/apis/apps/v1/namespaces/{ns}/deployments", get(collection(Kind::Deployment)))
        .route("/apis/apps/v1/namespaces/{ns}/deployments/{name}", get(item(Kind::Deployment)).patch(patch_deployment))
        .route("/apis/apps/v1/namespaces/{ns}/replicasets", get(collection(Kind::ReplicaSet)))
        .route("/apis/apps/v1/namespaces/{ns}/replicasets/{name}", get(item(Kind::ReplicaSet)).patch(patch_replicaset))
        .route("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", axum::routing::post(create_lease))
        .route(
            "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}",
            get(get_lease).put(replace_lease).delete(delete_lease),
        )
        .route("/api/v1/namespaces/{ns}/pods", get(collection(Kind::Pod)))
        .route("/api/v1/namespaces/{ns}/pods/{name}", get(item(Kind::Pod)))
        .fallback(|uri: axum::http::Uri| async move {
            status_response(404, "NotFound", &format!("the server could not find the requested resource ({uri})"))
        })
        .with_state(shared)
}

fn json_response(code: u16, body: &Value) -> Response {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A `metav1.Status` failure, as every API error is encoded.
fn status_response(code: u16, reason: &str, message: &str) -> Response {
    json_response(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}),
    )
}

fn record(shared: &Shared, method: &str, path: String, query: &BTreeMap<String, String>) {
    shared.store.lock().unwrap().requests.push(Request { method: method.into(), path, query: query.clone() });
}

fn path_of(kind: Kind, ns: &str, name: Option<&str>) -> String {
    let base = match kind {
        Kind::Pod => format!("/api/v1/namespaces/{ns}/pods"),
        k => format!("/apis/apps/v1/namespaces/{ns}/{}", k.plural()),
    };
    match name {
        Some(n) => format!("{base}/{n}"),
        None => base,
    }
}

async fn get_one(
    State(shared): State<Arc<Shared>>,
    kind: Kind,
    ns: String,
    name: String,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    record(&shared, "GET", path_of(kind, &ns, Some(&name)), &q);
    let store = shared.store.lock().unwrap();
    match store.obj(kind, &ns, &name) {
        Some(obj) => json_response(200, &obj),
        None => status_response(404, "NotFound", &format!("{} \"{name}\" not found", kind.group_resource())),
    }
}

struct Selector {
    labels: Vec<(String, Option<String>, bool)>,
    fields: Vec<(String, String)>,
}

impl Selector {
    fn parse(q: &BTreeMap<String, String>) -> Selector {
        let labels = q
            .get("labelSelector")
            .map(|s| {
                s.split(',')
                    .filter(|t| !t.trim().is_empty())
                    .map(|term| {
                        let term = term.trim();
                        if let Some((k, v)) = term.split_once("!=") {
                            (k.trim().to_string(), Some(v.trim().to_string()), false)
                        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                            (k.trim().to_string(), Some(v.trim().to_string()), true)
                        } else if let Some(k) = term.strip_prefix('!') {
                            (k.to_string(), None, false)
                        } else {
                            (term.to_string(), None, true)
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let fields = q
            .get("fieldSelector")
            .map(|s| {
                s.split(',')
                    .filter_map(|t| {
                        t.split_once('=').map(|(k, v)| (k.trim_end_matches('=').to_string(), v.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Selector { labels, fields }
    }

    fn matches(&self, obj: &Value) -> bool {
        let labels = &obj["metadata"]["labels"];
        let label_ok = self.labels.iter().all(|(k, v, want)| {
            let have = labels.get(k).and_then(Value::as_str);
            match v {
                Some(v) => (have == Some(v.as_str())) == *want,
                None => have.is_some() == *want,
            }
        });
        let field_ok = self.fields.iter().all(|(k, v)| {
            let pointer = format!("/{}", k.replace('.', "/"));
            obj.pointer(&pointer).and_then(Value::as_str) == Some(v.as_str())
        });
        label_ok && field_ok
    }
}

async fn list_or_watch(
    State(shared): State<Arc<Shared>>,
    kind: Kind,
    ns: String,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    record(&shared, "GET", path_of(kind, &ns, None), &q);
    let selector = Selector::parse(&q);
    if q.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return watch(shared, kind, ns, selector, &q);
    }
    let store = shared.store.lock().unwrap();
    let items: Vec<Value> = store
        .objects
        .iter()
        .filter(|((k, n, _), v)| *k == kind && *n == ns && selector.matches(v))
        .map(|(_, v)| v.clone())
        .collect();
    json_response(
        200,
        &json!({"kind": format!("{}List", kind.name()), "apiVersion": kind.api_version(),
            "metadata": {"resourceVersion": store.rv.to_string()}, "items": items}),
    )
}

struct WatchState {
    shared: Arc<Shared>,
    kind: Kind,
    ns: String,
    selector: Selector,
    last: u64,
    queue: VecDeque<Bytes>,
    tick: tokio::sync::watch::Receiver<u64>,
    deadline: tokio::time::Instant,
}

fn watch(shared: Arc<Shared>, kind: Kind, ns: String, selector: Selector, q: &BTreeMap<String, String>) -> Response {
    let timeout = q.get("timeoutSeconds").and_then(|t| t.parse::<u64>().ok()).unwrap_or(1800);
    let requested = q.get("resourceVersion").filter(|v| !v.is_empty() && *v != "0").and_then(|v| v.parse::<u64>().ok());
    let mut tick = shared.tick.clone();
    tick.borrow_and_update();
    let mut queue = VecDeque::new();
    let last = {
        let store = shared.store.lock().unwrap();
        match requested {
            Some(rv) => rv,
            // No resourceVersion: "start at the most recent", with synthetic ADDED events for what exists.
            None => {
                for ((k, n, _), v) in &store.objects {
                    if *k == kind && *n == ns && selector.matches(v) {
                        queue.push_back(event_line("ADDED", v));
                    }
                }
                store.rv
            }
        }
    };
    let state = WatchState {
        shared,
        kind,
        ns,
        selector,
        last,
        queue,
        tick,
        deadline: tokio::time::Instant::now() + Duration::from_secs(timeout),
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(line) = st.queue.pop_front() {
                return Some((Ok::<Bytes, Infallible>(line), st));
            }
            st.tick.borrow_and_update();
            {
                let store = st.shared.store.lock().unwrap();
                for e in store.events.iter().filter(|e| e.rv > st.last) {
                    if e.kind == st.kind && e.namespace == st.ns && st.selector.matches(&e.object) {
                        st.queue.push_back(event_line(e.kind_of_event, &e.object));
                    }
                }
                st.last = store.rv;
            }
            if !st.queue.is_empty() {
                continue;
            }
            tokio::select! {
                r = st.tick.changed() => if r.is_err() { return None },
                _ = tokio::time::sleep_until(st.deadline) => return None,
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn event_line(kind_of_event: &str, obj: &Value) -> Bytes {
    let mut s = json!({"type": kind_of_event, "object": obj}).to_string();
    s.push('\n');
    Bytes::from(s)
}

async fn patch_deployment(
    State(shared): State<Arc<Shared>>,
    UrlPath((ns, name)): UrlPath<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&shared, "PATCH", path_of(Kind::Deployment, &ns, Some(&name)), &q);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return status_response(400, "BadRequest", &format!("error decoding patch: {e}")),
    };
    let response = {
        let mut store = shared.store.lock().unwrap();
        let mut rec = PatchRecord {
            name: name.clone(),
            content_type: content_type.clone(),
            field_manager: q.get("fieldManager").cloned(),
            body: patch.clone(),
            status: 200,
        };
        let result = patch_locked(&mut store, &ns, &name, &content_type, patch);
        rec.status = match &result {
            Ok(_) => 200,
            Err((code, _, _)) => *code,
        };
        store.patches.push(rec);
        result
    };
    match response {
        Ok((obj, template_changed)) => {
            if template_changed {
                spawn_controller(&shared, &ns, &name);
            }
            json_response(200, &obj)
        }
        Err((code, reason, message)) => status_response(code, &reason, &message),
    }
}

/// A ReplicaSet's metadata changed by a client (`kubectl annotate rs`): the controller owns its spec, so only
/// `metadata.labels` and `metadata.annotations` may change here; anything else in the patch is refused.
async fn patch_replicaset(
    State(shared): State<Arc<Shared>>,
    UrlPath((ns, name)): UrlPath<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&shared, "PATCH", path_of(Kind::ReplicaSet, &ns, Some(&name)), &q);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return status_response(400, "BadRequest", &format!("error decoding patch: {e}")),
    };
    let mut store = shared.store.lock().unwrap();
    let mut rec = PatchRecord {
        name: name.clone(),
        content_type: content_type.clone(),
        field_manager: q.get("fieldManager").cloned(),
        body: patch.clone(),
        status: 200,
    };
    let result = (|| {
        if let Some(fail) = store.rs_patch_failures.pop_front() {
            return Err(fail);
        }
        let Some(before) = store.obj(Kind::ReplicaSet, &ns, &name) else {
            return Err((404, "NotFound".into(), format!("replicasets.apps \"{name}\" not found")));
        };
        let only_metadata = patch.as_object().is_some_and(|p| p.keys().all(|k| k == "metadata"))
            && patch["metadata"].as_object().is_some_and(|m| m.keys().all(|k| k == "annotations" || k == "labels"));
        if !only_metadata {
            return Err((422, "Invalid".into(), format!("the fake only patches metadata of replicasets: {patch}")));
        }
        let mut after = before.clone();
        match content_type.split(';').next().unwrap_or_default().trim() {
            "application/merge-patch+json" => json_merge(&mut after, &patch),
            "application/strategic-merge-patch+json" => strategic_merge(&mut after, &patch, ""),
            other => {
                return Err((
                    415,
                    "UnsupportedMediaType".into(),
                    format!("the body of the request was in an unknown format: {other}"),
                ));
            }
        }
        omit_empty_maps(&mut after);
        Ok(store.put(Kind::ReplicaSet, after))
    })();
    rec.status = result.as_ref().map_or_else(|(code, _, _)| *code, |_| 200);
    store.rs_patches.push(rec);
    match result {
        Ok(obj) => json_response(200, &obj),
        Err((code, reason, message)) => status_response(code, &reason, &message),
    }
}

fn patch_locked(
    store: &mut Store,
    ns: &str,
    name: &str,
    content_type: &str,
    mut patch: Value,
) -> Result<(Value, bool), (u16, String, String)> {
    if let Some(fail) = store.patch_failures.pop_front() {
        return Err(fail);
    }
    let Some(before) = store.obj(Kind::Deployment, ns, name) else {
        return Err((404, "NotFound".into(), format!("deployments.apps \"{name}\" not found")));
    };
    if let Some(rv) = patch.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_string) {
        if before["metadata"]["resourceVersion"] != rv.as_str() {
            return Err((
                409,
                "Conflict".into(),
                format!(
                    "Operation cannot be fulfilled on deployments.apps \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
                ),
            ));
        }
        patch["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    }
    let mut after = before.clone();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    match media {
        "application/strategic-merge-patch+json" | "application/apply-patch+yaml" => {
            strategic_merge(&mut after, &patch, "")
        }
        "application/merge-patch+json" => json_merge(&mut after, &patch),
        other => {
            return Err((
                415,
                "UnsupportedMediaType".into(),
                format!("the body of the request was in an unknown format: {other}"),
            ));
        }
    }
    for list in ["containers", "initContainers"] {
        for c in after["spec"]["template"]["spec"][list].as_array().into_iter().flatten() {
            if c["image"].as_str().is_none_or(str::is_empty) {
                return Err((
                    422,
                    "Invalid".into(),
                    format!("Deployment.apps \"{name}\" is invalid: spec.template.spec.{list}.image: Required value"),
                ));
            }
        }
    }
    omit_empty_maps(&mut after);
    Ok(store.apply_update(ns, name, before, after))
}

/// Go's `omitempty`: an annotations or labels map emptied by a patch is not stored at all, so a template whose
/// annotations were all removed equals one that never had any.
fn omit_empty_maps(obj: &mut Value) {
    for meta in ["/metadata", "/spec/template/metadata"] {
        if let Some(Value::Object(m)) = obj.pointer_mut(meta) {
            m.retain(|k, v| !((k == "annotations" || k == "labels") && v.as_object().is_some_and(Map::is_empty)));
        }
    }
}

// --- Leases -----------------------------------------------------------------------------------------------------

const LEASES: &str = "leases.coordination.k8s.io";

impl FakeKube {
    /// The Lease `name` in `ns`, as stored.
    pub fn lease(&self, ns: &str, name: &str) -> Option<Value> {
        self.store().leases.get(&(ns.to_string(), name.to_string())).cloned()
    }

    /// Store a Lease as if another client had created it (a holder on another machine).
    pub fn put_lease(&self, ns: &str, lease: Value) -> Value {
        let mut store = self.store();
        store_lease(&mut store, ns, lease)
    }
}

fn store_lease(store: &mut Store, ns: &str, mut lease: Value) -> Value {
    store.rv += 1;
    store.uid += 1;
    let name = str_at(&lease, "/metadata/name");
    lease["apiVersion"] = json!("coordination.k8s.io/v1");
    lease["kind"] = json!("Lease");
    lease["metadata"]["namespace"] = json!(ns);
    lease["metadata"]["resourceVersion"] = json!(store.rv.to_string());
    if lease["metadata"]["uid"].is_null() {
        lease["metadata"]["uid"] = json!(format!("lease-uid-{}", store.uid));
    }
    if lease["metadata"]["creationTimestamp"].is_null() {
        lease["metadata"]["creationTimestamp"] = json!(chrono_now());
    }
    store.leases.insert((ns.to_string(), name), lease.clone());
    lease
}

fn chrono_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn body_json(body: &Bytes) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body)
        .map_err(|e| Box::new(status_response(400, "BadRequest", &format!("invalid JSON body: {e}"))))
}

async fn create_lease(State(shared): State<Arc<Shared>>, UrlPath(ns): UrlPath<String>, body: Bytes) -> Response {
    let q = BTreeMap::new();
    record(&shared, "POST", format!("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"), &q);
    let lease = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let name = str_at(&lease, "/metadata/name");
    if name.is_empty() {
        return status_response(
            422,
            "Invalid",
            "Lease.coordination.k8s.io \"\" is invalid: metadata.name: Required value",
        );
    }
    let mut store = shared.store.lock().unwrap();
    if store.leases.contains_key(&(ns.clone(), name.clone())) {
        return status_response(409, "AlreadyExists", &format!("{LEASES} \"{name}\" already exists"));
    }
    // The apiserver ignores a client's resourceVersion and uid on create.
    let mut lease = lease;
    lease["metadata"]["resourceVersion"] = Value::Null;
    lease["metadata"]["uid"] = Value::Null;
    let stored = store_lease(&mut store, &ns, lease);
    json_response(201, &stored)
}

async fn get_lease(State(shared): State<Arc<Shared>>, UrlPath((ns, name)): UrlPath<(String, String)>) -> Response {
    let q = BTreeMap::new();
    record(&shared, "GET", format!("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}"), &q);
    let store = shared.store.lock().unwrap();
    match store.leases.get(&(ns, name.clone())) {
        Some(l) => json_response(200, l),
        None => status_response(404, "NotFound", &format!("{LEASES} \"{name}\" not found")),
    }
}

async fn replace_lease(
    State(shared): State<Arc<Shared>>,
    UrlPath((ns, name)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    let q = BTreeMap::new();
    record(&shared, "PUT", format!("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}"), &q);
    let lease = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut store = shared.store.lock().unwrap();
    let Some(current) = store.leases.get(&(ns.clone(), name.clone())).cloned() else {
        return status_response(404, "NotFound", &format!("{LEASES} \"{name}\" not found"));
    };
    let sent = str_at(&lease, "/metadata/resourceVersion");
    // An update without a resourceVersion is unconditional in the real API; with one, it must match.
    if !sent.is_empty() && sent != str_at(&current, "/metadata/resourceVersion") {
        return status_response(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on {LEASES} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        );
    }
    let mut lease = lease;
    lease["metadata"]["uid"] = current["metadata"]["uid"].clone();
    lease["metadata"]["creationTimestamp"] = current["metadata"]["creationTimestamp"].clone();
    let stored = store_lease(&mut store, &ns, lease);
    json_response(200, &stored)
}

async fn delete_lease(
    State(shared): State<Arc<Shared>>,
    UrlPath((ns, name)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    let q = BTreeMap::new();
    record(&shared, "DELETE", format!("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}"), &q);
    let options = if body.is_empty() { json!({}) } else { body_json(&body).unwrap_or_else(|_| json!({})) };
    let mut store = shared.store.lock().unwrap();
    let key = (ns, name.clone());
    let Some(current) = store.leases.get(&key).cloned() else {
        return status_response(404, "NotFound", &format!("{LEASES} \"{name}\" not found"));
    };
    let pre_rv = str_at(&options, "/preconditions/resourceVersion");
    let pre_uid = str_at(&options, "/preconditions/uid");
    if (!pre_rv.is_empty() && pre_rv != str_at(&current, "/metadata/resourceVersion"))
        || (!pre_uid.is_empty() && pre_uid != str_at(&current, "/metadata/uid"))
    {
        return status_response(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on {LEASES} \"{name}\": Precondition failed: UID in precondition: {pre_uid}, UID in object meta: {}",
                str_at(&current, "/metadata/uid")
            ),
        );
    }
    store.leases.remove(&key);
    json_response(
        200,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": name, "group": "coordination.k8s.io", "kind": "leases", "uid": current["metadata"]["uid"]}}),
    )
}
