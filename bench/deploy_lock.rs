//! Benchmark (not a test): what the deploy lock costs a deploy — acquire (try_lock, plus the confirm read right
//! before the change) and release — on each target, against the same counterparts the tests use: the real Docker
//! engine (a volume), the fake Kubernetes API server over TCP (a Lease), the scripted ECS over HTTP (service tags).
//!
//! Run: `cargo bench --bench deploy_lock` (release build), or `--profile dev`. Needs the test environment's
//! dockerd (SHIPIT_TEST_ENV / .test-env/endpoints.json); `SHIPIT_BENCH_ROUNDS=N` (default 20). Prints medians.

#[path = "../tests/support/fake_kube.rs"]
mod fake_kube;

#[path = "../tests/support/fake_ecs.rs"]
#[allow(dead_code)]
mod fake_ecs;

use std::time::{Duration, Instant};

use shipit::deploy::lock;
use shipit::deploy::target::Target;
use shipit::rollout::LockAttempt;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn measure(name: &str, target: &Target, rounds: usize) {
    let mut times = Vec::new();
    for _ in 0..rounds {
        let rec =
            lock::record("shipit deploy bench", "sha256:bench", Duration::from_secs(600), target.can_renew_lock());
        let started = Instant::now();
        assert_eq!(target.try_lock(&rec, None).await.unwrap(), LockAttempt::Acquired, "{name}");
        assert_eq!(target.read_lock().await.unwrap().map(|r| r.nonce), Some(rec.nonce.clone()));
        target.unlock(&rec).await.unwrap();
        times.push(started.elapsed());
    }
    let m = median(times.clone());
    let max = times.iter().max().copied().unwrap_or_default();
    println!("| {name} | {:.1} ms | {:.1} ms | {rounds} |", m.as_secs_f64() * 1e3, max.as_secs_f64() * 1e3);
}

fn environment(toml: &str) -> shipit::config::Environment {
    toml::from_str(toml).expect("environment table")
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` runs this binary too, and must not benchmark.
    if !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--list") {
        eprintln!("deploy_lock: a benchmark; run it with `cargo bench --bench deploy_lock`");
        return;
    }
    let rounds: usize = std::env::var("SHIPIT_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        println!("| target | acquire + confirm + release (median) | max | rounds |");
        println!("|---|---|---|---|");

        let docker_host = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        let env = environment(&format!(
            "target = \"docker\"\ncontainer_name = \"bench-lock-{}\"\nhost = \"{docker_host}\"",
            std::process::id()
        ));
        let docker = Target::connect("bench", &env, "bench").await.expect("the Docker engine");
        measure("Docker host (volume)", &docker, rounds).await;

        let fake = fake_kube::FakeKube::start();
        fake.add_deployment("bench", "api", 1, &[("api", "r/api@sha256:0")], &[]);
        let dir = tempfile::tempdir().unwrap();
        let kc = fake.write_kubeconfig(dir.path(), "bench", Some("bench"));
        let env =
            environment(&format!("target = \"kubernetes\"\ndeployment = \"api\"\nkubeconfig = \"{}\"", kc.display()));
        let kube = Target::connect("bench", &env, "api").await.expect("the fake cluster");
        measure("Kubernetes (Lease)", &kube, rounds).await;

        let ecs_fake = fake_ecs::FakeEcs::start();
        ecs_fake.add_service(
            "bench",
            "api",
            serde_json::json!({"family": "api", "containerDefinitions": [{"name": "api", "image": "r/api:old"}]}),
            1,
            (true, false),
        );
        // SAFETY: set before any SDK client reads the environment, on this thread only.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDBENCH");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        }
        let env = environment(&format!(
            "target = \"ecs\"\ncluster = \"bench\"\nservice = \"api\"\nregion = \"us-east-1\"\nendpoint_url = \"{}\"",
            ecs_fake.url
        ));
        let ecs = Target::connect("bench", &env, "api").await.expect("the scripted ECS");
        measure("ECS (service tags)", &ecs, rounds).await;
    });
}
