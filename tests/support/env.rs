//! The local test environment written by `scripts/test-env`: endpoints of dockerd, the two registries, moto, and
//! the paths of trivy, tmux, ecs-deploy and a static busybox; plus the test data kept in tests/fixtures/ (the
//! offline Trivy DB and real Trivy reports), which is part of the repository and never read from beside it.
//!
//! Service tests start with [`require_env!`](crate::require_env):
//!
//! ```ignore
//! #[tokio::test]
//! async fn pushes_to_the_open_registry() {
//!     let env = crate::require_env!("docker", "registry_open");
//!     // ...
//! }
//! ```
//!
//! When the environment (or one of the named services) is missing, the test is skipped with a message under plain
//! `cargo test`, and panics when `SHIPIT_TEST_REQUIRE_SERVICES=1` (as `scripts/test` sets it): there a missing
//! service is a failure, never a silent skip.
//!
//! moto is one server shared by every test that runs in parallel: use [`unique_name`] for every resource you
//! create there, and never call [`TestEnv::moto_reset`] from a test that can run concurrently with others.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// Set to `1` by `scripts/test`: a missing service fails the test instead of skipping it.
pub const REQUIRE_VAR: &str = "SHIPIT_TEST_REQUIRE_SERVICES";
/// Overrides the location of `endpoints.json`.
pub const ENV_FILE_VAR: &str = "SHIPIT_TEST_ENV";

/// Every service name [`require`] understands.
pub const SERVICES: &[&str] =
    &["docker", "registry_open", "registry_auth", "moto", "trivy", "trivy_db", "tmux", "ecs_deploy", "busybox"];

/// The endpoints of the local stand-ins (see `.test-env/endpoints.json`).
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// `unix:///var/run/docker.sock`
    pub docker_host: String,
    /// `127.0.0.1:5000`, no auth.
    pub registry_open: String,
    /// `127.0.0.1:5001`, htpasswd auth with the GHCR and ECR users below.
    pub registry_auth: String,
    pub ghcr_user: String,
    pub ghcr_password: String,
    /// `AWS`, with the password moto's ECR `GetAuthorizationToken` hands out.
    pub ecr_user: String,
    pub ecr_password: String,
    /// `http://127.0.0.1:5050`
    pub moto: String,
    /// The real trivy binary.
    pub trivy: Option<PathBuf>,
    /// `tests/fixtures/trivy-db` of this checkout (holds `db/trivy.db`; copy `db/` into a temp `--cache-dir`, never
    /// use in place). Always this crate's own copy, even when `endpoints.json` was written by another checkout.
    pub trivy_db: Option<PathBuf>,
    pub tmux: Option<PathBuf>,
    /// The `ecs` CLI of PyPI ecs-deploy (benchmarks only; optional).
    pub ecs_deploy: Option<PathBuf>,
    /// A statically linked busybox: copy it into a `FROM scratch` image for a runnable container.
    pub busybox: Option<PathBuf>,
    /// The file this was read from.
    pub source: PathBuf,
}

#[derive(Deserialize)]
struct RawUser {
    username: String,
    password: String,
}

#[derive(Deserialize)]
struct RawUsers {
    ghcr: RawUser,
    ecr: RawUser,
}

#[derive(Deserialize)]
struct RawEnv {
    docker_host: String,
    registry_open: String,
    registry_auth: String,
    registry_auth_users: RawUsers,
    moto: String,
    #[serde(default)]
    trivy: String,
    #[serde(default)]
    tmux: String,
    #[serde(default)]
    ecs_deploy: String,
    #[serde(default)]
    busybox: String,
}

fn non_empty_path(s: String) -> Option<PathBuf> {
    if s.trim().is_empty() { None } else { Some(PathBuf::from(s)) }
}

impl TestEnv {
    /// Parses an `endpoints.json`.
    pub fn from_json(text: &str, source: &Path) -> Result<TestEnv, serde_json::Error> {
        let raw: RawEnv = serde_json::from_str(text)?;
        Ok(TestEnv {
            docker_host: raw.docker_host,
            registry_open: raw.registry_open,
            registry_auth: raw.registry_auth,
            ghcr_user: raw.registry_auth_users.ghcr.username,
            ghcr_password: raw.registry_auth_users.ghcr.password,
            ecr_user: raw.registry_auth_users.ecr.username,
            ecr_password: raw.registry_auth_users.ecr.password,
            moto: raw.moto.trim_end_matches('/').to_string(),
            trivy: non_empty_path(raw.trivy),
            trivy_db: Some(fixtures_dir().join("trivy-db")).filter(|d| d.join("db/trivy.db").is_file()),
            tmux: non_empty_path(raw.tmux),
            ecs_deploy: non_empty_path(raw.ecs_deploy),
            busybox: non_empty_path(raw.busybox),
            source: source.to_path_buf(),
        })
    }

    /// Whether `service` (one of [`SERVICES`]) is part of this environment. Says nothing about whether it answers:
    /// the smoke tests in tests/it/services.rs check that.
    pub fn has(&self, service: &str) -> bool {
        match service {
            "docker" => !self.docker_host.is_empty(),
            "registry_open" => !self.registry_open.is_empty(),
            "registry_auth" => !self.registry_auth.is_empty(),
            "moto" => !self.moto.is_empty(),
            "trivy" => self.trivy.is_some(),
            "trivy_db" => self.trivy_db.is_some(),
            "tmux" => self.tmux.is_some(),
            "ecs_deploy" => self.ecs_deploy.is_some(),
            "busybox" => self.busybox.is_some(),
            other => panic!("tests/support/env.rs: unknown service {other:?}; known: {SERVICES:?}"),
        }
    }

    /// The socket path of `docker_host` (`unix:///var/run/docker.sock` → `/var/run/docker.sock`).
    pub fn docker_socket(&self) -> &str {
        self.docker_host.strip_prefix("unix://").unwrap_or(&self.docker_host)
    }

    /// A bollard client for the test dockerd, with the API version negotiated down to the server's (Debian's
    /// dockerd 20.10 speaks API 1.41; bollard 0.21 defaults to 1.53 and the server refuses newer versions).
    pub async fn docker(&self) -> bollard::Docker {
        bollard::Docker::connect_with_unix(self.docker_socket(), 120, bollard::API_DEFAULT_VERSION)
            .unwrap_or_else(|e| panic!("connect to dockerd at {}: {e}", self.docker_host))
            .negotiate_version()
            .await
            .unwrap_or_else(|e| panic!("negotiate the API version with dockerd at {}: {e}", self.docker_host))
    }

    /// `http://127.0.0.1:5000`
    pub fn registry_open_url(&self) -> String {
        format!("http://{}", self.registry_open)
    }

    /// `http://127.0.0.1:5001`
    pub fn registry_auth_url(&self) -> String {
        format!("http://{}", self.registry_auth)
    }

    /// The trivy binary; panics if the environment has none (check with [`require`] first).
    pub fn trivy(&self) -> &Path {
        self.trivy.as_deref().expect("trivy is not in the test environment (require it first)")
    }

    /// `tests/fixtures/trivy-db/db`, the directory to copy into a temporary `--cache-dir` as `db/`.
    pub fn trivy_db_dir(&self) -> PathBuf {
        self.trivy_db.as_deref().expect("trivy_db is not in the test environment (require it first)").join("db")
    }

    /// `tests/fixtures/trivy-db/image`, the `FROM scratch` Debian-10 look-alike with one CRITICAL and one LOW.
    pub fn trivy_test_image_dir(&self) -> PathBuf {
        self.trivy_db.as_deref().expect("trivy_db is not in the test environment (require it first)").join("image")
    }

    /// A fresh trivy `--cache-dir` holding a writable copy of the fixture DB (trivy opens its DB read-write, and
    /// writes caches next to it, so the shared fixture is never used in place).
    pub fn trivy_cache(&self) -> tempfile::TempDir {
        let cache = tempfile::tempdir().unwrap();
        let db = cache.path().join("db");
        std::fs::create_dir_all(&db).unwrap();
        for f in std::fs::read_dir(self.trivy_db_dir()).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), db.join(f.file_name())).unwrap();
            let p = db.join(f.file_name());
            let mut perm = std::fs::metadata(&p).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&p, perm).unwrap();
        }
        cache
    }

    /// Clears **all** of moto's state. Only for tests that can't run alongside other moto users (i.e. never in
    /// the parallel suite); prefer [`unique_name`].
    pub async fn moto_reset(&self) {
        let url = format!("{}/moto-api/reset", self.moto);
        let res = http_client().post(&url).send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"));
        assert!(res.status().is_success(), "POST {url}: {}", res.status());
    }

    /// An AWS SDK config that talks to moto: endpoint override, static credentials `test`/`test`, us-east-1.
    pub async fn aws_sdk_config(&self) -> aws_config::SdkConfig {
        install_crypto_provider();
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.moto)
            .credentials_provider(aws_sdk_ecr::config::Credentials::new("test", "test", None, None, "shipit-tests"))
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await
    }

    /// An ECR client against moto.
    pub async fn ecr(&self) -> aws_sdk_ecr::Client {
        aws_sdk_ecr::Client::new(&self.aws_sdk_config().await)
    }

    /// An ECS client against moto.
    pub async fn ecs(&self) -> aws_sdk_ecs::Client {
        aws_sdk_ecs::Client::new(&self.aws_sdk_config().await)
    }
}

/// Installs aws-lc-rs as rustls' process-wide provider (idempotent). reqwest is built without a provider of its
/// own, so call this (or use [`http_client`]) before building any reqwest or TLS client.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A plain reqwest client (crypto provider installed, 30 s timeout).
pub fn http_client() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().expect("build reqwest client")
}

/// `tests/fixtures/` of this crate: test data kept in the repository (each folder has a README saying where it is
/// from).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

/// Where the endpoints are read from: `$SHIPIT_TEST_ENV`, else `<repo>/.test-env/endpoints.json`.
pub fn env_file() -> PathBuf {
    match std::env::var_os(ENV_FILE_VAR) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(".test-env").join("endpoints.json"),
    }
}

/// The test environment, or `None` when `scripts/test-env` has not written one. A file that exists but does not
/// parse is a bug and panics.
pub fn test_env() -> Option<&'static TestEnv> {
    static ENV: OnceLock<Option<TestEnv>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = env_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => panic!("read {}: {e}", path.display()),
        };
        Some(TestEnv::from_json(&text, &path).unwrap_or_else(|e| {
            panic!("{} is not a valid test environment ({e}); rerun scripts/test-env", path.display())
        }))
    })
    .as_ref()
}

/// Whether a missing service must fail the test (`SHIPIT_TEST_REQUIRE_SERVICES=1`, set by `scripts/test`).
pub fn services_required() -> bool {
    matches!(std::env::var(REQUIRE_VAR).as_deref().map(str::trim), Ok("1") | Ok("true") | Ok("yes"))
}

/// The environment if it provides every one of `services` (names from [`SERVICES`]). Otherwise: panics under
/// `SHIPIT_TEST_REQUIRE_SERVICES=1`, else prints why the test is skipped and returns `None`.
pub fn require_all(services: &[&str]) -> Option<&'static TestEnv> {
    for s in services {
        assert!(SERVICES.contains(s), "tests/support/env.rs: unknown service {s:?}; known: {SERVICES:?}");
    }
    let missing: Vec<&str> = match test_env() {
        None => services.to_vec(),
        Some(env) => services.iter().copied().filter(|s| !env.has(s)).collect(),
    };
    if missing.is_empty() {
        return test_env();
    }
    let what = missing.join(", ");
    let why = match test_env() {
        None => format!("no test environment at {}", env_file().display()),
        Some(env) => format!("not in the test environment {}", env.source.display()),
    };
    if services_required() {
        panic!(
            "required test service missing: {what} ({why}). Run scripts/test-env to provision it \
             ({REQUIRE_VAR}=1 turns a missing service into a failure)."
        );
    }
    // Straight to stderr, not eprintln!: the test harness captures eprintln! of passing tests, and a skip should be
    // seen under plain `cargo test` too.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "skipping {}: {what} not available ({why}; run scripts/test)",
        std::thread::current().name().unwrap_or("test")
    );
    None
}

/// [`require_all`] for one service.
pub fn require(service: &str) -> Option<&'static TestEnv> {
    require_all(&[service])
}

/// At the top of a service test: `let env = require_env!("docker", "registry_open");` evaluates to
/// `&'static TestEnv`, or returns from the test (skip) / panics (under `SHIPIT_TEST_REQUIRE_SERVICES=1`).
#[macro_export]
macro_rules! require_env {
    ($($service:expr),+ $(,)?) => {
        match $crate::support::env::require_all(&[$($service),+]) {
            ::std::option::Option::Some(env) => env,
            ::std::option::Option::None => return,
        }
    };
}

/// A name no other test (in this or a concurrent test process) uses: `prefix-<pid>-<counter>-<time>`, lowercase
/// `[a-z0-9-]`, valid as an ECR repository, ECS cluster/service/family, image repository or tag.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0) % 1_000_000_000_000;
    let prefix: String =
        prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let prefix = prefix.trim_matches('-');
    let prefix = if prefix.is_empty() { "t" } else { prefix };
    format!("{prefix}-{}-{n}-{t:x}", std::process::id())
}
