//! GitHub Deployments and `[[notify]]` around a deploy, through the binary: the Docker host target and the
//! open registry are real; GitHub and the webhook receivers are wiremock, and the exact request bodies are
//! checked against GitHub's documented Deployments API and Slack's incoming-webhook format.

use serde_json::{Value, json};
use wiremock::matchers::{bearer_token, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::evidence::{Project, ship_toml};
use crate::support::cli::{describe, text};

const SLACK_SECRET: &str = "/services/T000/B000/sekr1t";

async fn mocks() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/web/deployments"))
        .and(bearer_token("gh-token"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 42, "ref": "x", "environment": "dev"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/web/deployments/42/statuses"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1, "state": "in_progress"})))
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/hook")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    Mock::given(method("POST")).and(path(SLACK_SECRET)).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    Mock::given(method("POST")).and(path("/broken")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    server
}

async fn bodies(server: &MockServer, at: &str) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == at)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

fn config(env: &crate::support::env::TestEnv, p: &Project, server: &MockServer, dev: &str, hook: &str) -> String {
    let dev = format!("require_scan = false\nurl = \"https://dev.example.test\"\n{dev}");
    format!(
        "{}\n[github]\ndeployments = true\nrepository = \"acme/web\"\napi_url = \"{uri}\"\n\n\
         [[notify]]\nwebhook = \"{uri}{hook}\"\n\n[[notify]]\nslack = \"{uri}{SLACK_SECRET}\"\nevents = [\"deployed\", \"failed\"]\n",
        ship_toml(env, &p.repository, &p.name, "", &dev),
        uri = server.uri()
    )
}

fn deploy(p: &Project, args: &[&str]) -> std::process::Output {
    p.shipit()
        .args(["deploy", "dev"])
        .args(args)
        .env("CI", "true")
        .env("GITHUB_TOKEN", "gh-token")
        .env("GITHUB_SERVER_URL", "https://github.example")
        .env("GITHUB_REPOSITORY", "acme/web")
        .env("GITHUB_RUN_ID", "7")
        .output()
        .unwrap()
}

#[tokio::test]
async fn deployments_and_notifications_follow_the_outcome() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let p = Project::new(env, false, "");
    let server = mocks().await;
    p.repo.set_ship_toml(&config(env, &p, &server, "", "/hook"));
    let digest = p.push();
    let sha = p.repo.head();

    // CI without --yes: the approval is pending (the webhook hears it), nothing starts, no Deployment.
    let out = deploy(&p, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    let hooks = bodies(&server, "/hook").await;
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["event"], "approval_pending");
    assert!(bodies(&server, "/repos/acme/web/deployments").await.is_empty());
    assert!(bodies(&server, SLACK_SECRET).await.is_empty(), "slack only wants deployed and failed");

    let out = deploy(&p, &["--yes"]);
    assert!(out.status.success(), "{}", describe(&out));
    let created = bodies(&server, "/repos/acme/web/deployments").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["ref"], sha.as_str());
    assert_eq!(created[0]["environment"], "dev");
    assert_eq!(created[0]["payload"]["digest"], digest.as_str());
    assert_eq!(created[0]["payload"]["app"], "web");
    assert_eq!(created[0]["required_contexts"], json!([]));
    assert_eq!(created[0]["auto_merge"], false);
    let statuses = bodies(&server, "/repos/acme/web/deployments/42/statuses").await;
    let states: Vec<&str> = statuses.iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["in_progress", "success"], "{statuses:?}");
    assert_eq!(statuses[1]["environment_url"], "https://dev.example.test");
    assert_eq!(statuses[1]["log_url"], "https://github.example/acme/web/actions/runs/7");
    assert!(statuses[1]["description"].as_str().unwrap().contains("is live"), "{statuses:?}");

    let hooks = bodies(&server, "/hook").await;
    let deployed = &hooks[1];
    assert_eq!(deployed["event"], "deployed");
    assert_eq!(deployed["app"], "web");
    assert_eq!(deployed["environment"], "dev");
    assert_eq!(deployed["digest"], digest.as_str());
    assert_eq!(deployed["commit"], sha.as_str());
    assert_eq!(deployed["actor"], "ann");
    assert_eq!(deployed["result"], "completed");
    assert_eq!(deployed["url"], "https://dev.example.test");
    assert_eq!(deployed["run_url"], "https://github.example/acme/web/actions/runs/7");
    let slack = bodies(&server, SLACK_SECRET).await;
    assert_eq!(slack.len(), 1);
    let msg = slack[0]["text"].as_str().unwrap();
    assert!(msg.starts_with(":white_check_mark: *web* deploy to *dev*: revision 1 is live"), "{msg}");
    assert_eq!(slack[0]["blocks"][0]["text"]["type"], "mrkdwn");

    // A failed verification (ship.toml rewritten, not committed: `deploy` takes HEAD's pushed release either
    // way): the Deployment ends in `failure`, the webhook and Slack hear `failed`; the
    // notification to a broken receiver is a warning that names only its host, and the exit code is the
    // deploy's own.
    std::fs::write(
        p.repo.work().join("ship.toml"),
        config(env, &p, &server, "verify = { command = [\"false\"] }", "/broken"),
    )
    .unwrap();
    let out = deploy(&p, &["--yes", "--force"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("notification `failed` for dev not sent"), "{err}");
    assert!(err.contains(&format!("{}/… answered 500", server.uri())), "{err}");
    assert!(!err.contains("sekr1t"), "the Slack URL is a secret: {err}");
    let statuses = bodies(&server, "/repos/acme/web/deployments/42/statuses").await;
    assert_eq!(statuses.last().unwrap()["state"], "failure", "{statuses:?}");
    let slack = bodies(&server, SLACK_SECRET).await;
    assert!(slack[1]["text"].as_str().unwrap().starts_with(":x: *web* deploy to *dev*"), "{slack:?}");
}

#[tokio::test]
async fn deployments_without_a_token_are_a_warning() {
    let env = crate::require_env!("docker", "registry_open", "busybox");
    let p = Project::new(env, false, "");
    let server = mocks().await;
    p.repo.set_ship_toml(&config(env, &p, &server, "", "/hook"));
    p.push();
    let out = p.shipit().args(["deploy", "dev", "--yes"]).env("PATH", "/usr/bin:/bin").output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out.stderr).contains("there is no GitHub token (set GITHUB_TOKEN)"), "{}", describe(&out));
    assert!(bodies(&server, "/repos/acme/web/deployments").await.is_empty());
}
