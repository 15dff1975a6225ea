//! ECS environments through the real binary: deploy, status, history, rollback (flags and the picker in tmux),
//! exit codes for failed and rolled-back rollouts, against the scripted ECS and against moto.

use std::time::Duration;

use serde_json::Value;

use crate::ecs::{REPO, rich_task_definition};
use crate::support::cli::{Scratch, describe, text};
use crate::support::env::unique_name;
use crate::support::fake_ecs::{FakeEcs, Script};

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn image(n: u8) -> String {
    format!("{REPO}@{}", digest(n))
}

struct Setup {
    s: Scratch,
}

impl Setup {
    fn new(endpoint: &str, cluster: &str, extra: &str) -> Setup {
        let s = Scratch::new();
        s.write(
            "ship.toml",
            format!(
                r#"[app]
name = "api"

[registries.ecr]
type = "ecr"
repository = "{REPO}"

[environments.staging]
target = "ecs"
cluster = "{cluster}"
service = "api"
region = "us-east-1"
endpoint_url = "{endpoint}"
timeout = "30s"
require_scan = false
{extra}
"#
            ),
        );
        Setup { s }
    }

    /// `shipit ARGS` with static AWS credentials and nothing from this machine's AWS setup.
    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = self.s.shipit_std();
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("AWS_ACCESS_KEY_ID", "AKIDTEST")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", self.s.path().join("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.s.path().join("no-aws-credentials"))
            .args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.command(args).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(out.status.success(), "{}", describe(&out));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)))
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{}", describe(&out));
        text(&out.stderr)
    }
}

fn fake_with(cluster: &str, circuit_breaker: (bool, bool)) -> FakeEcs {
    let fake = FakeEcs::start();
    fake.add_service(cluster, "api", rich_task_definition("api", &format!("{REPO}:old")), 2, circuit_breaker);
    fake
}

#[test]
fn deploy_status_history_and_rollback() {
    let fake = fake_with("cli", (true, false));
    let t = Setup::new(&fake.url, "cli", "approval = \"none\"\nimage_definitions = \"out/imagedefinitions.json\"");

    let err = t.ok(&["deploy", "staging", "--image", &image(1)]);
    assert!(err.contains("ecs cli/api (us-east-1) revision 2 is live"), "{err}");
    assert!(err.contains("registered api:2"), "progress lines reach the user: {err}");
    let defs: Value =
        serde_json::from_str(&std::fs::read_to_string(t.s.path().join("out/imagedefinitions.json")).unwrap()).unwrap();
    assert_eq!(defs, serde_json::json!([{ "name": "api", "imageUri": image(1) }]));

    let report = t.json(&["deploy", "staging", "--image", &image(2), "--output", "json"]);
    assert_eq!((report["result"].as_str(), report["revision"].as_str()), (Some("completed"), Some("3")));

    let status = t.json(&["status", "staging", "--output", "json"]);
    assert_eq!(status["target"], "ecs cli/api (us-east-1)");
    let live = &status["live"];
    assert_eq!((live["revision"].as_str(), live["digest"].as_str()), (Some("3"), Some(digest(2).as_str())));
    assert_eq!(
        (live["rollout"].as_str(), live["running"].as_i64(), live["desired"].as_i64()),
        (Some("COMPLETED"), Some(2), Some(2))
    );
    let table = text(&t.run(&["status", "staging"]).stdout);
    assert!(table.contains("rollout      COMPLETED  (2 running, 0 pending, 2 desired)"), "{table}");
    assert!(table.contains("PRIMARY"), "deployments are listed: {table}");

    let history = t.json(&["history", "staging", "--output", "json"]);
    let revs: Vec<(&str, bool, Option<&str>)> = history["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["revision"].as_str().unwrap(), r["live"].as_bool().unwrap(), r["deployer"].as_str()))
        .collect();
    assert_eq!(revs, vec![("3", true, Some("test-runner")), ("2", false, Some("test-runner")), ("1", false, None)]);
    let table = text(&t.run(&["history", "staging"]).stdout);
    assert!(table.contains("● live") && table.contains("← previous"), "{table}");

    // --previous: revision 2 again, without registering anything.
    let err = t.ok(&["rollback", "staging", "--previous", "--yes"]);
    assert!(err.contains("revision 2 is live"), "{err}");
    assert_eq!(fake.revisions("api"), 3);

    // --to a digest prefix, then a revision number.
    t.ok(&["rollback", "staging", "--to", &digest(2)[..16], "--yes"]);
    assert!(fake.service_task_definition("cli", "api").ends_with("api:3"));
    // Revision 1 was registered by another tool with a tag, not a digest: refused without --force.
    let out = t.run(&["rollback", "staging", "--to", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not pinned by digest"), "{}", text(&out.stderr));
    assert!(fake.service_task_definition("cli", "api").ends_with("api:3"), "nothing changed");
    t.ok(&["rollback", "staging", "--to", "1", "--yes", "--force"]);
    let live = t.json(&["status", "staging", "--output", "json"]);
    assert_eq!(live["live"]["revision"], "1");
    assert_eq!(fake.revisions("api"), 3, "rollbacks register nothing");
}

#[test]
fn a_failed_rollout_exits_1_and_an_auto_rollback_exits_5() {
    let script = || Script::CircuitBreaker {
        step: Duration::from_millis(100),
        failures: 2,
        reason: "Essential container in task exited".into(),
        exit_code: 3,
        rollback: false,
    };
    let fake = fake_with("cli-fail", (true, false));
    fake.script("api", script());
    let t = Setup::new(&fake.url, "cli-fail", "approval = \"none\"");
    let out = t.run(&["deploy", "staging", "--image", &image(1)]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("circuit breaker: tasks failed to start"), "{err}");
    assert!(err.contains("Essential container in task exited (api: exit code 3)"), "{err}");

    let fake = fake_with("cli-rb", (true, false));
    fake.script("api", script());
    let t = Setup::new(
        &fake.url,
        "cli-rb",
        "approval = \"none\"\nauto_rollback = true\nimage_definitions = \"imagedefinitions.json\"",
    );
    let out = t.run(&["deploy", "staging", "--image", &image(1)]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("revision 1 runs again"), "{err}");
    assert!(err.contains("exit code 3"), "{err}");
    assert!(!t.s.path().join("imagedefinitions.json").exists(), "only a live image is written down");
    let live = t.json(&["status", "staging", "--output", "json"]);
    assert_eq!(live["live"]["revision"], "1");
}

/// api:2 good, api:3 failed and rolled back, api:4 good: `--previous` from api:4 goes to api:2, not to api:3.
#[test]
fn rollback_previous_skips_a_revision_that_failed() {
    let fake = fake_with("cli-skip", (true, false));
    let t = Setup::new(&fake.url, "cli-skip", "approval = \"none\"\nauto_rollback = true");
    t.ok(&["deploy", "staging", "--image", &image(1)]);
    fake.script(
        "api",
        Script::CircuitBreaker {
            step: Duration::from_millis(100),
            failures: 2,
            reason: "Essential container in task exited".into(),
            exit_code: 3,
            rollback: false,
        },
    );
    let out = t.run(&["deploy", "staging", "--image", &image(2)]);
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    t.ok(&["deploy", "staging", "--image", &image(3)]);

    let history = t.json(&["history", "staging", "--output", "json"]);
    let revs: Vec<(&str, bool, bool)> = history["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["revision"].as_str().unwrap(), r["live"].as_bool().unwrap(), r["failed"].as_bool().unwrap()))
        .collect();
    assert_eq!(revs, vec![("4", true, false), ("3", false, true), ("2", false, false), ("1", false, false)]);
    let table = text(&t.run(&["history", "staging"]).stdout);
    let row = |rev: &str| table.lines().find(|l| l.starts_with(rev)).unwrap_or_default().to_string();
    assert!(row("3 ").contains("✘ failed") && row("2 ").contains("← previous"), "{table}");

    let err = t.ok(&["rollback", "staging", "--previous", "--yes"]);
    assert!(err.contains("revision 2 is live"), "{err}");
    assert!(fake.service_task_definition("cli-skip", "api").ends_with("api:2"));
}

#[test]
fn a_rollout_in_progress_is_refused_without_force() {
    let fake = fake_with("cli-busy", (false, false));
    fake.script("api", Script::Stuck);
    let theirs = fake.start_deployment("cli-busy", "api", "api:1");
    let t = Setup::new(&fake.url, "cli-busy", "approval = \"none\"");
    let out = t.run(&["deploy", "staging", "--image", &image(1)]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("another deployment of ecs cli-busy/api (us-east-1) is still in progress: {theirs}")),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(fake.count("RegisterTaskDefinition"), 0);

    let live = t.json(&["status", "staging", "--output", "json"]);
    assert_eq!(live["live"]["rollout"], "IN_PROGRESS");

    t.ok(&["deploy", "staging", "--image", &image(1), "--force"]);
}

#[test]
fn a_timeout_says_what_it_saw_and_exits_1() {
    let fake = fake_with("cli-slow", (false, false));
    fake.script("api", Script::Stuck);
    let t = Setup::new(&fake.url, "cli-slow", "approval = \"none\"");
    std::fs::write(
        t.s.path().join("ship.toml"),
        std::fs::read_to_string(t.s.path().join("ship.toml")).unwrap().replace("timeout = \"30s\"", "timeout = \"2s\""),
    )
    .unwrap();
    let out = t.run(&["deploy", "staging", "--image", &image(1)]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("did not finish within 2s"), "{err}");
    assert!(err.contains("last seen: PRIMARY api:2 0/2 running, 1 pending, IN_PROGRESS"), "{err}");
}

/// The rollback picker in a real terminal: the previous release is suggested; moving down picks an older one.
#[test]
fn rollback_picker_in_a_terminal() {
    let _env = crate::require_env!("tmux");
    let fake = fake_with("cli-pick", (false, false));
    let t = Setup::new(&fake.url, "cli-pick", "");
    for n in [1, 2, 3] {
        t.ok(&["deploy", "staging", "--yes", "--image", &image(n)]);
    }
    let session = unique_name("ecs-pick");
    let tmux = crate::support::tmux::Tmux::start(
        &session,
        t.s.path(),
        &[env!("CARGO_BIN_EXE_shipit"), "rollback", "staging"],
        &[
            ("NO_COLOR", "1"),
            ("SHIPIT_DEPLOYER", "picker"),
            ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    let screen = tmux.wait_for("Roll back staging to which release?", Duration::from_secs(20));
    // Rows: 4 (live), 3 (previous, preselected), 2, 1.
    assert!(screen.contains("● live") && screen.contains("← previous"), "{screen}");
    assert!(screen.contains("sha256:030303030303"), "digests are shown: {screen}");
    tmux.keys(&["Down", "Enter"]);
    // The approval screen says what the rollback changes in ECS terms before anything happens.
    let screen = tmux.wait_for("[y/N/d]", Duration::from_secs(20));
    assert!(screen.contains("Roll back staging to revision 2"), "{screen}");
    assert!(screen.contains("points the service at api:2 instead of api:4"), "{screen}");
    assert!(screen.contains("revision 4"), "the running revision is named: {screen}");
    tmux.keys(&["y"]);
    tmux.wait_for("revision 2 is live", Duration::from_secs(30));
    drop(tmux);

    assert!(fake.service_task_definition("cli-pick", "api").ends_with("api:2"));
    assert_eq!(fake.revisions("api"), 4);
}

/// moto as the endpoint: status and history read a second implementation's answers.
#[tokio::test]
async fn status_and_history_against_moto() {
    let env = crate::require_env!("moto");
    let client = aws_sdk_ecs::Client::new(&env.aws_sdk_config().await);
    let cluster = unique_name("shipit-cli");
    let family = unique_name("api");
    client.create_cluster().cluster_name(&cluster).send().await.unwrap();
    for n in [1u8, 2] {
        client
            .register_task_definition()
            .family(&family)
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder().name("api").image(image(n)).memory(128).build(),
            )
            .tags(aws_sdk_ecs::types::Tag::builder().key("shipit:commit").value(format!("c{n}")).build())
            .send()
            .await
            .unwrap();
    }
    client
        .create_service()
        .cluster(&cluster)
        .service_name("api")
        .task_definition(format!("{family}:2"))
        .desired_count(1)
        .send()
        .await
        .unwrap();

    let t = Setup::new(&env.moto, &cluster, "");
    let status = t.json(&["status", "staging", "--output", "json"]);
    assert_eq!(status["live"]["revision"], "2");
    assert_eq!(status["live"]["commit"], "c2");
    assert_eq!(status["live"]["digest"], digest(2).as_str());
    let history = t.json(&["history", "staging", "--output", "json"]);
    let revs: Vec<&str> =
        history["revisions"].as_array().unwrap().iter().map(|r| r["revision"].as_str().unwrap()).collect();
    assert_eq!(revs, vec!["2", "1"]);
    assert_eq!(history["revisions"][1]["digest"], digest(1).as_str());
}

// ---------------------------------------------------------------- the rollout engine on ECS

fn lock_tags(fake: &FakeEcs, cluster: &str) -> Vec<(String, String)> {
    fake.service_tags(cluster, "api").into_iter().filter(|(k, _)| k.starts_with("shipit:lock:")).collect()
}

#[test]
fn a_lock_in_the_service_tags_stops_a_second_deploy() {
    let fake = fake_with("cli-lock", (true, false));
    let t = Setup::new(&fake.url, "cli-lock", "approval = \"none\"");
    t.ok(&["deploy", "staging", "--image", &image(1)]);
    assert!(lock_tags(&fake, "cli-lock").is_empty(), "released after the deploy");

    let until = (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    fake.tag_service(
        "cli-lock",
        "api",
        &[
            ("shipit:lock:nonce", "other-run"),
            ("shipit:lock:holder", "deploy-bot"),
            ("shipit:lock:host", "runner-12"),
            ("shipit:lock:command", "shipit ship staging"),
            ("shipit:lock:what", "sha256:0123456789ab"),
            ("shipit:lock:since", &chrono::Utc::now().to_rfc3339()),
            ("shipit:lock:until", &until),
        ],
    );
    let updates = fake.count("UpdateService");
    let out = t.run(&["deploy", "staging", "--image", &image(2)]);
    assert_eq!(out.status.code(), Some(6), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("staging is locked by another deploy: deploy-bot on runner-12"),
        "{}",
        describe(&out)
    );
    assert_eq!(fake.count("UpdateService"), updates, "nothing was changed");
    let status = t.json(&["status", "staging", "--output", "json"]);
    assert_eq!(status["lock"]["holder"], "deploy-bot");

    t.ok(&["deploy", "staging", "--image", &image(2), "--force-unlock"]);
    assert!(lock_tags(&fake, "cli-lock").is_empty());
    assert_eq!(t.json(&["status", "staging", "--output", "json"])["live"]["revision"], "3");
}

#[test]
fn two_deploys_at_once_never_interleave() {
    let fake = fake_with("cli-race", (true, false));
    fake.script("api", Script::Completes { step: Duration::from_millis(300) });
    fake.script("api", Script::Completes { step: Duration::from_millis(300) });
    let t = Setup::new(&fake.url, "cli-race", "approval = \"none\"");
    let first = t.spawn(&["deploy", "staging", "--image", &image(1)]);
    let second = t.spawn(&["deploy", "staging", "--image", &image(2)]);
    let (first, second) = (first.wait_with_output().unwrap(), second.wait_with_output().unwrap());
    let mut codes = [first.status.code(), second.status.code()];
    codes.sort();
    assert_eq!(codes, [Some(0), Some(6)], "{}\n{}", describe(&first), describe(&second));
    assert_eq!(fake.count("UpdateService"), 1, "exactly one change reached the service");
    assert!(lock_tags(&fake, "cli-race").is_empty());
}

/// The circuit breaker stops the new revision, and the automatic rollback fails as well: exit 1 (never 5), both
/// causes, and what the service runs now.
#[test]
fn an_auto_rollback_that_fails_keeps_both_causes() {
    let fake = fake_with("cli-rbfail", (true, false));
    let failing = |reason: &str| Script::CircuitBreaker {
        step: Duration::from_millis(100),
        failures: 2,
        reason: reason.into(),
        exit_code: 3,
        rollback: false,
    };
    fake.script("api", failing("the new release crashed"));
    fake.script("api", failing("the old release crashed too"));
    let t = Setup::new(&fake.url, "cli-rbfail", "approval = \"none\"\nauto_rollback = true");
    let out = t.run(&["deploy", "staging", "--image", &image(1)]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("the new release crashed"), "{err}");
    assert!(err.contains("did not complete either") && err.contains("the old release crashed too"), "{err}");
}

/// A signal while ECS rolls out: shipit stops waiting, says the deployment goes on, and releases the lock.
#[test]
fn a_signal_during_the_wait_says_the_rollout_goes_on() {
    let fake = fake_with("cli-sig", (true, false));
    let t = Setup::new(&fake.url, "cli-sig", "approval = \"none\"");
    for (n, sig) in [(1u8, "INT"), (2, "TERM"), (3, "HUP")] {
        fake.script("api", Script::Completes { step: Duration::from_secs(5) });
        let updates = fake.count("UpdateService");
        let child = t.spawn(&["deploy", "staging", "--image", &image(n), "--force"]);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while fake.count("UpdateService") == updates {
            assert!(std::time::Instant::now() < deadline, "never updated");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        let ok = std::process::Command::new("kill").args([&format!("-{sig}"), &child.id().to_string()]).status();
        assert!(ok.unwrap().success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "SIG{sig}: {}", describe(&out));
        let err = text(&out.stderr);
        assert!(err.contains(&format!("interrupted by SIG{sig}")) && err.contains("goes on without shipit"), "{err}");
        assert!(lock_tags(&fake, "cli-sig").is_empty(), "SIG{sig}: the lock is released");
    }
}

/// The change is applied, then ECS stops answering shipit: the error says the revision is live and rolling, and
/// that no rollback was attempted (with auto_rollback on, nothing could be).
#[test]
fn an_api_error_after_the_change_says_the_change_is_live() {
    let fake = fake_with("cli-after", (true, false));
    fake.script("api", Script::Completes { step: Duration::from_secs(3) });
    let t = Setup::new(&fake.url, "cli-after", "approval = \"none\"\nauto_rollback = true");
    let child = t.spawn(&["deploy", "staging", "--image", &image(1)]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while fake.count("UpdateService") == 0 {
        assert!(std::time::Instant::now() < deadline, "never updated");
        std::thread::sleep(Duration::from_millis(20));
    }
    fake.deny("DescribeServices");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("api:2 was applied to `staging` and ECS is rolling it out, but watching the rollout failed"),
        "{err}"
    );
    assert!(err.contains("AccessDeniedException") && err.contains("no rollback was attempted"), "{err}");
    assert!(err.contains("shipit status staging"), "{err}");
}
