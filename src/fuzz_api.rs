//! Entry points for the fuzz targets in fuzz/ (cargo-fuzz, see docs/security.md): each takes bytes as an
//! outside party could write them and runs shipit's own parsing and judging over them, rendering every
//! message a user would see. Not an API: hidden from the docs, and it changes whenever a parser does. The
//! regression tests (tests/it/fuzz_regressions.rs) replay the inputs that once crashed through the same
//! functions on stable.

use std::path::Path;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;

use crate::config::{self, Date, Exception, Severity, UnknownSeverity};
use crate::providers::kube::{Assessment, RolloutView, assess};
use crate::scan::gate::{self, Policy, RegisteredException};

/// ship.toml: load (TOML, schema, interpolation, validation), render every diagnostic, resolve each
/// environment's target; the exceptions file and `.trivyignore` readers on the same bytes.
pub fn ship_toml(data: &[u8]) {
    let path = Path::new("ship.toml");
    match config::parse_bytes(path, data) {
        Ok(config) => {
            let loaded = config::Loaded { path: path.into(), root: ".".into(), config };
            for name in loaded.config.environments.keys() {
                if let Ok(env) = loaded.environment(name) {
                    let _ = env.target_env(name);
                    let _ = loaded.registry_for(env);
                }
            }
            let _ = loaded.environment("no-such-environment").map_err(|e| crate::ui::error_json(&e));
        }
        Err(e) => {
            let _ = crate::ui::error_json(&crate::error::CliError::from(e));
        }
    }
    let text = String::from_utf8_lossy(data);
    // An environment where some names are set (to values with `$` and `}` in them) and others are not.
    let lookup = |name: &str| match name.len() % 3 {
        0 => None,
        1 => Some(String::new()),
        _ => Some(format!("${{{name}}}")),
    };
    let _ = config::values::interpolate(&text, &lookup);
    let _ = config::values::parse_duration(&text);
    let _ = crate::scan::parse_exceptions_file(Path::new("exceptions.toml"), &text);
    let _ = crate::scan::trivyignore::parse(&text);
    for kind in [config::RegistryKind::Oci, config::RegistryKind::Ghcr, config::RegistryKind::Ecr] {
        let _ = config::check_repository(kind, text.trim());
    }
    let _ = config::ecr_region(&text);
}

/// A Trivy report, judged by the gate under a policy chosen by the first byte, with every rendering the
/// scan stage prints.
pub fn trivy_report(data: &[u8]) {
    let Some((&knob, json)) = data.split_first() else { return };
    let report = match crate::scan::report::parse(json) {
        Ok(r) => r,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let fail_on = Severity::ALL[usize::from(knob) % Severity::ALL.len()];
    let unknown = match (knob >> 3) % 3 {
        0 => None,
        1 => Some(UnknownSeverity::Allow),
        _ => Some(UnknownSeverity::Block),
    };
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).expect("a valid date");
    // Exceptions for the first findings, some expired, so every rule of the gate is reached.
    let exceptions = report
        .findings
        .iter()
        .take(usize::from(knob >> 5))
        .enumerate()
        .map(|(i, f)| RegisteredException {
            exception: Exception {
                id: config::IString(f.id.clone()),
                package: (i % 2 == 0).then(|| config::IString(f.package.clone())),
                reason: config::IString("fuzz".into()),
                expires: Date(if i % 3 == 0 { today.pred_opt().unwrap_or(today) } else { today }),
            },
            source: "ship.toml".into(),
        })
        .collect();
    let policy = Policy { fail_on, ignore_unfixed: knob & 0x04 != 0, unknown, exceptions, today };
    let verdict = gate::evaluate(&report, &policy);
    let _ = verdict.headline();
    let _ = verdict.blocking_table();
    let _ = verdict.explain();
    let _ = verdict.unknown_blocking();
    let _ = serde_json::to_string(&verdict);
    let _ = crate::evidence::scan::policy_json(&policy);
}

/// What a registry sends: the `WWW-Authenticate` challenge (first line), an error body, an image manifest,
/// an index (referrers API or tag schema), a DSSE envelope, a token reply.
pub fn registry(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let first = text.lines().next().unwrap_or("");
    let _ = crate::providers::registry::parse_challenge(first);
    let _ = crate::providers::registry::registry_error_message(&text);
    let _ = crate::providers::registry::token_from_reply(data);
    let _ = crate::evidence::store::parse_index(data);
    if let Ok(m) = crate::evidence::store::parse_manifest(data) {
        let _ = m.dsse_layer();
        let _ = m.subject_digest();
    }
    let _ = crate::evidence::store::config_digest(data);
    if let Ok(statement) = crate::evidence::dsse::Envelope::open(data) {
        let digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        let _ = statement.is_about(digest);
        let subject = crate::evidence::store::SubjectImage {
            descriptor: crate::evidence::store::Descriptor {
                media_type: crate::evidence::store::MANIFEST.into(),
                digest: digest.into(),
                size: 2,
                artifact_type: None,
                annotations: Default::default(),
            },
            config_digest: Some(digest.into()),
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).expect("a valid date");
        let policy =
            Policy { fail_on: Severity::High, ignore_unfixed: false, unknown: None, exceptions: Vec::new(), today };
        let _ = crate::evidence::scan::judge(&statement, &subject, &policy).map(|j| format!("{j:?}"));
    }
}

/// docker's config.json for a host (first line: the host), a credential helper's stdout, and a kubeconfig
/// (read by kube-rs, then merged as shipit merges KUBECONFIG's files).
pub fn docker_credentials(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (host, rest) = text.split_once('\n').unwrap_or(("ghcr.io", &text));
    let path = Path::new("/home/u/.docker/config.json");
    if let Ok(file) = crate::providers::credentials::parse_docker_config(rest, path) {
        let _ = file.helper_for(host);
        let _ = file.inline_auth(host, path, "~/.docker/config.json");
    }
    let _ = crate::providers::credentials::parse_helper_reply(data, "docker-credential-fuzz");
    let _ = crate::providers::credentials::normalize_host(&text);
    if let Ok(kc) = kube::config::Kubeconfig::from_yaml(&text) {
        let _ = kc.clone().merge(kc);
    }
}

/// The rollout watch's view (a Deployment, its ReplicaSets and their Pods, as JSON
/// `{"deployment":…,"replicasets":[…],"pods":[…]}`) judged as the watch judges it, plus the history and
/// live-state readings of the same objects.
pub fn kube_rollout(data: &[u8]) {
    #[derive(serde::Deserialize)]
    struct View {
        deployment: Option<Deployment>,
        #[serde(default)]
        replicasets: Vec<ReplicaSet>,
        #[serde(default)]
        pods: Vec<Pod>,
    }
    let Ok(v) = serde_json::from_slice::<View>(data) else { return };
    let containers = vec!["api".to_string(), "sidecar".to_string()];
    let generation = v.deployment.as_ref().and_then(|d| d.metadata.generation).unwrap_or(1);
    let name = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| m.name.clone().unwrap_or_default();
    let view = RolloutView {
        deployment: v.deployment.clone(),
        replicasets: v.replicasets.iter().map(|r| (name(&r.metadata), r.clone())).collect(),
        pods: v.pods.iter().map(|p| (name(&p.metadata), p.clone())).collect(),
    };
    match assess(&view, generation) {
        Assessment::Waiting(s) => drop(s),
        Assessment::Progress { revision, line } => drop((revision, line)),
        Assessment::Complete { revision } => drop(revision),
        Assessment::Failed { revision, reason } => drop((revision, reason)),
    }
    let _ = crate::providers::kube::watch::RolloutReplicaSet::of(&view, generation).map(|r| (r.name, r.marked_failed));
    if let Some(dep) = &v.deployment {
        use crate::providers::kube::history;
        let _ = history::revisions(dep, &v.replicasets, &containers);
        let _ = history::live_state(dep, &containers);
        let _ = history::rollout_state(dep);
        let _ = history::selector_string(dep);
        let _ = crate::providers::kube::in_progress(dep);
        let image = crate::release::ImageRef {
            repository: "127.0.0.1:5000/api".into(),
            digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a".into(),
        };
        let meta = crate::rollout::DeployMeta {
            commit: "3f2c1ab".into(),
            deployer: "fuzz".into(),
            cause: "fuzz".into(),
            summary: None,
        };
        if let Ok(p) = crate::providers::kube::patch::DeployPatch::for_image(dep, "api", &containers, &image, &meta) {
            let _ = p.is_noop(dep);
            let _ = p.to_json(dep.metadata.resource_version.as_deref());
        }
    }
}

/// ECS answers (DescribeServices, ListTasks, DescribeTasks, DescribeTaskDefinition, ListTagsForResource, in
/// that order, separated by NUL bytes; one starting with `!` is sent with status 400, an ECS error; a missing
/// one is `{}`), read by the SDK's own deserializers and judged as a deploy judges them: one poll of the
/// rollout watch, then `status`'s live state. The first byte's low bit says whether the deployment id is known.
pub fn ecs_outcome(data: &[u8]) -> String {
    let answers: Vec<Vec<u8>> = data.split(|b| *b == 0).map(<[u8]>::to_vec).collect();
    let conf = aws_sdk_ecs::Config::builder()
        .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
        .region(aws_sdk_ecs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ecs::config::Credentials::new("AKIDFUZZ", "fuzz", None, None, "fuzz"))
        .http_client(ecs_answers::Answers(std::sync::Arc::new(answers)))
        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled())
        .build();
    let client = aws_sdk_ecs::Client::from_conf(conf);
    let td = "arn:aws:ecs:us-east-1:123456789012:task-definition/api:8";
    let id = data.first().is_some_and(|b| b & 1 == 1).then(|| "ecs-svc/1".to_string());
    ecs_answers::RUNTIME.with(|rt| {
        rt.block_on(async {
            let outcome = crate::providers::ecs::watch_once(&client, td, id).await;
            let target = crate::providers::ecs::EcsTarget::with_client(client, "fuzz", "c", "api", "api");
            let live = target.live().await.map(|l| l.map(|l| l.details.join("\n")));
            let summary = target.deployments_summary().await;
            format!("{outcome}\n{live:?}\n{summary:?}")
        })
    })
}

mod ecs_answers {
    use std::sync::Arc;

    use aws_sdk_ecs::config::RuntimeComponents;
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_runtime_api::shared::IntoShared;
    use aws_smithy_types::body::SdkBody;

    const OPS: [&str; 5] =
        ["DescribeServices", "ListTasks", "DescribeTasks", "DescribeTaskDefinition", "ListTagsForResource"];

    thread_local! {
        pub(super) static RUNTIME: tokio::runtime::Runtime =
            tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a current-thread runtime builds");
    }

    /// An HTTP client that answers each ECS operation with the fuzzer's bytes.
    #[derive(Debug, Clone)]
    pub(super) struct Answers(pub Arc<Vec<Vec<u8>>>);

    impl HttpConnector for Answers {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let op = request.headers().get("x-amz-target").and_then(|t| t.rsplit('.').next()).unwrap_or("");
            let answer = OPS
                .iter()
                .position(|o| *o == op)
                .and_then(|i| self.0.get(i))
                .cloned()
                .unwrap_or_else(|| b"{}".to_vec());
            let (status, body) = match answer.strip_prefix(b"!") {
                Some(rest) => (400, rest.to_vec()),
                None => (200, answer),
            };
            let status = StatusCode::try_from(status).expect("200 and 400 are valid statuses");
            let mut resp = HttpResponse::new(status, SdkBody::from(body));
            resp.headers_mut().insert("content-type", "application/x-amz-json-1.1");
            HttpConnectorFuture::ready(Ok(resp))
        }
    }

    impl HttpClient for Answers {
        fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
            self.clone().into_shared()
        }
    }
}

/// What GitHub and SonarQube send back: `Retry-After` / `x-ratelimit-reset` values and a `Link` header (the
/// first line), then the JSON pages shipit reads.
pub fn api_answers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let first = text.lines().next().unwrap_or("");
    let _ = crate::providers::github::rate_limit_reset(Some(first), None).map(|t| t.to_string());
    let _ = crate::providers::github::rate_limit_reset(None, Some(first)).map(|t| t.to_string());
    let _ = crate::providers::github::fuzz_pages(data);
    let _ = crate::providers::sonarqube::fuzz_answers(data);
}
