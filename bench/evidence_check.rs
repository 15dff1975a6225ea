//! Benchmark (not a test): what the evidence gate costs every deploy — the engine's first step, reading the
//! digest's evidence from the registry and judging its stored Trivy report under today's policy — against the
//! test environment's open registry (distribution 2.8: no referrers API, so the referrers tag schema).
//!
//! The release is made the way a user makes it, through the shipit binary (`build`, `scan` with the real
//! trivy and the offline fixture DB, `push`); then `Gate::check` is timed in-process, with a fresh gate
//! (a new registry session, as each `shipit deploy` has) and with a warm one.
//!
//! Run: `cargo bench --bench evidence_check` (or `--profile dev`), with the test environment up (dockerd, the
//! open registry, busybox, trivy; SHIPIT_TEST_ENV or .test-env/endpoints.json). `SHIPIT_BENCH_ROUNDS=N`
//! (default 20). Prints medians.

#[path = "../tests/support/env.rs"]
#[allow(dead_code, unused_macros)]
mod env;

use std::process::Command;
use std::time::{Duration, Instant};

fn shipit(dir: &std::path::Path, env: &env::TestEnv, cache: &std::path::Path, args: &[&str]) {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("shipit");
    let out = Command::new(bin)
        .current_dir(dir)
        .args(args)
        .env("SHIPIT_TRIVY", env.trivy())
        .env("TRIVY_CACHE_DIR", cache)
        .env("SHIPIT_TRIVY_OFFLINE", "1")
        .env("CI", "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "shipit {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=bench", "-c", "user.email=bench@shipit.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--list") {
        eprintln!("evidence_check: a benchmark; run it with `cargo bench --bench evidence_check`");
        return;
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rounds: usize = std::env::var("SHIPIT_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    let env =
        env::require_all(&["docker", "registry_open", "busybox", "trivy", "trivy_db"]).expect("the test environment");
    let name = env::unique_name("evbench");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    std::fs::write(
        work.join("ship.toml"),
        format!(
            "[app]\nname = \"bench\"\n[scan]\nfail_on = \"high\"\n[registries.r]\ntype = \"oci\"\nrepository = \"{}/{name}\"\n\
             insecure = true\n[environments.dev]\ntarget = \"docker\"\ncontainer_name = \"{name}\"\n",
            env.registry_open
        ),
    )
    .unwrap();
    std::fs::copy(env.busybox.as_ref().unwrap(), work.join("busybox")).unwrap();
    std::fs::write(work.join("Dockerfile"), "FROM scratch\nCOPY busybox /bin/busybox\n").unwrap();
    git(work, &["init", "-q", "-b", "main"]);
    git(work, &["add", "-A"]);
    git(work, &["commit", "-q", "-m", "bench"]);
    let cache = env.trivy_cache();
    let check = "[check]\nrequire_pushed = false\n";
    let config = std::fs::read_to_string(work.join("ship.toml")).unwrap() + check;
    std::fs::write(work.join("ship.toml"), config).unwrap();
    git(work, &["commit", "-q", "-am", "no remote"]);
    for step in [&["build"][..], &["scan"], &["push"]] {
        shipit(work, env, cache.path(), step);
    }

    let loaded = shipit::config::load(None, work).unwrap();
    let environment = loaded.environment("dev").unwrap().clone();
    let head = shipit::providers::git::head_commit(work).unwrap();
    let release = shipit::release::Release::for_commit(work, &head.sha).expect("push wrote the release record");
    let ui = shipit::ui::Ui::new(shipit::cli::OutputFormat::Human, shipit::cli::ColorChoice::Never, true, true, 0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let silent = shipit::report::Silent;
        let mut cold = Vec::new();
        let mut warm = Vec::new();
        let gate = shipit::evidence::gate::Gate::for_env(&loaded, &environment, false, None, &silent).await.unwrap();
        for _ in 0..rounds {
            let started = Instant::now();
            let fresh =
                shipit::evidence::gate::Gate::for_env(&loaded, &environment, false, None, &silent).await.unwrap();
            let checked = fresh.check(&ui, "dev", Some(&release.image)).await.expect("the scan passes");
            cold.push(started.elapsed());
            assert_eq!(checked.scan.as_deref(), Some("passed"));

            let started = Instant::now();
            gate.check(&ui, "dev", Some(&release.image)).await.expect("the scan passes");
            warm.push(started.elapsed());
        }
        println!("| evidence gate (dev build: see docs/performance.md) | median | max | rounds |");
        println!("|---|---|---|---|");
        for (what, v) in [("new registry session + check (each deploy)", cold), ("check on a warm session", warm)] {
            let max = v.iter().max().copied().unwrap_or_default();
            println!(
                "| {what} | {:.1} ms | {:.1} ms | {rounds} |",
                median(v).as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3
            );
        }
    });
}
