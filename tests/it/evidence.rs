//! Release evidence on the digest, end to end through the binary: the real Docker engine, the open registry
//! (distribution 2.8: no referrers API, so the referrers tag schema), the real trivy with the offline
//! fixture DB and the Docker host target. The evidence is read back here with plain HTTP and serde_json, not
//! with shipit's code, as a second client would.

use base64::Engine as _;
use serde_json::Value;

use crate::support::cli::{describe, text};
use crate::support::env::{TestEnv, http_client, unique_name};
use crate::support::git_repo::{Repo, git};
use crate::support::images::{RemoveContainers, busybox_image};

pub(crate) const DOCKERFILE: &str = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY app.txt /app.txt\nENTRYPOINT [\"/bin/busybox\"]\n\
CMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 300 & wait\"]\n";

pub(crate) struct Project {
    pub(crate) repo: Repo,
    pub(crate) repository: String,
    pub(crate) name: String,
    _containers: RemoveContainers,
    cache: tempfile::TempDir,
    trivy: std::path::PathBuf,
}

pub(crate) fn ship_toml(env: &TestEnv, repository: &str, name: &str, scan: &str, dev: &str) -> String {
    format!(
        r#"[app]
name = "web"

[scan]
fail_on = "high"
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
{dev}
"#,
        host = env.docker_host
    )
}

impl Project {
    /// A pushed repository whose image has the fixture's Debian 10 packages when `vulnerable` (a CRITICAL
    /// with a fix in libidn2-0, CVE-2019-18224).
    pub(crate) fn new(env: &TestEnv, vulnerable: bool, scan: &str) -> Project {
        let name = unique_name("ev");
        let repository = format!("{}/{name}", env.registry_open);
        let repo = Repo::with_ship_toml(&ship_toml(env, &repository, &name, scan, ""));
        std::fs::copy(env.busybox.as_ref().unwrap(), repo.work().join("busybox")).unwrap();
        let mut dockerfile = DOCKERFILE.to_string();
        if vulnerable {
            let rootfs = env.trivy_test_image_dir().join("rootfs");
            for rel in ["etc/os-release", "etc/debian_version", "var/lib/dpkg/status"] {
                repo.write(&format!("rootfs/{rel}"), &std::fs::read_to_string(rootfs.join(rel)).unwrap());
            }
            dockerfile.push_str("COPY rootfs/ /\n");
        }
        repo.write("Dockerfile", &dockerfile);
        repo.write("app.txt", &format!("{name}\n"));
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "app"]);
        repo.git(&["push", "-q"]);
        Project {
            repo,
            repository,
            name: name.clone(),
            _containers: RemoveContainers(name),
            cache: env.trivy_cache(),
            trivy: env.trivy().to_path_buf(),
        }
    }

    pub(crate) fn shipit_in(&self, dir: &std::path::Path) -> assert_cmd::Command {
        let mut cmd = crate::support::cli::shipit_in(dir);
        cmd.env("SHIPIT_TRIVY", &self.trivy)
            .env("TRIVY_CACHE_DIR", self.cache.path())
            .env("SHIPIT_TRIVY_OFFLINE", "1")
            .env("SHIPIT_DEPLOYER", "ann")
            .env("DOCKER_HOST", "unix:///var/run/docker.sock");
        cmd
    }

    pub(crate) fn trivy(&self) -> &std::path::Path {
        &self.trivy
    }

    pub(crate) fn shipit(&self) -> assert_cmd::Command {
        self.shipit_in(&self.repo.work())
    }

    pub(crate) fn run(&self, args: &[&str]) -> std::process::Output {
        self.shipit().args(args).output().unwrap()
    }

    pub(crate) fn live(&self) -> Value {
        let out = self.run(&["status", "dev", "--output", "json"]);
        assert!(out.status.success(), "{}", describe(&out));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["live"].clone()
    }

    /// The digest `shipit push` printed.
    pub(crate) fn push(&self) -> String {
        let out = self.run(&["push"]);
        assert!(out.status.success(), "{}", describe(&out));
        let pinned = text(&out.stdout).trim().to_string();
        pinned.rsplit_once('@').unwrap().1.to_string()
    }
}

/// The evidence attached to `digest`, read as any OCI client would: the referrers API if the registry has it,
/// else the `sha256-<hex>` index; each artifact's manifest, and the in-toto statement in its DSSE layer.
async fn evidence(env: &TestEnv, repository: &str, digest: &str) -> Vec<(Value, Value)> {
    let path = repository.split_once('/').unwrap().1;
    let base = env.registry_open_url();
    let http = http_client();
    let get = |url: String, accept: &'static str| {
        let http = http.clone();
        async move { http.get(url).header("Accept", accept).send().await.unwrap() }
    };
    let index = get(format!("{base}/v2/{path}/referrers/{digest}"), "application/vnd.oci.image.index.v1+json").await;
    let index: Value = if index.status().is_success() {
        index.json().await.unwrap()
    } else {
        let tagged = get(
            format!("{base}/v2/{path}/manifests/{}", digest.replace(':', "-")),
            "application/vnd.oci.image.index.v1+json",
        )
        .await;
        if tagged.status() == 404 {
            return Vec::new();
        }
        assert!(tagged.status().is_success(), "{}", tagged.status());
        tagged.json().await.unwrap()
    };
    assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json");
    let mut out = Vec::new();
    for d in index["manifests"].as_array().unwrap() {
        let m: Value = get(
            format!("{base}/v2/{path}/manifests/{}", d["digest"].as_str().unwrap()),
            "application/vnd.oci.image.manifest.v1+json",
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(m["subject"]["digest"], digest, "{m}");
        assert_eq!(m["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
        assert_eq!(m["artifactType"], d["artifactType"]);
        let layer = &m["layers"][0];
        assert_eq!(layer["mediaType"], "application/vnd.dsse.envelope.v1+json");
        let blob = get(format!("{base}/v2/{path}/blobs/{}", layer["digest"].as_str().unwrap()), "*/*").await;
        let envelope: Value = blob.json().await.unwrap();
        assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
        assert_eq!(envelope["signatures"], serde_json::json!([]), "unsigned for now");
        let payload = base64::engine::general_purpose::STANDARD.decode(envelope["payload"].as_str().unwrap()).unwrap();
        let statement: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
        assert_eq!(statement["subject"][0]["digest"]["sha256"], digest.strip_prefix("sha256:").unwrap());
        assert_eq!(m["annotations"]["in-toto.io/predicate-type"], statement["predicateType"]);
        out.push((m, statement));
    }
    out
}

fn of_type<'a>(items: &'a [(Value, Value)], predicate: &str) -> Vec<&'a Value> {
    items.iter().filter(|(_, s)| s["predicateType"] == predicate).map(|(_, s)| &s["predicate"]).collect()
}

const VULN: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";
const DEPLOY: &str = "https://shipit.dev/evidence/deploy/v1";
const APPROVAL: &str = "https://shipit.dev/evidence/approval/v1";

#[tokio::test]
async fn a_failed_scan_is_pushed_as_evidence_and_deploy_refuses_it_unless_forced_with_a_reason() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, true, "");
    let out = p.run(&["build"]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = p.run(&["scan"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));

    // The bug users hit: push went through and deploy started the container. Push still works (the
    // registry may hold what it likes), but the failed scan goes with the digest...
    let digest = p.push();
    let items = evidence(env, &p.repository, &digest).await;
    let scans = of_type(&items, VULN);
    assert_eq!(scans.len(), 1, "{items:?}");
    let scan = scans[0];
    assert_eq!(scan["scanner"]["version"], "0.76.0");
    assert!(scan["scanner"]["uri"].as_str().unwrap().starts_with("pkg:github/aquasecurity/trivy@"));
    assert_eq!(scan["scanner"]["result"]["SchemaVersion"], 2, "the full Trivy report");
    assert!(scan["scanner"]["result"]["Results"].to_string().contains("CVE-2019-18224"));
    assert_eq!(scan["invocation"]["parameters"]["shipit"]["verdict"]["passed"], false);
    assert_eq!(scan["invocation"]["parameters"]["shipit"]["policy"]["fail_on"], "HIGH");
    assert!(scan["scanner"]["db"]["version"].as_str().is_some_and(|v| !v.is_empty()), "{}", scan["scanner"]["db"]);

    // ...and deploy refuses it, before any change.
    let out = p.run(&["deploy", "dev", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("does not pass") && err.contains("CVE-2019-18224"), "{err}");
    assert!(err.contains("--force --reason"), "{err}");
    assert!(p.live().is_null(), "nothing was started");

    // --force alone is not enough.
    let out = p.run(&["deploy", "dev", "--yes", "--force"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("--force alone"), "{}", describe(&out));

    let out = p.run(&["deploy", "dev", "--yes", "--force", "--reason", "INC-7: the fix needs this build live"]);
    assert!(out.status.success(), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("forced with --reason \"INC-7: the fix needs this build live\""), "{err}");
    assert_eq!(p.live()["digest"], digest.as_str());

    let items = evidence(env, &p.repository, &digest).await;
    let deploys = of_type(&items, DEPLOY);
    assert_eq!(deploys.len(), 1, "{items:?}");
    assert_eq!(deploys[0]["environment"], "dev");
    assert_eq!(deploys[0]["result"], "completed");
    assert_eq!(deploys[0]["revision"], "1");
    assert_eq!(deploys[0]["by"], "ann");
    assert_eq!(deploys[0]["forced"]["reason"], "INC-7: the fix needs this build live");
    assert!(deploys[0]["forced"]["missing"].as_str().unwrap().contains("does not pass"));
    let approvals = of_type(&items, APPROVAL);
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["method"], "yes");
    assert_eq!(approvals[0]["environment"], "dev");

    // verify says what is missing, and shows the override.
    let out = p.run(&["verify", "dev"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let chain = text(&out.stdout);
    assert!(chain.contains("fails today's policy") && chain.contains("CVE-2019-18224"), "{chain}");
    assert!(chain.contains("FORCED: INC-7"), "{chain}");
}

#[tokio::test]
async fn push_without_a_scan_then_deploy_refuses() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, false, "");
    let out = p.run(&["push"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("has no scan"), "{}", describe(&out));
    let out = p.run(&["deploy", "dev", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("has no scan in the registry"), "{}", describe(&out));
    assert!(p.live().is_null());
}

#[tokio::test]
async fn scanned_on_one_machine_deployed_and_verified_from_a_fresh_clone() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, false, "");
    for step in [&["build"][..], &["scan"], &["push"]] {
        let out = p.run(step);
        assert!(out.status.success(), "{step:?}: {}", describe(&out));
    }
    let sha = p.repo.head();

    // Another runner: a clone of the remote, no .shipit/, no local image needed.
    let other = tempfile::tempdir().unwrap();
    git(other.path(), &["clone", "-q", p.repo.dir.path().join("remote.git").to_str().unwrap(), "work"]);
    let work = other.path().join("work");
    assert!(!work.join(".shipit").exists());
    let out = p.shipit_in(&work).args(["deploy", "dev", "--yes"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("scan passed under today's policy"), "{err}");
    assert_eq!(p.live()["commit"], sha.as_str());

    let out = p.shipit_in(&work).args(["verify", "dev", "--output", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["complete"], true, "{v}");
    assert_eq!(v["chain"]["commit"], sha.as_str(), "{v}");
    assert_eq!(v["chain"]["scan"]["status"], "passed", "{v}");
    assert_eq!(v["chain"]["approvals"][0]["by"], "ann", "{v}");
    assert_eq!(v["chain"]["deploys"][0]["result"], "completed", "{v}");
    assert_eq!(v["chain"]["deploys"][0]["environment"], "dev", "{v}");
}

#[tokio::test]
async fn an_exception_that_expired_turns_a_stored_pass_into_a_refusal() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let exception = |expires: &str| {
        format!(
            "[[scan.exceptions]]\nid = \"CVE-2019-18224\"\nreason = \"not reachable in our use\"\nexpires = \"{expires}\"\n"
        )
    };
    let p = Project::new(env, true, &exception("2099-12-31"));
    for step in [&["build"][..], &["scan"], &["push"]] {
        let out = p.run(step);
        assert!(out.status.success(), "{step:?}: {}", describe(&out));
    }
    // The register moves on: the exception's date is now in the past (as it would be once the day passes).
    let yesterday = (chrono::Local::now().date_naive() - chrono::Days::new(1)).to_string();
    p.repo.set_ship_toml(&ship_toml(env, &p.repository, &p.name, &exception(&yesterday), ""));
    let out = p.run(&["deploy", "dev", "--yes", "--digest", &latest_digest(&p)]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("it passed when it was scanned"), "{err}");
    assert!(err.contains(&format!("CVE-2019-18224 expired {yesterday}")), "{err}");
    assert!(p.live().is_null());
}

/// The digest of the release `push` recorded for the first commit pushed.
fn latest_digest(p: &Project) -> String {
    let dir = p.repo.work().join(".shipit/releases");
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.len() == 45 && name.ends_with(".json") {
            let r: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            return r["image"]["digest"].as_str().unwrap().to_string();
        }
    }
    panic!("no release record in {}", dir.display());
}

#[tokio::test]
async fn rollback_to_an_unscanned_revision_refuses() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let name = unique_name("evrb");
    let repository = format!("{}/{name}", env.registry_open);
    let _containers = RemoveContainers(name.clone());
    let s = crate::support::cli::Scratch::new();
    s.write("ship.toml", ship_toml(env, &repository, &name, "", ""));
    let serve = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"];
    let a = busybox_image(env, &repository, "a", &serve).await;
    let b = busybox_image(env, &repository, "b", &serve).await;
    for image in [&a, &b] {
        let out = s
            .shipit()
            .args(["deploy", "dev", "--yes", "--image", image, "--force", "--reason", "seeding the test"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        assert!(text(&out.stderr).contains("has no scan in the registry"), "{}", describe(&out));
    }
    let out = s.shipit().args(["rollback", "dev", "--to", "1", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("has no scan in the registry"), "{}", describe(&out));
    let status: Value =
        serde_json::from_slice(&s.shipit().args(["status", "dev", "--output", "json"]).output().unwrap().stdout)
            .unwrap();
    assert_eq!(status["live"]["image"], b.as_str(), "still the release that ran");
}

#[tokio::test]
async fn an_empty_trivy_report_is_an_error_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("empty.json");
    std::fs::write(&report, "{}").unwrap();
    let trivy = crate::support::fake_trivy::FakeTrivy::emitting(&report);
    let s = crate::support::cli::Scratch::new();
    s.write(
        "ship.toml",
        "[app]\nname = \"web\"\n\n[registries.local]\ntype = \"oci\"\nrepository = \"127.0.0.1:5000/x\"\ninsecure = true\n",
    );
    let out = s.shipit().args(["scan", "web:1"]).env("SHIPIT_TRIVY", &trivy.path).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("not a complete report"), "{}", describe(&out));
}

#[tokio::test]
async fn promote_from_a_clean_checkout_deploys_the_digest_live_in_the_source() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let p = Project::new(env, false, "");
    let prod = format!("{}-prod", p.name);
    let _prod_container = RemoveContainers(prod.clone());
    let production = |extra: &str| {
        format!(
            "\n[environments.production]\ntarget = \"docker\"\ncontainer_name = \"{prod}\"\nhost = \"{}\"\nnetwork = \"none\"\ntimeout = \"20s\"\n{extra}",
            env.docker_host
        )
    };
    p.repo.set_ship_toml(&ship_toml(env, &p.repository, &p.name, "", &production("")));
    for step in [&["build"][..], &["scan"], &["push"], &["deploy", "dev", "--yes"]] {
        let out = p.run(step);
        assert!(out.status.success(), "{step:?}: {}", describe(&out));
    }
    let digest = p.live()["digest"].as_str().unwrap().to_string();

    // A fresh runner: ship.toml and nothing else (no git repository, no .shipit/).
    let runner = crate::support::cli::Scratch::new();
    runner.write("ship.toml", std::fs::read_to_string(p.repo.work().join("ship.toml")).unwrap());
    let promote = |extra: &[&str]| {
        let mut cmd = p.shipit_in(runner.path());
        cmd.args(["promote", "dev", "production"]).args(extra).output().unwrap()
    };
    // Without a terminal and without --yes: the approval question names both environments, and nothing runs.
    let out = promote(&[]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(text(&out.stderr).contains("from dev to production"), "{}", describe(&out));

    let out = promote(&["--yes", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["environment"], "production");
    assert_eq!(report["result"], "completed");
    assert!(report["image"].as_str().unwrap().ends_with(&digest), "{report}");

    let items = evidence(env, &p.repository, &digest).await;
    let approvals = of_type(&items, APPROVAL);
    let prod_approval = approvals.iter().find(|a| a["environment"] == "production").expect("approval for production");
    assert_eq!(prod_approval["promoted_from"], "dev");
    assert!(of_type(&items, DEPLOY).iter().any(|d| d["environment"] == "production" && d["result"] == "completed"));

    // promote_after: the digest must have been live in the source for that long.
    runner.write("ship.toml", ship_toml(env, &p.repository, &p.name, "", &production("promote_after = \"30m\"")));
    let out = promote(&["--yes", "--force"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("wants 30m (promote_after)"), "{}", describe(&out));
}

/// The same chain on an authenticated registry reached the ECR way (moto's GetAuthorizationToken, then the
/// htpasswd registry that stands in for ECR's /v2): the scan is pushed with the image, `verify` from a fresh
/// clone reads it back, the artifacts are readable over plain HTTP with the registry's credentials, and an
/// unscanned push is refused by `deploy` before anything is pulled. (Nothing is deployed from the fake ECR
/// host name: the engine would look it up in DNS.)
#[tokio::test]
async fn evidence_on_an_authenticated_registry_through_the_ecr_token() {
    let env = crate::require_env!("docker", "registry_auth", "moto", "busybox", "trivy", "trivy_db");
    let mut p = Project::new(env, false, "");
    let repository = format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{}", p.name);
    let toml = ship_toml(env, &repository, &p.name, "", "").replace("type = \"oci\"", "type = \"ecr\"").replace(
        "insecure = true",
        &format!("endpoint_url = \"{}\"\npush_host = \"{}\"\ncreate_repository = true", env.moto, env.registry_auth),
    );
    p.repo.set_ship_toml(&toml);
    p.repository = repository.clone();
    let aws = |mut cmd: assert_cmd::Command| {
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_SESSION_TOKEN");
        cmd
    };
    let mut pushed = String::new();
    for step in [&["build"][..], &["scan"], &["push"]] {
        let out = aws(p.shipit()).args(step).output().unwrap();
        assert!(out.status.success(), "{step:?}: {}", describe(&out));
        pushed = text(&out.stdout).trim().to_string();
    }
    assert!(pushed.starts_with(&format!("{repository}@sha256:")), "{pushed}");
    let digest = pushed.rsplit_once('@').unwrap().1.to_string();

    let other = tempfile::tempdir().unwrap();
    git(other.path(), &["clone", "-q", p.repo.dir.path().join("remote.git").to_str().unwrap(), "work"]);
    let work = other.path().join("work");
    let out = aws(p.shipit_in(&work)).args(["verify", &pushed, "--output", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["complete"], true, "{v}");
    assert_eq!(v["chain"]["scan"]["status"], "passed", "{v}");

    // A second client: the referrers tag schema's index on the registry, with the registry's own credentials.
    let url = format!("{}/v2/{}/manifests/{}", env.registry_auth_url(), p.name, digest.replace(':', "-"));
    let index: Value = http_client()
        .get(&url)
        .basic_auth(&env.ecr_user, Some(&env.ecr_password))
        .header("Accept", "application/vnd.oci.image.index.v1+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["annotations"]["dev.shipit.evidence"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["provenance", "scan"], "the provenance and the scan: {index}");

    // A new commit pushed without a scan: refused at the gate, before any pull.
    p.repo.commit("app.txt", "unscanned\n", "Unscanned change");
    p.repo.git(&["push", "-q"]);
    for step in [&["build"][..], &["push"]] {
        let out = aws(p.shipit()).args(step).output().unwrap();
        assert!(out.status.success(), "{step:?}: {}", describe(&out));
    }
    let out = aws(p.shipit()).args(["deploy", "dev", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("has no scan in the registry") && !err.contains("pulling"), "{err}");
}
