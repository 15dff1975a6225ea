//! `shipit ship` and `shipit plan` end to end: a real git repository with a pushed commit, the real Docker
//! engine, the open registry, the real trivy with the offline fixture DB, and the Docker host target.

use crate::support::cli::{describe, text};
use crate::support::env::{TestEnv, unique_name};
use crate::support::git_repo::Repo;
use crate::support::images::RemoveContainers;

struct Project {
    repo: Repo,
    repository: String,
    _containers: RemoveContainers,
    cache: tempfile::TempDir,
    trivy: std::path::PathBuf,
}

const DOCKERFILE: &str = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY app.txt /app.txt\nENTRYPOINT [\"/bin/busybox\"]\n\
CMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 300 & wait\"]\n";

impl Project {
    fn new(env: &TestEnv, scan: &str) -> Project {
        let name = unique_name("ship");
        let repository = format!("{}/{name}", env.registry_open);
        let toml = format!(
            r#"[app]
name = "web"

[check]
require_clean = true
require_pushed = true
branches = ["main"]

[scan]
{scan}

[registries.local]
type = "oci"
repository = "{repository}"
insecure = true

[environments.dev]
target = "docker"
container_name = "{name}"
host = "{host}"
network = "none"
approval = "manual"
timeout = "20s"
auto_rollback = true
"#,
            host = env.docker_host
        );
        let repo = Repo::with_ship_toml(&toml);
        std::fs::copy(env.busybox.as_ref().unwrap(), repo.work().join("busybox")).unwrap();
        repo.write("Dockerfile", DOCKERFILE);
        repo.write("app.txt", "version 1\n");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "app"]);
        repo.git(&["push", "-q"]);
        Project {
            repo,
            repository,
            _containers: RemoveContainers(name),
            cache: env.trivy_cache(),
            trivy: env.trivy().to_path_buf(),
        }
    }

    fn shipit(&self) -> assert_cmd::Command {
        let mut cmd = self.repo.shipit();
        cmd.env("SHIPIT_TRIVY", &self.trivy)
            .env("TRIVY_CACHE_DIR", self.cache.path())
            .env("SHIPIT_TRIVY_OFFLINE", "1")
            .env("DOCKER_HOST", "unix:///var/run/docker.sock");
        cmd
    }

    fn status(&self) -> serde_json::Value {
        let out = self.shipit().args(["status", "dev", "--output", "json"]).output().unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// The digest the registry serves for `repository:tag`.
async fn registry_digest(env: &TestEnv, repository: &str, tag: &str) -> Option<String> {
    let path = repository.split_once('/').unwrap().1;
    let res = crate::support::env::http_client()
        .head(format!("{}/v2/{path}/manifests/{tag}", env.registry_open_url()))
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
        )
        .send()
        .await
        .unwrap();
    res.headers().get("docker-content-digest").map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn ships_a_commit_end_to_end_and_a_reship_is_a_no_op() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, "fail_on = \"high\"");
    let sha = p.repo.head();
    let outputs = p.repo.dir.path().join("gh-output");
    let summary = p.repo.dir.path().join("gh-summary.md");

    // The plan first: every stage runs, nothing is deployed yet.
    let out = p.shipit().args(["plan", "dev", "--yes"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let plan = text(&out.stdout);
    for stage in ["run  check", "run  build", "run  scan", "run  push", "run  approve", "run  deploy"] {
        assert!(plan.contains(stage), "{stage} missing:\n{plan}");
    }
    assert!(plan.contains("running: nothing"), "{plan}");
    assert!(p.status()["live"].is_null(), "plan changed nothing");

    let out = p
        .shipit()
        .args(["ship", "dev", "--yes"])
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let err = text(&out.stderr);
    for line in ["✔ plan", "✔ check", "✔ build", "✔ scan", "✔ push", "✔ deploy"] {
        assert!(err.contains(line), "{line} missing:\n{err}");
    }
    assert!(err.contains(&format!("{} on main", &sha[..12])), "{err}");
    assert!(err.contains("trivy: 0 CRITICAL, 0 HIGH"), "{err}");

    // The digest deployed is the one the registry serves for the commit's tag.
    let digest = registry_digest(env, &p.repository, &sha).await.expect("the commit's tag is in the registry");
    let live = p.status();
    assert_eq!(live["live"]["image"], format!("{}@{digest}", p.repository));
    assert_eq!(live["live"]["commit"], sha.as_str());

    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.repo.work().join(format!(".shipit/releases/{sha}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(record["image"]["digest"], digest.as_str());
    assert_eq!(record["scan"]["passed"], true);
    let gh = std::fs::read_to_string(&outputs).unwrap();
    assert!(gh.contains(&format!("digest={digest}\n")), "{gh}");
    assert!(gh.contains(&format!("image={}@{digest}\n", p.repository)), "{gh}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("shipit ship: web") && md.contains("completed"), "{md}");

    // Same commit again: nothing is built, pushed or deployed; the plan says so, and ship agrees.
    let out = p.shipit().args(["plan", "dev", "--output", "json"]).output().unwrap();
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["skipped"].is_string())
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["build", "push", "deploy"], "{plan:#}");

    let out = p.shipit().args(["ship", "dev", "--output", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("already in the registry"), "{err}");
    assert!(err.contains("scanned when it was pushed"), "{err}");
    assert!(err.contains("already runs"), "{err}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["release"]["image"]["digest"], digest.as_str());
}

#[tokio::test]
async fn a_blocking_finding_stops_the_release_before_push() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, "fail_on = \"high\"");
    // Make the image look like the fixture's Debian 10 with a CRITICAL in libidn2.
    let rootfs = env.trivy_test_image_dir().join("rootfs");
    for rel in ["etc/os-release", "etc/debian_version", "var/lib/dpkg/status"] {
        p.repo.write(&format!("rootfs/{rel}"), &std::fs::read_to_string(rootfs.join(rel)).unwrap());
    }
    p.repo.write("Dockerfile", &format!("{DOCKERFILE}COPY rootfs/ /\n"));
    p.repo.git(&["add", "-A"]);
    p.repo.git(&["commit", "-q", "-m", "vulnerable"]);
    p.repo.git(&["push", "-q"]);
    let sha = p.repo.head();

    let out = p.shipit().args(["ship", "dev", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("CVE-2019-18224") && err.contains("libidn2-0"), "{err}");
    assert!(!err.contains("✔ push"), "{err}");
    assert!(registry_digest(env, &p.repository, &sha).await.is_none(), "nothing was pushed");
    assert!(p.status()["live"].is_null(), "nothing was deployed");
}

#[tokio::test]
async fn a_dirty_tree_fails_the_check_before_any_build() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, "fail_on = \"high\"");
    p.repo.write("app.txt", "uncommitted\n");
    let out = p.shipit().args(["ship", "dev", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("app.txt"), "the dirty file is named: {err}");
    assert!(!err.contains("✔ build"), "{err}");
}

#[tokio::test]
async fn manual_approval_without_a_terminal_stops_after_push() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, "fail_on = \"high\"");
    let out = p.shipit().args(["ship", "dev"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(text(&out.stderr).contains("✔ push"), "{}", describe(&out));
    assert!(p.status()["live"].is_null());
    // The approval can come from SHIPIT_APPROVE; the already-pushed image is reused.
    let out = p.shipit().args(["ship", "dev"]).env("SHIPIT_APPROVE", "dev").output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("already in the registry"), "{}", describe(&out));
}

/// Every environment's own `branches` rule is checked: main may go to dev, not to prod (release/* only), so
/// shipping to both stops at the check, before anything is built.
#[tokio::test]
async fn every_environments_branch_rule_is_checked() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, "fail_on = \"high\"");
    let toml = std::fs::read_to_string(p.repo.work().join("ship.toml")).unwrap();
    let prod = format!(
        "{toml}\n[environments.prod]\ntarget = \"docker\"\ncontainer_name = \"{}-prod\"\nnetwork = \"none\"\nbranches = [\"release/*\"]\n",
        p._containers.0
    );
    p.repo.set_ship_toml(&prod);

    let out = p.shipit().args(["plan", "dev", "prod"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stdout).contains("branch allowed for dev: [main], prod: [release/*]"), "{}", describe(&out));

    let out = p.shipit().args(["ship", "dev", "prod", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("release/*"), "the rule that refused is named: {err}");
    assert!(!err.contains("✔ build"), "{err}");
    assert!(p.status()["live"].is_null(), "dev was not deployed either");
}

/// One ship, two registries: `dev` deploys from the open registry, `prod` from the authenticated one. The
/// image is built and scanned once, pushed to each, recorded once per registry with its own evidence, and each
/// environment runs the digest of its own registry.
#[tokio::test]
async fn one_ship_pushes_to_each_registry_its_environments_deploy_from() {
    let env = crate::require_env!("docker", "registry_open", "registry_auth", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, "fail_on = \"high\"");
    let name = p.repository.rsplit('/').next().unwrap().to_string();
    let _prod_containers = RemoveContainers(format!("{name}-prod"));
    let config = std::fs::read_to_string(p.repo.work().join("ship.toml")).unwrap();
    let config = config.replace("approval = \"manual\"", "approval = \"none\"")
        + &format!(
            "registry = \"local\"\n\n[registries.private]\ntype = \"oci\"\nrepository = \"{}/{name}\"\nusername = \"{}\"\n\
             password_env = \"PRIVATE_REGISTRY_PASSWORD\"\n\n[environments.prod]\ntarget = \"docker\"\nregistry = \"private\"\n\
             container_name = \"{name}-prod\"\nhost = \"{}\"\nnetwork = \"none\"\napproval = \"none\"\ntimeout = \"20s\"\n",
            env.registry_auth, env.ghcr_user, env.docker_host
        );
    p.repo.set_ship_toml(&config);
    let sha = p.repo.head();

    let out =
        p.shipit().args(["plan", "dev", "prod"]).env("PRIVATE_REGISTRY_PASSWORD", &env.ghcr_password).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let plan = text(&out.stdout);
    assert!(plan.contains(&format!("{}/{name}:{sha} (private)", env.registry_auth)), "{plan}");

    let out =
        p.shipit().args(["ship", "dev", "prod"]).env("PRIVATE_REGISTRY_PASSWORD", &env.ghcr_password).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let err = text(&out.stderr);
    assert_eq!(err.matches("✔ build").count(), 1, "built once: {err}");
    assert_eq!(err.matches("✔ scan").count(), 1, "scanned once: {err}");
    assert_eq!(err.matches("✔ push").count(), 2, "pushed to both: {err}");

    let record = |registry: &str| -> serde_json::Value {
        let path = p.repo.work().join(format!(".shipit/releases/{sha}@{registry}.json"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .unwrap()
    };
    let (local, private) = (record("local"), record("private"));
    assert_eq!(local["image"]["repository"], p.repository.as_str());
    assert_eq!(private["image"]["repository"], format!("{}/{name}", env.registry_auth));
    assert_eq!(private["scan"]["passed"], true, "the one scan is recorded with both: {private}");

    let live = |e: &str| -> serde_json::Value {
        let out = p
            .shipit()
            .args(["status", e, "--output", "json"])
            .env("PRIVATE_REGISTRY_PASSWORD", &env.ghcr_password)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["live"].clone()
    };
    let pinned = |r: &serde_json::Value| {
        format!("{}@{}", r["image"]["repository"].as_str().unwrap(), r["image"]["digest"].as_str().unwrap())
    };
    assert_eq!(live("dev")["image"], pinned(&local).as_str());
    assert_eq!(live("prod")["image"], pinned(&private).as_str());

    // Each digest carries its own evidence: verify reads it from the environment's registry.
    for e in ["dev", "prod"] {
        let out = p
            .shipit()
            .args(["verify", e, "--output", "json"])
            .env("PRIVATE_REGISTRY_PASSWORD", &env.ghcr_password)
            .output()
            .unwrap();
        assert!(out.status.success(), "{e}: {}", describe(&out));
    }

    // Again: both registries have it; nothing is built or pushed, nothing redeployed.
    let out =
        p.shipit().args(["ship", "dev", "prod"]).env("PRIVATE_REGISTRY_PASSWORD", &env.ghcr_password).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(!err.contains("✔ push"), "{err}");
    assert!(err.contains("registry `private` already has it"), "{err}");
}
