//! Benchmark (not a test): how long after the deployment controller marks a rollout complete does shipit say so?
//!
//! Against the fake API server of tests/support/fake_kube.rs, which records the instant it writes the status
//! that completes a rollout, three ways of noticing it, side by side:
//!
//! 1. `KubeTarget::deploy` in-process (the watcher): completion write → `deploy()` returns;
//! 2. the shipit binary (`shipit deploy prod --image …`): completion write → its "is live" line on stderr;
//! 3. a 1-second poller (`live()` every second), the approach a watch replaces.
//!
//! Run: `cargo bench --bench kube_rollout` (release build). `SHIPIT_BENCH_ROUNDS=N` (default 10).
//! `cargo bench --bench kube_rollout -- --serve` instead starts the fake cluster, writes a kubeconfig and a
//! ship.toml into a temp dir, prints how to use them and waits (for trying shipit by hand).

#[path = "../tests/support/fake_kube.rs"]
mod fake_kube;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use fake_kube::{Behaviour, FakeKube};
use shipit::providers::kube::KubeTarget;
use shipit::release::ImageRef;
use shipit::rollout::{DeployMeta, DeployOptions, Outcome};

const NS: &str = "bench";
const REPO: &str = "127.0.0.1:5000/api";

fn digest(i: usize) -> String {
    format!("sha256:{i:064x}")
}

fn pinned(i: usize) -> String {
    format!("{REPO}@{}", digest(i))
}

fn since(at: SystemTime, now: SystemTime) -> f64 {
    match now.duration_since(at) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(e) => -(e.duration().as_secs_f64() * 1000.0),
    }
}

struct Stats(Vec<f64>);

impl Stats {
    fn row(&self, what: &str) -> String {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let p50 = v[v.len() / 2];
        let max = v[v.len() - 1];
        format!("| {what} | {} | {mean:.1} | {p50:.1} | {max:.1} |", v.len())
    }
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary too, and must not benchmark.
    if !args.iter().any(|a| a == "--bench" || a == "--serve") || args.iter().any(|a| a == "--list") {
        eprintln!("kube_rollout: a benchmark; run it with `cargo bench --bench kube_rollout`");
        return;
    }
    let rounds: usize = std::env::var("SHIPIT_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(10);

    let fake = FakeKube::start();
    fake.set_default(Behaviour::Succeed { step: Duration::from_millis(50) });
    fake.add_deployment(NS, "api", 3, &[("api", &pinned(0))], &[]);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = fake.write_kubeconfig(dir.path(), "bench", Some(NS));
    std::fs::write(
        dir.path().join("ship.toml"),
        format!(
            "[app]\nname = \"api\"\n\n[registries.local]\ntype = \"oci\"\nrepository = \"{REPO}\"\n\n\
             [environments.prod]\ntarget = \"kubernetes\"\ndeployment = \"api\"\napproval = \"none\"\ntimeout = \"60s\"\nauto_rollback = true\n"
        ),
    )
    .unwrap();

    if args.iter().any(|a| a == "--serve") {
        serve(&fake, dir.path(), &kubeconfig);
        return;
    }

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let env: shipit::config::Environment = toml::from_str(&format!(
        "target = \"kubernetes\"\ndeployment = \"api\"\nkubeconfig = \"{}\"",
        kubeconfig.display()
    ))
    .unwrap();
    let target = rt.block_on(KubeTarget::connect("prod", &env.kube("prod").unwrap(), "api")).unwrap();
    let meta = DeployMeta { commit: "bench".into(), deployer: "bench".into(), cause: "bench".into(), summary: None };
    let opts =
        DeployOptions { force: false, timeout: Duration::from_secs(60), auto_rollback: false, wait_merge: false };
    let mut next = 1;

    // 1. In-process watcher.
    let mut inproc = Vec::new();
    for _ in 0..rounds {
        let image = ImageRef { repository: REPO.into(), digest: digest(next) };
        next += 1;
        let outcome = rt.block_on(target.deploy(&image, &meta, &opts, &shipit::report::Silent)).unwrap();
        let now = SystemTime::now();
        assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome:?}");
        let done = fake.completions().last().cloned().expect("a completion");
        inproc.push(since(done.at, now));
    }

    // 2. The release binary, reading its stderr as it is written.
    let bin = env!("CARGO_BIN_EXE_shipit");
    let mut binary = Vec::new();
    for _ in 0..rounds {
        let before = fake.completions().len();
        let mut child = Command::new(bin)
            .args(["deploy", "prod", "--image", &pinned(next)])
            .current_dir(dir.path())
            .env("KUBECONFIG", &kubeconfig)
            .env("NO_COLOR", "1")
            .env("SHIPIT_DEPLOYER", "bench")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("run shipit");
        next += 1;
        let mut live_at = None;
        let mut log = Vec::new();
        for line in BufReader::new(child.stderr.take().unwrap()).lines() {
            let line = line.unwrap();
            if live_at.is_none() && line.contains("is live") {
                live_at = Some(SystemTime::now());
            }
            log.push(line);
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "shipit failed: {}", log.join("\n"));
        let done = fake.completions().get(before).cloned().expect("a completion");
        binary.push(since(done.at, live_at.unwrap_or_else(|| panic!("no 'is live' line: {}", log.join("\n")))));
    }

    // 3. A 1 s poller over the same API (what a watch replaces). Its phase relative to the rollout is spread
    // evenly over the second, as it would be in real life.
    let mut poller = Vec::new();
    for k in 0..rounds {
        let phase = Duration::from_millis((1000 * k / rounds) as u64);
        let before = fake.completions().len();
        let image = pinned(next);
        next += 1;
        fake.edit(
            NS,
            "api",
            serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "api", "image": image}]}}}}),
        );
        let started = Instant::now();
        let seen = rt.block_on(async {
            tokio::time::sleep(phase).await;
            loop {
                let live = target.live().await.unwrap().unwrap();
                if live.image == image && live.rollout == "COMPLETED" {
                    return SystemTime::now();
                }
                assert!(started.elapsed() < Duration::from_secs(60), "poller never saw completion");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let done = fake.completions().get(before).cloned().expect("a completion");
        poller.push(since(done.at, seen));
    }

    println!("| how the completion is noticed | rollouts | mean ms | p50 ms | max ms |");
    println!("|---|---|---|---|---|");
    println!("{}", Stats(inproc).row("KubeTarget::deploy (watch), in-process"));
    println!("{}", Stats(binary).row("`shipit deploy` binary, \"is live\" line on stderr"));
    println!("{}", Stats(poller).row("1 s poller (`live()` every second), for comparison"));
}

fn serve(fake: &FakeKube, dir: &std::path::Path, kubeconfig: &std::path::Path) {
    fake.script(&format!("{:064x}", 0xbad), Behaviour::waiting("ImagePullBackOff", "Back-off pulling image", 0));
    fake.script(&format!("{:064x}", 0xdead), Behaviour::ProgressDeadline { after: Duration::from_secs(3) });
    fake.set_default(Behaviour::Succeed { step: Duration::from_millis(700) });
    println!("fake cluster at {} (namespace {NS}, Deployment api, 3 replicas)", fake.url());
    println!("  cd {}", dir.display());
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  shipit deploy prod --image {}   # succeeds, 0.7 s per pod", pinned(1));
    println!("  shipit deploy prod --image {}   # ImagePullBackOff, auto-rollback", pinned(0xbad));
    println!("  shipit deploy prod --image {}   # ProgressDeadlineExceeded after 3 s", pinned(0xdead));
    println!("Ctrl-C to stop.");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
