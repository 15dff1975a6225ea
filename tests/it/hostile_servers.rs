//! Hostile servers (tests/support/hostile.rs) in front of every system shipit talks HTTP to: the registry
//! (preflight check and manifest read, the evidence path), ECS (DescribeServices), the Kubernetes API (the
//! Deployment read), GitHub (check-runs) and SonarQube (the analyses search). Every fault must end in an
//! error that names the system and what was wrong, within a time bound, without a panic; memory is bounded by
//! the caps in src/providers/limits.rs (an endless body would otherwise grow until the process dies).
//! The matrix is in docs/security.md.

use std::time::Duration;

use shipit::config::Environment;
use shipit::providers::ecs::EcsTarget;
use shipit::providers::github::{Endpoints, GitHub};
use shipit::providers::kube::KubeTarget;
use shipit::providers::registry::Client as Registry;
use shipit::providers::sonarqube::{Scope, Sonar};

use crate::support::hostile::{CLAIMED_DIGEST, Fault, HostileServer};

/// The faults every API can be hit by. A wrong digest is the registry's alone (content-addressed answers).
const API_FAULTS: [Fault; 6] = [
    Fault::TruncatedJson,
    Fault::WrongContentType,
    Fault::HtmlLogin,
    Fault::HugeHeader,
    Fault::EndlessBody,
    Fault::RedirectLoop,
];

/// Far above what any case needs (ECS retries a broken answer with backoff: ~35 s), far below a hang.
const BOUND: Duration = Duration::from_secs(90);

/// Run `case` against a hostile server for each fault, all at once; collect `(fault, message)`.
async fn matrix<F, Fut>(faults: &[Fault], case: F) -> Vec<(Fault, String)>
where
    F: Fn(HostileServer) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let runs = faults.iter().map(|&fault| {
        let case = &case;
        async move {
            let server = HostileServer::start(fault).await;
            let outcome = tokio::time::timeout(BOUND, case(server)).await;
            match outcome {
                Err(_) => panic!("{fault:?}: no answer within {BOUND:?} (a hang)"),
                Ok(Ok(ok)) => panic!("{fault:?}: accepted as a good answer: {ok}"),
                Ok(Err(message)) => (fault, message),
            }
        }
    });
    futures_util::future::join_all(runs).await
}

/// Each message names the system and says what was wrong in this fault's own words.
fn check(system: &str, results: &[(Fault, String)], words: &dyn Fn(Fault) -> &'static [&'static str]) {
    for (fault, message) in results {
        // The matrix in docs/security.md is this output (`-- --nocapture`).
        println!("{system} | {fault:?} | {message}");
        assert!(message.contains(system), "{fault:?}: the message does not name {system}: {message}");
        let expected = words(*fault);
        assert!(
            expected.iter().any(|w| message.to_lowercase().contains(&w.to_lowercase())),
            "{fault:?}: expected one of {expected:?} in: {message}"
        );
    }
}

fn silent() -> &'static shipit::report::Silent {
    &shipit::report::Silent
}

#[tokio::test]
async fn a_hostile_registry_is_a_clear_error_for_the_check_and_the_manifest_read() {
    let fast = |server: &HostileServer| {
        let mut c = Registry::new(&server.host(), true, None, "set REGISTRY_TOKEN".into());
        c.retry = shipit::providers::registry::Retry { attempts: 2, first_delay: Duration::from_millis(10) };
        c
    };
    // The preflight: GET /v2/.
    let checks = matrix(&[Fault::HtmlLogin, Fault::HugeHeader, Fault::RedirectLoop], |server| async move {
        let c = fast(&server);
        c.check("acme/api", silent())
            .await
            .map(|a| format!("{a:?}"))
            .map_err(|e| shipit::error::CliError::from(e).message)
    })
    .await;
    check("registry 127.0.0.1", &checks, &|f| match f {
        Fault::HtmlLogin => &["HTML page"],
        Fault::HugeHeader => &["too large", "header"],
        Fault::RedirectLoop => &["redirected in a loop"],
        _ => unreachable!(),
    });
    // A manifest read by digest (what evidence and `verify` do).
    let reads = matrix(&Fault::ALL, |server| async move {
        let c = fast(&server);
        c.get_manifest("acme/api", CLAIMED_DIGEST, silent())
            .await
            .map(|m| format!("{m:?}"))
            .map_err(|e| shipit::error::CliError::from(e).message)
    })
    .await;
    check("registry 127.0.0.1", &reads, &|f| match f {
        Fault::TruncatedJson => &["broke off", "digest is"],
        Fault::WrongContentType | Fault::DigestMismatch => &["whose digest is"],
        Fault::HtmlLogin => &["HTML page"],
        Fault::HugeHeader => &["too large", "header"],
        Fault::EndlessBody => &["sent more than 4 MiB"],
        Fault::RedirectLoop => &["redirected in a loop"],
    });
}

fn ecs_environment(endpoint: &str) -> Environment {
    toml::from_str(&format!(
        "target = \"ecs\"\ncluster = \"c\"\nservice = \"api\"\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\n"
    ))
    .expect("environment parses")
}

#[tokio::test]
async fn a_hostile_ecs_endpoint_is_a_clear_error() {
    let results = matrix(&API_FAULTS, |server| async move {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(server.url())
            .credentials_provider(aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .load()
            .await;
        let env = ecs_environment(&server.url());
        let target = EcsTarget::with_sdk_config("staging", &env.ecs("staging").unwrap(), "api", &sdk);
        target.live().await.map(|l| format!("{l:?}")).map_err(|e| shipit::error::CliError::from(e).message)
    })
    .await;
    check("ECS DescribeServices", &results, &|f| match f {
        Fault::TruncatedJson => &["broke off before its end"],
        Fault::WrongContentType => &["it is not JSON (it starts with \"OK\")"],
        Fault::HtmlLogin => &["HTML page"],
        Fault::HugeHeader => &["too large", "header"],
        Fault::EndlessBody => &["larger than 16 MiB"],
        Fault::RedirectLoop => &["302"],
        Fault::DigestMismatch => unreachable!(),
    });
}

#[tokio::test]
async fn a_hostile_kubernetes_api_is_a_clear_error() {
    let results = matrix(&API_FAULTS, |server| async move {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: hostile\nclusters:\n- name: hostile\n  cluster:\n    server: {}\ncontexts:\n- name: hostile\n  context:\n    cluster: hostile\n    user: u\n    namespace: prod\nusers:\n- name: u\n  user:\n    token: t\n",
                server.url()
            ),
        )
        .unwrap();
        let env: Environment = toml::from_str(&format!(
            "target = \"kubernetes\"\ndeployment = \"api\"\nkubeconfig = \"{}\"\n",
            kubeconfig.display()
        ))
        .unwrap();
        let target = KubeTarget::connect("prod", &env.kube("prod").unwrap(), "api").await.map_err(|e| e.to_string())?;
        target.live().await.map(|l| format!("{l:?}")).map_err(|e| shipit::error::CliError::from(e).message)
    })
    .await;
    check("Kubernetes API", &results, &|f| match f {
        Fault::TruncatedJson => &["broke off before its end"],
        Fault::WrongContentType | Fault::HtmlLogin => &["not JSON", "HTML"],
        Fault::HugeHeader => &["too large", "header"],
        Fault::EndlessBody => &["larger than 128 MiB"],
        Fault::RedirectLoop => &["a redirect: HTTP 302", "never redirects"],
        Fault::DigestMismatch => unreachable!(),
    });
}

#[tokio::test]
async fn a_hostile_github_api_is_a_clear_error() {
    let results = matrix(&API_FAULTS, |server| async move {
        let endpoints = Endpoints { api: server.url(), web: server.url(), api_source: "test" };
        let gh = GitHub::new(&endpoints, "acme", "api", Some(("t0ken".into(), "GITHUB_TOKEN")))
            .map_err(|e| e.to_string())?;
        gh.commit_checks("3f2c1ab")
            .await
            .map(|c| format!("{c:?}"))
            .map_err(|e| shipit::error::CliError::from(e).message)
    })
    .await;
    check("GitHub", &results, &|f| match f {
        Fault::TruncatedJson => &["broke off before its end"],
        Fault::WrongContentType => &["it is not JSON (it starts with \"OK\")"],
        Fault::HtmlLogin => &["HTML page"],
        Fault::HugeHeader => &["too large", "header"],
        Fault::EndlessBody => &["larger than 16 MiB"],
        Fault::RedirectLoop => &["redirect loop"],
        Fault::DigestMismatch => unreachable!(),
    });
}

#[tokio::test]
async fn a_hostile_sonarqube_is_a_clear_error() {
    let results = matrix(&API_FAULTS, |server| async move {
        let sonar = Sonar::new(&server.url(), Some("squ_token")).map_err(|e| e.to_string())?;
        let scope = Scope { project_key: "acme_api".into(), branch: None, pull_request: None };
        sonar
            .find_analysis(&scope, "3f2c1ab")
            .await
            .map(|l| format!("{l:?}"))
            .map_err(|e| shipit::error::CliError::from(e).message)
    })
    .await;
    check("SonarQube", &results, &|f| match f {
        Fault::TruncatedJson => &["broke off before its end"],
        Fault::WrongContentType => &["it is not JSON (it starts with \"OK\")"],
        Fault::HtmlLogin => &["HTML page"],
        Fault::HugeHeader => &["too large", "header"],
        Fault::EndlessBody => &["larger than 8 MiB"],
        Fault::RedirectLoop => &["redirected in a loop"],
        Fault::DigestMismatch => unreachable!(),
    });
}
