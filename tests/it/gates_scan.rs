//! `shipit scan`: the gate over Trivy's real reports, the binary with a fake trivy (a given report or a given
//! failure), and the real trivy offline against images built on the spot.

use std::path::Path;

use chrono::NaiveDate;
use serde_json::Value;

use shipit::config::{Date, Exception, IString, Severity};
use shipit::scan::gate::{self, Policy, RegisteredException};
use shipit::scan::report;

use crate::support::cli::{describe, text};
use crate::support::fake_trivy::{FakeTrivy, fixture, fixtures_dir};
use crate::support::git_repo::Repo;

// ---------------------------------------------------------------------------------------------------------------
// Every fixture report through the gate, at every threshold, against the counts in the fixtures' README.

/// `| file | CRITICAL | HIGH | MEDIUM | LOW |` rows of tests/fixtures/trivy/README.md.
fn readme_counts() -> Vec<(String, [usize; 4])> {
    let readme = std::fs::read_to_string(fixtures_dir().join("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split('|').map(str::trim).collect();
            if cells.len() != 5 || !cells[0].ends_with(".json") {
                return None;
            }
            let n: Vec<usize> = cells[1..].iter().map(|c| c.parse().unwrap()).collect();
            Some((cells[0].to_string(), [n[0], n[1], n[2], n[3]]))
        })
        .collect()
}

fn policy(fail_on: Severity, ignore_unfixed: bool, exceptions: Vec<RegisteredException>) -> Policy {
    Policy { fail_on, ignore_unfixed, unknown: None, exceptions, today: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap() }
}

fn exception(id: &str, package: Option<&str>, expires: &str) -> RegisteredException {
    RegisteredException {
        exception: Exception {
            id: IString(id.into()),
            package: package.map(|p| IString(p.into())),
            reason: IString("accepted by security review".into()),
            expires: Date(NaiveDate::parse_from_str(expires, "%Y-%m-%d").unwrap()),
        },
        source: "ship.toml".into(),
    }
}

#[test]
fn every_fixture_report_at_every_threshold() {
    let rows = readme_counts();
    let on_disk: Vec<_> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(rows.len(), on_disk.len(), "README lists every fixture: {rows:?} vs {on_disk:?}");
    for (file, [c, h, m, l]) in rows {
        let parsed = report::parse(&std::fs::read(fixture(&file)).unwrap()).unwrap();
        assert_eq!(parsed.findings.len(), c + h + m + l, "{file}: finding count");
        for (fail_on, blocking) in [
            (Severity::Critical, c),
            (Severity::High, c + h),
            (Severity::Medium, c + h + m),
            (Severity::Low, c + h + m + l),
        ] {
            let v = gate::evaluate(&parsed, &policy(fail_on, false, vec![]));
            assert_eq!(v.blocking.len(), blocking, "{file} at {fail_on}: blocking");
            assert_eq!(v.allowed, c + h + m + l - blocking, "{file} at {fail_on}: allowed");
            assert_eq!(v.passed, blocking == 0, "{file} at {fail_on}: verdict");
            let counts = |s: &str| v.counts.get(s).copied().unwrap_or(0);
            assert_eq!([counts("CRITICAL"), counts("HIGH"), counts("MEDIUM"), counts("LOW")], [c, h, m, l], "{file}");
        }
    }
}

#[test]
fn fixture_exceptions_ignore_unfixed_and_expiry() {
    let parsed = report::parse(&std::fs::read(fixture("debian-buster.json")).unwrap()).unwrap();
    // CRITICAL libidn2 (fixed in 2.0.5-1+deb10u1) and LOW bash (no fix).
    let v = gate::evaluate(&parsed, &policy(Severity::Low, false, vec![]));
    assert_eq!(v.blocking.len(), 2);
    let v = gate::evaluate(&parsed, &policy(Severity::Low, true, vec![]));
    assert_eq!(v.blocking.len(), 1);
    assert_eq!(v.blocking[0].finding.id, "CVE-2019-18224");
    assert_eq!(v.unfixed_ignored, 1);

    let valid = exception("CVE-2019-18224", Some("libidn2-0"), "2026-06-01");
    let v = gate::evaluate(&parsed, &policy(Severity::Low, true, vec![valid]));
    assert!(v.passed);
    assert_eq!(v.exceptions_used[0].findings, 1);

    let expired = exception("CVE-2019-18224", None, "2026-05-31");
    let v = gate::evaluate(&parsed, &policy(Severity::Low, true, vec![expired]));
    assert!(!v.passed);
    assert!(v.exceptions_used.is_empty());
    assert_eq!(v.exceptions_expired[0].id, "CVE-2019-18224");
    assert!(v.blocking[0].expired_exception.is_some());

    // One CVE in two packages: an exception scoped to one package leaves the other blocking.
    let alpine = report::parse(&std::fs::read(fixture("alpine-39-high-critical.json")).unwrap()).unwrap();
    let v = gate::evaluate(
        &alpine,
        &policy(Severity::High, false, vec![exception("CVE-2019-14697", Some("musl"), "2099-01-01")]),
    );
    assert_eq!(v.blocking.len(), 1);
    assert_eq!(v.blocking[0].finding.package, "musl-utils");
    assert_eq!(v.excepted, 1);
}

// ---------------------------------------------------------------------------------------------------------------
// The binary with a fake trivy.

const REPOSITORY: &str = "127.0.0.1:5000/gates-test";

fn ship_toml(scan: &str) -> String {
    format!(
        "[app]\nname = \"api\"\n\n[registries.local]\ntype = \"oci\"\nrepository = \"{REPOSITORY}\"\ninsecure = true\n\n[scan]\n{scan}\n"
    )
}

fn scan(repo: &Repo, trivy: &Path, args: &[&str]) -> std::process::Output {
    repo.shipit().arg("scan").args(args).env("SHIPIT_TRIVY", trivy).output().unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn releases(repo: &Repo) -> std::path::PathBuf {
    repo.work().join(".shipit/releases")
}

#[test]
fn blocking_findings_are_tabled_and_the_report_is_saved() {
    let repo = Repo::with_ship_toml(&ship_toml("fail_on = \"high\""));
    let sha = repo.head();
    let trivy = FakeTrivy::emitting(&fixture("debian-buster.json"));
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("✘ scan     trivy: 1 CRITICAL, 0 HIGH (1 LOW allowed)"), "{err}");
    assert!(
        err.contains(&format!("error: scan: 1 blocking finding(s) at or above HIGH in {REPOSITORY}:{sha}")),
        "{err}"
    );
    assert!(err.contains("ID              PACKAGE    INSTALLED → FIXED          SEVERITY  TITLE"), "{err}");
    assert!(
        err.contains(
            "CVE-2019-18224  libidn2-0  2.0.5-1 → 2.0.5-1+deb10u1  CRITICAL  libidn2: heap-based buffer overflow"
        ),
        "{err}"
    );
    assert!(err.contains("1 finding(s) allowed (below HIGH)"), "{err}");
    assert!(err.contains("hint: upgrade the packages to the fixed versions shown"), "{err}");

    // trivy ran on HEAD's image, with both scanners, reporting everything and leaving the verdict to shipit.
    let args = trivy.args();
    assert_eq!(args.last().unwrap(), &format!("{REPOSITORY}:{sha}"));
    let joined = args.join(" ");
    assert!(joined.starts_with("image --format json --image-src docker --scanners vuln,secret"), "{joined}");
    assert!(joined.contains("--exit-code 0") && joined.contains("--timeout 600s"), "{joined}");

    // The full report, byte for byte, and the summary, next to the release record; .shipit is git-ignored.
    let saved = std::fs::read(releases(&repo).join(format!("{sha}.scan.json"))).unwrap();
    assert_eq!(saved, std::fs::read(fixture("debian-buster.json")).unwrap());
    let summary = read_json(&releases(&repo).join(format!("{sha}.scan-summary.json")));
    assert_eq!(summary["passed"], false);
    assert_eq!(summary["blocking"], 1);
    assert_eq!(summary["allowed"], 1);
    assert_eq!(summary["counts"]["CRITICAL"], 1);
    assert_eq!(summary["report"], format!(".shipit/releases/{sha}.scan.json"));
    assert!(repo.git(&["status", "--porcelain"]).is_empty(), "scan output must not dirty the tree");
}

#[test]
fn valid_exceptions_apply_and_expired_ones_are_reported() {
    let valid = "fail_on = \"high\"\n\n[[scan.exceptions]]\nid = \"CVE-2019-18224\"\npackage = \"libidn2-0\"\nreason = \"not reachable: no IDN input\"\nexpires = 2099-12-31\n";
    let repo = Repo::with_ship_toml(&ship_toml(valid));
    let sha = repo.head();
    let trivy = FakeTrivy::emitting(&fixture("debian-buster.json"));
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("✔ scan     trivy: 0 CRITICAL, 0 HIGH (1 LOW allowed, 1 excepted)"), "{err}");
    assert!(
        err.contains(
            "exception CVE-2019-18224 [libidn2-0] used for 1 finding(s) until 2099-12-31: not reachable: no IDN input"
        ),
        "{err}"
    );
    let summary = read_json(&releases(&repo).join(format!("{sha}.scan-summary.json")));
    assert_eq!(summary["passed"], true);
    assert_eq!(summary["exceptions_used"], serde_json::json!(["CVE-2019-18224"]));
    assert!(summary["counts"].get("CRITICAL").is_none(), "excepted findings are not counted");

    let expired = "fail_on = \"high\"\n\n[[scan.exceptions]]\nid = \"CVE-2019-18224\"\nreason = \"waiting for upstream\"\nexpires = 2020-01-31\n";
    repo.set_ship_toml(&ship_toml(expired));
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("[exception CVE-2019-18224 (expired 2020-01-31)]"), "{err}");
    assert!(
        err.contains(
            "exception CVE-2019-18224 EXPIRED on 2020-01-31 and no longer applies — it would cover 1 finding(s) here"
        ),
        "{err}"
    );
    assert!(err.contains("hint: renew an expired exception"), "{err}");
}

#[test]
fn exceptions_file_and_ignore_unfixed() {
    let toml = "fail_on = \"low\"\nignore_unfixed = true\nexceptions_file = \"security/exceptions.toml\"\n";
    let repo = Repo::with_ship_toml(&ship_toml(toml));
    let trivy = FakeTrivy::emitting(&fixture("debian-buster.json"));

    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("cannot read scan.exceptions_file"), "{}", describe(&out));

    repo.write(
        "security/exceptions.toml",
        "[[exceptions]]\nid = \"CVE-2019-18224\"\nreason = \"fixed in the next base image\"\nexpires = 2099-01-01\n",
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "exceptions"]);
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("1 finding(s) allowed (0 below LOW, 1 without a fix under ignore_unfixed)"), "{err}");
    assert!(err.contains("security/exceptions.toml)"), "the exception names its file: {err}");

    // Without ignore_unfixed the LOW bash finding (no fix) blocks at fail_on = low.
    repo.set_ship_toml(&ship_toml("fail_on = \"low\"\nexceptions_file = \"security/exceptions.toml\"\n"));
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("CVE-2019-18276  bash     5.0-4 → no fix yet"), "{}", describe(&out));
}

#[test]
fn json_output_is_the_verdict() {
    let repo = Repo::with_ship_toml(&ship_toml("fail_on = \"medium\""));
    let trivy = FakeTrivy::emitting(&fixture("alpine-39.json"));
    let out = scan(&repo, &trivy.path, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let stdout = text(&out.stdout);
    let verdict: Value = serde_json::Deserializer::from_str(&stdout).into_iter::<Value>().next().unwrap().unwrap();
    assert_eq!(verdict["verdict"]["passed"], false);
    assert_eq!(verdict["verdict"]["fail_on"], "medium");
    let blocking = verdict["verdict"]["blocking"].as_array().unwrap();
    assert_eq!(blocking.len(), 6);
    assert_eq!(blocking[0]["severity"], "critical");
    assert_eq!(blocking[0]["id"], "CVE-2019-14697");
    assert_eq!(blocking[0]["fixed"], "1.1.20-r5");
    assert_eq!(verdict["summary"]["blocking"], 6);
    // The same error object as every other failing command, next to the report, in the one document.
    assert_eq!(verdict["ok"], false);
    assert_eq!(verdict["error"]["class"], "gate");
    assert_eq!(verdict["error"]["exit_code"], 3);
    assert!(
        verdict["error"]["message"].as_str().unwrap().starts_with("scan: 6 blocking finding(s) at or above MEDIUM")
    );
    assert!(verdict["error"]["detail"].as_str().unwrap().contains("CVE-2019-14697"), "{verdict}");
    assert!(
        verdict["error"]["hints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h.as_str().unwrap().contains("[[scan.exceptions]]"))
    );
    assert_eq!(stdout.matches("\"SchemaVersion\"").count(), 0, "the verdict, not trivy's report");
    assert!(serde_json::from_str::<Value>(&stdout).is_ok(), "exactly one JSON document: {stdout}");

    let repo = Repo::with_ship_toml(&ship_toml("fail_on = \"critical\""));
    let trivy = FakeTrivy::emitting(&fixture("alpine-distroless.json"));
    let out = scan(&repo, &trivy.path, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], true);
    assert!(doc.get("error").is_none(), "{doc}");
}

#[test]
fn the_release_record_gets_the_summary() {
    let repo = Repo::with_ship_toml(&ship_toml("fail_on = \"critical\""));
    let sha = repo.head();
    let release = shipit::release::Release {
        app: "api".into(),
        commit: shipit::release::Commit {
            sha: sha.clone(),
            short_sha: sha[..12].into(),
            branch: Some("main".into()),
            author: None,
            message: None,
            tag: None,
            dirty: false,
        },
        registry: "local".into(),
        image: shipit::release::ImageRef {
            repository: REPOSITORY.into(),
            digest: format!("sha256:{}", "a".repeat(64)),
        },
        tags: vec![sha.clone()],
        created: chrono::Utc::now(),
        durations: Default::default(),
        scan: None,
    };
    release.save(&repo.work()).unwrap();
    let trivy = FakeTrivy::emitting(&fixture("alpine-distroless.json"));
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let record = shipit::release::Release::load(&releases(&repo).join(format!("{sha}.json"))).unwrap();
    let s = record.scan.expect("scan summary in the release record");
    assert!(s.passed);
    assert_eq!(s.allowed, 1);
    assert_eq!(s.counts.get("MEDIUM"), Some(&1));

    // An emergency skip replaces it, with the reason.
    let out = repo
        .shipit()
        .args(["scan", "--skip-scan", "--reason", "INC-1234: hotfix, trivy mirror down"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let record = shipit::release::Release::load(&releases(&repo).join(format!("{sha}.json"))).unwrap();
    assert_eq!(record.scan.unwrap().skipped_reason.as_deref(), Some("INC-1234: hotfix, trivy mirror down"));
}

#[test]
fn skip_scan_needs_a_reason_and_is_loud() {
    let repo = Repo::with_ship_toml(&ship_toml(""));
    let sha = repo.head();
    let trivy = FakeTrivy::emitting(&fixture("alpine-39.json"));
    let out = scan(&repo, &trivy.path, &["--skip-scan", "--reason", "CVE feed outage, INC-77"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("warning: THE SECURITY SCAN OF {REPOSITORY}:{sha} WAS SKIPPED: CVE feed outage, INC-77")),
        "{err}"
    );
    let summary = read_json(&releases(&repo).join(format!("{sha}.scan-summary.json")));
    assert_eq!(summary["skipped_reason"], "CVE feed outage, INC-77");
    assert!(!trivy.was_run(), "trivy must not run when the scan is skipped");

    let out = scan(&repo, &trivy.path, &["--skip-scan"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("--reason"), "{}", describe(&out));
    let out = scan(&repo, &trivy.path, &["--reason", "x"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = scan(&repo, &trivy.path, &["--skip-scan", "--reason", "  "]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("needs a non-empty --reason"), "{}", describe(&out));
}

#[test]
fn scan_disabled_in_ship_toml_is_recorded() {
    let repo = Repo::with_ship_toml(&ship_toml("enabled = false"));
    let trivy = FakeTrivy::emitting(&fixture("alpine-39.json"));
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("scan disabled in ship.toml"), "{}", describe(&out));
    let summary = read_json(&releases(&repo).join(format!("{}.scan-summary.json", repo.head())));
    assert_eq!(summary["skipped_reason"], "scan disabled in ship.toml (scan.enabled = false)");
}

#[test]
fn trivy_settings_from_the_environment_and_ship_toml() {
    let repo = Repo::with_ship_toml(&ship_toml("secrets = false\ntimeout = \"90s\""));
    let trivy = FakeTrivy::emitting(&fixture("alpine-distroless.json"));
    let out = repo
        .shipit()
        .args(["scan", "--output", "json"])
        .env("SHIPIT_TRIVY", &trivy.path)
        .env("TRIVY_CACHE_DIR", "/var/cache/trivy-test")
        .env("SHIPIT_TRIVY_OFFLINE", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let args = trivy.args().join(" ");
    assert!(args.contains("--scanners vuln --"), "{args}");
    assert!(args.contains("--timeout 90s"), "{args}");
    assert!(args.contains("--cache-dir /var/cache/trivy-test"), "{args}");
    assert!(args.contains("--skip-db-update --skip-java-db-update --offline-scan"), "{args}");

    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let args = trivy.args().join(" ");
    assert!(!args.contains("--cache-dir") && !args.contains("--offline-scan"), "{args}");
}

#[test]
fn trivy_failures_are_explained() {
    let repo = Repo::with_ship_toml(&ship_toml(""));
    let sha = repo.head();
    let missing_image = format!(
        "2026-01-01T00:00:00Z\tFATAL\tFatal error\trun error: image scan error: unable to find the specified image \"{REPOSITORY}:{sha}\" in [\"docker\"]: 1 error occurred:\n\t* docker error: unable to inspect the image: No such image\n"
    );
    let trivy = FakeTrivy::failing(1, &missing_image);
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("trivy cannot find the image {REPOSITORY}:{sha} in the local Docker engine")),
        "{err}"
    );
    assert!(err.contains("hint: build it first (`shipit build`)"), "{err}");

    let trivy = FakeTrivy::failing(2, "2026-01-01T00:00:00Z\tFATAL\tFatal error\tsomething unexpected broke\n");
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("trivy failed (exit code 2)"), "{err}");
    assert!(err.contains("something unexpected broke"), "trivy's own words are shown: {err}");

    let trivy =
        FakeTrivy::failing(1, "\tFATAL\tinit error: DB error: --skip-db-update cannot be specified on the first run\n");
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("no vulnerability database"), "{}", describe(&out));

    let out = repo.shipit().arg("scan").env("SHIPIT_TRIVY", "/nonexistent/trivy").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("cannot run /nonexistent/trivy"), "{}", describe(&out));

    let out = repo.shipit().arg("scan").env("PATH", "/nonexistent").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("trivy is not installed"), "{err}");
    assert!(err.contains("hint: install Trivy") && err.contains("SHIPIT_TRIVY=/path/to/trivy"), "{err}");

    assert!(!releases(&repo).join(format!("{sha}.scan-summary.json")).exists(), "a failed scan records nothing");
}

#[test]
fn a_trivy_output_of_an_empty_object_is_not_a_clean_report() {
    // Issue 16: `{}` (or a report that names no image) used to read as "0 findings". Real trivy leaves out
    // `Results` for a clean image but always writes SchemaVersion, ArtifactName and Metadata.
    let repo = Repo::with_ship_toml(&ship_toml(""));
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in
        [("empty.json", "{}"), ("no-image.json", r#"{"SchemaVersion":2,"ArtifactName":"api","Metadata":{}}"#)]
    {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let trivy = FakeTrivy::emitting(&path);
        let out = scan(&repo, &trivy.path, &[]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", describe(&out));
        let err = text(&out.stderr);
        assert!(err.contains("trivy's output is not a complete report"), "{name}: {err}");
        assert!(!err.contains("0 CRITICAL"), "{name} must not read as a verdict: {err}");
    }
}

#[test]
fn choosing_the_image() {
    let two = "[app]\nname = \"api\"\n\n[registries.ghcr]\ntype = \"ghcr\"\nrepository = \"ghcr.io/acme/api\"\n\n[registries.local]\ntype = \"oci\"\nrepository = \"127.0.0.1:5000/api\"\n";
    let repo = Repo::with_ship_toml(two);
    let sha = repo.head();
    let trivy = FakeTrivy::emitting(&fixture("alpine-distroless.json"));
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("pick one: `shipit scan --registry NAME` (ghcr, local)"), "{}", describe(&out));

    let out = scan(&repo, &trivy.path, &["--registry", "ghcr"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(trivy.args().last().unwrap(), &format!("ghcr.io/acme/api:{sha}"));

    let out = scan(&repo, &trivy.path, &["--registry", "ecr"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));

    // An explicit image not named by a commit SHA is scanned, but not recorded against HEAD.
    std::fs::remove_dir_all(releases(&repo)).unwrap();
    let out = scan(&repo, &trivy.path, &["ghcr.io/acme/api:v1.2"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(trivy.args().last().unwrap(), "ghcr.io/acme/api:v1.2");
    assert!(!releases(&repo).exists());
}

// ---------------------------------------------------------------------------------------------------------------
// The real trivy, offline, against images built on the spot.

/// Images built for a test, removed when it ends (also when it fails).
struct Images {
    socket: String,
    tags: Vec<String>,
}

impl Drop for Images {
    fn drop(&mut self) {
        let socket = self.socket.clone();
        let tags = std::mem::take(&mut self.tags);
        // Drop cannot await; a private runtime on a plain thread can.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let docker = bollard::Docker::connect_with_unix(&socket, 60, bollard::API_DEFAULT_VERSION).unwrap();
                for t in tags {
                    crate::build_push::keep(&docker, &t).await;
                    // Never the untagged parents: they are the build cache concurrent tests use.
                    let opts = bollard::query_parameters::RemoveImageOptionsBuilder::default()
                        .force(true)
                        .noprune(true)
                        .build();
                    let _ = docker.remove_image(&t, Some(opts), None).await;
                }
            })
        })
        .join();
    }
}

/// `docker build` of a context made of `files` (path in context → contents) plus a directory tree.
async fn build(docker: &bollard::Docker, tag: &str, dockerfile: &str, files: &[(&str, &str)], tree: Option<&Path>) {
    use futures_util::StreamExt;
    let mut ar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        ar.append_data(&mut h, name, data).unwrap();
    };
    add("Dockerfile", dockerfile.as_bytes());
    for (name, data) in files {
        add(name, data.as_bytes());
    }
    if let Some(dir) = tree {
        ar.append_dir_all("rootfs", dir.join("rootfs")).unwrap();
    }
    let body = ar.into_inner().unwrap();
    let opts =
        bollard::query_parameters::BuildImageOptionsBuilder::default().dockerfile("Dockerfile").t(tag).rm(true).build();
    let mut stream = docker.build_image(opts, None, Some(bollard::body_full(body.into())));
    while let Some(item) = stream.next().await {
        let info = item.unwrap_or_else(|e| panic!("build {tag}: {e}"));
        if let Some(e) = info.error_detail {
            panic!("build {tag}: {e:?}");
        }
    }
}

/// A repo whose single registry is `repository`, and a trivy cache holding a copy of the fixture DB.
struct RealScan {
    repo: Repo,
    cache: tempfile::TempDir,
    trivy: std::path::PathBuf,
}

impl RealScan {
    fn new(env: &crate::support::env::TestEnv, repository: &str, scan_toml: &str) -> RealScan {
        RealScan::with_cache(env, repository, scan_toml, env.trivy_cache())
    }

    fn with_cache(
        env: &crate::support::env::TestEnv,
        repository: &str,
        scan_toml: &str,
        cache: tempfile::TempDir,
    ) -> RealScan {
        let toml = format!(
            "[app]\nname = \"api\"\n\n[registries.local]\ntype = \"oci\"\nrepository = \"{repository}\"\ninsecure = true\n\n[scan]\n{scan_toml}\n"
        );
        let repo = Repo::with_ship_toml(&toml);
        RealScan { repo, cache, trivy: env.trivy().to_path_buf() }
    }

    fn scan(&self, args: &[&str]) -> std::process::Output {
        self.repo
            .shipit()
            .arg("scan")
            .args(args)
            .env("SHIPIT_TRIVY", &self.trivy)
            .env("TRIVY_CACHE_DIR", self.cache.path())
            .env("SHIPIT_TRIVY_OFFLINE", "1")
            .output()
            .unwrap()
    }

    fn set_scan(&self, repository: &str, scan_toml: &str) {
        self.repo.set_ship_toml(&format!(
            "[app]\nname = \"api\"\n\n[registries.local]\ntype = \"oci\"\nrepository = \"{repository}\"\ninsecure = true\n\n[scan]\n{scan_toml}\n"
        ));
    }
}

async fn scan_async(rs: &RealScan, args: &[&str]) -> std::process::Output {
    let mut cmd = rs.repo.shipit();
    cmd.arg("scan")
        .args(args)
        .env("SHIPIT_TRIVY", &rs.trivy)
        .env("TRIVY_CACHE_DIR", rs.cache.path())
        .env("SHIPIT_TRIVY_OFFLINE", "1");
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

async fn tag_head(docker: &bollard::Docker, image: &str, repository: &str, sha: &str) {
    let opts = bollard::query_parameters::TagImageOptionsBuilder::default().repo(repository).tag(sha).build();
    docker.tag_image(image, Some(opts)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn real_trivy_vulnerable_image_against_the_fixture_db() {
    let env = crate::require_env!("docker", "trivy", "trivy_db");
    let docker = env.docker().await;
    let repository = format!("127.0.0.1:5000/{}", crate::support::env::unique_name("gates-vuln"));
    let rs = RealScan::new(env, &repository, "fail_on = \"high\"");
    let mut images = Images { socket: env.docker_socket().to_string(), tags: vec![] };
    let base = format!("{repository}:base");
    build(&docker, &base, "FROM scratch\nCOPY rootfs/ /\n", &[], Some(&env.trivy_test_image_dir())).await;
    images.tags.push(base.clone());

    // Every ship.toml change is a commit: tag the image for the new HEAD each time.
    let retag = |rs: &RealScan, images: &mut Images| {
        let sha = rs.repo.head();
        images.tags.push(format!("{repository}:{sha}"));
        sha
    };

    let sha = retag(&rs, &mut images);
    tag_head(&docker, &base, &repository, &sha).await;
    let out = scan_async(&rs, &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("trivy: 1 CRITICAL, 0 HIGH (1 LOW allowed)"), "{err}");
    assert!(err.contains("CVE-2019-18224  libidn2-0  2.0.5-1 → 2.0.5-1+deb10u1  CRITICAL"), "{err}");
    let saved = read_json(&releases(&rs.repo).join(format!("{sha}.scan.json")));
    assert_eq!(saved["SchemaVersion"], 2);
    assert_eq!(saved["ArtifactName"], format!("{repository}:{sha}"));

    // An exception lets it through; the LOW without a fix stays allowed at fail_on = critical.
    let with_exception = "fail_on = \"critical\"\n\n[[scan.exceptions]]\nid = \"CVE-2019-18224\"\npackage = \"libidn2-0\"\nreason = \"IDN input is never parsed\"\nexpires = 2099-12-31\n";
    rs.set_scan(&repository, with_exception);
    let sha = retag(&rs, &mut images);
    tag_head(&docker, &base, &repository, &sha).await;
    let out = scan_async(&rs, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("trivy: 0 CRITICAL (1 LOW allowed, 1 excepted)"), "{}", describe(&out));

    // At fail_on = low the unfixed bash LOW blocks, unless ignore_unfixed.
    let low = with_exception.replace("fail_on = \"critical\"", "fail_on = \"low\"");
    rs.set_scan(&repository, &low);
    let sha = retag(&rs, &mut images);
    tag_head(&docker, &base, &repository, &sha).await;
    let out = scan_async(&rs, &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("CVE-2019-18276  bash"), "{}", describe(&out));

    rs.set_scan(&repository, &low.replace("fail_on = \"low\"", "fail_on = \"low\"\nignore_unfixed = true"));
    let sha = retag(&rs, &mut images);
    tag_head(&docker, &base, &repository, &sha).await;
    let out = scan_async(&rs, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("without a fix under ignore_unfixed"), "{}", describe(&out));

    // Without the exception, fail_on = critical still blocks the CRITICAL.
    rs.set_scan(&repository, "fail_on = \"critical\"");
    let sha = retag(&rs, &mut images);
    tag_head(&docker, &base, &repository, &sha).await;
    let out = scan_async(&rs, &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn real_trivy_clean_image_passes_and_a_baked_in_aws_key_fails() {
    let env = crate::require_env!("docker", "trivy", "trivy_db");
    let docker = env.docker().await;
    let repository = format!("127.0.0.1:5000/{}", crate::support::env::unique_name("gates-clean"));
    let rs = RealScan::new(env, &repository, "fail_on = \"high\"");
    let sha = rs.repo.head();
    let clean = format!("{repository}:{sha}");
    let mut images = Images { socket: env.docker_socket().to_string(), tags: vec![clean.clone()] };
    build(&docker, &clean, "FROM scratch\nCOPY hello.txt /srv/hello.txt\n", &[("hello.txt", "hello\n")], None).await;
    let out = scan_async(&rs, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("trivy: 0 CRITICAL, 0 HIGH"), "{}", describe(&out));
    let summary = read_json(&releases(&rs.repo).join(format!("{sha}.scan-summary.json")));
    assert_eq!(summary["passed"], true);
    assert_eq!(summary["counts"], serde_json::json!({}));

    // The same secret pattern Trivy's aws-access-key-id / aws-secret-access-key rules look for (a made-up key).
    let leaked = format!("{}:leaky", repository);
    images.tags.push(leaked.clone());
    let env_file =
        "AWS_ACCESS_KEY_ID=AKIA2E0A8F3B244C9986\nAWS_SECRET_ACCESS_KEY=s3Kr1tQ7vPz9LmN0xW4yB8cD2eF6gH1jK5lM3nO7\n";
    build(&docker, &leaked, "FROM scratch\nCOPY config.env /app/config.env\n", &[("config.env", env_file)], None).await;
    let out = rs.scan(&[&leaked]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("aws-access-key-id"), "{err}");
    assert!(err.contains("/app/config.env:1"), "{err}");
    assert!(err.contains("secret: remove it from the image"), "{err}");
    assert!(err.contains("hint: a secret is baked into the image"), "{err}");
    assert!(!err.contains("s3Kr1tQ7vPz9LmN0xW4yB8cD2eF6gH1jK5lM3nO7"), "the secret itself is never printed: {err}");

    // With secrets = false the secret scanner does not run and the image passes.
    rs.set_scan(&repository, "fail_on = \"high\"\nsecrets = false");
    let out = rs.scan(&[&leaked]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    drop(images);
}

// ---------------------------------------------------------------------------------------------------------------
// Findings without a severity rating, and .trivyignore / trivy.yaml, which must not bypass the register.

/// tests/fixtures/trivy-db-unknown: the fixture DB plus three Alpine advisories without details (UNKNOWN).
fn unknown_fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trivy-db-unknown")
}

/// A fresh trivy cache holding a writable copy of that DB.
fn unknown_db_cache() -> tempfile::TempDir {
    let cache = tempfile::tempdir().unwrap();
    let db = cache.path().join("db");
    std::fs::create_dir_all(&db).unwrap();
    for name in ["trivy.db", "metadata.json"] {
        std::fs::copy(unknown_fixture().join("db").join(name), db.join(name)).unwrap();
        let mut perm = std::fs::metadata(db.join(name)).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        std::fs::set_permissions(db.join(name), perm).unwrap();
    }
    cache
}

#[tokio::test(flavor = "multi_thread")]
async fn real_trivy_unknown_findings_under_both_settings() {
    let env = crate::require_env!("docker", "trivy");
    let docker = env.docker().await;
    let repository = format!("127.0.0.1:5000/{}", crate::support::env::unique_name("gates-unknown"));
    let rs = RealScan::with_cache(env, &repository, "fail_on = \"high\"", unknown_db_cache());
    let mut images = Images { socket: env.docker_socket().to_string(), tags: vec![] };
    let base = format!("{repository}:base");
    build(&docker, &base, "FROM scratch\nCOPY rootfs/ /\n", &[], Some(&unknown_fixture().join("image"))).await;
    images.tags.push(base.clone());
    let retag = |rs: &RealScan, images: &mut Images| {
        let sha = rs.repo.head();
        images.tags.push(format!("{repository}:{sha}"));
        sha
    };

    // Default at fail_on = high: UNKNOWN is rated like LOW, so allowed, but counted and named.
    let sha = retag(&rs, &mut images);
    tag_head(&docker, &base, &repository, &sha).await;
    let out = scan_async(&rs, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("✔ scan     trivy: 0 CRITICAL, 0 HIGH (3 UNKNOWN allowed)"), "{err}");
    assert!(
        err.contains("3 UNKNOWN finding(s) allowed — no severity rating (unknown not set: rated like LOW, which fail_on = \"high\" allows): CVE-2018-20679 (busybox), CVE-2019-5747 (busybox), CVE-2019-12900 (libbz2)"),
        "{err}"
    );
    let summary = read_json(&releases(&rs.repo).join(format!("{sha}.scan-summary.json")));
    assert_eq!(summary["counts"]["UNKNOWN"], 3);
    assert_eq!(summary["allowed"], 3);

    // unknown = "block": they block, in the table, with a hint that says why.
    rs.set_scan(&repository, "fail_on = \"high\"\nunknown = \"block\"");
    let sha = retag(&rs, &mut images);
    tag_head(&docker, &base, &repository, &sha).await;
    let out = scan_async(&rs, &["--output", "json"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("✘ scan     trivy: 0 CRITICAL, 0 HIGH, 3 UNKNOWN"), "{err}");
    assert!(err.contains("error: scan: 3 blocking finding(s) at or above HIGH or UNKNOWN in"), "{err}");
    assert!(err.contains("CVE-2019-12900  libbz2   1.0.6-r6 → 1.0.6-r7"), "{err}");
    assert!(err.contains("UNKNOWN"), "{err}");
    assert!(
        err.contains("hint: 3 blocking finding(s) have no severity rating (UNKNOWN; unknown = \"block\")"),
        "{err}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["verdict"]["unknown"], "block");
    assert_eq!(doc["verdict"]["blocking"][0]["severity"], "unknown");
    assert_eq!(doc["error"]["class"], "gate");

    // The default at fail_on = low blocks them too (rated like LOW); unknown = "allow" lets them through.
    rs.set_scan(&repository, "fail_on = \"low\"");
    let sha = retag(&rs, &mut images);
    tag_head(&docker, &base, &repository, &sha).await;
    let out = scan_async(&rs, &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("trivy: 0 CRITICAL, 0 HIGH, 0 MEDIUM, 0 LOW, 3 UNKNOWN"), "{}", describe(&out));
    rs.set_scan(&repository, "fail_on = \"low\"\nunknown = \"allow\"");
    let sha = retag(&rs, &mut images);
    tag_head(&docker, &base, &repository, &sha).await;
    let out = scan_async(&rs, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("(3 UNKNOWN allowed)"), "{}", describe(&out));
    drop(images);
}

#[tokio::test(flavor = "multi_thread")]
async fn real_trivy_a_trivyignore_or_trivy_yaml_does_not_unblock_a_finding() {
    let env = crate::require_env!("docker", "trivy", "trivy_db");
    let docker = env.docker().await;
    let repository = format!("127.0.0.1:5000/{}", crate::support::env::unique_name("gates-ignore"));
    let rs = RealScan::new(env, &repository, "fail_on = \"low\"");
    // Committed, as a team would: the tree stays clean and HEAD's image is tagged below.
    rs.repo.write(".trivyignore", "# accepted long ago, nobody remembers why\nCVE-2019-18224\n");
    rs.repo.write("trivy.yaml", "vulnerability:\n  ignore-unfixed: true\n");
    rs.repo.git(&["add", "-A"]);
    rs.repo.git(&["commit", "-q", "-m", "trivy files"]);
    let sha = rs.repo.head();
    let image = format!("{repository}:{sha}");
    let images = Images { socket: env.docker_socket().to_string(), tags: vec![image.clone()] };
    build(&docker, &image, "FROM scratch\nCOPY rootfs/ /\n", &[], Some(&env.trivy_test_image_dir())).await;

    let mut cmd = rs.repo.shipit();
    cmd.arg("scan")
        .env("SHIPIT_TRIVY", &rs.trivy)
        .env("TRIVY_CACHE_DIR", rs.cache.path())
        .env("SHIPIT_TRIVY_OFFLINE", "1")
        // The same bypass through the environment.
        .env("TRIVY_IGNORE_UNFIXED", "true")
        .env("TRIVY_IGNOREFILE", rs.repo.work().join(".trivyignore"));
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("trivy: 1 CRITICAL, 0 HIGH, 0 MEDIUM, 1 LOW"), "both findings still block: {err}");
    assert!(err.contains("CVE-2019-18224  libidn2-0"), "{err}");
    assert!(
        err.contains("CVE-2019-18276  bash"),
        "ignore-unfixed from trivy.yaml / TRIVY_IGNORE_UNFIXED did not apply: {err}"
    );
    assert!(err.contains(".trivyignore (1 entry) is not used: shipit's exception register"), "{err}");
    assert!(err.contains("not passing TRIVY_IGNORE_UNFIXED to trivy"), "{err}");
    assert!(err.contains("hint: CVE-2019-18224 is listed in"), "{err}");
    assert!(err.contains("`shipit scan --convert-trivyignore`"), "{err}");
    drop(images);
}

#[test]
fn convert_trivyignore_prints_exceptions_that_need_a_reason() {
    let repo = Repo::with_ship_toml(&ship_toml("fail_on = \"high\""));
    let trivy = FakeTrivy::emitting(&fixture("debian-buster.json"));
    let out = repo.shipit().args(["scan", "--convert-trivyignore"]).env("SHIPIT_TRIVY", &trivy.path).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("no .trivyignore in"), "{}", describe(&out));

    repo.write(
        ".trivyignore",
        "# libidn2 is only reached through curl's IDN support (SEC-231)\nCVE-2019-18224 exp:2099-01-31\nCVE-2019-18276\n",
    );
    let out = repo.shipit().args(["scan", "--convert-trivyignore"]).env("SHIPIT_TRIVY", &trivy.path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(!trivy.was_run(), "converting does not scan");
    let toml_text = text(&out.stdout);
    assert!(toml_text.contains("[[scan.exceptions]]\nid = \"CVE-2019-18224\"\nreason = \"libidn2 is only reached through curl's IDN support (SEC-231)\"\nexpires = 2099-01-31\n"), "{toml_text}");
    assert!(toml_text.contains("id = \"CVE-2019-18276\"\nreason = \"\"  # write why"), "{toml_text}");
    assert!(text(&out.stderr).contains("2 entries as [[scan.exceptions]]: add them to"), "{}", describe(&out));

    // Appended as printed, ship.toml is refused until every reason is written; then the register applies.
    let base = ship_toml("fail_on = \"high\"");
    repo.set_ship_toml(&format!("{base}\n{toml_text}"));
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("needs a non-empty `id` and `reason`"), "{}", describe(&out));
    repo.set_ship_toml(&format!("{base}\n{}", toml_text.replace("reason = \"\"", "reason = \"bash is never run\"")));
    let out = scan(&repo, &trivy.path, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("exception CVE-2019-18224 used for 1 finding(s) until 2099-01-31"), "{err}");
    assert!(err.contains(".trivyignore (2 entries) is not used"), "the file is still named until it is deleted: {err}");
    let args = trivy.args().join(" ");
    assert!(args.contains("--ignorefile /") && args.contains("--config /"), "{args}");
    assert!(!args.contains(&repo.work().display().to_string()), "trivy never reads the project's files: {args}");

    // With scan.exceptions_file, the entries are printed for that file's [[exceptions]].
    repo.set_ship_toml(&ship_toml("exceptions_file = \"security/exceptions.toml\""));
    let out = repo.shipit().args(["scan", "--convert-trivyignore"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stdout).contains("[[exceptions]]\nid = \"CVE-2019-18224\""), "{}", describe(&out));
    assert!(text(&out.stderr).contains("add them to security/exceptions.toml"), "{}", describe(&out));
}
