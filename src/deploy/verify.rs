//! Post-deploy verification: after the platform says the rollout is done, shipit asks the service itself.
//! `http` probes a URL every `interval` for `for`, and every answer must carry the expected status (one bad
//! answer is a failed deploy: a release that flaps right after rollout is not one to keep). `command` runs a
//! smoke test once with the release in its environment. Either failing is a failed deploy, and with
//! `auto_rollback` the engine puts the previous release back.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::config::Verify;
use crate::report::Reporter;

/// What the check saw when it failed, in words for the deploy's failure reason.
pub type Failure = String;

pub struct Release<'a> {
    pub environment: &'a str,
    pub image: &'a str,
    pub digest: Option<&'a str>,
    pub revision: &'a str,
}

pub async fn run(v: &Verify, root: &Path, release: &Release<'_>, reporter: &dyn Reporter) -> Result<(), Failure> {
    if let Some(url) = &v.http {
        http(url, v.expect, v.for_.get(), v.interval.get(), reporter).await?;
    }
    if let Some(argv) = &v.command {
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        command(&argv, v.timeout.get(), root, release, reporter).await?;
    }
    Ok(())
}

async fn http(
    url: &str,
    expect: u16,
    period: Duration,
    interval: Duration,
    reporter: &dyn Reporter,
) -> Result<(), Failure> {
    let client = reqwest::Client::builder()
        .timeout(interval.clamp(Duration::from_secs(1), Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("verify: cannot make an HTTP client: {}", crate::error::chain(&e)))?;
    let started = Instant::now();
    let mut probes = 0u32;
    loop {
        probes += 1;
        reporter.status(&format!(
            "verify: GET {url} (probe {probes}, {}s of {}s)",
            started.elapsed().as_secs(),
            period.as_secs()
        ));
        match client.get(url).send().await {
            Ok(resp) if resp.status().as_u16() == expect => {}
            Ok(resp) => {
                let status = resp.status();
                let body: String = resp.text().await.unwrap_or_default().chars().take(200).collect();
                let body = body.trim();
                return Err(format!(
                    "verify: GET {url} answered {status} (expected {expect}) on probe {probes}, {}s after the rollout{}",
                    started.elapsed().as_secs(),
                    if body.is_empty() { String::new() } else { format!(": {body}") }
                ));
            }
            Err(e) => {
                return Err(format!(
                    "verify: GET {url} failed on probe {probes}, {}s after the rollout: {}",
                    started.elapsed().as_secs(),
                    crate::error::chain(&e)
                ));
            }
        }
        if started.elapsed() + interval > period {
            reporter.line(&format!("verify: GET {url} answered {expect} {probes} time(s) over {}s", period.as_secs()));
            return Ok(());
        }
        tokio::time::sleep(interval).await;
    }
}

async fn command(
    argv: &[String],
    timeout: Duration,
    root: &Path,
    release: &Release<'_>,
    reporter: &dyn Reporter,
) -> Result<(), Failure> {
    let shown = argv.join(" ");
    reporter.status(&format!("verify: running {shown}"));
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(root)
        .env(crate::env_vars::EnvVars::SHIPIT_ENVIRONMENT, release.environment)
        .env(crate::env_vars::EnvVars::SHIPIT_IMAGE, release.image)
        .env(crate::env_vars::EnvVars::SHIPIT_DIGEST, release.digest.unwrap_or_default())
        .env(crate::env_vars::EnvVars::SHIPIT_REVISION, release.revision)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A timed-out or interrupted check must not outlive shipit.
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| format!("verify: cannot run `{shown}`: {e}"))?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(format!("verify: `{shown}` failed to run: {e}")),
        Err(_) => {
            return Err(format!("verify: `{shown}` did not finish within {}", humantime::format_duration(timeout)));
        }
    };
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for line in text.lines() {
        reporter.detail(&format!("verify: {line}"));
    }
    if out.status.success() {
        reporter.line(&format!("verify: `{shown}` passed"));
        return Ok(());
    }
    let tail: Vec<&str> = text.lines().rev().take(10).collect::<Vec<_>>().into_iter().rev().collect();
    let code = out.status.code().map(|c| format!("exit code {c}")).unwrap_or_else(|| "killed by a signal".into());
    let mut reason = format!("verify: `{shown}` failed ({code})");
    if !tail.is_empty() {
        reason.push_str(&format!("\nlast output lines:\n{}", tail.join("\n")));
    }
    Err(reason)
}
