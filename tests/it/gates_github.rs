//! `shipit check`, GitHub and SonarQube part: the real binary against wiremock with GitHub's payloads
//! (check-runs over two pages, combined statuses, pulls for a commit, reviews). SonarQube: gates_sonar.rs.

use serde_json::{Value, json};
use wiremock::matchers::{bearer_token, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::cli::{describe, text};
use crate::support::git_repo::Repo;

const TOKEN: &str = "ghp_testtoken0123456789";

struct Gh {
    server: MockServer,
    repo: Repo,
    sha: String,
    /// `/repos/acme/api` under the API prefix (empty, or `/api/v3` for GitHub Enterprise).
    base: String,
}

impl Gh {
    async fn start(github_extra: &str) -> Gh {
        Gh::start_with(github_extra, "", "").await
    }

    /// `prefix` is the API path prefix (GitHub Enterprise serves the API under /api/v3).
    async fn start_with(github_extra: &str, prefix: &str, more_toml: &str) -> Gh {
        let server = MockServer::start().await;
        let toml = format!(
            "[app]\nname = \"api\"\n\n[check.github]\napi_url = \"{}{prefix}\"\nrepository = \"acme/api\"\n{github_extra}\n{more_toml}",
            server.uri()
        );
        let repo = Repo::with_ship_toml(&toml);
        let sha = repo.head();
        Gh { server, repo, sha, base: format!("{prefix}/repos/acme/api") }
    }

    async fn check(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = self.repo.shipit();
        cmd.arg("check").args(args).env("GITHUB_TOKEN", TOKEN);
        tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
    }

    fn runs_path(&self) -> String {
        format!("{}/commits/{}/check-runs", self.base, self.sha)
    }

    /// check-runs for the commit; with a second page, page 1 carries a `Link: rel="next"` header.
    async fn mount_runs(&self, page1: Vec<Value>, page2: Option<Vec<Value>>) {
        let total = page1.len() + page2.as_ref().map_or(0, Vec::len);
        let mut first = ResponseTemplate::new(200).set_body_json(json!({ "total_count": total, "check_runs": page1 }));
        if let Some(page2) = page2 {
            let next = format!("{}{}?per_page=100&page=2", self.server.uri(), self.runs_path());
            let last = next.clone();
            first = first.insert_header("link", format!("<{next}>; rel=\"next\", <{last}>; rel=\"last\"").as_str());
            Mock::given(method("GET"))
                .and(path(self.runs_path()))
                .and(query_param("page", "2"))
                .and(bearer_token(TOKEN))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(json!({ "total_count": total, "check_runs": page2 })),
                )
                .expect(1..)
                .mount(&self.server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path(self.runs_path()))
            .and(query_param("per_page", "100"))
            .and(query_param_is_missing("page"))
            .and(bearer_token(TOKEN))
            .respond_with(first)
            .mount(&self.server)
            .await;
    }

    async fn mount_statuses(&self, statuses: Vec<Value>) {
        let state = if statuses.iter().all(|s| s["state"] == "success") { "success" } else { "failure" };
        let body = json!({
            "state": state,
            "statuses": statuses,
            "sha": self.sha,
            "total_count": statuses.len(),
            "repository": { "id": 1296269, "full_name": "acme/api", "private": true },
            "commit_url": format!("https://api.github.com/repos/acme/api/commits/{}", self.sha),
            "url": format!("https://api.github.com/repos/acme/api/commits/{}/status", self.sha)
        });
        Mock::given(method("GET"))
            .and(path(format!("{}/commits/{}/status", self.base, self.sha)))
            .and(bearer_token(TOKEN))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.server)
            .await;
    }

    async fn mount_pulls(&self, pulls: Vec<Value>) {
        Mock::given(method("GET"))
            .and(path(format!("{}/commits/{}/pulls", self.base, self.sha)))
            .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(pulls)))
            .mount(&self.server)
            .await;
    }

    async fn mount_reviews(&self, number: u64, reviews: Vec<Value>) {
        Mock::given(method("GET"))
            .and(path(format!("{}/pulls/{number}/reviews", self.base)))
            .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(reviews)))
            .mount(&self.server)
            .await;
    }

    async fn all_green(&self) {
        self.mount_runs(vec![run(1, "build", "completed", Some("success"), &self.sha)], None).await;
        self.mount_statuses(vec![]).await;
    }
}

/// A check-run as GitHub returns it (trimmed of nothing the gate could trip over).
fn run(id: u64, name: &str, status: &str, conclusion: Option<&str>, sha: &str) -> Value {
    json!({
        "id": id,
        "head_sha": sha,
        "node_id": format!("CR_kwDOABCD{id}"),
        "external_id": "",
        "url": format!("https://api.github.com/repos/acme/api/check-runs/{id}"),
        "html_url": format!("https://github.com/acme/api/actions/runs/9{id}/job/{id}"),
        "details_url": format!("https://github.com/acme/api/actions/runs/9{id}/job/{id}"),
        "status": status,
        "conclusion": conclusion,
        "started_at": "2026-05-01T10:00:00Z",
        "completed_at": if status == "completed" { json!("2026-05-01T10:04:00Z") } else { Value::Null },
        "output": { "title": null, "summary": null, "text": null, "annotations_count": 0, "annotations_url": "" },
        "name": name,
        "check_suite": { "id": 5 },
        "app": { "id": 15368, "slug": "github-actions", "name": "GitHub Actions" },
        "pull_requests": []
    })
}

fn status(context: &str, state: &str, description: &str) -> Value {
    json!({
        "url": "https://api.github.com/repos/acme/api/statuses/x",
        "avatar_url": "https://avatars.githubusercontent.com/oa/1",
        "id": 1,
        "node_id": "SC_1",
        "state": state,
        "description": description,
        "target_url": format!("https://ci.acme.dev/{context}/123"),
        "context": context,
        "created_at": "2026-05-01T10:00:00Z",
        "updated_at": "2026-05-01T10:01:00Z"
    })
}

fn pull(number: u64, state: &str, merged_at: Option<&str>, sha: &str) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/acme/api/pulls/{number}"),
        "id": 1000 + number,
        "number": number,
        "state": state,
        "locked": false,
        "title": "Add login",
        "user": { "login": "dev", "id": 1 },
        "html_url": format!("https://github.com/acme/api/pull/{number}"),
        "draft": false,
        "merged_at": merged_at,
        "merge_commit_sha": null,
        "head": { "ref": "feature/login", "sha": sha },
        "base": { "ref": "main", "sha": "0000000000000000000000000000000000000000" }
    })
}

fn review(id: u64, login: &str, state: &str, sha: &str) -> Value {
    json!({
        "id": id,
        "node_id": format!("PRR_{id}"),
        "user": { "login": login, "id": id },
        "body": "",
        "state": state,
        "html_url": format!("https://github.com/acme/api/pull/412#pullrequestreview-{id}"),
        "submitted_at": "2026-05-01T11:00:00Z",
        "commit_id": sha,
        "author_association": "MEMBER"
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn all_checks_green_across_two_pages_and_statuses() {
    let gh = Gh::start("").await;
    let page1: Vec<Value> =
        (1..=100).map(|i| run(i, &format!("test (shard {i})"), "completed", Some("success"), &gh.sha)).collect();
    let page2 = vec![
        run(101, "lint", "completed", Some("success"), &gh.sha),
        run(102, "docs", "completed", Some("skipped"), &gh.sha),
    ];
    gh.mount_runs(page1, Some(page2)).await;
    gh.mount_statuses(vec![status("ci/jenkins", "success", "Build #123 succeeded")]).await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("GitHub checks 103/103 green"), "{}", describe(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_on_the_second_page_is_found_and_linked() {
    let gh = Gh::start("").await;
    let page1: Vec<Value> =
        (1..=100).map(|i| run(i, &format!("test (shard {i})"), "completed", Some("success"), &gh.sha)).collect();
    let page2 = vec![run(101, "e2e", "completed", Some("failure"), &gh.sha)];
    gh.mount_runs(page1, Some(page2)).await;
    gh.mount_statuses(vec![]).await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("1 of 101 GitHub check(s) failed"), "{err}");
    assert!(err.contains("failed:  e2e (failure) https://github.com/acme/api/actions/runs/9101/job/101"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_commit_status_blocks_and_a_rerun_check_uses_the_latest() {
    let gh = Gh::start("").await;
    // `build` failed first, then passed on re-run: the later run (higher id) wins.
    gh.mount_runs(
        vec![
            run(7, "build", "completed", Some("failure"), &gh.sha),
            run(9, "build", "completed", Some("success"), &gh.sha),
        ],
        None,
    )
    .await;
    gh.mount_statuses(vec![
        status("ci/jenkins", "error", "Build #124 broke"),
        status("security/snyk", "success", "ok"),
    ])
    .await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("1 of 3 GitHub check(s) failed"), "{err}");
    assert!(err.contains("ci/jenkins (error: Build #124 broke) https://ci.acme.dev/ci/jenkins/123"), "{err}");
    assert!(!err.contains("failed:  build"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_checks_fail_without_wait() {
    let gh = Gh::start("").await;
    gh.mount_runs(vec![run(1, "build", "in_progress", None, &gh.sha)], None).await;
    gh.mount_statuses(vec![status("ci/jenkins", "pending", "queued")]).await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("2 of 2 GitHub check(s) pending"), "{err}");
    assert!(err.contains("pending: build (in_progress)"), "{err}");
    assert!(err.contains("shipit check --wait"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_polls_until_pending_checks_finish() {
    let gh = Gh::start("").await;
    Mock::given(method("GET"))
        .and(path(gh.runs_path()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({ "total_count": 1, "check_runs": [run(1, "build", "in_progress", None, &gh.sha)] }),
            ),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&gh.server)
        .await;
    gh.mount_runs(vec![run(1, "build", "completed", Some("success"), &gh.sha)], None).await;
    gh.mount_statuses(vec![]).await;
    let out = gh.check(&["--wait", "--poll-interval", "200ms"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("waiting for 1 pending check(s): build (0/1 done"), "{err}");
    assert!(err.contains("GitHub checks 1/1 green"), "{err}");
    let runs_requests =
        gh.server.received_requests().await.unwrap().iter().filter(|r| r.url.path() == gh.runs_path()).count();
    assert_eq!(runs_requests, 3, "two pending polls, then the finished one");
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_gives_up_after_the_wait_timeout() {
    let gh = Gh::start("wait_timeout = \"1s\"").await;
    gh.mount_runs(vec![run(1, "deploy-preview", "queued", None, &gh.sha)], None).await;
    gh.mount_statuses(vec![]).await;
    let out = gh.check(&["--wait", "--poll-interval", "200ms"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("1 of 1 GitHub check(s) still pending after 1s"), "{err}");
    assert!(err.contains("pending: deploy-preview (queued)"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_required_checks_block() {
    let gh = Gh::start("required = [\"build\", \"ci/jenkins\"]").await;
    gh.mount_runs(
        vec![
            run(1, "build", "completed", Some("success"), &gh.sha),
            run(2, "lint", "completed", Some("failure"), &gh.sha),
        ],
        None,
    )
    .await;
    gh.mount_statuses(vec![status("ci/jenkins", "success", "ok")]).await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("GitHub checks 2/2 green"), "{err}");
    assert!(err.contains("not required, failed: lint"), "{err}");

    let gh = Gh::start("required = [\"build\", \"security-scan\"]").await;
    gh.all_green().await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("pending: security-scan (not reported yet)"), "{}", describe(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn approval_from_an_open_pull_request() {
    let gh = Gh::start("require_approval = true").await;
    gh.all_green().await;
    gh.mount_pulls(vec![pull(412, "open", None, &gh.sha)]).await;
    gh.mount_reviews(
        412,
        vec![
            review(1, "bob", "CHANGES_REQUESTED", &gh.sha),
            review(2, "ann", "APPROVED", &gh.sha),
            review(3, "bob", "COMMENTED", &gh.sha),
        ],
    )
    .await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(3), "a comment does not withdraw a change request: {}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("PR #412 has changes requested by bob"), "{err}");
    assert!(err.contains("https://github.com/acme/api/pull/412"), "{err}");

    let gh = Gh::start("require_approval = true").await;
    gh.all_green().await;
    gh.mount_pulls(vec![pull(412, "open", None, &gh.sha)]).await;
    gh.mount_reviews(
        412,
        vec![
            review(1, "bob", "CHANGES_REQUESTED", &gh.sha),
            review(2, "ann", "APPROVED", &gh.sha),
            review(3, "bob", "APPROVED", &gh.sha),
        ],
    )
    .await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("PR #412 approved by ann, bob"), "{}", describe(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn merged_unapproved_and_missing_pull_requests() {
    let gh = Gh::start("require_approval = true").await;
    gh.all_green().await;
    gh.mount_pulls(vec![
        pull(400, "closed", None, &gh.sha),
        pull(411, "closed", Some("2026-05-01T12:00:00Z"), &gh.sha),
    ])
    .await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("merged in PR #411"), "{}", describe(&out));

    let gh = Gh::start("require_approval = true").await;
    gh.all_green().await;
    gh.mount_pulls(vec![pull(413, "open", None, &gh.sha)]).await;
    gh.mount_reviews(413, vec![review(1, "ann", "COMMENTED", &gh.sha)]).await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("PR #413 has no approving review"), "{}", describe(&out));

    let gh = Gh::start("require_approval = true").await;
    gh.all_green().await;
    gh.mount_pulls(vec![]).await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("no pull request contains this commit"), "{}", describe(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn unauthorized_token_gets_a_token_hint() {
    let gh = Gh::start("").await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401"
        })))
        .mount(&gh.server)
        .await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("GitHub rejected the token from GITHUB_TOKEN (401 Unauthorized)"), "{err}");
    assert!(err.contains("hint: the token is missing, expired or revoked"), "{err}");
    assert!(!err.contains(TOKEN) && !text(&out.stdout).contains(TOKEN), "the token must never be printed");
}

#[tokio::test(flavor = "multi_thread")]
async fn not_found_gets_a_repository_and_scope_hint() {
    let gh = Gh::start("").await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference",
            "status": "404"
        })))
        .mount(&gh.server)
        .await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("GitHub answered 404 for check-runs of acme/api"), "{err}");
    assert!(err.contains("check the repository name (acme/api)"), "{err}");
    assert!(err.contains("token cannot see"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_says_when_it_resets() {
    let gh = Gh::start("").await;
    let reset = chrono::Utc::now().timestamp() + 600;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-limit", "5000")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-used", "5000")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .insert_header("x-ratelimit-resource", "core")
                .set_body_json(json!({
                    "message": "API rate limit exceeded for user ID 1.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                })),
        )
        .mount(&gh.server)
        .await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    let at = chrono::DateTime::from_timestamp(reset, 0).unwrap().format("%H:%M:%S UTC").to_string();
    assert!(err.contains(&format!("GitHub API rate limit exceeded; it resets at {at} (in ")), "{err}");
    assert!(err.contains("in 9m") || err.contains("in 10m"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn github_enterprise_base_url_keeps_its_path() {
    let gh = Gh::start_with("", "/api/v3", "").await;
    gh.all_green().await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("GitHub checks 1/1 green"), "{}", describe(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn github_is_not_asked_about_an_unpushed_commit() {
    let gh = Gh::start("").await;
    gh.repo.commit("x.txt", "x", "local only");
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("not checked: GitHub cannot know a commit that is not pushed"),
        "{}",
        describe(&out)
    );
    assert!(gh.server.received_requests().await.unwrap().is_empty());
}

/// GitHub Actions on GitHub Enterprise Server sets GITHUB_API_URL and GITHUB_SERVER_URL; with no `api_url` in
/// ship.toml the API is GITHUB_API_URL's and links point at GITHUB_SERVER_URL's pages.
#[tokio::test(flavor = "multi_thread")]
async fn github_api_url_from_actions_is_used_when_api_url_is_not_set() {
    let server = MockServer::start().await;
    let repo = Repo::with_ship_toml(
        "[app]\nname = \"api\"\n\n[check.github]\nrepository = \"acme/api\"\nrequire_approval = true\n",
    );
    let sha = repo.head();
    let gh = Gh { server, repo, sha: sha.clone(), base: "/api/v3/repos/acme/api".into() };
    gh.mount_runs(vec![run(1, "build", "completed", Some("failure"), &sha)], None).await;
    gh.mount_statuses(vec![]).await;
    gh.mount_pulls(vec![]).await;
    let api = format!("{}/api/v3", gh.server.uri());
    let check = |env: Vec<(&'static str, String)>| {
        let mut cmd = gh.repo.shipit();
        cmd.arg("check").env("GITHUB_TOKEN", TOKEN);
        for (k, v) in env {
            cmd.env(k, v);
        }
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let out = check(vec![("GITHUB_API_URL", api.clone()), ("GITHUB_SERVER_URL", "https://ghe.acme.dev".into())])
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("1 of 1 GitHub check(s) failed"), "{err}");
    assert!(
        err.contains(&format!("https://ghe.acme.dev/acme/api/commit/{sha}/checks")),
        "links use GITHUB_SERVER_URL: {err}"
    );
    assert!(err.contains("no pull request contains this commit"), "{err}");
    assert!(err.contains("https://ghe.acme.dev/acme/api/compare/main?expand=1"), "{err}");
    assert!(!gh.server.received_requests().await.unwrap().is_empty(), "the API at GITHUB_API_URL was asked");

    // `api_url` in ship.toml wins over GITHUB_API_URL (here: an address nothing listens on).
    gh.repo.set_ship_toml(&format!(
        "[app]\nname = \"api\"\n\n[check.github]\nrepository = \"acme/api\"\napi_url = \"{api}\"\n"
    ));
    let sha2 = gh.repo.head();
    Mock::given(method("GET"))
        .and(path(format!("/api/v3/repos/acme/api/commits/{sha2}/check-runs")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "total_count": 1, "check_runs": [run(2, "build", "completed", Some("success"), &sha2)] }),
        ))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v3/repos/acme/api/commits/{sha2}/status")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "state": "success", "statuses": [], "sha": sha2, "total_count": 0 })),
        )
        .mount(&gh.server)
        .await;
    let out = check(vec![("GITHUB_API_URL", "http://127.0.0.1:9/api/v3".into())]).await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("GitHub checks 1/1 green"), "{}", describe(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_report_of_a_failed_check_carries_the_error_object() {
    let gh = Gh::start("").await;
    gh.mount_runs(vec![run(1, "build", "completed", Some("failure"), &gh.sha)], None).await;
    gh.mount_statuses(vec![]).await;
    let out = gh.check(&["--output", "json"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let doc: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("one JSON document: {e}\n{}", describe(&out)));
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["commit"]["sha"], gh.sha);
    assert_eq!(doc["error"]["class"], "gate");
    assert_eq!(doc["error"]["exit_code"], 3);
    assert_eq!(doc["error"]["message"], format!("commit {} is not ready to ship: github", &gh.sha[..12]));
    assert!(doc["error"]["detail"].as_str().unwrap().contains("failed:  build (failure)"), "{doc}");
    assert!(!doc["error"]["hints"].as_array().unwrap().is_empty());
    assert_eq!(doc["items"].as_array().unwrap().iter().find(|i| i["name"] == "github").unwrap()["outcome"], "fail");

    // A passing check has `ok: true` and no error object.
    let gh = Gh::start("").await;
    gh.all_green().await;
    let out = gh.check(&["--output", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], true);
    assert!(doc.get("error").is_none(), "{doc}");
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_statuses_are_paged_too() {
    let gh = Gh::start("").await;
    gh.mount_runs(vec![run(1, "build", "completed", Some("success"), &gh.sha)], None).await;
    let status_path = format!("{}/commits/{}/status", gh.base, gh.sha);
    let next = format!("{}{status_path}?per_page=100&page=2", gh.server.uri());
    let page1: Vec<Value> = (1..=100).map(|i| status(&format!("ci/shard-{i}"), "success", "ok")).collect();
    Mock::given(method("GET"))
        .and(path(&status_path))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\"").as_str())
                .set_body_json(json!({ "state": "failure", "statuses": page1, "sha": gh.sha, "total_count": 101 })),
        )
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(&status_path))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "state": "failure",
            "statuses": [status("security/snyk", "failure", "2 high severity issues")],
            "sha": gh.sha,
            "total_count": 101
        })))
        .expect(1)
        .mount(&gh.server)
        .await;
    let out = gh.check(&[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("1 of 102 GitHub check(s) failed"), "{err}");
    assert!(
        err.contains("security/snyk (failure: 2 high severity issues) https://ci.acme.dev/security/snyk/123"),
        "{err}"
    );
}
