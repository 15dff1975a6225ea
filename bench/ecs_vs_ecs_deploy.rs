//! ECS deploy+wait and rollback: shipit vs the Python `ecs-deploy` CLI, side by side in one run against the
//! same scripted ECS endpoint (tests/support/fake_ecs.rs), plus how long after a rollout completes shipit says so.
//!
//!     cargo bench --bench ecs_vs_ecs_deploy                # release build of shipit (what users run)
//!     cargo bench --bench ecs_vs_ecs_deploy --profile dev  # quicker to build, for trying it out
//!
//! Options (environment): BENCH_ROUNDS (default 5), BENCH_STEP_MS (time for one task to start, default 250),
//! ECS_DEPLOY (path of the `ecs` CLI; default: `ecs_deploy` from the test environment's endpoints.json, see
//! SHIPIT_TEST_ENV). Not a test: it prints a table for docs/performance.md and asserts nothing.

#[path = "../tests/support/fake_ecs.rs"]
#[allow(dead_code)]
mod fake_ecs;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use fake_ecs::{FakeEcs, Script};
use serde_json::json;

const REPO: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/api";
const DESIRED: i64 = 2;

fn digest(n: u32) -> String {
    format!("sha256:{:064x}", 0xbe00 + n)
}

fn task_definition() -> serde_json::Value {
    json!({
        "family": "api",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "api", "image": format!("{REPO}:old"), "essential": true,
            "portMappings": [{ "containerPort": 8080, "protocol": "tcp" }],
            "environment": [{ "name": "RUST_LOG", "value": "info" }],
        }],
    })
}

/// A finished command: wall time, and when (if ever) a line containing `done_marker` appeared on its output.
struct Run {
    wall: Duration,
    reported_at: Option<SystemTime>,
    ok: bool,
    output: String,
}

fn run(mut cmd: Command, done_marker: &str) -> Run {
    let start = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let marker = done_marker.to_string();
    let watch = move |r: Box<dyn std::io::Read + Send>| {
        let marker = marker.clone();
        std::thread::spawn(move || {
            let mut seen = None;
            let mut all = String::new();
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                if seen.is_none() && line.contains(&marker) {
                    seen = Some(SystemTime::now());
                }
                all.push_str(&line);
                all.push('\n');
            }
            (seen, all)
        })
    };
    let out_thread = watch(Box::new(stdout));
    let err_thread = watch(Box::new(stderr));
    let status = child.wait().expect("wait");
    let wall = start.elapsed();
    let (a, out) = out_thread.join().unwrap();
    let (b, err) = err_thread.join().unwrap();
    Run { wall, reported_at: a.or(b), ok: status.success(), output: format!("{out}{err}") }
}

fn aws_env(cmd: &mut Command, endpoint: &str, home: &Path) {
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("SHIPIT_") || k == "CI" {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_CONFIG_FILE", home.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
        .env("NO_COLOR", "1")
        .env("SHIPIT_DEPLOYER", "bench");
}

fn shipit(bin: &Path, dir: &Path, endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir).args(args);
    aws_env(&mut cmd, endpoint, dir);
    cmd
}

fn ecs_deploy(bin: &Path, dir: &Path, endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir).args(args);
    aws_env(&mut cmd, endpoint, dir);
    cmd
}

fn find_ecs_deploy() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ECS_DEPLOY") {
        return Some(PathBuf::from(p));
    }
    let env_file = std::env::var("SHIPIT_TEST_ENV").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".test-env/endpoints.json").display().to_string()
    });
    let text = std::fs::read_to_string(env_file).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["ecs_deploy"].as_str().filter(|s| !s.is_empty()).map(PathBuf::from)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 }
}

fn max(xs: &[f64]) -> f64 {
    xs.iter().cloned().fold(f64::NAN, f64::max)
}

/// Seconds from the fake's completion of `task_definition`'s rollout to the tool's line saying so.
fn latency(fake: &FakeEcs, task_definition: &str, reported: Option<SystemTime>) -> Option<f64> {
    let done = fake.completions().into_iter().rev().find(|(td, _)| td.ends_with(task_definition))?.1;
    Some(reported?.duration_since(done).map(|d| d.as_secs_f64()).unwrap_or_else(|e| -e.duration().as_secs_f64()))
}

#[derive(Default)]
struct Samples {
    deploy: Vec<f64>,
    rollback: Vec<f64>,
    deploy_latency: Vec<f64>,
    rollback_latency: Vec<f64>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve") {
        return serve();
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary too, and must not benchmark.
    if !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--list") {
        eprintln!("ecs_vs_ecs_deploy: a benchmark; run it with `cargo bench --bench ecs_vs_ecs_deploy`");
        return;
    }
    let rounds: u32 = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let steps: Vec<Duration> = std::env::var("BENCH_STEP_MS")
        .unwrap_or_else(|_| "0,250,2000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .map(Duration::from_millis)
        .collect();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_shipit"));
    let ecs = find_ecs_deploy();
    let profile = if bin.components().any(|c| c.as_os_str() == "release") { "release" } else { "dev" };
    eprintln!("shipit: {} ({profile} build)", bin.display());
    match &ecs {
        Some(p) => eprintln!("ecs-deploy: {}", p.display()),
        None => eprintln!("ecs-deploy: not found (set ECS_DEPLOY or SHIPIT_TEST_ENV); measuring shipit alone"),
    }

    let mut table = vec![
        format!("| rollout ({DESIRED} tasks) | what (median of {rounds}) | shipit ({profile}) | ecs-deploy | ratio |"),
        "|---|---|---|---|---|".to_string(),
    ];
    for step in steps {
        let rollout = step * (DESIRED as u32 + 1);
        let label = if step.is_zero() {
            "instant".to_string()
        } else {
            format!("{:.2} s ({} ms per task)", rollout.as_secs_f64(), step.as_millis())
        };
        eprintln!("rollout: {label}; {rounds} rounds");
        let (ours, theirs) = measure(step, rounds, &bin, ecs.as_deref());
        let cell = |xs: &[f64]| if xs.is_empty() { "-".to_string() } else { format!("{:.2} s", median(xs.to_vec())) };
        let ratio = |a: &[f64], b: &[f64]| {
            if a.is_empty() || b.is_empty() {
                "-".to_string()
            } else {
                format!("{:.2}×", median(a.to_vec()) / median(b.to_vec()))
            }
        };
        let lat = |xs: &[f64]| {
            if xs.is_empty() { "-".to_string() } else { format!("{:.2} s (max {:.2})", median(xs.to_vec()), max(xs)) }
        };
        table.push(format!(
            "| {label} | deploy + wait | {} | {} | {} |",
            cell(&ours.deploy),
            cell(&theirs.deploy),
            ratio(&ours.deploy, &theirs.deploy)
        ));
        table.push(format!(
            "| {label} | rollback + wait | {} | {} | {} |",
            cell(&ours.rollback),
            cell(&theirs.rollback),
            ratio(&ours.rollback, &theirs.rollback)
        ));
        let mut ours_lat = ours.deploy_latency.clone();
        ours_lat.extend(&ours.rollback_latency);
        let mut theirs_lat = theirs.deploy_latency.clone();
        theirs_lat.extend(&theirs.rollback_latency);
        table.push(format!("| {label} | rollout completed → reported | {} | {} | |", lat(&ours_lat), lat(&theirs_lat)));
    }
    println!("{}", table.join("\n"));
}

/// `--serve`: the scripted ECS with cluster `demo`, service `api`, for trying shipit by hand. Rollouts take
/// 3 × 1.5 s; `BENCH_SCRIPT=fail` makes them fail by circuit breaker instead.
fn serve() {
    let fake = FakeEcs::start();
    fake.add_service("demo", "api", task_definition(), DESIRED, (true, false));
    let step = Duration::from_millis(1500);
    for _ in 0..100 {
        fake.script(
            "api",
            match std::env::var("BENCH_SCRIPT").as_deref() {
                Ok("fail") => Script::CircuitBreaker {
                    step,
                    failures: 3,
                    reason: "Essential container in task exited".into(),
                    exit_code: 137,
                    rollback: false,
                },
                _ => Script::Completes { step },
            },
        );
    }
    println!("{}", fake.url);
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn measure(step: Duration, rounds: u32, bin: &Path, ecs: Option<&Path>) -> (Samples, Samples) {
    let mut shipit_s = Samples::default();
    let mut ecs_s = Samples::default();
    let service = |fake: &FakeEcs| {
        fake.add_service("bench", "api", task_definition(), DESIRED, (true, false));
        for _ in 0..2 {
            fake.script("api", Script::Completes { step });
        }
    };
    for round in 0..rounds {
        let image = format!("{REPO}@{}", digest(round));
        // shipit: deploy a digest over revision 1, then roll back to revision 1 (no new revision).
        {
            let fake = FakeEcs::start();
            service(&fake);
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(
                dir.path().join("ship.toml"),
                format!(
                    "[app]\nname = \"api\"\n\n[registries.ecr]\ntype = \"ecr\"\nrepository = \"{REPO}\"\n\n\
                     [environments.bench]\ntarget = \"ecs\"\ncluster = \"bench\"\nservice = \"api\"\n\
                     region = \"us-east-1\"\nendpoint_url = \"{}\"\napproval = \"none\"\ntimeout = \"2m\"\n",
                    fake.url
                ),
            )
            .unwrap();
            let d = run(shipit(bin, dir.path(), &fake.url, &["deploy", "bench", "--image", &image]), "is live");
            assert!(d.ok, "shipit deploy failed:\n{}", d.output);
            let r = run(shipit(bin, dir.path(), &fake.url, &["rollback", "bench", "--to", "1", "--yes"]), "is live");
            assert!(r.ok, "shipit rollback failed:\n{}", r.output);
            shipit_s.deploy.push(d.wall.as_secs_f64());
            shipit_s.rollback.push(r.wall.as_secs_f64());
            shipit_s.deploy_latency.extend(latency(&fake, "api:2", d.reported_at));
            shipit_s.rollback_latency.extend(latency(&fake, "api:1", r.reported_at));
            eprintln!(
                "  round {round}: shipit      deploy {:.2}s rollback {:.2}s",
                d.wall.as_secs_f64(),
                r.wall.as_secs_f64()
            );
        }
        // ecs-deploy: the same deploy, then its way back to revision 1 (`--task api:1` copies it into a new
        // revision: it cannot point the service at an existing one).
        if let Some(ecs_bin) = ecs {
            let fake = FakeEcs::start();
            service(&fake);
            let dir = tempfile::tempdir().unwrap();
            let args = ["deploy", "bench", "api", "--image", "api", &image, "--timeout", "120"];
            let d = run(ecs_deploy(ecs_bin, dir.path(), &fake.url, &args), "Deployment successful");
            assert!(d.ok, "ecs-deploy deploy failed:\n{}", d.output);
            let args = ["deploy", "bench", "api", "--task", "api:1", "--timeout", "120"];
            let r = run(ecs_deploy(ecs_bin, dir.path(), &fake.url, &args), "Deployment successful");
            assert!(r.ok, "ecs-deploy rollback failed:\n{}", r.output);
            ecs_s.deploy.push(d.wall.as_secs_f64());
            ecs_s.rollback.push(r.wall.as_secs_f64());
            ecs_s.deploy_latency.extend(latency(&fake, "api:2", d.reported_at));
            ecs_s.rollback_latency.extend(latency(&fake, "api:3", r.reported_at));
            eprintln!(
                "  round {round}: ecs-deploy  deploy {:.2}s rollback {:.2}s",
                d.wall.as_secs_f64(),
                r.wall.as_secs_f64()
            );
        }
    }
    (shipit_s, ecs_s)
}
