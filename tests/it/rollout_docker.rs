//! The rollout engine's promises on a Docker host, through the binary against the real engine: the deploy lock
//! (concurrent runs, a holder named, waits, take-over of an expired lock, --force-unlock), signals at each phase
//! of the swap (the host always ends on the old or the new digest, with something running), both swap modes,
//! and post-deploy verification that rolls back.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::cli::{Scratch, describe, text};
use crate::support::env::{TestEnv, unique_name};
use crate::support::images::{RemoveContainers, busybox_image};

/// Stops promptly on SIGTERM.
const SERVE: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"];
/// Takes two seconds to stop: a window to send a signal while the old container stops.
const SLOW_STOP: &[&str] = &["sh", "-c", "trap 'sleep 2; exit 0' TERM; sleep 300 & wait"];

struct Setup {
    s: Scratch,
    repo: String,
    name: String,
    _containers: RemoveContainers,
}

fn setup(env: &TestEnv, network: &str, extra: &str) -> Setup {
    let name = unique_name("ro");
    let repo = format!("{}/{name}", env.registry_open);
    let s = Scratch::new();
    s.write(
        "ship.toml",
        format!(
            r#"[app]
name = "web"

[registries.local]
type = "oci"
repository = "{repo}"
insecure = true

[environments.dev]
target = "docker"
container_name = "{name}"
host = "{host}"
network = "{network}"
timeout = "20s"
approval = "none"
# These tests are about the rollout, not the scan gate (tests/it/evidence.rs): the images are made on the spot.
require_scan = false
{extra}
"#,
            host = env.docker_host
        ),
    );
    Setup { s, repo, name: name.clone(), _containers: RemoveContainers(name) }
}

fn json(out: Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", describe(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)))
}

fn status(t: &Setup) -> serde_json::Value {
    json(t.s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap())
}

fn spawn(t: &Setup, args: &[&str]) -> Child {
    t.s.shipit_std().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    text(&out.stdout)
}

/// Container names (running or not) shipit made for this environment.
fn containers(t: &Setup) -> Vec<String> {
    docker(&["ps", "-a", "--format", "{{.Names}}", "--filter", &format!("label=dev.shipit.container={}", t.name)])
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn running(name: &str) -> bool {
    docker(&["inspect", "-f", "{{.State.Running}}", name]).trim() == "true"
}

fn lock_volume(t: &Setup) -> String {
    format!("{}--shipit-lock", t.name)
}

fn lock_exists(t: &Setup) -> bool {
    !docker(&["volume", "ls", "-q", "--filter", &format!("name=^{}$", lock_volume(t))]).trim().is_empty()
}

/// A lock as another machine would have left it.
fn plant_lock(t: &Setup, holder: &str, until: chrono::DateTime<chrono::Utc>) {
    let record = serde_json::json!({
        "holder": holder, "host": "build-box-9", "command": "shipit ship dev", "what": "sha256:0123456789ab",
        "since": (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(), "until": until.to_rfc3339(),
        "nonce": "planted-by-the-test",
    });
    let label = format!("dev.shipit.lock={record}");
    let out = Command::new("docker").args(["volume", "create", "--label", &label, &lock_volume(t)]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").args([&format!("-{sig}"), &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
}

#[tokio::test]
async fn two_deploys_at_once_never_interleave() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "none", "");
    let a = busybox_image(env, &t.repo, "a", SERVE).await;
    let b = busybox_image(env, &t.repo, "b", SERVE).await;

    let first = spawn(&t, &["deploy", "dev", "--image", &a]);
    let second = spawn(&t, &["deploy", "dev", "--image", &b]);
    let (first, second) = (first.wait_with_output().unwrap(), second.wait_with_output().unwrap());
    let mut codes = [first.status.code(), second.status.code()];
    codes.sort();
    assert_eq!(
        codes,
        [Some(0), Some(6)],
        "one deploys, the other is refused:\n{}\n{}",
        describe(&first),
        describe(&second)
    );
    let (won, lost) = if first.status.success() { (&first, &second) } else { (&second, &first) };
    let err = text(&lost.stderr);
    assert!(err.contains("dev is locked by another deploy"), "{err}");
    assert!(err.contains("shipit deploy dev"), "the holder's command is named: {err}");
    assert!(err.contains("--wait-lock"), "{err}");
    let live = status(&t);
    let image = if std::ptr::eq(won, &first) { &a } else { &b };
    assert_eq!(live["live"]["image"], image.as_str());
    assert_eq!(live["live"]["revision"], "1", "exactly one change was made");
    assert!(!lock_exists(&t), "the lock is released");

    // Queued with --wait-lock, both deploy, one after the other.
    let c = busybox_image(env, &t.repo, "c", SERVE).await;
    let first = spawn(&t, &["deploy", "dev", "--image", &c, "--wait-lock", "60s"]);
    let second = spawn(&t, &["deploy", "dev", "--image", &a, "--force", "--wait-lock", "60s"]);
    let (first, second) = (first.wait_with_output().unwrap(), second.wait_with_output().unwrap());
    assert!(first.status.success(), "{}", describe(&first));
    assert!(second.status.success(), "{}", describe(&second));
    let history = json(t.s.shipit().args(["history", "dev", "--output", "json"]).output().unwrap());
    let revisions: Vec<&str> =
        history["revisions"].as_array().unwrap().iter().map(|r| r["revision"].as_str().unwrap()).collect();
    assert_eq!(revisions, ["3", "2", "1"], "two more revisions, in turn");
    assert!(!lock_exists(&t));
}

#[tokio::test]
async fn a_held_lock_names_its_holder_and_force_unlock_breaks_it() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "none", "");
    let a = busybox_image(env, &t.repo, "a", SERVE).await;
    plant_lock(&t, "ann (run 77)", chrono::Utc::now() + chrono::Duration::minutes(30));

    let out = t.s.shipit().args(["deploy", "dev", "--image", &a]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("locked by another deploy: ann (run 77) on build-box-9 (shipit ship dev"), "{err}");
    assert!(status(&t)["live"].is_null(), "nothing was deployed");
    let shown = status(&t);
    assert_eq!(shown["lock"]["holder"], "ann (run 77)", "status shows the lock: {shown:#}");

    let started = Instant::now();
    let out = t.s.shipit().args(["deploy", "dev", "--image", &a, "--wait-lock", "2s"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", describe(&out));
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(text(&out.stderr).contains("still locked by another deploy after waiting 2s"), "{}", describe(&out));

    let out = t.s.shipit().args(["deploy", "dev", "--image", &a, "--force-unlock"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("--force-unlock: breaking the deploy lock of dev, held by ann (run 77)"), "{err}");
    assert_eq!(status(&t)["live"]["image"], a.as_str());
    assert!(!lock_exists(&t));
}

#[tokio::test]
async fn an_expired_lock_is_taken_over_with_a_warning() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "none", "");
    let a = busybox_image(env, &t.repo, "a", SERVE).await;
    plant_lock(&t, "a killed CI job", chrono::Utc::now() - chrono::Duration::minutes(5));
    let out = t.s.shipit().args(["deploy", "dev", "--image", &a]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("taking over the expired deploy lock of dev, held by a killed CI job"));
    assert!(!lock_exists(&t));
}

/// Two-container mode: a signal while the new container settles beside the old one stops the deploy; the old
/// one never stopped, the new one is removed, and the lock is released. For each of the three signals.
#[tokio::test]
async fn a_signal_while_the_new_container_settles_leaves_the_old_one_running() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "none", "");
    let a = busybox_image(env, &t.repo, "a", SERVE).await;
    let b = busybox_image(env, &t.repo, "b", SERVE).await;
    let out = t.s.shipit().args(["deploy", "dev", "--image", &a]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));

    for sig in ["INT", "TERM", "HUP"] {
        let child = spawn(&t, &["deploy", "dev", "--image", &b]);
        let staging = format!("{}--next", t.name);
        wait_until("the new container to run", Duration::from_secs(20), || running(&staging));
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "SIG{sig}: {}", describe(&out));
        let err = text(&out.stderr);
        assert!(err.contains(&format!("interrupted by SIG{sig}")), "{err}");
        assert!(err.contains("still runs revision 1") && err.contains("stopped and removed"), "{err}");
        assert!(err.contains("two containers: starting revision"), "the mode is named: {err}");
        let live = status(&t);
        assert_eq!(live["live"]["image"], a.as_str(), "SIG{sig}: {live:#}");
        assert_eq!(live["live"]["running"], 1);
        assert!(!containers(&t).contains(&staging), "no half-started container is left");
        assert!(!lock_exists(&t), "SIG{sig}: the lock is released");
    }
}

/// One-at-a-time mode (host networking): a signal while the old container is stopping does not cut the swap in
/// half — the new container is started, and the message says so. This is the closed-terminal (SIGHUP) case that
/// used to leave nothing running.
#[tokio::test]
async fn a_signal_during_the_swap_lets_it_finish() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "host", "");
    let a = busybox_image(env, &t.repo, "a", SLOW_STOP).await;
    let b = busybox_image(env, &t.repo, "b", SLOW_STOP).await;
    let out = t.s.shipit().args(["deploy", "dev", "--image", &a]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("revision 1 is live"));

    for (sig, image, revision) in [("HUP", &b, "2"), ("TERM", &a, "3")] {
        let child = spawn(&t, &["deploy", "dev", "--image", image]);
        let staging = format!("{}--next", t.name);
        // The new container is created first; the old one's 2-second stop follows at once.
        wait_until("the new container to be created", Duration::from_secs(20), || containers(&t).contains(&staging));
        std::thread::sleep(Duration::from_millis(300));
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "SIG{sig}: {}", describe(&out));
        let err = text(&out.stderr);
        assert!(err.contains("one container at a time (host networking)"), "{err}");
        assert!(err.contains(&format!("runs revision {revision}, started")), "{err}");
        let live = status(&t);
        assert_eq!(live["live"]["image"], image.as_str(), "SIG{sig}: the swap completed: {live:#}");
        assert_eq!(live["live"]["running"], 1);
        assert!(!lock_exists(&t));
    }
}

/// Before anything changes (waiting for a lock), a signal just stops: exit 130, nothing changed.
#[tokio::test]
async fn a_signal_before_the_change_changes_nothing() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "none", "");
    let a = busybox_image(env, &t.repo, "a", SERVE).await;
    plant_lock(&t, "ann", chrono::Utc::now() + chrono::Duration::minutes(30));
    let child = spawn(&t, &["deploy", "dev", "--image", &a, "--wait-lock", "5m"]);
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, "INT");
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "a wait stops at once");
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    assert!(text(&out.stderr).contains("nothing was changed"), "{}", describe(&out));
    assert!(status(&t)["live"].is_null());
    assert!(lock_exists(&t), "someone else's lock stays");
}

/// `verify`: the platform said done, the service says otherwise — a failed deploy, rolled back (exit 5); the
/// command sees the release in its environment.
#[tokio::test]
async fn a_failing_verification_rolls_back() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let server = wiremock::MockServer::start().await;
    let t = setup(
        env,
        "none",
        &format!(
            "auto_rollback = true\nverify = {{ http = \"{}/healthz\", for = \"1s\", interval = \"250ms\", command = [\"sh\", \"-c\", \"echo $SHIPIT_ENVIRONMENT $SHIPIT_REVISION $SHIPIT_IMAGE >> seen.txt\"] }}",
            server.uri()
        ),
    );
    let a = busybox_image(env, &t.repo, "a", SERVE).await;
    let b = busybox_image(env, &t.repo, "b", SERVE).await;
    let healthy = wiremock::Mock::given(wiremock::matchers::path("/healthz"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount_as_scoped(&server)
        .await;
    let out = t.s.shipit().args(["deploy", "dev", "--image", &a]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("answered 200"), "{}", describe(&out));
    let seen = std::fs::read_to_string(t.s.path().join("seen.txt")).unwrap();
    assert_eq!(seen.trim(), format!("dev 1 {a}"));
    drop(healthy);

    wiremock::Mock::given(wiremock::matchers::path("/healthz"))
        .respond_with(wiremock::ResponseTemplate::new(503).set_body_string("database unreachable"))
        .mount(&server)
        .await;
    let out = t.s.shipit().args(["deploy", "dev", "--image", &b]).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("answered 503 Service Unavailable (expected 200)") && err.contains("database unreachable"),
        "{err}"
    );
    assert!(err.contains("rolled back"), "{err}");
    let live = status(&t);
    assert_eq!(live["live"]["image"], a.as_str(), "the previous release runs again: {live:#}");
    let history = json(t.s.shipit().args(["history", "dev", "--output", "json"]).output().unwrap());
    let failed: Vec<(&str, bool)> = history["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["revision"].as_str().unwrap(), r["failed"].as_bool().unwrap()))
        .collect();
    assert!(failed.contains(&("2", true)), "the unverified revision is marked failed: {failed:?}");
}

#[test]
fn durations_are_bounded() {
    let s = Scratch::new();
    for (value, expect) in
        [("300000000000y", "\"300000000000y\""), ("25h", "longer than the maximum of 24h"), ("0s", "greater than zero")]
    {
        s.write(
            "ship.toml",
            format!(
                "[app]\nname = \"web\"\n[registries.r]\ntype = \"oci\"\nrepository = \"127.0.0.1:5000/web\"\ninsecure = true\n[environments.dev]\ntarget = \"docker\"\ncontainer_name = \"web\"\ntimeout = \"{value}\"\n"
            ),
        );
        let out = s.shipit().args(["config", "validate"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{value}: {}", describe(&out));
        assert!(text(&out.stderr).contains(expect), "{value}: {}", describe(&out));
    }
}
