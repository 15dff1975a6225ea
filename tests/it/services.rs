//! Smoke tests: each local stand-in from `scripts/test-env` answers, reached from Rust the way shipit reaches it.
//! Under `scripts/test` (SHIPIT_TEST_REQUIRE_SERVICES=1) a missing service fails here first, with its name.

use base64::Engine as _;

use crate::require_env;
use crate::support::env::{http_client, unique_name};

#[tokio::test]
async fn docker_engine_answers_through_bollard() {
    let env = require_env!("docker");
    let docker = env.docker().await;
    let pong = docker.ping().await.expect("docker ping");
    assert_eq!(pong, "OK");
    let version = docker.version().await.expect("docker version");
    let api = version.api_version.clone().unwrap_or_default();
    eprintln!(
        "dockerd {} (API {api}, min {})",
        version.version.as_deref().unwrap_or("?"),
        version.min_api_version.as_deref().unwrap_or("?")
    );
    assert!(api.starts_with("1."), "unexpected API version {api:?}");
    assert_eq!(docker.client_version().to_string(), api, "bollard should have negotiated the server's API version");
}

#[tokio::test]
async fn open_registry_answers_v2() {
    let env = require_env!("registry_open");
    let url = format!("{}/v2/", env.registry_open_url());
    let res = http_client().get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(res.status().as_u16(), 200, "GET {url}");
    let api = res.headers().get("docker-distribution-api-version").and_then(|v| v.to_str().ok());
    assert_eq!(api, Some("registry/2.0"));
}

#[tokio::test]
async fn auth_registry_demands_and_checks_basic_auth() {
    let env = require_env!("registry_auth");
    let url = format!("{}/v2/", env.registry_auth_url());
    let http = http_client();

    let anon = http.get(&url).send().await.expect("GET /v2/ anonymously");
    assert_eq!(anon.status().as_u16(), 401, "no credentials");
    let challenge = anon.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(challenge.starts_with("Basic"), "challenge {challenge:?}");

    let ghcr = http.get(&url).basic_auth(&env.ghcr_user, Some(&env.ghcr_password)).send().await.unwrap();
    assert_eq!(ghcr.status().as_u16(), 200, "GHCR stand-in user {}", env.ghcr_user);

    let wrong = http.get(&url).basic_auth(&env.ghcr_user, Some("not-the-password")).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 401, "wrong password");

    let ecr = http.get(&url).basic_auth(&env.ecr_user, Some(&env.ecr_password)).send().await.unwrap();
    assert_eq!(ecr.status().as_u16(), 200, "ECR stand-in user {}", env.ecr_user);
}

#[tokio::test]
async fn moto_serves_ecr() {
    let env = require_env!("moto");
    let ecr = env.ecr().await;
    let name = unique_name("smoke-ecr");

    let created = ecr.create_repository().repository_name(&name).send().await.expect("ECR CreateRepository");
    let uri = created.repository().and_then(|r| r.repository_uri()).unwrap_or_default().to_string();
    assert!(uri.ends_with(&format!("/{name}")), "repository uri {uri:?}");

    let described = ecr.describe_repositories().repository_names(&name).send().await.expect("ECR DescribeRepositories");
    let names: Vec<&str> = described.repositories().iter().filter_map(|r| r.repository_name()).collect();
    assert_eq!(names, [name.as_str()]);

    let token = ecr.get_authorization_token().send().await.expect("ECR GetAuthorizationToken");
    let data = token.authorization_data().first().expect("one authorization data entry");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data.authorization_token().expect("a token"))
        .expect("token is base64");
    let decoded = String::from_utf8(decoded).expect("token is UTF-8");
    let (user, password) = decoded.split_once(':').expect("token is user:password");
    assert_eq!(user, "AWS");
    assert_eq!(
        (user, password),
        (env.ecr_user.as_str(), env.ecr_password.as_str()),
        "the auth registry accepts moto's token"
    );
    eprintln!("ECR proxy endpoint: {}", data.proxy_endpoint().unwrap_or("?"));

    ecr.delete_repository().repository_name(&name).force(true).send().await.expect("ECR DeleteRepository");
}

#[tokio::test]
async fn moto_serves_ecs() {
    let env = require_env!("moto");
    let ecs = env.ecs().await;
    let name = unique_name("smoke-ecs");

    let created = ecs.create_cluster().cluster_name(&name).send().await.expect("ECS CreateCluster");
    let arn = created.cluster().and_then(|c| c.cluster_arn()).expect("cluster ARN").to_string();
    assert!(arn.ends_with(&format!("cluster/{name}")), "cluster ARN {arn:?}");

    let mut arns = Vec::new();
    let mut next = None;
    loop {
        let page = ecs.list_clusters().set_next_token(next).send().await.expect("ECS ListClusters");
        arns.extend(page.cluster_arns().iter().cloned());
        next = page.next_token().map(str::to_string);
        if next.is_none() {
            break;
        }
    }
    assert!(arns.contains(&arn), "{arn} not in {arns:?}");

    ecs.delete_cluster().cluster(&name).send().await.expect("ECS DeleteCluster");
}

#[tokio::test]
async fn trivy_runs() {
    let env = require_env!("trivy");
    let out = tokio::process::Command::new(env.trivy()).arg("--version").output().await.expect("run trivy");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "trivy --version: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Version:"), "trivy --version printed {stdout:?}");
}

#[tokio::test]
async fn trivy_db_fixture_is_present() {
    let env = require_env!("trivy_db");
    let db = env.trivy_db_dir();
    assert!(db.join("trivy.db").is_file(), "{}/trivy.db missing", db.display());
    assert!(db.join("metadata.json").is_file(), "{}/metadata.json missing", db.display());
    assert!(env.trivy_test_image_dir().is_dir());
}

#[tokio::test]
async fn tmux_runs() {
    let env = require_env!("tmux");
    let out = tokio::process::Command::new(env.tmux.as_ref().unwrap()).arg("-V").output().await.expect("run tmux");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.starts_with("tmux "), "tmux -V: {} {stdout:?}", out.status);
}

#[tokio::test]
async fn static_busybox_runs() {
    let env = require_env!("busybox");
    let out = tokio::process::Command::new(env.busybox.as_ref().unwrap())
        .args(["echo", "hello"])
        .output()
        .await
        .expect("run busybox");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
}
