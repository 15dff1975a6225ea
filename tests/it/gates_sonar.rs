//! `shipit check`, SonarQube part: the real binary against wiremock speaking SonarQube's Web API with the
//! payload shapes of SonarQube's own response examples (`project_analyses/search`, `qualitygates/project_status`,
//! `ce/component`). The gate must judge the analysis of HEAD, never whichever analysis ran last.

use serde_json::{Value, json};
use wiremock::matchers::{basic_auth, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::cli::{describe, text};
use crate::support::git_repo::Repo;

const SEARCH: &str = "/api/project_analyses/search";
const STATUS: &str = "/api/qualitygates/project_status";
const CE: &str = "/api/ce/component";
const OTHER_SHA: &str = "be6c75b85da526349c44e3978374c95e0b80a96d";
const OLDER_SHA: &str = "bfe36592eb7f9f2708b5d358b5b5f33ed535c8cf";

struct Sonar {
    server: MockServer,
    repo: Repo,
    sha: String,
}

impl Sonar {
    async fn start(extra_toml: &str) -> Sonar {
        let server = MockServer::start().await;
        let repo = Repo::with_ship_toml(&format!(
            "[app]\nname = \"api\"\n\n[check.sonarqube]\nurl = \"{}\"\nproject_key = \"acme_api\"\ntoken = \"squ_testtoken\"\n{extra_toml}\n",
            server.uri()
        ));
        let sha = repo.head();
        Sonar { server, repo, sha }
    }

    fn short(&self) -> &str {
        &self.sha[..12]
    }

    async fn check(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = self.repo.shipit();
        cmd.arg("check").args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
    }

    /// Page `page` of the analyses of branch `main`, `total` in all.
    async fn mount_analyses(&self, page: usize, total: usize, analyses: Vec<Value>) {
        Mock::given(method("GET"))
            .and(path(SEARCH))
            .and(query_param("project", "acme_api"))
            .and(query_param("branch", "main"))
            .and(query_param("p", page.to_string()))
            .and(query_param("ps", "100"))
            .and(basic_auth("squ_testtoken", ""))
            .respond_with(ResponseTemplate::new(200).set_body_json(search_page(page, total, analyses)))
            .mount(&self.server)
            .await;
    }

    async fn mount_gate(&self, analysis: &str, body: Value) {
        Mock::given(method("GET"))
            .and(path(STATUS))
            .and(query_param("analysisId", analysis))
            .and(query_param_is_missing("projectKey"))
            .and(basic_auth("squ_testtoken", ""))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.server)
            .await;
    }

    /// The project's live status, which is what the gate must never read: it is the last analysis's.
    async fn forbid_project_status(&self) {
        Mock::given(method("GET"))
            .and(path(STATUS))
            .and(query_param("projectKey", "acme_api"))
            .respond_with(ResponseTemplate::new(200).set_body_json(gate_ok()))
            .expect(0)
            .mount(&self.server)
            .await;
    }

    async fn mount_ce(&self, body: Value) {
        Mock::given(method("GET"))
            .and(path(CE))
            .and(query_param("component", "acme_api"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.server)
            .await;
    }
}

fn search_page(page: usize, total: usize, analyses: Vec<Value>) -> Value {
    json!({ "paging": { "pageIndex": page, "pageSize": 100, "total": total }, "analyses": analyses })
}

/// One analysis as `project_analyses/search` lists it.
fn analysis(key: &str, date: &str, revision: Option<&str>, gate_event: Option<&str>) -> Value {
    let mut events = vec![json!({ "key": format!("{key}-v"), "category": "VERSION", "name": "1.4.0" })];
    if let Some(name) = gate_event {
        events.push(json!({
            "key": format!("{key}-qg"), "category": "QUALITY_GATE", "name": name,
            "description": "Coverage on New Code < 80, Duplicated Lines (%) on New Code > 3"
        }));
    }
    let mut a = json!({
        "key": key,
        "date": date,
        "projectVersion": "1.4.0",
        "buildString": "1.4.0.812",
        "manualNewCodePeriodBaseline": false,
        "detectedCI": "Github Actions",
        "events": events
    });
    if let Some(r) = revision {
        a["revision"] = json!(r);
    }
    a
}

fn gate_ok() -> Value {
    json!({ "projectStatus": {
        "status": "OK",
        "ignoredConditions": false,
        "caycStatus": "compliant",
        "conditions": [
            { "status": "OK", "metricKey": "new_coverage", "comparator": "LT", "errorThreshold": "80", "actualValue": "91.3" },
            { "status": "OK", "metricKey": "new_duplicated_lines_density", "comparator": "GT", "errorThreshold": "3", "actualValue": "0.4" }
        ],
        "period": { "mode": "PREVIOUS_VERSION", "date": "2026-11-01T09:00:00+0000" }
    }})
}

fn gate_error() -> Value {
    json!({ "projectStatus": {
        "status": "ERROR",
        "ignoredConditions": false,
        "caycStatus": "non-compliant",
        "conditions": [
            { "status": "ERROR", "metricKey": "new_coverage", "comparator": "LT", "errorThreshold": "80", "actualValue": "65.2" },
            { "status": "OK", "metricKey": "new_bugs", "comparator": "GT", "errorThreshold": "0", "actualValue": "0" },
            { "status": "ERROR", "metricKey": "new_duplicated_lines_density", "comparator": "GT", "errorThreshold": "3", "actualValue": "7.1" }
        ],
        "period": { "mode": "PREVIOUS_VERSION", "date": "2026-11-01T09:00:00+0000" }
    }})
}

#[tokio::test(flavor = "multi_thread")]
async fn heads_analysis_passes_while_an_older_one_failed() {
    let s = Sonar::start("").await;
    s.mount_analyses(
        1,
        2,
        vec![
            analysis("AYhead", "2026-11-30T15:02:11+0100", Some(&s.sha), None),
            analysis("AYolder", "2026-11-29T10:00:00+0100", Some(OLDER_SHA), Some("Failed")),
        ],
    )
    .await;
    s.mount_gate("AYhead", gate_ok()).await;
    s.mount_gate("AYolder", gate_error()).await;
    s.forbid_project_status().await;
    let out = s.check(&[], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "SonarQube quality gate passed (analysis of {} on 2026-11-30 14:02 UTC, branch main)",
            s.short()
        )),
        "the line names HEAD's analysis, its date and its revision: {err}"
    );
    let asked: Vec<String> = s.server.received_requests().await.unwrap().iter().map(|r| r.url.to_string()).collect();
    assert!(!asked.iter().any(|u| u.contains("AYolder")), "the older analysis is never judged: {asked:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn heads_analysis_fails_while_newer_and_older_ones_passed() {
    let s = Sonar::start("").await;
    // A later analysis of another commit (a re-run after a force-push) fills page 1; HEAD's is on page 2.
    let mut page1 = vec![analysis("AYnewer", "2026-11-30T18:00:00+0000", Some(OTHER_SHA), None)];
    page1.extend((0..99).map(|i| analysis(&format!("AYbulk{i}"), "2026-11-30T17:00:00+0000", Some(OLDER_SHA), None)));
    s.mount_analyses(1, 102, page1).await;
    s.mount_analyses(
        2,
        102,
        vec![
            analysis("AYhead", "2026-11-30T12:30:00+0000", Some(&s.sha.to_uppercase()), Some("Failed")),
            analysis("AYold", "2026-11-20T12:30:00+0000", Some(OLDER_SHA), None),
        ],
    )
    .await;
    s.mount_gate("AYhead", gate_error()).await;
    s.mount_gate("AYnewer", gate_ok()).await;
    s.forbid_project_status().await;
    let out = s.check(&[], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "SonarQube quality gate ERROR: 2 condition(s) failed (analysis of {} on 2026-11-30 12:30 UTC, branch main)",
            s.sha[..12].to_uppercase()
        )),
        "{err}"
    );
    assert!(err.contains("new_coverage is 65.2, must not be below 80"), "{err}");
    assert!(err.contains("new_duplicated_lines_density is 7.1, must not be above 3"), "{err}");
    assert!(!err.contains("new_bugs"), "{err}");
    assert!(err.contains(&format!("{}/dashboard?id=acme_api&branch=main", s.server.uri())), "{err}");

    // The JSON report carries the same error object as every other failing command, next to the report.
    let out = s.check(&["--output", "json"], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["error"]["class"], "gate");
    assert_eq!(doc["error"]["exit_code"], 3);
    assert_eq!(doc["error"]["message"], format!("commit {} is not ready to ship: sonarqube", s.short()));
    assert!(
        doc["error"]["hints"].as_array().unwrap().iter().any(|h| h.as_str().unwrap().contains("failing conditions"))
    );
    let item = doc["items"].as_array().unwrap().iter().find(|i| i["name"] == "sonarqube").unwrap();
    assert_eq!(item["outcome"], "fail");
    assert_eq!(text(&out.stdout).matches("\"error\"").count(), 1, "one document, one error object");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_analysis_of_head_is_not_yet_and_wait_waits_for_it() {
    let s = Sonar::start("wait_timeout = \"1m\"").await;
    let older = vec![analysis("AYolder", "2026-11-29T10:00:00+0000", Some(OLDER_SHA), None)];
    // The compute engine is still processing HEAD's report.
    s.mount_ce(json!({
        "queue": [{ "id": "AYce2", "type": "REPORT", "componentId": "AYp", "componentKey": "acme_api",
                    "componentName": "api", "componentQualifier": "TRK", "branch": "main", "branchType": "BRANCH",
                    "status": "IN_PROGRESS", "submittedAt": "2026-11-30T15:01:58+0000",
                    "startedAt": "2026-11-30T15:02:00+0000" }],
        "current": { "id": "AYce1", "type": "REPORT", "componentKey": "acme_api", "branch": "main",
                     "branchType": "BRANCH", "analysisId": "AYolder", "status": "SUCCESS",
                     "submittedAt": "2026-11-29T09:59:00+0000", "executionTimeMs": 1371 }
    }))
    .await;
    s.mount_gate("AYolder", gate_ok()).await;

    // Without --wait: "not yet", exit 3, and the older analysis's green gate does not count.
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .and(query_param("branch", "main"))
        .respond_with(ResponseTemplate::new(200).set_body_json(search_page(1, 1, older.clone())))
        .up_to_n_times(3)
        .mount(&s.server)
        .await;
    let out = s.check(&[], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("SonarQube has no analysis of {} yet (branch main)", s.short())), "{err}");
    assert!(err.contains("latest analysis: bfe36592eb7f on 2026-11-29 10:00 UTC — not this commit"), "{err}");
    assert!(err.contains("compute engine: 1 report(s) being processed"), "{err}");
    assert!(err.contains("hint: wait for it: `shipit check --wait`"), "{err}");
    assert!(!err.contains("quality gate passed"), "{err}");

    // With --wait: two more polls see only the older analysis, then HEAD's appears.
    let mut with_head = vec![analysis("AYhead", "2026-11-30T15:02:11+0000", Some(&s.sha), None)];
    with_head.extend(older);
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .and(query_param("branch", "main"))
        .respond_with(ResponseTemplate::new(200).set_body_json(search_page(1, 2, with_head)))
        .mount(&s.server)
        .await;
    s.mount_gate("AYhead", gate_ok()).await;
    let out = s.check(&["--wait", "--poll-interval", "1s"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "waiting for SonarQube's analysis of {} (branch main); compute engine: 1 report(s) being processed",
            s.short()
        )),
        "progress is shown: {err}"
    );
    assert!(
        err.contains(&format!("SonarQube quality gate passed (analysis of {} on 2026-11-30 15:02 UTC", s.short())),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_gives_up_after_the_sonarqube_wait_timeout() {
    let s = Sonar::start("wait_timeout = \"2s\"").await;
    s.mount_analyses(1, 1, vec![analysis("AYolder", "2026-11-29T10:00:00+0000", None, None)]).await;
    // No Browse on the queue: progress is left out, the check still answers.
    Mock::given(method("GET")).and(path(CE)).respond_with(ResponseTemplate::new(403)).mount(&s.server).await;
    let out = s.check(&["--wait", "--poll-interval", "1s"], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("SonarQube has no analysis of {} after 2s (branch main)", s.short())), "{err}");
    assert!(err.contains("latest analysis: (no revision recorded)"), "{err}");
    assert!(err.contains("hint: raise `[check.sonarqube] wait_timeout`"), "{err}");
    assert!(err.contains("-Dsonar.scm.revision"), "analyses without a revision get a scanner hint: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_request_and_branch_parameters() {
    // pull_request (from the environment, as CI sets it) replaces the branch.
    let s = Sonar::start("pull_request = \"${PR_NUMBER:-}\"").await;
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .and(query_param("project", "acme_api"))
        .and(query_param("pullRequest", "412"))
        .and(query_param_is_missing("branch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(search_page(
            1,
            1,
            vec![analysis("AYpr", "2026-11-30T15:02:11+0000", Some(&s.sha), None)],
        )))
        .expect(1)
        .mount(&s.server)
        .await;
    s.mount_gate("AYpr", gate_error()).await;
    let out = s.check(&[], &[("PR_NUMBER", "412")]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("pull request 412)"), "{err}");
    assert!(err.contains(&format!("{}/dashboard?id=acme_api&pullRequest=412", s.server.uri())), "{err}");
    s.server.verify().await;

    // An explicit branch; a branch SonarQube does not know yet (404) is "not yet", not an error.
    let s = Sonar::start("branch = \"release/1.x\"").await;
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .and(query_param("branch", "release/1.x"))
        .and(query_param_is_missing("pullRequest"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "errors": [{ "msg": "Component 'acme_api' on branch 'release/1.x' not found" }]
        })))
        .expect(1)
        .mount(&s.server)
        .await;
    let out = s.check(&[], &[("PR_NUMBER", "")]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("SonarQube knows no branch release/1.x of acme_api yet"), "{err}");
    assert!(err.contains("hint: check `[check.sonarqube] project_key` (acme_api)"), "{err}");
    s.server.verify().await;

    // A detached HEAD (CI checks out the SHA) with no branch configured: the main branch, no parameter.
    let s = Sonar::start("").await;
    s.repo.git(&["checkout", "-q", "--detach"]);
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .and(query_param_is_missing("branch"))
        .and(query_param_is_missing("pullRequest"))
        .respond_with(ResponseTemplate::new(200).set_body_json(search_page(
            1,
            1,
            vec![analysis("AYmain", "2026-11-30T15:02:11+0000", Some(&s.sha), None)],
        )))
        .expect(1)
        .mount(&s.server)
        .await;
    s.mount_gate("AYmain", gate_ok()).await;
    let out = s.check(&[], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("main branch)"), "{}", describe(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_project_and_bad_token_are_errors() {
    let s = Sonar::start("branch = \"\"").await;
    Mock::given(method("GET"))
        .and(path(SEARCH))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({ "errors": [{ "msg": "Component key 'acme_api' not found" }] })),
        )
        .mount(&s.server)
        .await;
    let out = s.check(&[], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "the main branch of a missing project is a configuration problem: {}",
        describe(&out)
    );
    let err = text(&out.stderr);
    assert!(err.contains("Component key 'acme_api' not found"), "{err}");
    assert!(err.contains("hint: check `[check.sonarqube] project_key`"), "{err}");

    let s = Sonar::start("").await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(401)).mount(&s.server).await;
    let out = s.check(&[], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("rejected the token (401)"), "{err}");
    assert!(!err.contains("squ_testtoken"), "{err}");
}

#[test]
fn contradictory_sonarqube_and_unknown_settings_are_refused() {
    let repo = Repo::with_ship_toml(
        "[app]\nname = \"api\"\n\n[check.sonarqube]\nurl = \"https://sonar\"\nproject_key = \"k\"\nbranch = \"main\"\npull_request = \"7\"\n\n[scan]\nfail_on = \"unknown\"\nunknown = \"allow\"\n",
    );
    let out = repo.shipit().args(["config", "validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("`branch` and `pull_request` cannot both be set"), "{err}");
    assert!(err.contains("contradicts `fail_on = \"unknown\"`"), "{err}");

    let repo = Repo::with_ship_toml("[app]\nname = \"api\"\n\n[scan]\nunknwon = \"allow\"\n");
    let out = repo.shipit().args(["config", "validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("did you mean `unknown`?"), "{}", describe(&out));
    let repo = Repo::with_ship_toml("[app]\nname = \"api\"\n\n[scan]\nunknown = \"alow\"\n");
    let out = repo.shipit().args(["config", "validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("unknown value \"alow\", expected one of \"allow\", \"block\""), "{err}");
    assert!(err.contains("did you mean \"allow\"?"), "{err}");
}
