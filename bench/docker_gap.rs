//! Benchmark (not a test): how long a Docker-host deploy leaves the service without a running container, in both
//! swap modes, through the shipit binary against the real engine.
//!
//! - one at a time (host networking, the quickstart's setup): a busybox httpd on 127.0.0.1, probed over HTTP every
//!   5 ms during `shipit deploy`; the gap is the longest stretch without a successful answer.
//! - two containers (`network = "none"`): nothing can be reached over the network there, so the engine is asked
//!   every 5 ms how many of the environment's containers run; the gap is the longest stretch with none.
//!
//! Run: `cargo bench --bench docker_gap` (or `--profile dev`), with the test environment up (dockerd, the open
//! registry, busybox; SHIPIT_TEST_ENV or .test-env/endpoints.json). `SHIPIT_BENCH_ROUNDS=N` (default 5).

// images.rs reaches the test environment as `super::env`: both sit at the crate root here.
#[path = "../tests/support/env.rs"]
#[allow(dead_code, unused_macros)]
mod env;
#[path = "../tests/support/images.rs"]
#[allow(dead_code)]
mod images;

use std::io::{Read, Write};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use env::unique_name;
use images::busybox_image;

const PORT: u16 = 18_731;

fn shipit() -> Command {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    Command::new(dir.join("shipit"))
}

fn http_ok() -> bool {
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], PORT).into(), Duration::from_millis(50))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    if s.write_all(b"GET / HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.") && &buf[9..12] == b"200"
}

fn running_count(name: &str) -> usize {
    let out = Command::new("docker")
        .args(["ps", "-q", "--filter", &format!("label=dev.shipit.container={name}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().count()
}

/// The longest stretch during `deploy` in which `up()` said no.
fn longest_gap(up: impl Fn() -> bool + Send + 'static, deploy: impl FnOnce()) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let prober = std::thread::spawn(move || {
        let mut worst = Duration::ZERO;
        let mut down_since: Option<Instant> = None;
        while !s.load(Ordering::Relaxed) {
            match (up(), down_since) {
                (true, Some(t)) => {
                    worst = worst.max(t.elapsed());
                    down_since = None;
                }
                (false, None) => down_since = Some(Instant::now()),
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        worst.max(down_since.map(|t| t.elapsed()).unwrap_or_default())
    });
    deploy();
    stop.store(true, Ordering::Relaxed);
    prober.join().unwrap()
}

fn write_config(dir: &std::path::Path, repo: &str, name: &str, network: &str, docker_host: &str) {
    std::fs::write(
        dir.join("ship.toml"),
        format!(
            "[app]\nname = \"gap\"\n[registries.r]\ntype = \"oci\"\nrepository = \"{repo}\"\ninsecure = true\n\
             [environments.dev]\ntarget = \"docker\"\ncontainer_name = \"{name}\"\nhost = \"{docker_host}\"\n\
             network = \"{network}\"\napproval = \"none\"\ntimeout = \"30s\"\nstop_timeout = \"5s\"\nrequire_scan = false\n"
        ),
    )
    .unwrap();
}

fn deploy(dir: &std::path::Path, image: &str) {
    let out = shipit().current_dir(dir).args(["deploy", "dev", "--image", image, "--force"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--list") {
        eprintln!("docker_gap: a benchmark; run it with `cargo bench --bench docker_gap`");
        return;
    }
    let rounds: usize = std::env::var("SHIPIT_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let env = env::require_all(&["docker", "registry_open", "busybox"]).expect("the test environment");
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A busybox httpd that stops at once on SIGTERM (as PID 1 it would ignore it).
    let httpd =
        format!("trap 'exit 0' TERM; mkdir -p /w; echo ok > /w/index.html; httpd -f -p 127.0.0.1:{PORT} -h /w & wait");
    let serve: &[&str] = &["sh", "-c", &httpd];
    let idle: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"];

    println!("| mode | longest gap during a deploy (median of {rounds}) | worst |");
    println!("|---|---|---|");
    for (mode, network, cmd) in [
        ("one at a time (host networking, HTTP probe)", "host", serve),
        ("two containers (engine probe)", "none", idle),
    ] {
        let name = unique_name("gap");
        let repo = format!("{}/{name}", env.registry_open);
        let (a, b) = rt
            .block_on(async { (busybox_image(env, &repo, "a", cmd).await, busybox_image(env, &repo, "b", cmd).await) });
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), &repo, &name, network, &env.docker_host);
        deploy(dir.path(), &a);
        let mut gaps = Vec::new();
        for i in 0..rounds {
            let image = if i % 2 == 0 { &b } else { &a };
            let probe_name = name.clone();
            let gap = if network == "host" {
                longest_gap(http_ok, || deploy(dir.path(), image))
            } else {
                longest_gap(move || running_count(&probe_name) > 0, || deploy(dir.path(), image))
            };
            gaps.push(gap);
        }
        gaps.sort();
        println!(
            "| {mode} | {:.0} ms | {:.0} ms |",
            gaps[gaps.len() / 2].as_secs_f64() * 1e3,
            gaps.last().unwrap().as_secs_f64() * 1e3
        );
        let _ = Command::new("sh")
            .args(["-c", &format!("docker rm -f $(docker ps -aq --filter label=dev.shipit.container={name}) >/dev/null 2>&1; docker volume rm -f {name}--shipit-lock >/dev/null 2>&1")])
            .status();
    }
}
