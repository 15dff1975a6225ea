//! The gitops target through the binary, against a real bare git repository as the config repository:
//! deploy commits the digest (one line changed), history/status/rollback read the branch, a push that loses a
//! race is done again on top, and the deploy lock is a ref in the same repository.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::cli::{Scratch, describe, text};
use crate::support::git_repo::git;

const REPO: &str = "127.0.0.1:5000/acme/api";
const FILE: &str = "apps/api/production/kustomization.yaml";

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn pinned(c: char) -> String {
    format!("{REPO}@{}", digest(c))
}

fn kustomization(c: char) -> String {
    format!(
        "# production overlay — reviewed by the platform team\n\
         apiVersion: kustomize.config.k8s.io/v1beta1\n\
         kind: Kustomization\n\
         resources:\n  - ../base   # shared\n\
         images:\n\
         - name: nginx\n  newTag: \"1.27\"\n\
         - name: api\n  newName: {REPO}\n  digest: {}  # pinned by shipit\n\
         - name: worker\n  newName: {REPO}-worker\n  newTag: v3\n",
        digest(c)
    )
}

/// A bare config repository with the kustomization on `main`, a clone to act as someone else, and an app
/// directory whose ship.toml deploys to it.
struct Setup {
    dir: tempfile::TempDir,
    app: Scratch,
}

impl Setup {
    fn new(extra: &str) -> Setup {
        Setup::with_file(FILE, &kustomization('a'), "format = \"kustomize\"\n", extra)
    }

    /// A config repository holding `file` (at `path`), deployed to with `format` keys.
    fn with_file(path: &str, file: &str, format: &str, extra: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("deploy.git");
        let side = dir.path().join("side");
        std::fs::create_dir_all(&bare).unwrap();
        git(&bare, &["init", "-q", "--bare", "-b", "main"]);
        git(dir.path(), &["clone", "-q", bare.to_str().unwrap(), "side"]);
        std::fs::create_dir_all(side.join(path).parent().unwrap()).unwrap();
        std::fs::write(side.join(path), file).unwrap();
        std::fs::write(side.join("README.md"), "# deploy\n").unwrap();
        git(&side, &["add", "-A"]);
        git(&side, &["commit", "-q", "-m", "api: first release by hand"]);
        git(&side, &["push", "-q", "origin", "main"]);
        let app = Scratch::new();
        let toml = ship_toml(REPO, &bare, extra)
            .replace(&format!("path = \"{FILE}\"\n"), &format!("path = \"{path}\"\n"))
            .replace("format = \"kustomize\"\n", format);
        app.write("ship.toml", toml);
        Setup { dir, app }
    }

    fn bare(&self) -> PathBuf {
        self.dir.path().join("deploy.git")
    }

    fn side(&self) -> PathBuf {
        self.dir.path().join("side")
    }

    fn shipit(&self, args: &[&str]) -> std::process::Output {
        self.app.shipit().args(args).output().unwrap()
    }

    /// The file on `main` of the config repository.
    fn file(&self) -> String {
        git(&self.bare(), &["show", &format!("main:{FILE}")]) + "\n"
    }

    fn commits(&self) -> usize {
        git(&self.bare(), &["rev-list", "--count", "main"]).parse().unwrap()
    }
}

fn ship_toml(registry_repo: &str, bare: &std::path::Path, extra: &str) -> String {
    format!(
        "[app]\nname = \"api\"\n\n[registries.local]\ntype = \"oci\"\nrepository = \"{registry_repo}\"\ninsecure = true\n\n\
         [environments.production]\ntarget = \"gitops\"\nrepository = \"{}\"\npath = \"{FILE}\"\nformat = \"kustomize\"\n\
         mode = \"push\"\napproval = \"none\"\nrequire_scan = false\n{extra}",
        bare.display()
    )
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", describe(out)))
}

#[test]
fn push_mode_deploys_one_line_and_status_history_and_rollback_read_the_branch() {
    let s = Setup::new("");
    let out = s.shipit(&["deploy", "production", "--image", &pinned('b'), "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let report = json_of(&out);
    assert_eq!(report["result"], "completed", "{report}");
    let tip = git(&s.bare(), &["rev-parse", "main"]);
    assert_eq!(report["revision"], tip[..12], "the revision is the commit on main");
    // Byte for byte: the file is the old one with the one digest changed.
    assert_eq!(s.file(), kustomization('b'));
    let message = git(&s.bare(), &["log", "-1", "--format=%B", "main"]);
    assert!(message.starts_with("deploy api to production: sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb"), "{message}");
    for trailer in [
        format!("Shipit-Digest: {}", digest('b')),
        format!("Shipit-Previous-Digest: {}", digest('a')),
        "Shipit-Deployer: test-runner".to_string(),
        "Shipit-Environment: production".to_string(),
    ] {
        assert!(message.contains(&trailer), "{trailer} missing:\n{message}");
    }
    // The lock was taken and released: no lock branch is left behind.
    assert_eq!(git(&s.bare(), &["for-each-ref", "refs/heads/shipit-lock/"]), "");

    let out = s.shipit(&["deploy", "production", "--image", &pinned('c')]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("committed"), "{}", describe(&out));

    let out = s.shipit(&["status", "production"]);
    assert!(out.status.success(), "{}", describe(&out));
    let status = text(&out.stdout);
    assert!(status.contains(&format!("image        {}", pinned('c'))), "{status}");
    assert!(status.contains("rollout      COMMITTED\n"), "{status}");
    assert!(status.contains(&format!("{FILE}:11 on main at")), "{status}");

    let out = s.shipit(&["history", "production", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let revisions = json_of(&out)["revisions"].as_array().unwrap().clone();
    let digests: Vec<&str> = revisions.iter().map(|r| r["digest"].as_str().unwrap()).collect();
    assert_eq!(digests, [digest('c'), digest('b'), digest('a')], "every change of the digest is a release");
    assert_eq!(revisions[0]["live"], true);
    assert_eq!(revisions[1]["deployer"], "test-runner");
    assert_eq!(revisions[2]["deployer"], "Shipit Test", "a change made by hand names its author");

    // A commit that touches something else is no release.
    std::fs::write(s.side().join("README.md"), "# deploy\n\nmore\n").unwrap();
    git(&s.side(), &["commit", "-qam", "docs"]);
    git(&s.side(), &["pull", "-q", "--rebase"]);
    git(&s.side(), &["push", "-q"]);
    let out = s.shipit(&["history", "production"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(text(&out.stdout).lines().count(), 4, "header and three releases:\n{}", text(&out.stdout));

    // Deploying what is pinned already is a no-op: no commit.
    let before = s.commits();
    let out = s.shipit(&["deploy", "production", "--image", &pinned('c')]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("already runs"), "{}", describe(&out));
    assert_eq!(s.commits(), before);

    let out = s.shipit(&["rollback", "production", "--previous", "--yes", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(json_of(&out)["result"], "completed");
    assert_eq!(s.file(), kustomization('b'), "the rollback is the same one-line change back");
    let message = git(&s.bare(), &["log", "-1", "--format=%B", "main"]);
    assert!(message.starts_with("rollback api to production: sha256:cccccccccccc → sha256:bbbbbbbbbbbb"), "{message}");

    let out = s.shipit(&["rollback", "production", "--to", &digest('a')[7..19], "--yes"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(s.file(), kustomization('a'));
    let out = s.shipit(&["history", "production", "--output", "json"]);
    let revisions = json_of(&out)["revisions"].as_array().unwrap().clone();
    assert_eq!(revisions.len(), 5);
    assert_eq!(revisions[0]["digest"], digest('a'));
}

#[test]
fn helm_values_and_manifests_are_deployed_and_read_back_through_the_binary() {
    let values = format!(
        "# api chart values\nimage:\n  repository: {REPO}   # mirrored\n  tag: \"v1.4.2\"\nworker:\n  image: &w busybox\nsidecar: *w\n"
    );
    let s = Setup::with_file(
        "charts/api/values-prod.yaml",
        &values,
        "format = \"helm\"\nvalue_path = \"image.tag\"\nvalue = \"tag@digest\"\n",
        "",
    );
    let out = s.shipit(&["deploy", "production", "--image", &pinned('b')]);
    assert!(out.status.success(), "{}", describe(&out));
    let now = git(&s.bare(), &["show", "main:charts/api/values-prod.yaml"]) + "\n";
    assert_eq!(now, values.replace("tag: \"v1.4.2\"", &format!("tag: \"v1.4.2@{}\"", digest('b'))));
    let out = s.shipit(&["status", "production", "--output", "json"]);
    assert_eq!(json_of(&out)["live"]["digest"], digest('b'), "{}", describe(&out));
    assert_eq!(json_of(&out)["live"]["image"], format!("{REPO}:v1.4.2@{}", digest('b')));

    let manifest = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: {}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: cleanup\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - name: web\n            image: '{}'\n",
        pinned('a'),
        pinned('a')
    );
    let s = Setup::with_file("apps/api.yaml", &manifest, "format = \"manifest\"\ncontainer = \"web\"\n", "");
    let out = s.shipit(&["deploy", "production", "--image", &pinned('c')]);
    assert!(out.status.success(), "{}", describe(&out));
    let now = git(&s.bare(), &["show", "main:apps/api.yaml"]) + "\n";
    assert_eq!(now, manifest.replace(&pinned('a'), &pinned('c')), "both documents, quoting kept");
    let out = s.shipit(&["rollback", "production", "--previous", "--yes"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(git(&s.bare(), &["show", "main:apps/api.yaml"]) + "\n", manifest);
}

#[test]
fn deploy_by_digest_uses_the_environments_registry() {
    let s = Setup::new("");
    let out = s.shipit(&["deploy", "production", "--digest", &digest('d')]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(s.file(), kustomization('d'));
}

/// A `git` in front of the real one that, on the first push to main, lets someone else push first.
fn racing_git(s: &Setup) -> (tempfile::TempDir, String) {
    let real =
        String::from_utf8(std::process::Command::new("sh").args(["-c", "command -v git"]).output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
    let bin = tempfile::tempdir().unwrap();
    let marker = bin.path().join("raced");
    let side = s.side();
    let script = format!(
        "#!/bin/sh\n\
         case \"$*\" in\n\
           *push*:refs/heads/main*)\n\
             if [ ! -e '{marker}' ]; then\n\
               touch '{marker}'\n\
               cd '{side}' && {real} pull -q --rebase && sed -i 's/newTag: v3/newTag: v4/' '{FILE}' \\\n\
                 && {real} -c user.name=Other -c user.email=o@x commit -qam 'worker v4' && {real} push -q origin main || exit 99\n\
               cd - >/dev/null\n\
             fi;;\n\
         esac\n\
         exec {real} \"$@\"\n",
        marker = marker.display(),
        side = side.display(),
    );
    let path = bin.path().join("git");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let search = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    (bin, search)
}

#[test]
fn a_push_that_loses_the_race_is_done_again_on_top_of_the_moved_branch() {
    let s = Setup::new("");
    let (bin, path) = racing_git(&s);
    let out =
        s.app.shipit().env("PATH", path).args(["deploy", "production", "--image", &pinned('b')]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(bin.path().join("raced").exists(), "the other push happened");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("main moved on while shipit pushed"), "{}", describe(&out));
    // Both changes are there: the other one's line and ours, on a linear history.
    let want = kustomization('b').replace("newTag: v3", "newTag: v4");
    assert_eq!(s.file(), want);
    let log = git(&s.bare(), &["log", "--format=%s", "main"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>()[..2],
        ["deploy api to production: sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb", "worker v4"]
    );
}

fn write_lock(s: &Setup, holder: &str, until: &str) {
    let lock = s.dir.path().join("lock");
    std::fs::create_dir_all(&lock).unwrap();
    git(&lock, &["init", "-q", "-b", "l"]);
    let record = format!(
        r#"{{"holder":"{holder}","host":"build-7","command":"shipit deploy production","what":"sha256:9b1e…","since":"2026-01-01T00:00:00Z","until":"{until}","nonce":"other-1"}}"#
    );
    std::fs::write(lock.join("lock.json"), record).unwrap();
    git(&lock, &["add", "-A"]);
    git(&lock, &["commit", "-q", "-m", "lock"]);
    git(&lock, &["push", "-q", s.bare().to_str().unwrap(), "l:refs/heads/shipit-lock/production"]);
}

#[test]
fn a_lock_held_in_the_config_repository_stops_a_deploy_with_exit_6_until_broken() {
    let s = Setup::new("");
    write_lock(&s, "ann", "2999-01-01T00:00:00Z");
    let out = s.shipit(&["status", "production"]);
    assert!(text(&out.stdout).contains("lock         held: ann on build-7"), "{}", describe(&out));

    let out = s.shipit(&["deploy", "production", "--image", &pinned('b')]);
    assert_eq!(out.status.code(), Some(6), "{}", describe(&out));
    assert!(text(&out.stderr).contains("production is locked by another deploy: ann on build-7"), "{}", describe(&out));
    assert_eq!(s.file(), kustomization('a'), "nothing was committed");

    let out = s.shipit(&["deploy", "production", "--image", &pinned('b'), "--force-unlock"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("breaking the deploy lock of production, held by ann"), "{}", describe(&out));
    assert_eq!(s.file(), kustomization('b'));
    assert_eq!(git(&s.bare(), &["for-each-ref", "refs/heads/shipit-lock/"]), "", "our lock is released");
}

#[test]
fn an_expired_lock_is_taken_over() {
    let s = Setup::new("");
    write_lock(&s, "bob", "2020-01-01T00:00:00Z");
    let out = s.shipit(&["deploy", "production", "--image", &pinned('b')]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("taking over the expired deploy lock of production, held by bob"),
        "{}",
        describe(&out)
    );
    assert_eq!(s.file(), kustomization('b'));
}

#[test]
fn a_value_that_cannot_be_edited_in_place_is_refused_with_the_line() {
    let s = Setup::new("");
    let anchored = kustomization('a').replace("  digest: sha", "  digest: &d sha");
    std::fs::write(s.side().join(FILE), &anchored).unwrap();
    git(&s.side(), &["commit", "-qam", "anchor the digest"]);
    git(&s.side(), &["push", "-q"]);
    let before = s.commits();
    let out = s.shipit(&["deploy", "production", "--image", &pinned('b')]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot change {FILE} (branch main): line 11: `digest` carries `&d`")),
        "{stderr}"
    );
    assert!(stderr.contains("hint: shipit changes one literal value"), "{stderr}");
    assert_eq!(s.commits(), before);
}

#[test]
fn a_missing_branch_or_file_is_named() {
    let s = Setup::new("branch = \"prod\"\n");
    let out = s.shipit(&["status", "production"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("has no such branch"), "{}", describe(&out));
    assert!(text(&out.stderr).contains("hint: set `branch`"), "{}", describe(&out));
}

#[test]
fn labels_and_reviewers_need_a_pull_request_on_github() {
    let s = Setup::new("labels = [\"deploy\"]\n");
    let out = s.shipit(&["config", "validate"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("`labels` only applies to `mode = \"pull-request\"`"), "{}", describe(&out));
    pull_request_mode(&s, &s.bare().display().to_string(), "");
    let out = s.shipit(&["config", "validate"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("`labels` needs a GitHub repository"), "{}", describe(&out));
}

#[test]
fn plan_reads_what_the_branch_pins_and_the_lock_in_the_config_repository() {
    let env = crate::require_env!("registry_open");
    let s = Setup::new("");
    write_lock(&s, "ann", "2999-01-01T00:00:00Z");
    // The app's own repository (plan checks the commit), deploying to the same config repository.
    let repo = format!("{}/{}", env.registry_open, crate::support::env::unique_name("gitops-plan"));
    let app = crate::support::git_repo::Repo::with_ship_toml(&ship_toml(&repo, &s.bare(), ""));
    app.commit("Dockerfile", "FROM scratch\nCOPY ship.toml /\n", "dockerfile");
    app.git(&["push", "-q"]);
    let out = app.shipit().args(["plan", "production"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let plan = text(&out.stdout);
    assert!(plan.contains("running: sha256:aaaaaaaaaaaa → new: the pushed digest"), "{plan}");
    assert!(plan.contains(&format!("gitops {} main:{FILE}", s.bare().display())), "{plan}");
    assert!(plan.contains("production is locked by another deploy (ann on build-7"), "{plan}");
    assert_eq!(s.file(), kustomization('a'), "a plan changes nothing");
}

// ---------------------------------------------------------------- mode = "pull-request"

fn pull_request_mode(s: &Setup, repository: &str, extra: &str) {
    let toml = std::fs::read_to_string(s.app.path().join("ship.toml")).unwrap();
    let toml = toml.replace("mode = \"push\"\n", extra);
    let toml =
        toml.replace(&format!("repository = \"{}\"", s.bare().display()), &format!("repository = \"{repository}\""));
    s.app.write("ship.toml", toml);
}

#[test]
fn pull_request_mode_on_another_remote_pushes_a_branch_and_says_where_to_merge_it() {
    let s = Setup::new("");
    pull_request_mode(&s, &s.bare().display().to_string(), "");
    let out = s.shipit(&["deploy", "production", "--image", &pinned('b'), "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let report = json_of(&out);
    assert_eq!(report["result"], "proposed", "{report}");
    assert_eq!(report["url"], format!("{} (branch shipit/production)", s.bare().display()));
    assert_eq!(s.file(), kustomization('a'), "main is untouched until the merge");
    let proposed = git(&s.bare(), &["show", &format!("shipit/production:{FILE}")]) + "\n";
    assert_eq!(proposed, kustomization('b'));
    assert_eq!(report["revision"], git(&s.bare(), &["rev-parse", "shipit/production"])[..12]);

    // The next deploy replaces the proposal: still one commit on top of main.
    let out = s.shipit(&["deploy", "production", "--image", &pinned('c')]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("open a merge request from shipit/production into main"), "{}", describe(&out));
    assert!(text(&out.stderr).contains("proposed:"), "{}", describe(&out));
    let proposed = git(&s.bare(), &["show", &format!("shipit/production:{FILE}")]) + "\n";
    assert_eq!(proposed, kustomization('c'));
    assert_eq!(git(&s.bare(), &["rev-list", "--count", "main..shipit/production"]), "1");
    let out = s.shipit(&["status", "production"]);
    let status = text(&out.stdout);
    assert!(status.contains(&format!("image        {}", pinned('a'))), "what runs is main's: {status}");
    assert!(status.contains("proposed, not merged: sha256:cccccccccccc on branch shipit/production"), "{status}");

    // Merged (as a merge commit), it is a release with shipit's trailers.
    git(&s.side(), &["fetch", "-q", "origin"]);
    git(&s.side(), &["merge", "-q", "--no-ff", "-m", "Merge shipit/production", "origin/shipit/production"]);
    git(&s.side(), &["push", "-q", "origin", "main"]);
    let out = s.shipit(&["status", "production"]);
    assert!(!text(&out.stdout).contains("proposed, not merged"), "merged: {}", text(&out.stdout));
    let out = s.shipit(&["history", "production", "--output", "json"]);
    let revisions = json_of(&out)["revisions"].as_array().unwrap().clone();
    assert_eq!(revisions[0]["digest"], digest('c'));
    assert_eq!(revisions[0]["deployer"], "test-runner", "from the merged commit's trailers");
    assert_eq!(revisions[0]["revision"], git(&s.bare(), &["rev-parse", "main"])[..12], "the merge is the release");
}

/// `--wait` in pull-request mode: the deploy opens the proposal, then waits until the branch pins the digest
/// (the merge, done here by someone else while shipit waits), and completes at the merged tip; unmerged, it
/// fails at the timeout saying the pull request stays open.
#[test]
fn with_wait_a_pull_request_deploy_waits_for_the_merge() {
    use std::time::Duration;
    let s = Setup::new("");
    pull_request_mode(&s, &s.bare().display().to_string(), "");
    let side = s.side();
    let bare = s.bare();
    let merger = std::thread::spawn(move || {
        // Someone merges the proposal once it is there.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::process::Command::new("git")
            .args(["rev-parse", "--verify", "-q", "refs/heads/shipit/production"])
            .current_dir(&bare)
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            assert!(std::time::Instant::now() < deadline, "the proposal never appeared");
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_secs(1));
        git(&side, &["fetch", "-q", "origin"]);
        git(&side, &["merge", "-q", "--no-ff", "-m", "Merge shipit/production", "origin/shipit/production"]);
        git(&side, &["push", "-q", "origin", "main"]);
    });
    let out = s.shipit(&["deploy", "production", "--image", &pinned('b'), "--wait", "--output", "json"]);
    merger.join().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let report = json_of(&out);
    assert_eq!(report["result"], "completed", "{report}");
    assert_eq!(report["revision"], git(&s.bare(), &["rev-parse", "main"])[..12], "the merged tip: {report}");
    assert_eq!(s.file(), kustomization('b'));

    // Nobody merges: the wait ends at the environment's timeout, the proposal stays, nothing runs it.
    let toml = std::fs::read_to_string(s.app.path().join("ship.toml")).unwrap();
    let toml = toml.lines().filter(|l| !l.starts_with("timeout")).collect::<Vec<_>>().join("\n");
    s.app.write("ship.toml", toml.replace("[environments.production]", "[environments.production]\ntimeout = \"4s\""));
    let out = s.shipit(&["deploy", "production", "--image", &pinned('c'), "--wait"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("the pull request was not merged into main within 4s"), "{err}");
    assert!(err.contains("the pull request stays open"), "{err}");
    assert_eq!(s.file(), kustomization('b'), "main still pins b");
}

mod github {
    use serde_json::json;
    use wiremock::matchers::{body_partial_json, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    /// The config repository is `acme/deploy` on a fake GitHub; git reaches "its" clone URL through
    /// `url.<base>.insteadOf`, which is how git itself is told where a repository really is.
    struct Hub {
        s: Setup,
        server: MockServer,
        gitconfig: PathBuf,
    }

    impl Hub {
        async fn new(extra: &str) -> Hub {
            let s = Setup::new("");
            pull_request_mode(&s, "acme/deploy", extra);
            let server = MockServer::start().await;
            let gitconfig = s.dir.path().join("gitconfig");
            std::fs::write(
                &gitconfig,
                format!("[url \"{}\"]\n\tinsteadOf = {}/acme/deploy.git\n", s.bare().display(), server.uri()),
            )
            .unwrap();
            Hub { s, server, gitconfig }
        }

        async fn shipit(&self, args: &[&str]) -> std::process::Output {
            let mut cmd = self.s.app.shipit_std();
            cmd.args(args)
                .env("GITHUB_API_URL", self.server.uri())
                .env("GITHUB_SERVER_URL", self.server.uri())
                .env("GITHUB_TOKEN", "ghp_test")
                .env("GIT_CONFIG_GLOBAL", &self.gitconfig);
            tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
        }

        fn pull(&self, number: u64) -> serde_json::Value {
            json!({
                "number": number, "node_id": format!("PR_kwDO{number}"), "state": "open", "title": "deploy api to production",
                "html_url": format!("https://github.com/acme/deploy/pull/{number}"),
                "head": {"ref": "shipit/production", "label": "acme:shipit/production"},
                "base": {"ref": "main", "label": "acme:main"},
                "draft": false, "merged_at": null
            })
        }

        async fn no_open_pull(&self) {
            Mock::given(method("GET"))
                .and(path("/repos/acme/deploy/pulls"))
                .and(query_param("state", "open"))
                .and(query_param("head", "acme:shipit/production"))
                .and(query_param("base", "main"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
                .mount(&self.server)
                .await;
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_pull_request_is_opened_with_the_approval_block_labels_and_reviewers() {
        let hub =
            Hub::new("labels = [\"deploy\", \"production\"]\nreviewers = [\"ann\"]\nauto_merge = \"squash\"\n").await;
        hub.no_open_pull().await;
        Mock::given(method("POST"))
            .and(path("/repos/acme/deploy/pulls"))
            .and(body_partial_json(json!({"head": "shipit/production", "base": "main"})))
            .respond_with(ResponseTemplate::new(201).set_body_json(hub.pull(12)))
            .expect(1)
            .mount(&hub.server)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/acme/deploy/issues/12/labels"))
            .and(body_partial_json(json!({"labels": ["deploy", "production"]})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"name": "deploy"}, {"name": "production"}])))
            .expect(1)
            .mount(&hub.server)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/acme/deploy/pulls/12/requested_reviewers"))
            .and(body_partial_json(json!({"reviewers": ["ann"]})))
            .respond_with(ResponseTemplate::new(201).set_body_json(hub.pull(12)))
            .expect(1)
            .mount(&hub.server)
            .await;

        // Auto-merge is GraphQL-only: the mutation with the pull request's node id and the method.
        Mock::given(method("POST"))
            .and(path("/graphql"))
            .and(body_partial_json(json!({"variables": {"id": "PR_kwDO12", "method": "SQUASH"}})))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"data": {"enablePullRequestAutoMerge": {"pullRequest": {"number": 12}}}})),
            )
            .expect(1)
            .mount(&hub.server)
            .await;

        let out = hub.shipit(&["deploy", "production", "--image", &pinned('b'), "--output", "json"]).await;
        assert!(out.status.success(), "{}", describe(&out));
        let report = json_of(&out);
        assert_eq!(report["result"], "proposed");
        assert_eq!(report["url"], "https://github.com/acme/deploy/pull/12");
        let graphql = hub.server.received_requests().await.unwrap();
        let mutation = graphql.iter().find(|r| r.url.path() == "/graphql").expect("the auto-merge mutation");
        let q: serde_json::Value = mutation.body_json().unwrap();
        assert!(q["query"].as_str().unwrap().contains("enablePullRequestAutoMerge"), "{q}");
        let requests = hub.server.received_requests().await.unwrap();
        let create =
            requests.iter().find(|r| r.method.as_str() == "POST" && r.url.path() == "/repos/acme/deploy/pulls");
        let body: serde_json::Value = create.unwrap().body_json().unwrap();
        assert_eq!(body["title"], "deploy api to production: sha256:aaaaaaaaaaaa → sha256:bbbbbbbbbbbb");
        let text_body = body["body"].as_str().unwrap();
        for part in [
            format!("| running | `{}` |", digest('a')),
            format!("| new | `{}` |", pinned('b')),
            format!("`{FILE}` line 11 on `main`"),
            "requested by test-runner".to_string(),
            "<!-- shipit:environment=production -->".to_string(),
            // The approval screen, for the reviewers: running → new, the commits, the scan, the change.
            "### deploy to production — approval".to_string(),
            format!("| image | `{}` | `{}` |", pinned('a'), pinned('b')),
            "**Scan:** not checked: require_scan = false".to_string(),
            format!("- {FILE}:11: digest: {}", digest('a')),
            format!("→ digest: {}", digest('b')),
            "\n| | image |\n".to_string(),
        ] {
            assert!(text_body.contains(&part), "{part} missing from the body:\n{text_body}");
        }
        let auth = create.unwrap().headers.get("authorization").unwrap().to_str().unwrap().to_string();
        assert_eq!(auth, "Bearer ghp_test");
        assert_eq!(hub.s.file(), kustomization('a'), "main is untouched until the merge");
        let proposed = git(&hub.s.bare(), &["show", &format!("shipit/production:{FILE}")]) + "\n";
        assert_eq!(proposed, kustomization('b'));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_open_shipit_pull_request_is_updated_instead_of_a_second_one() {
        let hub = Hub::new("").await;
        Mock::given(method("GET"))
            .and(path("/repos/acme/deploy/pulls"))
            .and(query_param("head", "acme:shipit/production"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([hub.pull(7)])))
            .mount(&hub.server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/repos/acme/deploy/pulls/7"))
            .and(body_partial_json(
                json!({"title": "deploy api to production: sha256:aaaaaaaaaaaa → sha256:cccccccccccc"}),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(hub.pull(7)))
            .expect(1)
            .mount(&hub.server)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/acme/deploy/pulls"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&hub.server)
            .await;
        let out = hub.shipit(&["deploy", "production", "--image", &pinned('c')]).await;
        assert!(out.status.success(), "{}", describe(&out));
        assert!(text(&out.stderr).contains("updated the open pull request #7"), "{}", describe(&out));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn github_422_and_409_are_explained() {
        let hub = Hub::new("").await;
        hub.no_open_pull().await;
        Mock::given(method("POST"))
            .and(path("/repos/acme/deploy/pulls"))
            .respond_with(ResponseTemplate::new(422).set_body_json(json!({
                "message": "Validation Failed",
                "errors": [{"resource": "PullRequest", "code": "custom",
                            "message": "A pull request already exists for acme:shipit/production."}],
                "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                "status": "422"
            })))
            .mount(&hub.server)
            .await;
        let out = hub.shipit(&["deploy", "production", "--image", &pinned('b')]).await;
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("GitHub refused to open a pull request in acme/deploy (HTTP 422): Validation Failed: A pull request already exists for acme:shipit/production."),
            "{stderr}"
        );
        assert!(
            stderr.contains("hint: a pull request from that branch is already open against another base"),
            "{stderr}"
        );

        hub.server.reset().await;
        Mock::given(method("GET"))
            .and(path("/repos/acme/deploy/pulls"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([hub.pull(7)])))
            .mount(&hub.server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/repos/acme/deploy/pulls/7"))
            .respond_with(ResponseTemplate::new(409).set_body_json(json!({"message": "Conflict"})))
            .mount(&hub.server)
            .await;
        let out = hub.shipit(&["deploy", "production", "--image", &pinned('c')]).await;
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("(HTTP 409): Conflict"), "{stderr}");
        assert!(stderr.contains("hint: GitHub answers 409 when the branch changed"), "{stderr}");
    }
}

mod argocd {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    /// A fake Argo CD whose Application follows the config repository's `main` (as Argo CD does, once it has
    /// looked): Synced at its tip, and Degraded whenever the file pins `bad`'s digest.
    async fn argo(s: &Setup, bad: char) -> MockServer {
        argo_with(s, bad, "Degraded").await
    }

    /// As [`argo`], with `bad`'s digest answered with health `when_bad` (`Degraded`, `Progressing`).
    async fn argo_with(s: &Setup, bad: char, when_bad: &'static str) -> MockServer {
        let server = MockServer::start().await;
        let bare = s.bare();
        let bad = digest(bad);
        Mock::given(method("GET"))
            .and(path("/api/v1/applications/api-production"))
            .respond_with(move |req: &wiremock::Request| {
                if req.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer argo-token") {
                    return ResponseTemplate::new(401).set_body_json(json!({"error": "invalid session", "code": 16, "message": "invalid session: token is invalid"}));
                }
                let tip = git(&bare, &["rev-parse", "main"]);
                let file = git(&bare, &["show", &format!("main:{FILE}")]);
                let degraded = file.contains(&bad);
                let (health, resource) = if degraded && when_bad == "Progressing" {
                    (json!({"status": "Progressing"}), json!({"status": "Progressing", "message": "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."}))
                } else if degraded {
                    (json!({"status": "Degraded"}), json!({"status": "Degraded", "message": "Deployment \"api\" exceeded its progress deadline"}))
                } else {
                    (json!({"status": "Healthy"}), json!({"status": "Healthy"}))
                };
                ResponseTemplate::new(200).set_body_json(json!({
                    "metadata": {"name": "api-production", "namespace": "argocd"},
                    "spec": {"project": "default", "source": {"repoURL": "https://github.com/acme/deploy.git", "path": "apps/api/production", "targetRevision": "main"},
                             "destination": {"server": "https://kubernetes.default.svc", "namespace": "prod"}},
                    "status": {
                        "sync": {"status": "Synced", "revision": tip, "comparedTo": {"source": {"repoURL": "https://github.com/acme/deploy.git"}}},
                        "health": health,
                        "operationState": {"phase": "Succeeded", "message": "successfully synced (all tasks run)", "syncResult": {"revision": tip}},
                        "resources": [{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "prod", "name": "api", "status": "Synced", "health": resource}],
                        "reconciledAt": "2026-12-02T01:00:00Z"
                    }
                }))
            })
            .mount(&server)
            .await;
        server
    }

    fn with_argo(s: &Setup, server: &MockServer, extra: &str) {
        let toml = std::fs::read_to_string(s.app.path().join("ship.toml")).unwrap();
        s.app.write(
            "ship.toml",
            format!("{toml}argocd = {{ url = \"{}\", application = \"api-production\" }}\n{extra}", server.uri()),
        );
    }

    async fn run(s: &Setup, args: &[&str], token: Option<&str>) -> std::process::Output {
        let mut cmd = s.app.shipit_std();
        cmd.args(args);
        if let Some(t) = token {
            cmd.env("ARGOCD_AUTH_TOKEN", t);
        }
        tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_push_waits_for_argo_cd_to_sync_the_commit_healthy() {
        let s = Setup::new("");
        let server = argo(&s, 'x').await;
        with_argo(&s, &server, "");
        let out = run(&s, &["deploy", "production", "--image", &pinned('b')], Some("argo-token")).await;
        assert!(out.status.success(), "{}", describe(&out));
        let tip = git(&s.bare(), &["rev-parse", "main"]);
        assert!(
            text(&out.stderr).contains(&format!("Argo CD: api-production is Synced at {} and Healthy", &tip[..12])),
            "{}",
            describe(&out)
        );
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests[0].url.query(), Some("refresh=normal"), "the first look asks Argo CD to refresh");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_degraded_application_fails_the_deploy_and_auto_rollback_commits_the_previous_digest_back() {
        let s = Setup::new("auto_rollback = true\n");
        let server = argo(&s, 'b').await;
        with_argo(&s, &server, "");
        let out = run(&s, &["deploy", "production", "--image", &pinned('b')], Some("argo-token")).await;
        assert_eq!(out.status.code(), Some(5), "{}", describe(&out));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("Deployment api: Deployment \"api\" exceeded its progress deadline"), "{stderr}");
        assert_eq!(s.file(), kustomization('a'), "the previous digest is committed back");
        let out = run(&s, &["history", "production", "--output", "json"], None).await;
        let revisions = json_of(&out)["revisions"].as_array().unwrap().clone();
        let rows: Vec<(String, bool)> = revisions
            .iter()
            .map(|r| (r["digest"].as_str().unwrap().to_string(), r["failed"].as_bool().unwrap()))
            .collect();
        assert_eq!(rows, [(digest('a'), false), (digest('b'), true), (digest('a'), false)]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn ctrl_c_while_waiting_exits_130_keeps_the_commit_and_releases_the_lock() {
        let s = Setup::new("");
        let server = argo_with(&s, 'b', "Progressing").await;
        with_argo(&s, &server, "");
        let child = s
            .app
            .shipit_std()
            .args(["deploy", "production", "--image", &pinned('b')])
            .env("ARGOCD_AUTH_TOKEN", "argo-token")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while server.received_requests().await.unwrap().len() < 2 {
            assert!(std::time::Instant::now() < deadline, "shipit never asked Argo CD twice");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let ok = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(ok.success());
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
        assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
        // Either the wait saw the signal first or the engine did; both say the new revision is what the branch has.
        let tip = git(&s.bare(), &["rev-parse", "main"]);
        assert!(stderr.contains(&format!("revision {}", &tip[..12])), "{stderr}");
        assert_eq!(s.file(), kustomization('b'), "the commit stays");
        assert_eq!(git(&s.bare(), &["for-each-ref", "refs/heads/shipit-lock/"]), "", "the lock is released");
        assert_eq!(git(&s.bare(), &["for-each-ref", "refs/tags/"]), "", "an interrupted wait is no failure");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn without_a_token_nothing_is_committed() {
        let s = Setup::new("");
        let server = argo(&s, 'x').await;
        with_argo(&s, &server, "");
        let out = run(&s, &["deploy", "production", "--image", &pinned('b')], None).await;
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        assert!(text(&out.stderr).contains("no token: ARGOCD_AUTH_TOKEN is not set"), "{}", describe(&out));
        assert_eq!(s.file(), kustomization('a'));
        let out = run(&s, &["deploy", "production", "--image", &pinned('b')], Some("wrong")).await;
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        assert!(text(&out.stderr).contains("HTTP 401: invalid session: token is invalid"), "{}", describe(&out));
    }
}

mod flux {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    /// The Kubernetes API as Flux's Kustomization `flux-system/apps` answers it: it follows `main`, and its
    /// health check fails whenever the file pins `bad`'s digest (the last good revision stays applied).
    async fn cluster(s: &Setup, bad: char) -> MockServer {
        let server = MockServer::start().await;
        let bare = s.bare();
        let bad = digest(bad);
        Mock::given(method("GET"))
            .and(path("/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps"))
            .respond_with(move |_: &wiremock::Request| {
                let tip = git(&bare, &["rev-parse", "main"]);
                let parent = git(&bare, &["rev-parse", "main~1"]);
                let file = git(&bare, &["show", &format!("main:{FILE}")]);
                let (applied, ready) = if file.contains(&bad) {
                    (parent, json!({"type": "Ready", "status": "False", "reason": "HealthCheckFailed",
                                    "message": "timeout waiting for: [Deployment/prod/api status: 'Failed']",
                                    "lastTransitionTime": "2026-12-02T01:00:00Z", "observedGeneration": 1}))
                } else {
                    (tip.clone(), json!({"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                                         "message": format!("Applied revision: main@sha1:{tip}"),
                                         "lastTransitionTime": "2026-12-02T01:00:00Z", "observedGeneration": 1}))
                };
                ResponseTemplate::new(200).set_body_json(json!({
                    "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                    "kind": "Kustomization",
                    "metadata": {"name": "apps", "namespace": "flux-system", "resourceVersion": "4711", "generation": 1},
                    "spec": {"interval": "10m", "path": "./apps/api/production", "prune": true,
                             "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
                    "status": {
                        "conditions": [ready],
                        "lastAppliedRevision": format!("main@sha1:{applied}"),
                        "lastAttemptedRevision": format!("main@sha1:{tip}"),
                        "observedGeneration": 1
                    }
                }))
            })
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": "flux-system", "namespace": "flux-system", "resourceVersion": "99"},
                "spec": {"interval": "1m", "url": "ssh://git@github.com/acme/deploy", "ref": {"branch": "main"}}
            })))
            .mount(&server)
            .await;
        server
    }

    fn kubeconfig(s: &Setup, server: &MockServer) -> PathBuf {
        let p = s.dir.path().join("kubeconfig");
        std::fs::write(
            &p,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: c\n  cluster:\n    server: {}\n\
                 contexts:\n- name: prod\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n",
                server.uri()
            ),
        )
        .unwrap();
        p
    }

    async fn run(s: &Setup, kubeconfig: &std::path::Path, args: &[&str]) -> std::process::Output {
        let mut cmd = s.app.shipit_std();
        cmd.args(args).env("KUBECONFIG", kubeconfig);
        tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_push_waits_for_the_flux_kustomization_to_apply_the_commit() {
        let s = Setup::new("flux = { kustomization = \"apps\" }\n");
        let server = cluster(&s, 'x').await;
        let kc = kubeconfig(&s, &server);
        let out = run(&s, &kc, &["deploy", "production", "--image", &pinned('b')]).await;
        assert!(out.status.success(), "{}", describe(&out));
        let tip = git(&s.bare(), &["rev-parse", "main"]);
        assert!(
            text(&out.stderr).contains(&format!("Flux: Kustomization flux-system/apps is Ready at {}", &tip[..12])),
            "{}",
            describe(&out)
        );
        // Flux was asked to fetch now, the way `flux reconcile --with-source` asks.
        let requests = server.received_requests().await.unwrap();
        let patch = requests.iter().find(|r| r.method.as_str() == "PATCH").expect("a PATCH of the GitRepository");
        assert_eq!(patch.headers.get("content-type").unwrap(), "application/merge-patch+json");
        let body: serde_json::Value = patch.body_json().unwrap();
        assert!(body["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"].is_string(), "{body}");
        assert!(text(&out.stderr).contains("asked Flux to fetch GitRepository flux-system/flux-system now"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_failed_health_check_at_the_commit_is_a_failed_deploy_with_fluxs_message() {
        let s = Setup::new("flux = { kustomization = \"apps\" }\n");
        let server = cluster(&s, 'b').await;
        let kc = kubeconfig(&s, &server);
        let out = run(&s, &kc, &["deploy", "production", "--image", &pinned('b')]).await;
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(
                "Ready=False (HealthCheckFailed): timeout waiting for: [Deployment/prod/api status: 'Failed']"
            ),
            "{stderr}"
        );
        assert_eq!(s.file(), kustomization('b'), "without auto_rollback the commit stays");
        let out = run(&s, &kc, &["history", "production", "--output", "json"]).await;
        assert_eq!(json_of(&out)["revisions"][0]["failed"], true, "{}", describe(&out));
    }
}

#[test]
fn doctor_checks_the_git_program_for_a_gitops_environment() {
    let s = Setup::new("");
    let out = s.shipit(&["doctor", "--output", "json"]);
    let report = json_of(&out);
    let git = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "git program").cloned();
    let git = git.unwrap_or_else(|| panic!("no git program check: {report}"));
    assert_eq!(git["status"], "ok", "{report}");
    assert!(git["detail"].as_str().unwrap().starts_with("git version"), "{report}");
}

#[test]
fn a_push_the_server_refuses_is_an_error_with_the_servers_words() {
    let s = Setup::new("");
    let hook = s.bare().join("hooks/pre-receive");
    // Like branch protection: main is refused, other branches (the lock) are not.
    let script = "#!/bin/sh\nwhile read old new ref; do\n  if [ \"$ref\" = refs/heads/main ]; then\n    \
                  echo 'main is protected: changes need a review' >&2; exit 1\n  fi\ndone\nexit 0\n";
    std::fs::write(&hook, script).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = s.shipit(&["deploy", "production", "--image", &pinned('b')]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("refused the push to refs/heads/main: [remote rejected] (pre-receive hook declined)"),
        "{stderr}"
    );
    assert!(stderr.contains("main is protected: changes need a review"), "the server's own message: {stderr}");
    assert!(stderr.contains("hint: nothing was changed"), "{stderr}");
    assert_eq!(s.file(), kustomization('a'));
    assert_eq!(git(&s.bare(), &["for-each-ref", "refs/heads/shipit-lock/"]), "", "the lock is released");
}
