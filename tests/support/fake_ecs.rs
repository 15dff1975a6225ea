//! A scripted Amazon ECS control plane speaking the real wire protocol (awsJson1.1 over HTTP:
//! `x-amz-target: AmazonEC2ContainerServiceV20141113.<Op>`), because moto's ECS never rolls anything out.
//!
//! Services run deployments that move with the clock: each UpdateService starts a deployment driven by the next
//! `Script` queued for that service (default: tasks start one per step and the rollout completes). Failing
//! deployments leave STOPPED tasks with reasons and exit codes, as ECS does. `throttle` makes the next calls of
//! an operation answer `ThrottlingException`. The server runs on its own thread and runtime, so it keeps
//! serving while a test blocks (driving tmux, waiting for a child process).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// How the next deployment of a service behaves.
#[derive(Debug, Clone)]
pub enum Script {
    /// A task of the new revision starts every `step` (an old one stops); COMPLETED once all run.
    Completes { step: Duration },
    /// Every `step` a task of the new revision starts and dies (`reason`, container `exit_code`); after
    /// `failures` of them the circuit breaker marks the deployment FAILED and, with `rollback`, starts a
    /// deployment of the previous revision (which completes).
    CircuitBreaker { step: Duration, failures: u32, reason: String, exit_code: i32, rollback: bool },
    /// One task pending forever.
    Stuck,
}

#[derive(Debug, Clone)]
struct Deployment {
    id: String,
    status: String,
    task_definition: String,
    desired: i64,
    running: i64,
    pending: i64,
    failed: i64,
    rollout: String,
    reason: String,
    created: SystemTime,
    started: Instant,
    steps_done: u32,
    script: Script,
}

#[derive(Debug, Clone)]
struct Svc {
    cluster: String,
    name: String,
    desired: i64,
    task_definition: String,
    deployments: Vec<Deployment>,
    /// Newest first, as ECS lists them.
    events: Vec<Value>,
    circuit_breaker: (bool, bool),
    /// ListTagsForResource / TagResource / UntagResource on the service ARN.
    tags: Vec<Value>,
}

#[derive(Debug, Clone)]
struct Task {
    arn: String,
    cluster: String,
    service: String,
    task_definition: String,
    last_status: String,
    stopped_reason: Option<String>,
    exit_code: Option<i32>,
    container: String,
    stopped_at: Option<SystemTime>,
    started_by: String,
    created: SystemTime,
}

#[derive(Default)]
struct State {
    clusters: Vec<String>,
    /// family → revisions (index = revision - 1): (task definition JSON, tags).
    families: BTreeMap<String, Vec<(Value, Vec<Value>)>>,
    services: Vec<Svc>,
    tasks: Vec<Task>,
    scripts: HashMap<String, VecDeque<Script>>,
    throttle: HashMap<String, u32>,
    denied: Vec<String>,
    calls: Vec<(Instant, String)>,
    registered: Vec<Value>,
    /// (deployment id, task definition ARN, when its rollout completed).
    completions: Vec<(String, String, SystemTime)>,
    seq: u64,
    ignore_sort: bool,
}

pub struct FakeEcs {
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeEcs {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn arn(kind: &str, rest: &str) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:{kind}/{rest}")
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

impl FakeEcs {
    /// Listen on 127.0.0.1 on a free port (or `port`).
    pub fn start() -> FakeEcs {
        FakeEcs::start_on(0)
    }

    pub fn start_on(port: u16) -> FakeEcs {
        let state = Arc::new(Mutex::new(State::default()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
                    let state = shared.clone();
                    async move { handle(&state, &headers, &body) }
                });
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        FakeEcs { url: format!("http://{addr}"), state, stop: Some(stop_tx), thread: Some(thread) }
    }

    /// Answer ListTaskDefinitions in ascending order whatever `sort` says (as moto does).
    pub fn ignore_sort(&self) {
        self.state.lock().unwrap().ignore_sort = true;
    }

    /// Register `task_definition` (a RegisterTaskDefinition body) and create a service running it, settled:
    /// one COMPLETED deployment with `desired` tasks running. Returns the task definition ARN.
    pub fn add_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: Value,
        desired: i64,
        circuit_breaker: (bool, bool),
    ) -> String {
        let mut st = self.state.lock().unwrap();
        if !st.clusters.iter().any(|c| c == cluster) {
            st.clusters.push(cluster.to_string());
        }
        let td = register(&mut st, task_definition).0;
        let td_arn = td["taskDefinitionArn"].as_str().unwrap().to_string();
        let id = next_id(&mut st, "ecs-svc/");
        let now = SystemTime::now();
        st.services.push(Svc {
            cluster: cluster.to_string(),
            name: service.to_string(),
            desired,
            task_definition: td_arn.clone(),
            deployments: vec![Deployment {
                id: id.clone(),
                status: "PRIMARY".into(),
                task_definition: td_arn.clone(),
                desired,
                running: desired,
                pending: 0,
                failed: 0,
                rollout: "COMPLETED".into(),
                reason: format!("ECS deployment {id} completed."),
                created: now - Duration::from_secs(3600),
                started: Instant::now(),
                steps_done: 0,
                script: Script::Completes { step: Duration::ZERO },
            }],
            events: Vec::new(),
            circuit_breaker,
            tags: Vec::new(),
        });
        for _ in 0..desired {
            start_task(&mut st, (cluster, service), &td_arn, &id, "RUNNING", now);
        }
        td_arn
    }

    /// The service's tags as ListTagsForResource gives them: (key, value).
    pub fn service_tags(&self, cluster: &str, service: &str) -> Vec<(String, String)> {
        let st = self.state.lock().unwrap();
        let svc = st.services.iter().find(|s| s.cluster == cluster && s.name == service).expect("service exists");
        svc.tags
            .iter()
            .map(|t| {
                (t["key"].as_str().unwrap_or_default().to_string(), t["value"].as_str().unwrap_or_default().to_string())
            })
            .collect()
    }

    /// Tag the service as another client would.
    pub fn tag_service(&self, cluster: &str, service: &str, tags: &[(&str, &str)]) {
        let mut st = self.state.lock().unwrap();
        let svc = st.services.iter_mut().find(|s| s.cluster == cluster && s.name == service).expect("service exists");
        let req = json!({ "tags": tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>() });
        edit_tags(&mut svc.tags, "TagResource", &req);
    }

    /// Register another revision directly (as another tool would). Returns its ARN.
    pub fn register(&self, task_definition: Value, tags: Vec<Value>) -> String {
        let mut st = self.state.lock().unwrap();
        let mut body = task_definition;
        body["tags"] = Value::Array(tags);
        register(&mut st, body).0["taskDefinitionArn"].as_str().unwrap().to_string()
    }

    /// Queue how the next deployment of `service` behaves.
    pub fn script(&self, service: &str, script: Script) {
        self.state.lock().unwrap().scripts.entry(service.to_string()).or_default().push_back(script);
    }

    /// Start a deployment of `task_definition` now, as someone else's deploy would.
    pub fn start_deployment(&self, cluster: &str, service: &str, task_definition: &str) -> String {
        let mut st = self.state.lock().unwrap();
        update_service(&mut st, cluster, service, task_definition).unwrap()["deployments"][0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The next `times` calls of `op` answer 400 ThrottlingException.
    pub fn throttle(&self, op: &str, times: u32) {
        self.state.lock().unwrap().throttle.insert(op.to_string(), times);
    }

    /// Every call of `op` answers AccessDeniedException (an IAM policy without that action).
    pub fn deny(&self, op: &str) {
        self.state.lock().unwrap().denied.push(op.to_string());
    }

    /// A revision's tags as ListTagsForResource would give them: (key, value).
    pub fn tags(&self, family: &str, revision: usize) -> Vec<(String, String)> {
        self.state.lock().unwrap().families[family][revision - 1]
            .1
            .iter()
            .map(|t| (t["key"].as_str().unwrap().to_string(), t["value"].as_str().unwrap_or_default().to_string()))
            .collect()
    }

    /// Operation names in the order they arrived (throttled ones too).
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.iter().map(|(_, op)| op.clone()).collect()
    }

    pub fn count(&self, op: &str) -> usize {
        self.calls().iter().filter(|c| *c == op).count()
    }

    /// RegisterTaskDefinition request bodies, as sent.
    pub fn registered(&self) -> Vec<Value> {
        self.state.lock().unwrap().registered.clone()
    }

    /// The task definition ARN the service points at.
    pub fn service_task_definition(&self, cluster: &str, service: &str) -> String {
        let st = self.state.lock().unwrap();
        st.services.iter().find(|s| s.cluster == cluster && s.name == service).unwrap().task_definition.clone()
    }

    /// A revision as DescribeTaskDefinition shows it.
    pub fn task_definition(&self, family: &str, revision: usize) -> Value {
        self.state.lock().unwrap().families[family][revision - 1].0.clone()
    }

    /// Number of revisions in a family.
    pub fn revisions(&self, family: &str) -> usize {
        self.state.lock().unwrap().families.get(family).map_or(0, Vec::len)
    }

    /// When each rollout completed (the simulated moment, not when someone asked): (task definition, time).
    pub fn completions(&self) -> Vec<(String, SystemTime)> {
        let mut st = self.state.lock().unwrap();
        advance_all(&mut st);
        st.completions.iter().map(|(_, td, t)| (td.clone(), *t)).collect()
    }
}

fn next_id(st: &mut State, prefix: &str) -> String {
    st.seq += 1;
    format!("{prefix}{:016x}", 0x5eed_0000_0000u64 + st.seq * 7919)
}

/// An ECS error answer: HTTP 400 with `{"__type": kind, "message": …}`.
#[derive(Debug)]
struct Fault {
    kind: String,
    message: String,
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        let body = json!({ "__type": self.kind, "message": self.message }).to_string();
        (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/x-amz-json-1.1")], body).into_response()
    }
}

fn client_error(kind: &str, message: &str) -> Fault {
    Fault { kind: kind.into(), message: message.into() }
}

fn handle(state: &Mutex<State>, headers: &HeaderMap, body: &[u8]) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(op) = target.strip_prefix("AmazonEC2ContainerServiceV20141113.") else {
        return client_error("UnknownOperationException", &format!("unknown target {target:?}")).into_response();
    };
    let req: Value = if body.is_empty() { json!({}) } else { serde_json::from_slice(body).unwrap_or(json!({})) };
    let mut st = state.lock().unwrap();
    st.calls.push((Instant::now(), op.to_string()));
    if let Some(n) = st.throttle.get_mut(op)
        && *n > 0
    {
        *n -= 1;
        return client_error("ThrottlingException", "Rate exceeded").into_response();
    }
    if st.denied.iter().any(|d| d == op) {
        let message = format!(
            "User: arn:aws:iam::{ACCOUNT}:user/deployer is not authorized to perform: ecs:{op} on resource: {}",
            req["resourceArn"].as_str().unwrap_or("*")
        );
        return client_error("AccessDeniedException", &message).into_response();
    }
    advance_all(&mut st);
    let result = match op {
        "DescribeServices" => describe_services(&mut st, &req),
        "DescribeTaskDefinition" => describe_task_definition(&st, &req),
        "RegisterTaskDefinition" => {
            st.registered.push(req.clone());
            if req["family"].as_str().is_none() {
                Err(client_error("ClientException", "Family is required."))
            } else {
                let (td, tags) = register(&mut st, req);
                Ok(json!({ "taskDefinition": td, "tags": tags }))
            }
        }
        "UpdateService" => {
            let cluster = req["cluster"].as_str().unwrap_or("default").to_string();
            let service = req["service"].as_str().unwrap_or_default().to_string();
            let td = req["taskDefinition"].as_str().unwrap_or_default().to_string();
            update_service(&mut st, &cluster, &service, &td).map(|s| json!({ "service": s }))
        }
        "ListTaskDefinitions" => Ok(list_task_definitions(&st, &req)),
        "ListTasks" => list_tasks(&st, &req),
        "DescribeTasks" => Ok(describe_tasks(&st, &req)),
        "ListTagsForResource" => {
            let arn = req["resourceArn"].as_str().unwrap_or_default();
            if let Some(svc) = find_service_by_arn(&mut st, arn) {
                Ok(json!({ "tags": svc.tags }))
            } else {
                match find_td(&st, arn) {
                    Some((_, tags)) => Ok(json!({ "tags": tags })),
                    None => Err(client_error("ClientException", "The specified resource could not be found.")),
                }
            }
        }
        // Tags of a service or a task-definition revision. ECS adds or overwrites by key, removes by key,
        // answers `{}`.
        "TagResource" | "UntagResource" => {
            let arn = req["resourceArn"].as_str().unwrap_or_default().to_string();
            if !arn.starts_with("arn:aws:ecs:") {
                Err(client_error("InvalidParameterException", "Invalid resource ARN."))
            } else if let Some(svc) = find_service_by_arn(&mut st, &arn) {
                edit_tags(&mut svc.tags, op, &req);
                Ok(json!({}))
            } else {
                match find_td_mut(&mut st, &arn) {
                    Some((_, tags)) if op == "TagResource" => {
                        for new in req["tags"].as_array().into_iter().flatten() {
                            tags.retain(|t| t["key"] != new["key"]);
                            tags.push(new.clone());
                        }
                        Ok(json!({}))
                    }
                    Some((_, tags)) => {
                        let keys = req["tagKeys"].as_array().cloned().unwrap_or_default();
                        tags.retain(|t| !keys.contains(&t["key"]));
                        Ok(json!({}))
                    }
                    None => Err(client_error("ClientException", "The specified resource could not be found.")),
                }
            }
        }
        "DeregisterTaskDefinition" => {
            let name = req["taskDefinition"].as_str().unwrap_or_default().to_string();
            match find_td_mut(&mut st, &name) {
                Some(td) => {
                    td.0["status"] = json!("INACTIVE");
                    Ok(json!({ "taskDefinition": td.0.clone() }))
                }
                None => Err(client_error("ClientException", "The specified task definition does not exist.")),
            }
        }
        _ => Err(client_error("UnknownOperationException", &format!("the fake does not do {op}"))),
    };
    match result {
        Ok(v) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
            [("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")],
            v.to_string(),
        )
            .into_response(),
        Err(fault) => fault.into_response(),
    }
}

fn register(st: &mut State, mut body: Value) -> (Value, Vec<Value>) {
    let tags = body.as_object_mut().unwrap().remove("tags").and_then(|t| t.as_array().cloned()).unwrap_or_default();
    let family = body["family"].as_str().unwrap().to_string();
    let revisions = st.families.entry(family.clone()).or_default();
    let revision = revisions.len() + 1;
    let compat = body.get("requiresCompatibilities").cloned().unwrap_or(json!(["EC2"]));
    // ECS fills in defaults and describes them back.
    for key in ["volumes", "placementConstraints"] {
        body.as_object_mut().unwrap().entry(key).or_insert(json!([]));
    }
    for c in body["containerDefinitions"].as_array_mut().into_iter().flatten() {
        for (key, default) in [
            ("cpu", json!(0)),
            ("essential", json!(true)),
            ("portMappings", json!([])),
            ("environment", json!([])),
            ("mountPoints", json!([])),
            ("volumesFrom", json!([])),
        ] {
            c.as_object_mut().unwrap().entry(key).or_insert(default);
        }
    }
    let obj = body.as_object_mut().unwrap();
    obj.insert("taskDefinitionArn".into(), json!(arn("task-definition", &format!("{family}:{revision}"))));
    obj.insert("revision".into(), json!(revision));
    obj.insert("status".into(), json!("ACTIVE"));
    obj.insert("compatibilities".into(), compat);
    obj.insert("registeredAt".into(), json!(epoch(SystemTime::now())));
    obj.insert("registeredBy".into(), json!(format!("arn:aws:iam::{ACCOUNT}:user/deployer")));
    revisions.push((body.clone(), tags.clone()));
    (body, tags)
}

/// A service by its ARN (`arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME`, the format that can carry tags).
fn find_service_by_arn<'a>(st: &'a mut State, arn: &str) -> Option<&'a mut Svc> {
    let rest = arn.split_once(":service/")?.1;
    let (cluster, name) = rest.split_once('/')?;
    st.services.iter_mut().find(|s| s.cluster == cluster && s.name == name)
}

/// TagResource adds or overwrites by key; UntagResource removes by key.
fn edit_tags(tags: &mut Vec<Value>, op: &str, req: &Value) {
    if op == "TagResource" {
        for new in req["tags"].as_array().into_iter().flatten() {
            tags.retain(|t| t["key"] != new["key"]);
            tags.push(new.clone());
        }
    } else {
        let keys = req["tagKeys"].as_array().cloned().unwrap_or_default();
        tags.retain(|t| !keys.contains(&t["key"]));
    }
}

fn find_td<'a>(st: &'a State, name: &str) -> Option<&'a (Value, Vec<Value>)> {
    let name = name.rsplit_once(":task-definition/").map_or(name, |(_, n)| n);
    let revisions = match name.rsplit_once(':') {
        Some((family, rev)) if rev.parse::<usize>().is_ok() => {
            return st.families.get(family)?.get(rev.parse::<usize>().ok()?.checked_sub(1)?);
        }
        _ => st.families.get(name)?,
    };
    revisions.iter().rev().find(|(td, _)| td["status"] == "ACTIVE")
}

fn find_td_mut<'a>(st: &'a mut State, name: &str) -> Option<&'a mut (Value, Vec<Value>)> {
    let name = name.rsplit_once(":task-definition/").map_or(name, |(_, n)| n);
    let (family, rev) = name.rsplit_once(':')?;
    st.families.get_mut(family)?.get_mut(rev.parse::<usize>().ok()?.checked_sub(1)?)
}

fn describe_task_definition(st: &State, req: &Value) -> Result<Value, Fault> {
    let name = req["taskDefinition"].as_str().unwrap_or_default();
    let Some((td, tags)) = find_td(st, name) else {
        return Err(client_error("ClientException", "Unable to describe task definition."));
    };
    let with_tags = req["include"].as_array().is_some_and(|i| i.iter().any(|v| v == "TAGS"));
    let mut out = json!({ "taskDefinition": td });
    if with_tags {
        out["tags"] = json!(tags);
    }
    Ok(out)
}

fn list_task_definitions(st: &State, req: &Value) -> Value {
    let prefix = req["familyPrefix"].as_str().unwrap_or("");
    let status = req["status"].as_str().unwrap_or("ACTIVE");
    let mut arns: Vec<(String, usize, String)> = st
        .families
        .iter()
        .filter(|(f, _)| f.starts_with(prefix))
        .flat_map(|(f, revs)| {
            revs.iter().filter(|(td, _)| status == "ALL" || td["status"] == status).map(|(td, _)| {
                (
                    f.clone(),
                    td["revision"].as_u64().unwrap() as usize,
                    td["taskDefinitionArn"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    arns.sort();
    if req["sort"] == "DESC" && !st.ignore_sort {
        arns.reverse();
    }
    let start: usize = req["nextToken"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
    let max = req["maxResults"].as_u64().unwrap_or(100) as usize;
    let page: Vec<String> = arns.iter().skip(start).take(max).map(|(_, _, a)| a.clone()).collect();
    let mut out = json!({ "taskDefinitionArns": page });
    if start + max < arns.len() {
        out["nextToken"] = json!((start + max).to_string());
    }
    out
}

fn cluster_name(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

fn describe_services(st: &mut State, req: &Value) -> Result<Value, Fault> {
    let cluster = cluster_name(req["cluster"].as_str().unwrap_or("default")).to_string();
    if !st.clusters.contains(&cluster) {
        return Err(client_error("ClusterNotFoundException", "Cluster not found."));
    }
    let mut services = Vec::new();
    let mut failures = Vec::new();
    for name in req["services"].as_array().cloned().unwrap_or_default() {
        let name = name.as_str().unwrap_or_default();
        let short = name.rsplit('/').next().unwrap_or(name);
        match st.services.iter().find(|s| s.cluster == cluster && s.name == short) {
            Some(svc) => services.push(service_json(svc)),
            None => failures.push(json!({ "arn": arn("service", &format!("{cluster}/{short}")), "reason": "MISSING" })),
        }
    }
    Ok(json!({ "services": services, "failures": failures }))
}

fn service_json(svc: &Svc) -> Value {
    let deployments: Vec<Value> = svc
        .deployments
        .iter()
        .map(|d| {
            json!({
                "id": d.id, "status": d.status, "taskDefinition": d.task_definition,
                "desiredCount": d.desired, "pendingCount": d.pending, "runningCount": d.running,
                "failedTasks": d.failed, "createdAt": epoch(d.created), "updatedAt": epoch(d.created),
                "launchType": "FARGATE", "rolloutState": d.rollout, "rolloutStateReason": d.reason,
            })
        })
        .collect();
    let running: i64 = svc.deployments.iter().map(|d| d.running).sum();
    let pending: i64 = svc.deployments.iter().map(|d| d.pending).sum();
    json!({
        "serviceArn": arn("service", &format!("{}/{}", svc.cluster, svc.name)),
        "serviceName": svc.name,
        "clusterArn": arn("cluster", &svc.cluster),
        "status": "ACTIVE",
        "desiredCount": svc.desired,
        "runningCount": running,
        "pendingCount": pending,
        "launchType": "FARGATE",
        "taskDefinition": svc.task_definition,
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": { "enable": svc.circuit_breaker.0, "rollback": svc.circuit_breaker.1 },
            "maximumPercent": 200, "minimumHealthyPercent": 100,
        },
        "deployments": deployments,
        "events": svc.events,
        "deploymentController": { "type": "ECS" },
        "schedulingStrategy": "REPLICA",
    })
}

fn update_service(st: &mut State, cluster: &str, service: &str, td: &str) -> Result<Value, Fault> {
    let cluster = cluster_name(cluster).to_string();
    if !st.clusters.contains(&cluster) {
        return Err(client_error("ClusterNotFoundException", "Cluster not found."));
    }
    let Some(td_arn) = find_td(st, td).map(|(v, _)| v["taskDefinitionArn"].as_str().unwrap().to_string()) else {
        return Err(client_error("ClientException", "TaskDefinition not found."));
    };
    let service = service.rsplit('/').next().unwrap_or(service).to_string();
    let script = st
        .scripts
        .get_mut(&service)
        .and_then(VecDeque::pop_front)
        .unwrap_or(Script::Completes { step: Duration::from_millis(150) });
    let id = next_id(st, "ecs-svc/");
    let Some(svc) = st.services.iter_mut().find(|s| s.cluster == cluster && s.name == service) else {
        return Err(client_error("ServiceNotFoundException", "Service not found."));
    };
    for d in &mut svc.deployments {
        d.status = "ACTIVE".into();
    }
    svc.task_definition = td_arn.clone();
    svc.deployments.insert(0, new_deployment(id, td_arn, svc.desired, script));
    Ok(service_json(svc))
}

fn new_deployment(id: String, td: String, desired: i64, script: Script) -> Deployment {
    Deployment {
        id,
        status: "PRIMARY".into(),
        task_definition: td,
        desired,
        running: 0,
        pending: 0,
        failed: 0,
        rollout: "IN_PROGRESS".into(),
        reason: "ECS deployment in progress.".into(),
        created: SystemTime::now(),
        started: Instant::now(),
        steps_done: 0,
        script,
    }
}

/// A task of `service` started by deployment `by` (ECS's `startedBy`).
fn start_task(
    st: &mut State,
    (cluster, service): (&str, &str),
    td: &str,
    by: &str,
    status: &str,
    at: SystemTime,
) -> String {
    let id = next_id(st, "");
    let task_arn = arn("task", &format!("{cluster}/{id}"));
    let container = find_td(st, td)
        .and_then(|(v, _)| v["containerDefinitions"][0]["name"].as_str().map(str::to_string))
        .unwrap_or_else(|| "app".into());
    st.tasks.push(Task {
        arn: task_arn,
        cluster: cluster.to_string(),
        service: service.to_string(),
        task_definition: td.to_string(),
        last_status: status.to_string(),
        stopped_reason: None,
        exit_code: None,
        container,
        stopped_at: None,
        started_by: by.to_string(),
        created: at,
    });
    id
}

fn event(st: &mut State, svc_index: usize, at: SystemTime, message: String) {
    let id = format!("{:08x}-0000-4000-8000-{:012x}", st.seq, st.seq + 1);
    st.seq += 1;
    st.services[svc_index].events.insert(0, json!({ "id": id, "createdAt": epoch(at), "message": message }));
}

/// Move every PRIMARY deployment forward to where its script says it is by now.
fn advance_all(st: &mut State) {
    for i in 0..st.services.len() {
        while let Some(d) = st.services[i].deployments.first().cloned() {
            if d.status != "PRIMARY" || d.rollout != "IN_PROGRESS" {
                break;
            }
            let step = match &d.script {
                Script::Completes { step } | Script::CircuitBreaker { step, .. } => *step,
                Script::Stuck => {
                    st.services[i].deployments[0].pending = 1;
                    break;
                }
            };
            let due = if step.is_zero() { u32::MAX } else { (d.started.elapsed().as_nanos() / step.as_nanos()) as u32 };
            if d.steps_done >= due {
                break;
            }
            let at = d.created + step * (d.steps_done + 1);
            st.services[i].deployments[0].steps_done += 1;
            step_deployment(st, i, at);
        }
    }
}

fn step_deployment(st: &mut State, i: usize, at: SystemTime) {
    let (cluster, name) = (st.services[i].cluster.clone(), st.services[i].name.clone());
    let d = st.services[i].deployments[0].clone();
    let short = |td: &str| td.rsplit('/').next().unwrap_or(td).to_string();
    match d.script.clone() {
        Script::Completes { .. } => {
            if d.running < d.desired {
                let task = start_task(st, (&cluster, &name), &d.task_definition, &d.id, "RUNNING", at);
                let dep = &mut st.services[i].deployments[0];
                dep.running += 1;
                dep.pending = if dep.running < dep.desired { 1 } else { 0 };
                event(st, i, at, format!("(service {name}) has started 1 tasks: (task {task})."));
                // One old task makes way for each new one.
                if let Some(old) = st.services[i].deployments.iter_mut().skip(1).find(|o| o.running > 0) {
                    old.running -= 1;
                    let old_td = old.task_definition.clone();
                    if let Some(t) = st
                        .tasks
                        .iter_mut()
                        .find(|t| t.service == name && t.task_definition == old_td && t.last_status == "RUNNING")
                    {
                        t.last_status = "STOPPED".into();
                        t.stopped_reason = Some(format!("Scaling activity initiated by (deployment {})", d.id));
                        t.exit_code = Some(0);
                        t.stopped_at = Some(at);
                    }
                }
                return;
            }
            // Every new task runs: stop whatever old tasks remain, and the rollout is complete.
            let old_tds: Vec<String> =
                st.services[i].deployments.iter().skip(1).map(|o| o.task_definition.clone()).collect();
            for t in st.tasks.iter_mut().filter(|t| {
                t.service == name
                    && t.last_status == "RUNNING"
                    && old_tds.contains(&t.task_definition)
                    && t.task_definition != d.task_definition
            }) {
                t.last_status = "STOPPED".into();
                t.stopped_reason = Some(format!("Scaling activity initiated by (deployment {})", d.id));
                t.stopped_at = Some(at);
            }
            let svc = &mut st.services[i];
            svc.deployments.truncate(1);
            let dep = &mut svc.deployments[0];
            dep.rollout = "COMPLETED".into();
            dep.reason = format!("ECS deployment {} completed.", d.id);
            st.completions.push((d.id.clone(), d.task_definition.clone(), at));
            event(st, i, at, format!("(service {name}) (deployment {}) deployment completed.", d.id));
            event(st, i, at, format!("(service {name}) has reached a steady state."));
        }
        Script::CircuitBreaker { failures, reason, exit_code, rollback, step } => {
            if (d.failed as u32) < failures {
                let task = start_task(st, (&cluster, &name), &d.task_definition, &d.id, "STOPPED", at);
                if let Some(t) = st.tasks.iter_mut().find(|t| t.arn.ends_with(&task)) {
                    t.stopped_reason = Some(reason.clone());
                    t.exit_code = Some(exit_code);
                    t.stopped_at = Some(at);
                }
                st.services[i].deployments[0].failed += 1;
                st.services[i].deployments[0].pending = 1;
                event(st, i, at, format!("(service {name}) has started 1 tasks: (task {task})."));
                return;
            }
            {
                let dep = &mut st.services[i].deployments[0];
                dep.rollout = "FAILED".into();
                dep.pending = 0;
                dep.reason = "ECS deployment circuit breaker: tasks failed to start.".into();
            }
            event(
                st,
                i,
                at,
                format!("(service {name}) (deployment {}) deployment failed: tasks failed to start.", d.id),
            );
            if rollback {
                let previous = st.services[i].deployments.get(1).map(|o| o.task_definition.clone());
                if let Some(previous) = previous {
                    let id = next_id(st, "ecs-svc/");
                    let desired = st.services[i].desired;
                    event(
                        st,
                        i,
                        at,
                        format!("(service {name}) rolling back to deployment {id} ({}).", short(&previous)),
                    );
                    let svc = &mut st.services[i];
                    svc.deployments[0].status = "ACTIVE".into();
                    for o in svc.deployments.iter_mut() {
                        o.status = "ACTIVE".into();
                    }
                    svc.task_definition = previous.clone();
                    let mut dep = new_deployment(id, previous, desired, Script::Completes { step });
                    dep.created = at;
                    svc.deployments.insert(0, dep);
                }
            }
        }
        Script::Stuck => {}
    }
}

fn list_tasks(st: &State, req: &Value) -> Result<Value, Fault> {
    let cluster = cluster_name(req["cluster"].as_str().unwrap_or("default")).to_string();
    if !st.clusters.contains(&cluster) {
        return Err(client_error("ClusterNotFoundException", "Cluster not found."));
    }
    let service = req["serviceName"].as_str();
    let desired = req["desiredStatus"].as_str().unwrap_or("RUNNING");
    let arns: Vec<&str> = st
        .tasks
        .iter()
        .filter(|t| t.cluster == cluster && service.is_none_or(|s| s == t.service))
        .filter(|t| (desired == "STOPPED") == (t.last_status == "STOPPED"))
        .map(|t| t.arn.as_str())
        .collect();
    Ok(json!({ "taskArns": arns }))
}

fn describe_tasks(st: &State, req: &Value) -> Value {
    let wanted: Vec<&str> =
        req["tasks"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let tasks: Vec<Value> = st
        .tasks
        .iter()
        .filter(|t| wanted.iter().any(|w| t.arn == *w || t.arn.ends_with(&format!("/{w}"))))
        .map(|t| {
            let mut container = json!({ "name": t.container, "lastStatus": t.last_status, "taskArn": t.arn });
            if let Some(code) = t.exit_code {
                container["exitCode"] = json!(code);
            }
            let mut task = json!({
                "taskArn": t.arn, "clusterArn": arn("cluster", &t.cluster), "taskDefinitionArn": t.task_definition,
                "lastStatus": t.last_status, "desiredStatus": if t.last_status == "STOPPED" { "STOPPED" } else { "RUNNING" },
                "group": format!("service:{}", t.service), "launchType": "FARGATE", "containers": [container],
                "startedBy": t.started_by, "createdAt": epoch(t.created),
            });
            if let Some(reason) = &t.stopped_reason {
                task["stoppedReason"] = json!(reason);
                task["stopCode"] = json!(if t.exit_code.unwrap_or(0) != 0 { "EssentialContainerExited" } else { "ServiceSchedulerInitiated" });
            }
            if let Some(at) = t.stopped_at {
                task["stoppedAt"] = json!(epoch(at));
            }
            task
        })
        .collect();
    json!({ "tasks": tasks, "failures": [] })
}
