//! The plain Docker host target, end to end through the binary: deploy by digest, status, history, rollback
//! (flags and the interactive picker in tmux), a crashing release rolled back automatically (exit 5), and the
//! approval gate without a terminal (exit 4).

use std::time::Duration;

use crate::support::cli::{Scratch, describe, text};
use crate::support::env::{TestEnv, unique_name};
use crate::support::images::{RemoveContainers, busybox_image};

/// A long-running process that stops promptly on SIGTERM (a bare `sleep` as PID 1 ignores it, and every stop
/// would wait out Docker's 10 s grace period).
const SERVE: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"];

struct Setup {
    s: Scratch,
    repo: String,
    containers: RemoveContainers,
}

fn setup(env: &TestEnv, extra: &str) -> Setup {
    let name = unique_name("dt");
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
network = "none"
timeout = "20s"
# These tests are about the target; the evidence gate has its own (tests/it/evidence.rs).
require_scan = false
{extra}
"#,
            host = env.docker_host
        ),
    );
    Setup { s, repo, containers: RemoveContainers(name) }
}

fn json(out: std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", describe(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)))
}

#[tokio::test]
async fn deploy_status_history_and_rollback() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "approval = \"none\"");
    let a = busybox_image(env, &t.repo, "a", SERVE).await;
    let b = busybox_image(env, &t.repo, "b", SERVE).await;

    let out = t.s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap();
    assert!(json(out)["live"].is_null());

    let out = t.s.shipit().args(["deploy", "dev", "--image", &a]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("revision 1 is live"), "{}", describe(&out));

    let out = t.s.shipit().args(["deploy", "dev", "--image", &b, "--output", "json"]).output().unwrap();
    let report = json(out);
    assert_eq!(report["result"], "completed");
    assert_eq!(report["image"], b.as_str());

    let live = json(t.s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap());
    assert_eq!(live["live"]["image"], b.as_str());
    assert_eq!(live["live"]["revision"], "2");
    assert_eq!(live["live"]["running"], 1);

    // Deploying what already runs changes nothing.
    let out = t.s.shipit().args(["deploy", "dev", "--image", &b]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("nothing to do"), "{}", describe(&out));

    let history = json(t.s.shipit().args(["history", "dev", "--output", "json"]).output().unwrap());
    let revs = history["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 2, "{history:#}");
    assert_eq!((revs[0]["revision"].as_str(), revs[0]["live"].as_bool()), (Some("2"), Some(true)));
    assert_eq!(revs[1]["image"], a.as_str());
    assert_eq!(revs[1]["deployer"], "test-runner");

    let table = text(&t.s.shipit().args(["history", "dev"]).output().unwrap().stdout);
    assert!(table.starts_with("REVISION"), "{table}");
    assert!(table.contains("● live") && table.contains("← previous"), "{table}");

    // Without a terminal, rollback needs to be told which release, and approved as the environment says:
    // with `approval = "manual"`, `--yes` (exit 4 at once without it, and the screen is in the log).
    let out = t.s.shipit().args(["rollback", "dev"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let config = text(&std::fs::read(t.s.path().join("ship.toml")).unwrap());
    t.s.write("ship.toml", config.replace("approval = \"none\"", "approval = \"manual\""));
    let out = t.s.shipit().args(["rollback", "dev", "--previous"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("rollback to dev · docker container"), "the screen is printed: {err}");
    assert!(err.contains("Roll back dev to revision 1"), "{err}");

    let out = t.s.shipit().args(["rollback", "dev", "--previous", "--yes"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let live = json(t.s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap());
    assert_eq!(live["live"]["image"], a.as_str());
    assert_eq!(live["live"]["revision"], "3");

    // --to by digest prefix goes forward again; with `approval = "none"` nobody is asked.
    t.s.write("ship.toml", config);
    let digest_b = b.split('@').nth(1).unwrap();
    let out = t.s.shipit().args(["rollback", "dev", "--to", &digest_b[..15]]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let live = json(t.s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap());
    assert_eq!(live["live"]["image"], b.as_str());
}

#[tokio::test]
async fn a_crashing_release_is_rolled_back_with_exit_5() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "approval = \"none\"\nauto_rollback = true");
    let good = busybox_image(env, &t.repo, "good", SERVE).await;
    let bad =
        busybox_image(env, &t.repo, "bad", &["sh", "-c", "echo 'config error: DATABASE_URL missing'; exit 3"]).await;

    let out = t.s.shipit().args(["deploy", "dev", "--image", &good]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let out = t.s.shipit().args(["deploy", "dev", "--image", &bad]).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("container exited with code 3"), "{err}");
    assert!(err.contains("DATABASE_URL missing"), "the log tail explains why: {err}");
    assert!(err.contains("rolled back"), "{err}");

    let live = json(t.s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap());
    assert_eq!(live["live"]["image"], good.as_str(), "the old release runs again");
    assert_eq!(live["live"]["running"], 1);

    // The crashed revision is remembered as failed, by the name its container was moved aside under.
    let history = json(t.s.shipit().args(["history", "dev", "--output", "json"]).output().unwrap());
    let revs: Vec<(&str, &str, bool, bool)> = history["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_str().unwrap(),
                r["image"].as_str().unwrap(),
                r["live"].as_bool().unwrap(),
                r["failed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(revs, [("2", bad.as_str(), false, true), ("1", good.as_str(), true, false)]);
    let names = std::process::Command::new("docker")
        .args([
            "ps",
            "-a",
            "--format",
            "{{.Names}}",
            "--filter",
            &format!("label=dev.shipit.container={}", t.containers.0),
        ])
        .output()
        .unwrap();
    assert!(
        text(&names.stdout).lines().any(|n| n == format!("{}--r2-failed", t.containers.0)),
        "{}",
        text(&names.stdout)
    );

    // A third, good release; `--previous` then goes back to the first good one, not to the crashed one between.
    let next = busybox_image(env, &t.repo, "next", SERVE).await;
    let out = t.s.shipit().args(["deploy", "dev", "--image", &next]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let table = text(&t.s.shipit().args(["history", "dev"]).output().unwrap().stdout);
    let row = |rev: &str| table.lines().find(|l| l.starts_with(rev)).unwrap_or_default().to_string();
    assert!(row("2 ").contains("✘ failed") && row("1 ").contains("← previous"), "{table}");
    let out = t.s.shipit().args(["rollback", "dev", "--previous", "--yes"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("to revision 1 ("), "{}", describe(&out));
    let live = json(t.s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap());
    assert_eq!(live["live"]["image"], good.as_str());
}

#[tokio::test]
async fn a_crashing_release_without_auto_rollback_fails_with_exit_1() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "approval = \"none\"");
    let bad = busybox_image(env, &t.repo, "bad", &["false"]).await;
    let out = t.s.shipit().args(["deploy", "dev", "--image", &bad]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("hint: `shipit status dev`"), "{}", describe(&out));
}

#[tokio::test]
async fn manual_approval_without_a_terminal_exits_4_and_changes_nothing() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "approval = \"manual\"");
    let a = busybox_image(env, &t.repo, "a", SERVE).await;
    let out = t.s.shipit().args(["deploy", "dev", "--image", &a]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(text(&out.stderr).contains("--yes or SHIPIT_APPROVE=dev"), "{}", describe(&out));
    let live = json(t.s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap());
    assert!(live["live"].is_null(), "nothing was deployed: {live:#}");

    let out =
        t.s.shipit().args(["deploy", "dev", "--image", &a]).env("SHIPIT_APPROVE", "staging,dev").output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
}

/// The rollback picker, driven in a real terminal: the previous release is preselected; moving down picks the
/// one before it.
#[tokio::test]
async fn rollback_picker_in_a_terminal() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "tmux");
    let t = setup(env, "");
    let mut images = Vec::new();
    for tag in ["one", "two", "three"] {
        let img = busybox_image(env, &t.repo, tag, SERVE).await;
        let out = t.s.shipit().args(["deploy", "dev", "--yes", "--image", &img]).output().unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        images.push(img);
    }
    let session = unique_name("pick");
    let tmux = crate::support::tmux::Tmux::start(
        &session,
        t.s.path(),
        &[env!("CARGO_BIN_EXE_shipit"), "rollback", "dev"],
        &[("NO_COLOR", "1"), ("SHIPIT_DEPLOYER", "picker")],
    );
    let screen = tmux.wait_for("Roll back dev to which release?", Duration::from_secs(20));
    assert!(screen.contains("← previous"), "{screen}");
    // Rows: r3 (live), r2 (previous, preselected), r1. Move to r1 and pick it.
    tmux.keys(&["Down", "Enter"]);
    // The approval screen: what runs (revision 3), what comes back (revision 1), what the container swap does.
    let screen = tmux.wait_for("[y/N/d]", Duration::from_secs(20));
    assert!(screen.contains("rollback to dev · docker container"), "{screen}");
    let flat = screen.replace('\n', "");
    assert!(flat.contains(&format!("{} →", images[2])), "the change names the running image: {screen}");
    assert!(screen.contains("Roll back dev to revision 1"), "{screen}");
    // `d` prints the details and asks again; then approve.
    tmux.keys(&["d"]);
    tmux.wait_for("findings", Duration::from_secs(10));
    tmux.keys(&["y"]);
    tmux.wait_for("revision 4 is live", Duration::from_secs(30));
    drop(tmux);

    let live = json(t.s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap());
    assert_eq!(live["live"]["image"], images[0].as_str());
}

/// Ctrl-C while the first container settles: exit 130 and a line saying what state the environment is in (the
/// container was started; only its health is unconfirmed), and it still runs.
#[tokio::test]
async fn interrupt_says_what_state_the_environment_is_in() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "approval = \"none\"");
    let a = busybox_image(env, &t.repo, "a", SERVE).await;
    let child =
        t.s.shipit_std()
            .args(["deploy", "dev", "--image", &a])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
    // The container settles for 3 s after it starts; interrupt inside that window.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let out = std::process::Command::new("docker")
            .args(["ps", "-q", "--filter", &format!("label=dev.shipit.container={}", t.containers.0)])
            .output()
            .unwrap();
        if !text(&out.stdout).trim().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the container never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("error: interrupted by SIGINT"), "{err}");
    assert!(err.contains("runs revision 1, started but its health not yet confirmed"), "{err}");
    let live = json(t.s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap());
    assert_eq!(live["live"]["running"], 1, "{live:#}");
    assert_eq!(live["live"]["image"], a.as_str());
}

/// A new container that cannot even be created (an unknown network) must not leave the host empty: the old one
/// is restarted, with or without auto_rollback, and the command fails with exit 1.
#[tokio::test]
async fn a_container_that_cannot_start_puts_the_old_one_back() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let t = setup(env, "approval = \"none\"");
    let a = busybox_image(env, &t.repo, "a", SERVE).await;
    let b = busybox_image(env, &t.repo, "b", SERVE).await;
    let out = t.s.shipit().args(["deploy", "dev", "--image", &a]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));

    let toml = std::fs::read_to_string(t.s.path().join("ship.toml")).unwrap();
    t.s.write("ship.toml", toml.replace("network = \"none\"", "network = \"shipit-no-such-network\""));
    let out = t.s.shipit().args(["deploy", "dev", "--image", &b]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("shipit-no-such-network"), "the engine's reason is shown: {}", describe(&out));

    let live = json(t.s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap());
    assert_eq!(live["live"]["image"], a.as_str(), "the old release runs again: {live:#}");
    assert_eq!(live["live"]["running"], 1);
}

/// A private registry: the engine pulls with the credentials shipit sends (docker's own for the image's host,
/// as `docker pull` on this machine would use); without them the pull fails with a hint saying so.
#[tokio::test]
async fn pulls_from_a_private_registry_with_dockers_credentials() {
    let env = crate::require_env!("docker", "registry_auth", "busybox", "trivy", "trivy_db");
    let mut p = crate::evidence::Project::new(env, false, "");
    let repository = format!("{}/{}", env.registry_auth, p.name);
    let toml = crate::evidence::ship_toml(env, &repository, &p.name, "", "require_scan = false\napproval = \"none\"")
        .replace("approval = \"manual\"\n", "")
        .replace("insecure = true", &format!("username = \"{}\"\npassword_env = \"PRIVATE_PW\"", env.ghcr_user));
    p.repo.set_ship_toml(&toml);
    p.repository = repository.clone();
    let out = p.shipit().args(["push"]).env("PRIVATE_PW", &env.ghcr_password).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    // Nothing of it left in the engine: the deploy has to pull. `--no-prune`: its untagged parent layers are
    // the build cache other tests' builds share at this very moment, and must stay.
    let ids = std::process::Command::new("docker")
        .args(["-H", &env.docker_host, "images", "-q", &repository])
        .output()
        .unwrap();
    for id in text(&ids.stdout).split_whitespace().collect::<std::collections::BTreeSet<_>>() {
        let rm = std::process::Command::new("docker")
            .args(["-H", &env.docker_host, "rmi", "-f", "--no-prune", id])
            .output()
            .unwrap();
        assert!(rm.status.success(), "{}", text(&rm.stderr));
    }

    let empty = tempfile::tempdir().unwrap();
    let out = p.shipit().args(["deploy", "dev"]).env("DOCKER_CONFIG", empty.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("cannot pull") && err.contains("`docker login HOST`"), "{err}");

    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", env.ghcr_user, env.ghcr_password));
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("config.json"),
        serde_json::json!({ "auths": { env.registry_auth.clone(): { "auth": auth } } }).to_string(),
    )
    .unwrap();
    let out = p.shipit().args(["deploy", "dev"]).env("DOCKER_CONFIG", config.path()).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains(&format!("pulling {repository}@sha256:")), "{}", describe(&out));
    assert!(!text(&out.stderr).contains(&env.ghcr_password), "the password is never shown");
    assert!(p.live()["image"].as_str().unwrap().starts_with(&format!("{repository}@sha256:")));
}
