//! The approval screen, end to end through the binary against the real Docker engine, the open registry, a
//! real git repository and the real trivy: before a change is approved the screen names the image (tags,
//! full URI, digest), the commits (subject, author, how many between), the scan against the running
//! release's stored report, and what the container swap will do; in CI it is in the log and the job
//! summary, and the refusal without `--yes` comes at once. `history` shows who approved.

use std::time::Duration;

use crate::evidence::Project;
use crate::support::cli::{describe, text};
use crate::support::env::unique_name;

const EXCEPTION: &str =
    "[[scan.exceptions]]\nid = \"CVE-2019-18224\"\nreason = \"not reachable in our use\"\nexpires = \"2099-12-31\"\n";

/// A vulnerable first release (its CRITICAL under an exception) is live; two commits later the second one
/// drops the vulnerable packages.
fn two_releases(env: &'static crate::support::env::TestEnv) -> (Project, String) {
    let p = Project::new(env, true, EXCEPTION);
    let out = p.run(&["ship", "dev", "--yes"]);
    assert!(out.status.success(), "{}", describe(&out));
    let first = p.live()["image"].as_str().unwrap().to_string();
    p.repo.commit("app.txt", "hello again\n", "Say hello again");
    p.repo.git(&["rm", "-r", "-q", "rootfs"]);
    let dockerfile = std::fs::read_to_string(p.repo.work().join("Dockerfile")).unwrap();
    p.repo.commit("Dockerfile", &dockerfile.replace("COPY rootfs/ /\n", ""), "Drop the old Debian packages");
    p.repo.git(&["push", "-q"]);
    (p, first)
}

#[tokio::test]
async fn ci_prints_the_screen_refuses_at_once_and_records_the_approval() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let (p, first) = two_releases(env);

    // No terminal, no --yes: the pipeline runs to the approval, prints the screen, and stops with exit 4.
    let started = std::time::Instant::now();
    let out = p.shipit().args(["ship", "dev"]).env("CI", "true").env("GITHUB_ACTIONS", "true").output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = text(&out.stderr);
    // In Actions the refusal is one error annotation carrying its hint.
    assert!(
        err.contains("::error title=shipit failed::Deploy to dev? — no terminal to ask on%0Ahint: pass --yes or SHIPIT_APPROVE=dev"),
        "{err}"
    );
    let section = |label: &str| {
        let start = err.find(&format!("  {label:<10}")).unwrap_or_else(|| panic!("no {label} row:\n{err}"));
        err[start..].to_string()
    };
    assert!(err.contains("── deploy to dev · docker container"), "{err}");
    assert!(section("running").contains(&first), "the full URI of what runs: {err}");
    let new_digest =
        text(&std::fs::read(p.repo.work().join(format!(".shipit/releases/{}.json", p.repo.head()))).unwrap());
    let new_digest: serde_json::Value = serde_json::from_str(&new_digest).unwrap();
    let new_uri = format!("{}@{}", p.repository, new_digest["image"]["digest"].as_str().unwrap());
    assert!(section("new").contains(&new_uri), "the full URI of the new image: {err}");
    assert!(section("new").contains("tags "), "the tags pushed: {err}");
    assert!(section("new").contains("Drop the old Debian packages — Shipit Test"), "subject and author: {err}");
    let commits = section("commits");
    assert!(commits.contains("2 new since the running release (git)"), "{err}");
    assert!(commits.contains("Say hello again — Shipit Test"), "{err}");
    assert!(section("scan").contains("against the running release: 2 fixed"), "the fixed CVEs: {err}");
    assert!(section("change").contains(&format!("container {}: {first} →", p.name)), "{err}");
    assert!(err.contains("Deploy to dev? — no terminal to ask on"), "{err}");
    assert!(err.contains("--yes or SHIPIT_APPROVE=dev"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(120), "no waiting for an answer");
    assert_eq!(p.live()["image"], first.as_str(), "nothing changed");

    // In GitHub Actions: the same block in the job summary, the log folded into groups, a notice of what went
    // live, the stages table.
    let summary = tempfile::NamedTempFile::new().unwrap();
    let out = p
        .shipit()
        .args(["ship", "dev", "--yes"])
        .env("CI", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let log = text(&out.stderr);
    assert!(log.contains("::group::deploy") && log.contains("::endgroup::"), "{log}");
    assert!(log.contains("::notice title=dev is live::docker container"), "{log}");
    assert!(log.contains("Deploy to dev? yes (--yes)"), "{log}");
    let md = std::fs::read_to_string(summary.path()).unwrap();
    assert!(md.contains("### deploy to dev — approval"), "{md}");
    assert!(md.contains(&format!("| image | `{first}` | `{new_uri}` |")), "{md}");
    assert!(md.contains("**Commits:** 2 new since the running release (git)"), "{md}");
    assert!(md.contains("- ") && md.contains("Drop the old Debian packages"), "{md}");
    assert!(md.contains("### dev: ✅ completed"), "{md}");
    assert!(md.contains("### shipit stages") && md.contains("| deploy | ✅ ok |"), "{md}");

    // history: who approved each revision, and how.
    let out = p.run(&["history", "dev"]);
    assert!(out.status.success(), "{}", describe(&out));
    let table = text(&out.stdout);
    assert!(table.lines().next().unwrap().contains("APPROVED"), "{table}");
    let live_row = table.lines().find(|l| l.contains("● live")).unwrap_or_else(|| panic!("{table}"));
    assert!(live_row.contains("ann (--yes)"), "{table}");
    let out = p.run(&["history", "dev", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["revisions"][0]["evidence"]["approved_by"], "ann", "{v}");
    assert_eq!(v["revisions"][0]["evidence"]["method"], "--yes", "{v}");

    // The same digest again (--force): the screen says so, and shows who approved it before.
    let out = p.shipit().args(["deploy", "dev", "--force"]).env("CI", "true").output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("the same release again (same commit, same digest)"), "{err}");
    assert!(err.contains("approved  dev by ann · ") && err.contains(" · --yes"), "{err}");
}

/// On a terminal: the screen, `d` for every commit and finding, `n` declines and changes nothing, `y` deploys.
#[tokio::test]
async fn on_a_terminal_d_shows_details_n_declines_y_deploys() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db", "tmux");
    let (p, first) = two_releases(env);
    for step in [&["build"][..], &["scan"], &["push"]] {
        let out = p.run(step);
        assert!(out.status.success(), "{step:?}: {}", describe(&out));
    }

    let run = |keys: &[&[&str]]| {
        let session = unique_name("approve");
        let tmux = crate::support::tmux::Tmux::start(
            &session,
            &p.repo.work(),
            &[env!("CARGO_BIN_EXE_shipit"), "deploy", "dev"],
            &[
                ("NO_COLOR", "1"),
                ("SHIPIT_DEPLOYER", "bea"),
                ("DOCKER_HOST", "unix:///var/run/docker.sock"),
                ("SHIPIT_TRIVY", p.trivy().to_str().unwrap()),
            ],
        );
        let screen = tmux.wait_for("[y/N/d]", Duration::from_secs(30));
        assert!(screen.contains("2 new since the running release"), "{screen}");
        for k in keys {
            tmux.keys(k);
        }
        tmux
    };

    // d: the details, then the question again; n: declined.
    let tmux = run(&[&["d"]]);
    // The details list the fixed CVE with its package (the screen above only counts them).
    let screen = tmux.wait_for("CVE-2019-18224 (libidn2-0)", Duration::from_secs(10));
    assert!(screen.contains("fixed") && screen.contains("CVE-2019-18224"), "the fixed CVE is listed: {screen}");
    tmux.keys(&["n"]);
    let screen = tmux.wait_for("nothing was changed", Duration::from_secs(10));
    assert!(screen.contains("declined"), "{screen}");
    drop(tmux);
    assert_eq!(p.live()["image"], first.as_str());

    let tmux = run(&[&["y"]]);
    tmux.wait_for("is live", Duration::from_secs(60));
    drop(tmux);
    assert_ne!(p.live()["image"], first.as_str());
    let table = text(&p.run(&["history", "dev"]).stdout);
    let live_row = table.lines().find(|l| l.contains("● live")).unwrap_or_else(|| panic!("{table}"));
    assert!(live_row.contains("bea (prompt)"), "{table}");
}

/// `plan` shows the screen of each environment it would ask about, and asks nothing.
#[tokio::test]
async fn plan_shows_the_screen_without_asking() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let (p, first) = two_releases(env);
    let out = p.run(&["plan", "dev"]);
    assert!(out.status.success(), "{}", describe(&out));
    let plan = text(&out.stdout);
    assert!(plan.contains("── deploy to dev · docker container"), "{plan}");
    assert!(plan.contains(&first), "{plan}");
    assert!(plan.contains("2 new since the running release (git)"), "{plan}");
    assert!(plan.contains("(the image this ship builds)"), "{plan}");
    assert!(!text(&out.stderr).contains("[y/N/d]"), "{}", describe(&out));
}
