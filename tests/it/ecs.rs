//! The ECS deploy target against a scripted ECS (rollouts that move) and against moto (the real request and
//! response shapes of a second implementation).

use std::time::Duration;

use serde_json::{Value, json};
use shipit::config::Environment;
use shipit::error::CliError;
use shipit::providers::ecs::{EcsError, EcsTarget};
use shipit::release::ImageRef;
use shipit::report::Recorder;
use shipit::rollout::{DeployMeta, DeployOptions, Outcome, Revision};

use crate::support::env::unique_name;
use crate::support::fake_ecs::{FakeEcs, Script};

pub const REPO: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/api";

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn image(n: u8) -> ImageRef {
    ImageRef { repository: REPO.into(), digest: digest(n) }
}

fn meta(commit: &str) -> DeployMeta {
    DeployMeta {
        commit: commit.into(),
        deployer: "Jane Doe <jane@acme.dev>".into(),
        cause: format!("shipit deploy {commit}"),
        summary: None,
    }
}

fn opts(timeout_ms: u64, auto_rollback: bool, force: bool) -> DeployOptions {
    DeployOptions { force, timeout: Duration::from_millis(timeout_ms), auto_rollback, wait_merge: false }
}

/// A task definition using most of what ECS offers, as a RegisterTaskDefinition body. Values avoid the
/// protocol's defaults (0, false) so that a field dropped on the way shows up as a difference.
pub fn rich_task_definition(family: &str, image: &str) -> Value {
    let api = json!({
        "name": "api",
        "image": image,
        "cpu": 256,
        "memory": 512,
        "memoryReservation": 256,
        "essential": true,
        "portMappings": [{ "containerPort": 8080, "hostPort": 8080, "protocol": "tcp", "name": "http", "appProtocol": "http" }],
        "environment": [{ "name": "RUST_LOG", "value": "info" }, { "name": "PORT", "value": "8080" }],
        "environmentFiles": [{ "value": "arn:aws:s3:::acme-config/api.env", "type": "s3" }],
        "secrets": [{ "name": "DATABASE_URL", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/api/db" }],
        "command": ["serve", "--port", "8080"],
        "entryPoint": ["/bin/api"],
        "workingDirectory": "/srv",
        "user": "1000:1000",
        "mountPoints": [{ "sourceVolume": "data", "containerPath": "/data", "readOnly": true }],
        "healthCheck": { "command": ["CMD-SHELL", "curl -f http://localhost:8080/health"], "interval": 10, "timeout": 3, "retries": 4, "startPeriod": 20 },
        "logConfiguration": { "logDriver": "awslogs", "options": { "awslogs-group": "/ecs/api", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "api" } },
        "ulimits": [{ "name": "nofile", "softLimit": 4096, "hardLimit": 8192 }],
        "dockerLabels": { "team": "payments", "tier": "web" },
        "dependsOn": [{ "containerName": "envoy", "condition": "HEALTHY" }],
        "linuxParameters": { "initProcessEnabled": true, "capabilities": { "add": ["SYS_PTRACE"], "drop": ["NET_RAW"] } },
        "stopTimeout": 30,
        "startTimeout": 60,
        "readonlyRootFilesystem": true,
        "restartPolicy": { "enabled": true, "restartAttemptPeriod": 120, "ignoredExitCodes": [0] },
        "versionConsistency": "disabled",
        "systemControls": [{ "namespace": "net.core.somaxconn", "value": "1024" }]
    });
    let envoy = json!({
        "name": "envoy",
        "image": "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod",
        "memory": 128,
        "essential": true,
        "environment": [{ "name": "APPMESH_RESOURCE_ARN", "value": "arn:aws:appmesh:us-east-1:123456789012:mesh/acme/virtualNode/api" }],
        "healthCheck": { "command": ["CMD-SHELL", "curl -s http://localhost:9901/ready"], "interval": 5, "timeout": 2, "retries": 3 },
        "user": "1337"
    });
    let volumes = json!([
        { "name": "data", "efsVolumeConfiguration": { "fileSystemId": "fs-12345678", "rootDirectory": "/api", "transitEncryption": "ENABLED" } },
        { "name": "scratch", "host": { "sourcePath": "/tmp" } }
    ]);
    json!({
        "family": family,
        "taskRoleArn": "arn:aws:iam::123456789012:role/api-task",
        "executionRoleArn": "arn:aws:iam::123456789012:role/api-exec",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "pidMode": "task",
        "ipcMode": "none",
        "runtimePlatform": { "cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX" },
        "ephemeralStorage": { "sizeInGiB": 30 },
        "enableFaultInjection": true,
        "placementConstraints": [{ "type": "memberOf", "expression": "attribute:ecs.availability-zone in [us-east-1a]" }],
        "proxyConfiguration": { "type": "APPMESH", "containerName": "envoy", "properties": [{ "name": "AppPorts", "value": "8080" }] },
        "volumes": volumes,
        "containerDefinitions": [api, envoy]
    })
}

fn environment(cluster: &str, service: &str, endpoint: &str) -> Environment {
    toml::from_str(&format!(
        "target = \"ecs\"\ncluster = \"{cluster}\"\nservice = \"{service}\"\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\n"
    ))
    .expect("environment parses")
}

async fn target(env_name: &str, cluster: &str, service: &str, endpoint: &str) -> EcsTarget {
    let sdk = sdk_config(endpoint).await;
    EcsTarget::with_sdk_config(env_name, &environment(cluster, service, endpoint).ecs(env_name).unwrap(), "api", &sdk)
}

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .load()
        .await
}

/// A fake with one settled service `api` (2 tasks of api:1) in `cluster`.
fn fake_with_service(cluster: &str, circuit_breaker: (bool, bool)) -> FakeEcs {
    let fake = FakeEcs::start();
    fake.add_service(cluster, "api", rich_task_definition("api", &format!("{REPO}:old")), 2, circuit_breaker);
    fake
}

fn lines(rec: &Recorder) -> String {
    rec.lines().join("\n")
}

/// A task definition with the image, the tags and what ECS sets itself taken out: what a round trip must keep.
fn without_image_and_tags(mut body: Value) -> Value {
    for key in ["tags", "taskDefinitionArn", "revision", "status", "compatibilities", "registeredAt", "registeredBy"] {
        body.as_object_mut().unwrap().remove(key);
    }
    body["containerDefinitions"][0].as_object_mut().unwrap().remove("image");
    body
}

#[tokio::test]
async fn rollout_completes_with_progress_and_keeps_every_field() {
    let fake = fake_with_service("c-complete", (true, false));
    // Slow enough that every intermediate state lasts longer than the slowest poll near the end.
    fake.script("api", Script::Completes { step: Duration::from_millis(1500) });
    let ecs = target("staging", "c-complete", "api", &fake.url).await;
    assert_eq!(ecs.describe(), "ecs c-complete/api (us-east-1)");
    let rec = Recorder::default();

    let outcome = ecs.deploy(&image(1), &meta("3f2c1ab"), &opts(30_000, false, false), &rec).await.unwrap();

    assert_eq!(outcome, Outcome::Completed { revision: "2".into() });
    assert!(fake.service_task_definition("c-complete", "api").ends_with("task-definition/api:2"));
    let log = lines(&rec);
    assert!(
        log.contains("status: PRIMARY api:2 1/2 running, 1 pending, IN_PROGRESS; ACTIVE api:1 1/2 running, COMPLETED"),
        "{log}"
    );
    assert!(log.contains("status: PRIMARY api:2 2/2 running, COMPLETED"), "{log}");
    assert!(log.contains("line: (service api) has reached a steady state."), "{log}");

    // Sent exactly what was there before, except the image; tagged with who and what.
    let registered = fake.registered();
    assert_eq!(registered.len(), 1);
    let sent = &registered[0];
    assert_eq!(sent["containerDefinitions"][0]["image"], json!(image(1).pinned()));
    let described = fake.task_definition("api", 1);
    assert_eq!(without_image_and_tags(sent.clone()), without_image_and_tags(described.clone()));
    assert_eq!(described["containerDefinitions"].as_array().unwrap().len(), 2);
    assert_eq!(
        described["containerDefinitions"][0]["healthCheck"]["startPeriod"],
        json!(20),
        "the comparison covers nested fields"
    );
    let tags: Vec<(String, String)> = sent["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["key"].as_str().unwrap().into(), t["value"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        tags,
        vec![
            ("shipit:commit".into(), "3f2c1ab".into()),
            ("shipit:digest".into(), digest(1)),
            ("shipit:deployer".into(), "Jane Doe jane@acme.dev".into()),
        ]
    );

    // What runs now, as `status` shows it.
    let live = ecs.live().await.unwrap().unwrap();
    assert_eq!(live.revision.as_deref(), Some("2"));
    assert_eq!(live.digest, Some(digest(1)));
    assert_eq!(live.commit.as_deref(), Some("3f2c1ab"));
    assert_eq!((live.rollout.as_str(), live.desired, live.running, live.pending), ("COMPLETED", 2, 2, 0));
    assert!(live.details.iter().any(|d| d == "circuit breaker: on, no rollback"), "{:?}", live.details);
}

#[tokio::test]
async fn same_digest_again_is_nothing_to_do() {
    let fake = fake_with_service("c-noop", (false, false));
    let ecs = target("staging", "c-noop", "api", &fake.url).await;
    let rec = Recorder::default();
    ecs.deploy(&image(1), &meta("a"), &opts(30_000, false, false), &rec).await.unwrap();
    let again = ecs.deploy(&image(1), &meta("a"), &opts(30_000, false, false), &rec).await.unwrap();
    assert_eq!(again, Outcome::Completed { revision: "2".into() });
    assert_eq!(fake.revisions("api"), 2, "no third revision for the same digest");
    assert_eq!(fake.count("UpdateService"), 1);

    // --force deploys it again: fresh tasks of the same revision, still nothing registered.
    let forced = ecs.deploy(&image(1), &meta("a"), &opts(30_000, false, true), &rec).await.unwrap();
    assert_eq!(forced, Outcome::Completed { revision: "2".into() });
    assert_eq!((fake.revisions("api"), fake.count("UpdateService")), (2, 2));
}

fn failing(rollback: bool) -> Script {
    Script::CircuitBreaker {
        step: Duration::from_millis(150),
        failures: 3,
        reason: "Essential container in task exited".into(),
        exit_code: 137,
        rollback,
    }
}

#[tokio::test]
async fn circuit_breaker_failure_is_reported_with_stopped_tasks() {
    let fake = fake_with_service("c-cb", (true, false));
    fake.script("api", failing(false));
    let ecs = target("staging", "c-cb", "api", &fake.url).await;
    let rec = Recorder::default();

    let outcome = ecs.deploy(&image(2), &meta("bad"), &opts(30_000, false, false), &rec).await.unwrap();

    let Outcome::Failed { revision, reason } = outcome else { panic!("expected Failed, got {outcome:?}") };
    assert_eq!(revision, "2");
    assert!(reason.contains("FAILED: ECS deployment circuit breaker: tasks failed to start."), "{reason}");
    assert!(reason.contains("3 tasks stopped: Essential container in task exited (api: exit code 137) ×3"), "{reason}");
    let log = lines(&rec);
    assert!(log.contains("stopped: Essential container in task exited (api: exit code 137)"), "{log}");
    assert!(fake.calls().contains(&"DescribeTasks".to_string()));
    // Nothing was put back: the service still points at the failed revision.
    assert!(fake.service_task_definition("c-cb", "api").ends_with(":2"));
    assert_eq!(fake.count("UpdateService"), 1);
}

#[tokio::test]
async fn auto_rollback_restores_the_previous_revision() {
    let fake = fake_with_service("c-auto", (true, false));
    fake.script("api", failing(false));
    let ecs = target("production", "c-auto", "api", &fake.url).await;
    let rec = Recorder::default();

    let outcome = ecs.deploy(&image(2), &meta("bad"), &opts(30_000, true, false), &rec).await.unwrap();

    let Outcome::RolledBack { revision, restored, reason } = outcome else {
        panic!("expected RolledBack, got {outcome:?}")
    };
    assert_eq!((revision.as_str(), restored.as_str()), ("2", "1"));
    assert!(reason.contains("exit code 137"), "{reason}");
    assert!(fake.service_task_definition("c-auto", "api").ends_with(":1"));
    assert_eq!(fake.count("UpdateService"), 2, "deploy, then the rollback");
    assert_eq!(fake.revisions("api"), 2, "a rollback registers nothing");
    assert!(lines(&rec).contains("line: rolling back to api:1"));
}

#[tokio::test]
async fn auto_rollback_follows_the_circuit_breakers_own_rollback() {
    let fake = fake_with_service("c-ecsrb", (true, true));
    fake.script("api", failing(true));
    let ecs = target("production", "c-ecsrb", "api", &fake.url).await;
    let rec = Recorder::default();

    let outcome = ecs.deploy(&image(2), &meta("bad"), &opts(30_000, true, false), &rec).await.unwrap();

    assert!(matches!(&outcome, Outcome::RolledBack { restored, .. } if restored == "1"), "{outcome:?}");
    assert_eq!(fake.count("UpdateService"), 1, "ECS rolled back by itself; shipit waited for it");
    assert!(lines(&rec).contains("the circuit breaker is rolling back to api:1; waiting for it"));
    let live = ecs.live().await.unwrap().unwrap();
    assert_eq!((live.revision.as_deref(), live.rollout.as_str()), (Some("1"), "COMPLETED"));
}

#[tokio::test]
async fn circuit_breaker_rollback_without_auto_rollback_is_a_failure() {
    let fake = fake_with_service("c-ecsrb2", (true, true));
    fake.script("api", failing(true));
    let ecs = target("production", "c-ecsrb2", "api", &fake.url).await;
    let outcome = ecs.deploy(&image(2), &meta("bad"), &opts(30_000, false, false), &Recorder::default()).await.unwrap();
    let Outcome::Failed { reason, .. } = outcome else { panic!("expected Failed, got {outcome:?}") };
    assert!(reason.contains("the circuit breaker is rolling back to api:1"), "{reason}");
}

#[tokio::test]
async fn a_timeout_says_what_it_saw_last() {
    let fake = fake_with_service("c-timeout", (false, false));
    fake.script("api", Script::Stuck);
    let ecs = target("staging", "c-timeout", "api", &fake.url).await;

    let err = ecs.deploy(&image(3), &meta("slow"), &opts(1_500, false, false), &Recorder::default()).await.unwrap_err();

    let EcsError::TimedOut { last_seen, task_definition, .. } = &err else { panic!("expected TimedOut, got {err:?}") };
    assert_eq!(task_definition, "api:2");
    assert!(last_seen.contains("PRIMARY api:2 0/2 running, 1 pending, IN_PROGRESS"), "{last_seen}");
    let cli: CliError = err.into();
    assert_eq!(cli.exit_code(), 1);
    assert_eq!(cli.message, "the rollout of api:2 to ecs c-timeout/api (us-east-1) did not finish within 1s");
    assert!(!cli.message.contains("fail"), "a timeout is not a failure reason: {}", cli.message);
    assert!(cli.detail.unwrap().contains("last seen: PRIMARY api:2"));
    assert!(cli.hints.iter().any(|h| h.contains("shipit status staging")));
}

#[tokio::test]
async fn a_timeout_with_auto_rollback_restores() {
    let fake = fake_with_service("c-timeout-rb", (false, false));
    fake.script("api", Script::Stuck);
    let ecs = target("staging", "c-timeout-rb", "api", &fake.url).await;
    let outcome = ecs.deploy(&image(3), &meta("slow"), &opts(1_500, true, false), &Recorder::default()).await.unwrap();
    let Outcome::RolledBack { reason, restored, .. } = outcome else { panic!("expected RolledBack, got {outcome:?}") };
    assert_eq!(restored, "1");
    assert!(
        reason.starts_with("the rollout did not finish within 1s; last seen: PRIMARY api:2 0/2 running"),
        "{reason}"
    );
}

#[tokio::test]
async fn throttling_is_retried() {
    let fake = fake_with_service("c-throttle", (false, false));
    fake.throttle("DescribeServices", 3);
    fake.throttle("RegisterTaskDefinition", 1);
    fake.throttle("UpdateService", 2);
    let ecs = target("staging", "c-throttle", "api", &fake.url).await;

    let outcome = ecs.deploy(&image(4), &meta("t"), &opts(60_000, false, false), &Recorder::default()).await.unwrap();

    assert_eq!(outcome, Outcome::Completed { revision: "2".into() });
    let calls = fake.calls();
    assert_eq!(&calls[..4], ["DescribeServices"; 4], "three throttled answers, then the real one: {calls:?}");
    assert_eq!(fake.count("RegisterTaskDefinition"), 2);
    assert_eq!(fake.count("UpdateService"), 3);
    assert_eq!(fake.revisions("api"), 2, "a retried register must not leave two revisions");
}

#[tokio::test]
async fn throttling_that_never_stops_gives_up_with_a_hint() {
    let fake = fake_with_service("c-throttle-forever", (false, false));
    fake.throttle("DescribeServices", 1000);
    let ecs = target("staging", "c-throttle-forever", "api", &fake.url).await;
    let err = ecs.live().await.unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"));
    assert_eq!(fake.count("DescribeServices"), 8, "standard retry mode, 8 attempts");
    let cli: CliError = err.into();
    assert!(cli.hints[0].contains("throttling"), "{:?}", cli.hints);
}

#[tokio::test]
async fn a_deployment_in_progress_is_not_interrupted_without_force() {
    let fake = fake_with_service("c-busy", (false, false));
    fake.script("api", Script::Stuck);
    let theirs = fake.start_deployment("c-busy", "api", "api:1");
    let ecs = target("staging", "c-busy", "api", &fake.url).await;

    let err =
        ecs.deploy(&image(5), &meta("mine"), &opts(30_000, false, false), &Recorder::default()).await.unwrap_err();

    assert!(matches!(err, EcsError::InProgress { .. }), "{err:?}");
    let cli: CliError = err.into();
    assert!(cli.message.contains(&theirs), "names the deployment: {}", cli.message);
    assert!(cli.message.contains("api:1"), "{}", cli.message);
    assert!(cli.hints.iter().any(|h| h.contains("--force")), "{:?}", cli.hints);
    assert_eq!(fake.count("RegisterTaskDefinition"), 0, "refused before registering anything");

    // --force replaces it.
    let outcome = ecs.deploy(&image(5), &meta("mine"), &opts(30_000, false, true), &Recorder::default()).await.unwrap();
    assert_eq!(outcome, Outcome::Completed { revision: "2".into() });
}

#[tokio::test]
async fn history_and_rollback_over_several_revisions() {
    let fake = fake_with_service("c-history", (true, false));
    // Another family sharing the prefix must not leak into the history.
    fake.register(rich_task_definition("api-worker", "worker:1"), vec![]);
    let ecs = target("staging", "c-history", "api", &fake.url).await;
    for (n, commit) in [(1, "aaa1111"), (2, "bbb2222"), (3, "ccc3333")] {
        let outcome =
            ecs.deploy(&image(n), &meta(commit), &opts(30_000, false, false), &Recorder::default()).await.unwrap();
        assert!(matches!(outcome, Outcome::Completed { .. }));
    }

    let history = ecs.history(10).await.unwrap();
    let summary: Vec<(&str, Option<&str>, Option<&str>, bool)> =
        history.iter().map(|r| (r.revision.as_str(), r.commit.as_deref(), r.digest.as_deref(), r.live)).collect();
    assert_eq!(
        summary,
        vec![
            ("4", Some("ccc3333"), Some(digest(3).as_str()), true),
            ("3", Some("bbb2222"), Some(digest(2).as_str()), false),
            ("2", Some("aaa1111"), Some(digest(1).as_str()), false),
            ("1", None, None, false),
        ]
    );
    assert_eq!(history[1].deployer.as_deref(), Some("Jane Doe jane@acme.dev"));
    assert_eq!(history[0].image, image(3).pinned());
    assert!(history[0].created.is_some());
    assert_eq!(ecs.history(2).await.unwrap().len(), 2);

    // Roll back to revision 3 (commit bbb2222): the service points at it again, nothing is registered.
    let to: Revision = history[1].clone();
    let rec = Recorder::default();
    let outcome = ecs.rollback(&to, &meta("bbb2222"), &opts(30_000, false, false), &rec).await.unwrap();
    assert_eq!(outcome, Outcome::Completed { revision: "3".into() });
    assert_eq!(fake.revisions("api"), 4);
    assert_eq!(fake.count("RegisterTaskDefinition"), 3);
    let live: Vec<String> = ecs.history(10).await.unwrap().into_iter().filter(|r| r.live).map(|r| r.revision).collect();
    assert_eq!(live, vec!["3"]);
    assert!(lines(&rec).contains("status: PRIMARY api:3 2/2 running, COMPLETED"), "{}", lines(&rec));

    // Rolling back to what already runs is nothing to do.
    let again = ecs.rollback(&to, &meta("bbb2222"), &opts(30_000, false, false), &Recorder::default()).await.unwrap();
    assert_eq!(again, Outcome::Completed { revision: "3".into() });
    assert_eq!(fake.count("UpdateService"), 4);

    // A revision that does not exist.
    let missing = Revision { revision: "99".into(), ..to };
    let err = ecs.rollback(&missing, &meta("x"), &opts(30_000, false, false), &Recorder::default()).await.unwrap_err();
    assert!(matches!(&err, EcsError::RevisionNotFound { task_definition } if task_definition == "api:99"), "{err:?}");
}

fn outcome_tag(fake: &FakeEcs, revision: usize) -> Option<String> {
    fake.tags("api", revision).into_iter().find(|(k, _)| k == "shipit:outcome").map(|(_, v)| v)
}

#[tokio::test]
async fn a_failed_revision_is_tagged_skipped_as_previous_and_untagged_when_it_completes() {
    let fake = fake_with_service("c-failed-mark", (true, false));
    let ecs = target("production", "c-failed-mark", "api", &fake.url).await;
    ecs.deploy(&image(1), &meta("good"), &opts(30_000, true, false), &Recorder::default()).await.unwrap();
    fake.script("api", failing(false));
    let outcome = ecs.deploy(&image(2), &meta("bad"), &opts(30_000, true, false), &Recorder::default()).await.unwrap();
    assert!(matches!(&outcome, Outcome::RolledBack { revision, .. } if revision == "3"), "{outcome:?}");
    assert_eq!(outcome_tag(&fake, 3).as_deref(), Some("failed"));
    assert_eq!(outcome_tag(&fake, 2), None);
    assert!(fake.tags("api", 3).iter().any(|(k, v)| k == "shipit:commit" && v == "bad"), "other tags stay");

    // A later good release: the failed one now sits between the live one and the last good one.
    ecs.deploy(&image(3), &meta("next"), &opts(30_000, true, false), &Recorder::default()).await.unwrap();
    assert_eq!(outcome_tag(&fake, 4), None, "the mark is not copied to the next revision");
    assert_eq!(fake.count("UntagResource"), 0, "nothing to clear: the new revision never had the mark");
    let history = ecs.history(10).await.unwrap();
    let marks: Vec<(&str, bool, bool)> = history.iter().map(|r| (r.revision.as_str(), r.live, r.failed)).collect();
    assert_eq!(marks, [("4", true, false), ("3", false, true), ("2", false, false), ("1", false, false)]);
    let suggested = shipit::deploy::meta::previous_good(&history).map(|i| history[i].revision.as_str());
    assert_eq!(suggested, Some("2"));

    // Rolled out again on purpose, and completing: the tag comes off.
    let outcome = ecs.rollback(&history[1], &meta("bad"), &opts(30_000, false, false), &Recorder::default()).await;
    assert_eq!(outcome.unwrap(), Outcome::Completed { revision: "3".into() });
    assert_eq!(outcome_tag(&fake, 3), None);
    assert!(ecs.history(10).await.unwrap().iter().all(|r| !r.failed));
}

#[tokio::test]
async fn a_failure_to_tag_the_failed_revision_is_only_a_warning() {
    let fake = fake_with_service("c-no-tag", (true, false));
    fake.deny("TagResource");
    fake.script("api", failing(false));
    let ecs = target("production", "c-no-tag", "api", &fake.url).await;
    let rec = Recorder::default();

    let outcome = ecs.deploy(&image(2), &meta("bad"), &opts(30_000, false, false), &rec).await.unwrap();

    assert!(matches!(&outcome, Outcome::Failed { revision, .. } if revision == "2"), "{outcome:?}");
    let log = lines(&rec);
    assert!(
        log.contains("line: warning: could not mark api:2 as failed (ECS TagResource failed: AccessDeniedException"),
        "{log}"
    );
    assert!(log.contains("`shipit history` will not show this outcome"), "{log}");
    assert_eq!(outcome_tag(&fake, 2), None);
}

#[tokio::test]
async fn history_sorts_itself_when_the_endpoint_ignores_sort() {
    let fake = fake_with_service("c-unsorted", (false, false));
    fake.ignore_sort();
    for n in 0..120u8 {
        fake.register(rich_task_definition("api", &image(n).pinned()), vec![]);
    }
    let ecs = target("staging", "c-unsorted", "api", &fake.url).await;
    let revisions: Vec<String> = ecs.history(3).await.unwrap().into_iter().map(|r| r.revision).collect();
    assert_eq!(revisions, vec!["121", "120", "119"]);
    assert!(fake.count("ListTaskDefinitions") >= 2, "read every page");
}

#[tokio::test]
async fn missing_service_and_container_say_what_to_fix() {
    let fake = fake_with_service("c-missing", (false, false));
    let ecs = target("staging", "c-missing", "nope", &fake.url).await;
    let err: CliError = ecs.live().await.unwrap_err().into();
    assert_eq!(err.message, "service `nope` not found in ECS cluster `c-missing`");
    assert!(err.hints.iter().any(|h| h.contains("create it first")));

    let ecs = target("staging", "no-such-cluster", "api", &fake.url).await;
    let err: CliError = ecs.live().await.unwrap_err().into();
    assert!(err.message.contains("ClusterNotFoundException"), "{}", err.message);
    assert!(err.hints[0].contains("`cluster`"));

    let sdk = sdk_config(&fake.url).await;
    let mut env = environment("c-missing", "api", &fake.url);
    env.container = Some(shipit::config::IString("web".into()));
    let ecs = EcsTarget::with_sdk_config("staging", &env.ecs("staging").unwrap(), "api", &sdk);
    let err: CliError =
        ecs.deploy(&image(1), &meta("a"), &opts(1000, false, false), &Recorder::default()).await.unwrap_err().into();
    assert_eq!(err.message, "task definition api:1 has no container named `web` (it has: api, envoy)");
    assert_eq!(err.exit_code(), 2);

    let mut env = environment("c", "s", &fake.url);
    env.service = None;
    let err = env.ecs("staging").unwrap_err();
    assert_eq!((err.key, err.target), ("service", "ecs"));
}

// ---------------------------------------------------------------------------------------------------------
// moto: a second, independent implementation of the ECS API. Its services never roll out (deployments stay as
// created), so waits end in an honest timeout; what is checked is what ECS stores.

/// A cluster, a rich task definition and a service in moto. Returns (cluster, family, sdk client).
async fn moto_service(url: &str) -> (String, String, aws_sdk_ecs::Client) {
    use aws_sdk_ecs::types::*;
    let client = aws_sdk_ecs::Client::new(&sdk_config(url).await);
    let cluster = unique_name("shipit-it");
    let family = unique_name("api");
    client.create_cluster().cluster_name(&cluster).send().await.unwrap();
    let kv = |n: &str, v: &str| KeyValuePair::builder().name(n).value(v).build();
    let api = ContainerDefinition::builder()
        .name("api")
        .image(format!("{REPO}:old"))
        .cpu(256)
        .memory(512)
        .memory_reservation(256)
        .essential(true)
        .port_mappings(
            PortMapping::builder().container_port(8080).host_port(8080).protocol(TransportProtocol::Tcp).build(),
        )
        .environment(kv("RUST_LOG", "info"))
        .secrets(
            Secret::builder().name("DB").value_from("arn:aws:ssm:us-east-1:123456789012:parameter/db").build().unwrap(),
        )
        .command("serve")
        .health_check(
            HealthCheck::builder().command("CMD-SHELL").command("true").interval(10).retries(4).build().unwrap(),
        )
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", "/ecs/api")
                .build()
                .unwrap(),
        )
        .ulimits(Ulimit::builder().name(UlimitName::Nofile).soft_limit(4096).hard_limit(8192).build().unwrap())
        .docker_labels("team", "payments")
        .stop_timeout(30)
        .build();
    let envoy = ContainerDefinition::builder().name("envoy").image("envoyproxy/envoy:v1.30").memory(128).build();
    client
        .register_task_definition()
        .family(&family)
        .task_role_arn("arn:aws:iam::123456789012:role/api-task")
        .execution_role_arn("arn:aws:iam::123456789012:role/api-exec")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("512")
        .memory("1024")
        .container_definitions(api)
        .container_definitions(envoy)
        .volumes(
            Volume::builder().name("scratch").host(HostVolumeProperties::builder().source_path("/tmp").build()).build(),
        )
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(CpuArchitecture::Arm64)
                .operating_system_family(OsFamily::Linux)
                .build(),
        )
        .ephemeral_storage(EphemeralStorage::builder().size_in_gib(30).build())
        .tags(Tag::builder().key("team").value("payments").build())
        .send()
        .await
        .unwrap();
    client
        .create_service()
        .cluster(&cluster)
        .service_name("api")
        .task_definition(format!("{family}:1"))
        .desired_count(2)
        .send()
        .await
        .unwrap();
    (cluster, family, client)
}

async fn moto_describe(
    client: &aws_sdk_ecs::Client,
    name: &str,
) -> (aws_sdk_ecs::types::TaskDefinition, Vec<aws_sdk_ecs::types::Tag>) {
    let out = client
        .describe_task_definition()
        .task_definition(name)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    (out.task_definition.unwrap(), out.tags.unwrap_or_default())
}

#[tokio::test]
async fn moto_deploy_registers_the_digest_and_keeps_every_field() {
    let url = crate::require_env!("moto").moto.clone();
    let (cluster, family, client) = moto_service(&url).await;
    let ecs = target("staging", &cluster, "api", &url).await;

    // moto's services stay IN_PROGRESS forever unless its server runs with MOTO_ECS_SERVICE_RUNNING: a deploy
    // is refused, naming that deployment.
    let err =
        ecs.deploy(&image(7), &meta("7777777"), &opts(1_000, false, false), &Recorder::default()).await.unwrap_err();
    assert!(matches!(err, EcsError::InProgress { .. }), "{err:?}");

    // Forced, it registers and updates; moto never starts a deployment, and the wait says so.
    let err =
        ecs.deploy(&image(7), &meta("7777777"), &opts(1_000, false, true), &Recorder::default()).await.unwrap_err();
    let EcsError::TimedOut { last_seen, .. } = &err else { panic!("expected TimedOut, got {err:?}") };
    assert!(last_seen.starts_with(&format!("waiting for ECS to start a deployment of {family}:2")), "{last_seen}");

    let (before, before_tags) = moto_describe(&client, &format!("{family}:1")).await;
    let (after, after_tags) = moto_describe(&client, &format!("{family}:2")).await;
    let api = |td: &aws_sdk_ecs::types::TaskDefinition| td.container_definitions()[0].clone();
    assert_eq!(api(&after).image.as_deref(), Some(image(7).pinned().as_str()));
    let mut expected = before.clone();
    expected.container_definitions.as_mut().unwrap()[0].image = Some(image(7).pinned());
    expected.task_definition_arn = after.task_definition_arn.clone();
    expected.revision = 2;
    expected.registered_at = after.registered_at;
    assert_eq!(after, expected, "only the image changed");
    let tag = |tags: &[aws_sdk_ecs::types::Tag], k: &str| {
        tags.iter().find(|t| t.key() == Some(k)).and_then(|t| t.value().map(str::to_string))
    };
    assert_eq!(tag(&before_tags, "team"), tag(&after_tags, "team"));
    assert_eq!(tag(&after_tags, "shipit:commit").as_deref(), Some("7777777"));
    assert_eq!(tag(&after_tags, "shipit:digest"), Some(digest(7)));
}

#[tokio::test]
async fn moto_history_and_rollback_over_several_revisions() {
    let url = crate::require_env!("moto").moto.clone();
    let (cluster, family, client) = moto_service(&url).await;
    let ecs = target("staging", &cluster, "api", &url).await;
    for n in [1u8, 2, 3] {
        let err = ecs
            .deploy(&image(n), &meta(&format!("c{n}")), &opts(300, false, true), &Recorder::default())
            .await
            .unwrap_err();
        assert!(matches!(err, EcsError::TimedOut { .. }), "{err:?}");
    }

    let history = ecs.history(10).await.unwrap();
    let got: Vec<(&str, Option<&str>, bool)> =
        history.iter().map(|r| (r.revision.as_str(), r.commit.as_deref(), r.live)).collect();
    assert_eq!(
        got,
        vec![("4", Some("c3"), true), ("3", Some("c2"), false), ("2", Some("c1"), false), ("1", None, false)]
    );
    assert_eq!(history[2].digest, Some(digest(1)));

    let err = ecs.rollback(&history[2], &meta("c1"), &opts(300, false, true), &Recorder::default()).await.unwrap_err();
    assert!(matches!(err, EcsError::TimedOut { .. }), "{err:?}");
    let service = client.describe_services().cluster(&cluster).services("api").send().await.unwrap();
    let pointed = service.services()[0].task_definition().unwrap().to_string();
    assert!(pointed.ends_with(&format!("{family}:2")), "{pointed}");
    let listed = client.list_task_definitions().family_prefix(&family).send().await.unwrap();
    assert_eq!(listed.task_definition_arns().len(), 4, "a rollback registers nothing");
    let live: Vec<String> = ecs.history(10).await.unwrap().into_iter().filter(|r| r.live).map(|r| r.revision).collect();
    assert_eq!(live, vec!["2"]);
}

#[tokio::test]
async fn a_failed_rollback_reports_only_its_own_stopped_tasks() {
    // Revision 1's first tasks were stopped by the deploy of revision 2 ("Scaling activity…"); when a rollback
    // to revision 1 then fails, only the tasks that rollback started explain why.
    let fake = fake_with_service("c-own-tasks", (true, false));
    let ecs = target("staging", "c-own-tasks", "api", &fake.url).await;
    ecs.deploy(&image(1), &meta("a"), &opts(30_000, false, false), &Recorder::default()).await.unwrap();
    fake.script("api", failing(false));
    let to = ecs.history(10).await.unwrap().into_iter().find(|r| r.revision == "1").unwrap();

    let outcome = ecs.rollback(&to, &meta("old"), &opts(30_000, false, false), &Recorder::default()).await.unwrap();

    let Outcome::Failed { reason, .. } = outcome else { panic!("expected Failed, got {outcome:?}") };
    assert!(reason.contains("3 tasks stopped: Essential container in task exited (api: exit code 137) ×3"), "{reason}");
    assert!(!reason.contains("Scaling activity"), "{reason}");
}

/// The tag lease against moto, an independent implementation of TagResource/ListTagsForResource on services: a
/// second holder is refused, release removes only one's own lock, and every value survives the tag alphabet.
#[tokio::test]
async fn moto_service_tags_hold_the_deploy_lock() {
    use shipit::rollout::{LockAttempt, LockRecord};
    let url = crate::require_env!("moto").moto.clone();
    let (cluster, _family, client) = moto_service(&url).await;
    let ecs = target("staging", &cluster, "api", &url).await;
    let rec = |nonce: &str| LockRecord {
        holder: "ann".into(),
        host: "ci-7".into(),
        command: "shipit ship staging".into(),
        what: "sha256:0123456789ab".into(),
        since: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        until: chrono::Utc::now() + chrono::Duration::minutes(2),
        nonce: nonce.into(),
    };
    let mut ours = rec("one");
    ours.until = chrono::DateTime::from_timestamp(ours.until.timestamp(), 0).unwrap();
    assert_eq!(ecs.try_lock(&ours, None).await.unwrap(), LockAttempt::Acquired);
    assert_eq!(ecs.read_lock().await.unwrap(), Some(ours.clone()), "read back from moto as written");
    assert_eq!(ecs.try_lock(&rec("two"), None).await.unwrap(), LockAttempt::Held(ours.clone()));
    ecs.unlock(&rec("two")).await.unwrap();
    assert!(ecs.read_lock().await.unwrap().is_some(), "not two's to release");
    ecs.unlock(&ours).await.unwrap();
    assert_eq!(ecs.read_lock().await.unwrap(), None);
    // Other tags on the service are left alone.
    let arn = client.describe_services().cluster(&cluster).services("api").send().await.unwrap().services()[0]
        .service_arn()
        .unwrap()
        .to_string();
    let tags = client.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert!(tags.tags().iter().all(|t| !t.key().unwrap_or_default().starts_with("shipit:lock:")), "{tags:?}");
}
