//! `shipit build` and `shipit push` against the real test environment: dockerd, the open registry, the
//! htpasswd registry (standing in for GHCR, and for ECR behind moto's authorization token), moto, and a
//! fault-injecting proxy in front of the open registry.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use futures_util::StreamExt;

use crate::support::env::{TestEnv, http_client, unique_name};
use crate::support::fault_proxy::{Fault, FaultProxy, Rule};

const GHCR_PASSWORD_ENV: &str = "GITHUB_TOKEN";

/// A git repository with a Dockerfile and a ship.toml, in a temp dir with its own empty HOME (so the
/// developer's docker config, gh login or AWS profile never leak into a test).
pub(crate) struct Project {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub home: PathBuf,
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=Shipit Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Project {
    pub(crate) fn new(name: &str, ship_toml: &str, files: &[(&str, &[u8])]) -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("app");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        for (path, content) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        std::fs::write(dir.join("ship.toml"), ship_toml).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", "first"]);
        git(&dir, &["remote", "add", "origin", &format!("git@github.com:acme/{name}.git")]);
        Project { _tmp: tmp, dir, home }
    }

    pub(crate) fn sha(&self) -> String {
        git(&self.dir, &["rev-parse", "HEAD"])
    }

    pub(crate) fn shipit(&self, env: &TestEnv) -> Command {
        let mut cmd = Command::cargo_bin("shipit").unwrap();
        cmd.current_dir(&self.dir)
            .env("HOME", &self.home)
            .env("DOCKER_CONFIG", self.home.join(".docker"))
            .env("DOCKER_HOST", &env.docker_host)
            .env("NO_COLOR", "1")
            .env("CI", "true")
            .env_remove("GITHUB_TOKEN")
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_ACTOR")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("AWS_PROFILE")
            .env_remove("SHIPIT_CONFIG")
            .env_remove("SHIPIT_OUTPUT")
            .timeout(Duration::from_secs(300));
        cmd
    }
}

pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub(crate) fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run shipit");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

const DOCKERFILE: &str = "FROM scratch\nCOPY . /app\n";

pub(crate) fn oci_toml(app: &str, repository: &str) -> String {
    format!("[app]\nname = \"{app}\"\n\n[registries.main]\ntype = \"oci\"\nrepository = \"{repository}\"\n")
}

/// `Docker-Content-Digest` of `host/path:tag`, asked directly (HEAD with every manifest media type).
async fn registry_digest(host: &str, path: &str, tag: &str, basic: Option<(&str, &str)>) -> Option<String> {
    let accept = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, \
                  application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
    let mut req = http_client().head(format!("http://{host}/v2/{path}/manifests/{tag}")).header("Accept", accept);
    if let Some((u, p)) = basic {
        req = req.basic_auth(u, Some(p));
    }
    let resp = req.send().await.expect("HEAD manifest");
    if resp.status() == 404 {
        return None;
    }
    assert!(resp.status().is_success(), "HEAD manifest {host}/{path}:{tag}: {}", resp.status());
    resp.headers().get("Docker-Content-Digest").map(|v| v.to_str().unwrap().to_string())
}

/// The files of an image, from `GET /containers/{id}/export` of a container created (not started) from it.
async fn image_files(docker: &bollard::Docker, image: &str) -> Vec<String> {
    let body = bollard::models::ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(vec!["/nonexistent".to_string()]),
        ..Default::default()
    };
    let created = docker.create_container(None, body).await.expect("create container");
    let mut tar_bytes = Vec::new();
    let mut stream = docker.export_container(&created.id);
    while let Some(chunk) = stream.next().await {
        tar_bytes.extend_from_slice(&chunk.expect("export container"));
    }
    let _ = docker
        .remove_container(
            &created.id,
            Some(bollard::query_parameters::RemoveContainerOptions { force: true, ..Default::default() }),
        )
        .await;
    let mut archive = tar::Archive::new(&tar_bytes[..]);
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().trim_end_matches('/').to_string())
        .collect()
}

/// Remove a test's tags without ever deleting an image: the classic builder's cache is made of images, and
/// another test's build running at the same moment may be standing on this very one (an image identical to
/// its intermediate step) — deleting it fails that build with "unable to find image". So the image keeps a
/// `shipit-test-cache:<id>` tag (a few MB per run), and its untagged parents stay (`noprune`).
pub(crate) async fn remove_images(docker: &bollard::Docker, references: &[String]) {
    for r in references {
        keep(docker, r).await;
        let _ = docker
            .remove_image(
                r,
                Some(bollard::query_parameters::RemoveImageOptions {
                    force: true,
                    noprune: true,
                    ..Default::default()
                }),
                None,
            )
            .await;
    }
}

/// Tag the image `reference` names as `shipit-test-cache:<id>`, so removing the test's own tags deletes nothing.
pub(crate) async fn keep(docker: &bollard::Docker, reference: &str) {
    if let Ok(info) = docker.inspect_image(reference).await
        && let Some(id) = info.id
    {
        let hex = id.trim_start_matches("sha256:");
        let opts = bollard::query_parameters::TagImageOptionsBuilder::default()
            .repo("shipit-test-cache")
            .tag(&hex[..hex.len().min(20)])
            .build();
        let _ = docker.tag_image(&id, Some(opts)).await;
    }
}

fn pinned_digest(stdout: &str) -> String {
    let line = stdout.trim();
    let (_, digest) = line.rsplit_once('@').unwrap_or_else(|| panic!("stdout is not repo@digest: {line:?}"));
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "bad digest in {line:?}");
    digest.to_string()
}

#[tokio::test]
async fn push_to_open_registry_honours_dockerignore_labels_digest_and_skips_when_it_exists() {
    let env = crate::require_env!("docker", "registry_open");
    let name = unique_name("bp-open");
    let repo = format!("{}/{name}", env.registry_open);
    let project = Project::new(
        &name,
        &oci_toml(&name, &repo),
        &[
            ("Dockerfile", DOCKERFILE.as_bytes()),
            (".dockerignore", b".git\nsecret.env\n**/*.log\n"),
            ("hello.txt", b"hello"),
            ("secret.env", b"TOKEN=do-not-ship"),
            ("logs/app.log", b"noise"),
            ("src/main.rs", b"fn main() {}"),
        ],
    );
    git(&project.dir, &["tag", "v1.2.3"]);
    let sha = project.sha();
    let outputs = project.home.join("gh-output");
    let summary = project.home.join("gh-summary.md");

    let first =
        run(project.shipit(env).arg("push").env("GITHUB_OUTPUT", &outputs).env("GITHUB_STEP_SUMMARY", &summary));
    assert_eq!(first.code, 0, "{first}");
    assert!(first.stdout.trim().starts_with(&format!("{repo}@sha256:")), "{first}");
    let digest = pinned_digest(&first.stdout);
    assert!(first.stderr.contains("[1/1] COPY . /app"), "one line per build step:\n{first}");
    assert!(first.stderr.contains("builder: BuildKit"), "{first}");
    assert!(!first.stderr.contains("through the engine"), "the second tag is put through the registry API:\n{first}");

    // The digest is the registry's, for both tags.
    assert_eq!(registry_digest(&env.registry_open, &name, &sha, None).await.as_deref(), Some(digest.as_str()));
    assert_eq!(registry_digest(&env.registry_open, &name, &sha[..12], None).await.as_deref(), Some(digest.as_str()));

    // The release record.
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.dir.join(format!(".shipit/releases/{sha}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(record["image"]["digest"], digest.as_str());
    assert_eq!(record["image"]["repository"], repo.as_str());
    assert_eq!(record["commit"]["sha"], sha.as_str());
    assert_eq!(record["tags"], serde_json::json!([sha.clone(), sha[..12].to_string()]));
    assert!(record["durations"]["build"].as_f64().is_some() && record["durations"]["push"].as_f64().is_some());

    // GitHub Actions outputs and summary.
    let out = std::fs::read_to_string(&outputs).unwrap();
    assert!(out.contains(&format!("image={repo}@{digest}\n")), "{out}");
    assert!(out.contains(&format!("digest={digest}\n")), "{out}");
    assert!(std::fs::read_to_string(&summary).unwrap().contains(&digest));

    // Labels and the image's files.
    let docker = env.docker().await;
    let image = format!("{repo}:{sha}");
    let inspect = docker.inspect_image(&image).await.unwrap();
    let labels = inspect.config.and_then(|c| c.labels).unwrap_or_default();
    assert_eq!(labels.get("org.opencontainers.image.revision"), Some(&sha));
    assert_eq!(
        labels.get("org.opencontainers.image.source").map(String::as_str),
        Some(format!("https://github.com/acme/{name}").as_str())
    );
    assert_eq!(labels.get("org.opencontainers.image.version").map(String::as_str), Some("v1.2.3"));
    let commit_time: i64 = git(&project.dir, &["log", "-1", "--format=%ct"]).parse().unwrap();
    let created =
        chrono::DateTime::from_timestamp(commit_time, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(labels.get("org.opencontainers.image.created"), Some(&created), "created is the commit time");
    assert!(inspect.repo_digests.unwrap_or_default().contains(&format!("{repo}@{digest}")));
    let files = image_files(&docker, &image).await;
    assert!(files.contains(&"app/hello.txt".to_string()), "{files:?}");
    assert!(files.contains(&"app/src/main.rs".to_string()), "{files:?}");
    assert!(files.contains(&"app/Dockerfile".to_string()), "{files:?}");
    assert!(!files.iter().any(|f| f.ends_with("secret.env")), ".dockerignored file shipped: {files:?}");
    assert!(!files.iter().any(|f| f.ends_with(".log")), ".dockerignored **/*.log shipped: {files:?}");
    assert!(!files.iter().any(|f| f.starts_with("app/.git")), "{files:?}");
    assert!(!files.iter().any(|f| f.starts_with("app/.shipit")), "shipit's state must never be sent: {files:?}");

    // Second run: already in the registry, nothing is built or pushed, same answer. The release record
    // written by the first run must not make the tree dirty.
    let started = Instant::now();
    let again = run(project.shipit(env).arg("push"));
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(pinned_digest(&again.stdout), digest);
    assert!(again.stderr.contains("already in the registry"), "{again}");
    assert!(!again.stderr.contains("COPY . /app"), "nothing may be built:\n{again}");
    assert!(started.elapsed() < Duration::from_secs(60));

    // --rebuild builds and pushes again.
    let forced = run(project.shipit(env).args(["push", "--rebuild", "--output", "json"]));
    assert_eq!(forced.code, 0, "{forced}");
    assert!(forced.stderr.contains("✔ build ") && !forced.stderr.contains("already in the registry"), "{forced}");
    let record: serde_json::Value = serde_json::from_str(&forced.stdout).expect("--output json prints the record");
    let rebuilt = record["image"]["digest"].as_str().unwrap().to_string();
    assert_eq!(registry_digest(&env.registry_open, &name, &sha, None).await, Some(rebuilt.clone()));
    // Same commit, same labels, every step cached: the same image, so the same digest.
    assert_eq!(rebuilt, digest);

    remove_images(&docker, &[image, format!("{repo}:{}", &sha[..12])]).await;
}

#[tokio::test]
async fn build_refuses_a_dirty_tree_unless_allowed_and_then_tags_say_dirty() {
    let env = crate::require_env!("docker");
    let name = unique_name("bp-dirty");
    let repo = format!("127.0.0.1:5999/{name}");
    let project =
        Project::new(&name, &oci_toml(&name, &repo), &[("Dockerfile", DOCKERFILE.as_bytes()), ("a.txt", b"a")]);
    std::fs::write(project.dir.join("a.txt"), "changed").unwrap();

    let refused = run(project.shipit(env).arg("build"));
    assert_eq!(refused.code, 3, "{refused}");
    assert!(refused.stderr.contains("uncommitted changes (a.txt)"), "{refused}");
    assert!(refused.stderr.contains("--allow-dirty"), "{refused}");

    let built = run(project.shipit(env).args(["build", "--allow-dirty", "--output", "json"]));
    assert_eq!(built.code, 0, "{built}");
    let out: serde_json::Value = serde_json::from_str(&built.stdout).unwrap();
    let sha = project.sha();
    let refs: Vec<String> = serde_json::from_value(out["references"].clone()).unwrap();
    assert_eq!(refs, vec![format!("{repo}:{sha}-dirty"), format!("{repo}:{}-dirty", &sha[..12])]);
    let docker = env.docker().await;
    let inspect = docker.inspect_image(&refs[0]).await.unwrap();
    assert_eq!(inspect.id.as_deref(), out["image"]["id"].as_str());
    let labels = inspect.config.and_then(|c| c.labels).unwrap_or_default();
    assert_eq!(labels.get("dev.shipit.dirty").map(String::as_str), Some("true"));
    remove_images(&docker, &refs).await;
}

#[tokio::test]
async fn a_failing_step_is_named_with_its_output() {
    let env = crate::require_env!("docker", "busybox");
    let name = unique_name("bp-fail");
    let busybox = std::fs::read(env.busybox.as_ref().unwrap()).unwrap();
    // The classic builder's errors (BuildKit's are in buildkit.rs). It caches through intermediate images,
    // which other tests' image removals prune: a first layer of its own keeps this cache chain to itself.
    let dockerfile = "FROM scratch\nCOPY marker /marker\nCOPY busybox /bin/busybox\n\
                      RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo compiling widget; echo widget.c:12: error: boom >&2; exit 3\"]\n";
    let toml = format!("{}\n[build]\nbuilder = \"classic\"\n", oci_toml(&name, &format!("127.0.0.1:5999/{name}")));
    let files: [(&str, &[u8]); 3] =
        [("Dockerfile", dockerfile.as_bytes()), ("busybox", &busybox), ("marker", name.as_bytes())];
    let project = Project::new(&name, &toml, &files);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(project.dir.join("busybox"), std::fs::Permissions::from_mode(0o755)).unwrap();
        git(&project.dir, &["commit", "-qam", "executable"]);
    }
    let r = run(project.shipit(env).arg("build"));
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stderr.contains("error: build failed at Step 4/"), "{r}");
    assert!(r.stderr.contains("returned a non-zero code: 3"), "{r}");
    assert!(r.stderr.contains("widget.c:12: error: boom"), "the step's output is shown:\n{r}");
    assert!(!r.stderr.contains('\u{1b}'), "no raw escape codes from the engine:\n{r}");
    assert!(r.stderr.contains("hint: run with -v"), "{r}");
}

#[tokio::test]
async fn ghcr_token_is_used_and_never_printed() {
    let env = crate::require_env!("docker", "registry_auth");
    let name = unique_name("bp-ghcr");
    let toml = format!(
        "[app]\nname = \"{name}\"\n\n[registries.ghcr]\ntype = \"ghcr\"\nrepository = \"ghcr.io/acme/{name}\"\n\
         push_host = \"{}\"\nusername = \"{}\"\n",
        env.registry_auth, env.ghcr_user
    );
    let project = Project::new(&name, &toml, &[("Dockerfile", DOCKERFILE.as_bytes()), ("x.txt", b"x")]);
    let r = run(project.shipit(env).args(["push", "-v"]).env(GHCR_PASSWORD_ENV, &env.ghcr_password));
    assert_eq!(r.code, 0, "{r}");
    // Deploys reference the repository, not the push host.
    assert!(r.stdout.trim().starts_with(&format!("ghcr.io/acme/{name}@sha256:")), "{r}");
    assert!(r.stderr.contains(&format!("accepts user {} (from GITHUB_TOKEN)", env.ghcr_user)), "{r}");
    let digest = pinned_digest(&r.stdout);
    let sha = project.sha();
    let path = format!("acme/{name}");
    let basic = Some((env.ghcr_user.as_str(), env.ghcr_password.as_str()));
    assert_eq!(registry_digest(&env.registry_auth, &path, &sha, basic).await.as_deref(), Some(digest.as_str()));
    // The second tag was put through the registry API with the same credentials.
    assert!(!r.stderr.contains("through the engine"), "{r}");
    assert_eq!(registry_digest(&env.registry_auth, &path, &sha[..12], basic).await.as_deref(), Some(digest.as_str()));

    let record = std::fs::read_to_string(project.dir.join(format!(".shipit/releases/{sha}.json"))).unwrap();
    for text in [&r.stdout, &r.stderr, &record] {
        assert!(!text.contains(&env.ghcr_password), "the token leaked:\n{text}");
    }
    remove_images(
        &env.docker().await,
        &[format!("{}/{path}:{sha}", env.registry_auth), format!("{}/{path}:{}", env.registry_auth, &sha[..12])],
    )
    .await;
}

#[tokio::test]
async fn wrong_password_fails_in_seconds_before_any_build_step() {
    let env = crate::require_env!("docker", "registry_auth");
    let name = unique_name("bp-wrongpw");
    let toml = format!(
        "[app]\nname = \"{name}\"\n\n[registries.main]\ntype = \"oci\"\nrepository = \"{}/{name}\"\n\
         username = \"{}\"\npassword_env = \"SHIPIT_TEST_REGISTRY_PASSWORD\"\n",
        env.registry_auth, env.ghcr_user
    );
    let project = Project::new(&name, &toml, &[("Dockerfile", DOCKERFILE.as_bytes())]);
    let started = Instant::now();
    let r = run(project.shipit(env).arg("push").env("SHIPIT_TEST_REGISTRY_PASSWORD", "not-the-password"));
    assert_eq!(r.code, 1, "{r}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    assert!(
        r.stderr
            .contains(&format!("registry {} rejected the credentials of user `{}`", env.registry_auth, env.ghcr_user)),
        "{r}"
    );
    assert!(r.stderr.contains("SHIPIT_TEST_REGISTRY_PASSWORD"), "the hint names the variable:\n{r}");
    assert!(!r.stderr.contains("COPY . /app") && !r.stderr.contains("build context"), "nothing may be built:\n{r}");
    assert!(!r.stderr.contains("not-the-password") && !r.stdout.contains("not-the-password"), "{r}");
    let docker = env.docker().await;
    assert!(docker.inspect_image(&format!("{}/{name}:{}", env.registry_auth, project.sha())).await.is_err());

    // No credentials at all: the hint says how to provide them.
    let r = run(project.shipit(env).arg("push"));
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stderr.contains("SHIPIT_TEST_REGISTRY_PASSWORD") && r.stderr.contains("is not set"), "{r}");
}

#[tokio::test]
async fn oci_credentials_come_from_a_docker_credential_helper() {
    let env = crate::require_env!("docker", "registry_auth");
    let name = unique_name("bp-helper");
    let project = Project::new(
        &name,
        &oci_toml(&name, &format!("{}/{name}", env.registry_auth)),
        &[("Dockerfile", DOCKERFILE.as_bytes())],
    );
    // A credential store as `docker login` would configure it, answering for the registry host only.
    let bin = project.home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-shipittest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\n\
             if [ \"$host\" = \"{host}\" ]; then echo '{{\"ServerURL\":\"{host}\",\"Username\":\"{user}\",\"Secret\":\"{pw}\"}}'; \
             else echo 'credentials not found in native keychain'; exit 1; fi\n",
            host = env.registry_auth,
            user = env.ghcr_user,
            pw = env.ghcr_password
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir_all(project.home.join(".docker")).unwrap();
    std::fs::write(project.home.join(".docker/config.json"), r#"{"credsStore": "shipittest"}"#).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());

    let r = run(project.shipit(env).arg("push").env("PATH", path));
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stderr.contains("(from docker-credential-shipittest)"), "{r}");
    assert!(!r.stderr.contains(&env.ghcr_password) && !r.stdout.contains(&env.ghcr_password), "{r}");
    let sha = project.sha();
    let registry = registry_digest(&env.registry_auth, &name, &sha, Some((&env.ghcr_user, &env.ghcr_password))).await;
    assert_eq!(registry, Some(pinned_digest(&r.stdout)));
}

#[tokio::test]
async fn registry_down_is_a_clear_error() {
    let env = crate::require_env!("docker");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let name = unique_name("bp-down");
    let project = Project::new(
        &name,
        &oci_toml(&name, &format!("127.0.0.1:{port}/{name}")),
        &[("Dockerfile", DOCKERFILE.as_bytes())],
    );
    let started = Instant::now();
    let r = run(project.shipit(env).arg("push"));
    assert_eq!(r.code, 1, "{r}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    assert!(r.stderr.contains(&format!("error: cannot reach registry 127.0.0.1:{port}")), "{r}");
    assert!(r.stderr.to_ascii_lowercase().contains("connection refused"), "{r}");
    assert!(r.stderr.contains("hint: check that the registry host"), "{r}");
    assert!(!r.stderr.contains("COPY . /app") && !r.stderr.contains("builder:"), "{r}");
}

// Multi-threaded: the proxy runs on the test's runtime while the test thread waits for shipit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_registry_errors_are_retried() {
    let env = crate::require_env!("docker", "registry_open");
    // Two 503s for the preflight (absorbed by shipit's HTTP retries), then a 502 on the manifest upload that
    // fails the engine's push (absorbed by shipit's push retry).
    let proxy = FaultProxy::start(
        &env.registry_open,
        vec![
            Rule::new(Some("GET"), Some("/v2/"), Fault::Status(503), 2),
            Rule::new(Some("PUT"), Some("/manifests/"), Fault::Status(502), 1),
        ],
    )
    .await;
    let name = unique_name("bp-retry");
    let repo = format!("{}/{name}", proxy.host());
    let project = Project::new(&name, &oci_toml(&name, &repo), &[("Dockerfile", DOCKERFILE.as_bytes()), ("f", b"f")]);
    let r = run(project.shipit(env).arg("push"));
    assert_eq!(r.code, 0, "{r}\nproxy saw:\n{}", proxy.requests().join("\n"));
    assert_eq!(proxy.injected(), 3, "proxy saw:\n{}", proxy.requests().join("\n"));
    assert!(r.stderr.contains("answered 503 Service Unavailable to GET /v2/; retrying"), "{r}");
    assert!(r.stderr.contains(&format!("push to {} failed", proxy.host())) && r.stderr.contains("retrying in"), "{r}");
    // Straight from the registry behind the proxy.
    let digest = registry_digest(&env.registry_open, &name, &project.sha(), None).await;
    assert_eq!(digest, Some(pinned_digest(&r.stdout)));
    let sha = project.sha();
    remove_images(&env.docker().await, &[format!("{repo}:{sha}"), format!("{repo}:{}", &sha[..12])]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reset_mid_upload_is_retried() {
    let env = crate::require_env!("docker", "registry_open");
    let proxy = FaultProxy::start(
        &env.registry_open,
        vec![Rule::new(Some("PATCH"), Some("/blobs/uploads/"), Fault::ResetAfter(4096), 1)],
    )
    .await;
    let name = unique_name("bp-reset");
    let repo = format!("{}/{name}", proxy.host());
    // Incompressible content, so the layer upload is large enough to be cut.
    let noise: Vec<u8> = (0..256 * 1024u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let project =
        Project::new(&name, &oci_toml(&name, &repo), &[("Dockerfile", DOCKERFILE.as_bytes()), ("noise.bin", &noise)]);
    let r = run(project.shipit(env).arg("push"));
    assert_eq!(r.code, 0, "{r}\nproxy saw:\n{}", proxy.requests().join("\n"));
    assert_eq!(proxy.injected(), 1, "proxy saw:\n{}", proxy.requests().join("\n"));
    assert!(r.stderr.contains("upload interrupted; the engine retries it in"), "{r}");
    let digest = registry_digest(&env.registry_open, &name, &project.sha(), None).await;
    assert_eq!(digest, Some(pinned_digest(&r.stdout)));
    let sha = project.sha();
    remove_images(&env.docker().await, &[format!("{repo}:{sha}"), format!("{repo}:{}", &sha[..12])]).await;
}

#[tokio::test]
async fn ecr_token_from_moto_logs_in_to_the_push_host_and_never_shows() {
    let env = crate::require_env!("docker", "registry_auth", "moto");
    let name = unique_name("bp-ecr");
    let repository = format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}");
    let toml = format!(
        "[app]\nname = \"{name}\"\n\n[registries.ecr]\ntype = \"ecr\"\nrepository = \"{repository}\"\n\
         endpoint_url = \"{}\"\npush_host = \"{}\"\ncreate_repository = true\n",
        env.moto, env.registry_auth
    );
    let project = Project::new(&name, &toml, &[("Dockerfile", DOCKERFILE.as_bytes()), ("e.txt", b"e")]);
    let aws = |cmd: &mut Command| {
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_SESSION_TOKEN");
    };

    let mut cmd = project.shipit(env);
    aws(cmd.args(["push", "-v"]));
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.trim().starts_with(&format!("{repository}@sha256:")), "{r}");
    assert!(r.stderr.contains(&format!("created ECR repository {name}")), "{r}");
    assert!(r.stderr.contains("accepts user AWS (from ECR GetAuthorizationToken)"), "{r}");
    let sha = project.sha();
    let digest = registry_digest(&env.registry_auth, &name, &sha, Some((&env.ecr_user, &env.ecr_password))).await;
    assert_eq!(digest, Some(pinned_digest(&r.stdout)));
    let described = env.ecr().await.describe_repositories().repository_names(&name).send().await.unwrap();
    assert_eq!(described.repositories().len(), 1);

    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", env.ecr_user, env.ecr_password));
    let record = std::fs::read_to_string(project.dir.join(format!(".shipit/releases/{sha}.json"))).unwrap();
    for text in [&r.stdout, &r.stderr, &record] {
        assert!(!text.contains(&env.ecr_password) && !text.contains(&token), "the ECR token leaked:\n{text}");
    }

    // Without create_repository, a missing repository fails before any build, saying how to fix it.
    let other = unique_name("bp-ecr-missing");
    let toml = toml.replace(&name, &other).replace("create_repository = true\n", "");
    std::fs::write(project.dir.join("ship.toml"), toml).unwrap();
    git(&project.dir, &["commit", "-qam", "other repository"]);
    let mut cmd = project.shipit(env);
    aws(cmd.arg("push"));
    let r = run(&mut cmd);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stderr.contains(&format!("ECR repository `{other}` does not exist")), "{r}");
    assert!(r.stderr.contains("create_repository = true"), "{r}");
    assert!(!r.stderr.contains("COPY . /app") && !r.stderr.contains("builder:"), "{r}");

    remove_images(
        &env.docker().await,
        &[format!("{}/{name}:{sha}", env.registry_auth), format!("{}/{name}:{}", env.registry_auth, &sha[..12])],
    )
    .await;
}

#[tokio::test]
async fn one_commit_pushed_to_two_registries_keeps_a_record_for_each() {
    let env = crate::require_env!("docker", "registry_open", "registry_auth");
    let name = unique_name("bp-two");
    let toml = format!(
        "[app]\nname = \"{name}\"\n\n[registries.open]\ntype = \"oci\"\nrepository = \"{}/{name}\"\n\n\
         [registries.ghcr]\ntype = \"ghcr\"\nrepository = \"ghcr.io/acme/{name}\"\npush_host = \"{}\"\nusername = \"{}\"\n",
        env.registry_open, env.registry_auth, env.ghcr_user
    );
    let project = Project::new(&name, &toml, &[("Dockerfile", DOCKERFILE.as_bytes()), ("two.txt", b"two")]);
    let sha = project.sha();
    let first = run(project.shipit(env).args(["push", "--registry", "open"]));
    assert_eq!(first.code, 0, "{first}");
    let second =
        run(project.shipit(env).args(["push", "--registry", "ghcr"]).env(GHCR_PASSWORD_ENV, &env.ghcr_password));
    assert_eq!(second.code, 0, "{second}");
    // The same image, so the same manifest digest in both registries.
    assert_eq!(pinned_digest(&first.stdout), pinned_digest(&second.stdout));

    let read = |file: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(project.dir.join(".shipit/releases").join(file)).unwrap())
            .unwrap()
    };
    let open = read(&format!("{sha}@open.json"));
    let ghcr = read(&format!("{sha}@ghcr.json"));
    assert_eq!(open["registry"], "open");
    assert_eq!(open["image"]["repository"], format!("{}/{name}", env.registry_open).as_str());
    assert_eq!(ghcr["registry"], "ghcr");
    assert_eq!(ghcr["image"]["repository"], format!("ghcr.io/acme/{name}").as_str());
    // `<sha>.json` is the latest push, as before (what deploy reads today).
    assert_eq!(read(&format!("{sha}.json"))["registry"], "ghcr");

    // Skip-when-exists in the first registry keeps its own record, not the latest one.
    let again = run(project.shipit(env).args(["push", "--registry", "open"]));
    assert_eq!(again.code, 0, "{again}");
    assert!(again.stderr.contains("already in the registry"), "{again}");
    assert_eq!(read(&format!("{sha}@open.json"))["image"]["repository"], open["image"]["repository"]);
    assert_eq!(read(&format!("{sha}@ghcr.json"))["image"]["repository"], ghcr["image"]["repository"]);

    let docker = env.docker().await;
    remove_images(
        &docker,
        &[
            format!("{}/{name}:{sha}", env.registry_open),
            format!("{}/{name}:{}", env.registry_open, &sha[..12]),
            format!("{}/acme/{name}:{sha}", env.registry_auth),
            format!("{}/acme/{name}:{}", env.registry_auth, &sha[..12]),
        ],
    )
    .await;
}
