//! The deploy lock's policy, once for every target: take it before the first change, keep it alive with a
//! heartbeat, release it at the end. The targets only store it (a Lease, service tags, a volume); who may take
//! it over, how long to wait and what to say live here.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::target::Target;
use crate::cli::LockArgs;
use crate::error::CliError;
use crate::rollout::{LockAttempt, LockRecord};
use crate::ui::Ui;

/// How long a lock lives without a renewal. Long enough to ride out an API blip between heartbeats, short
/// enough that a crashed run's lock does not hold up the next deploy for long.
pub const TTL: Duration = Duration::from_secs(120);
const HEARTBEAT: Duration = Duration::from_secs(30);
/// Between two looks at a held lock while `--wait-lock` waits.
const WAIT_POLL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub wait: Option<Duration>,
    pub force_unlock: bool,
}

impl From<&LockArgs> for Policy {
    fn from(a: &LockArgs) -> Policy {
        Policy { wait: a.wait_lock, force_unlock: a.force_unlock }
    }
}

/// The record this run writes: who, where, what, and until when (`bound` is how long the whole locked section
/// can take, for targets that cannot renew).
pub fn record(command: &str, what: &str, bound: Duration, renewable: bool) -> LockRecord {
    let since = Utc::now();
    let ttl = if renewable { TTL } else { bound + TTL };
    LockRecord {
        holder: super::meta::deployer(),
        host: hostname(),
        command: command.to_string(),
        what: what.to_string(),
        since,
        until: since + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(25)),
        nonce: nonce(),
    }
}

/// Take the environment's lock, or say who holds it (exit code 6). Waits with `--wait-lock`, takes over an
/// expired lock with a warning, and breaks a live one with `--force-unlock`, saying whose it was.
pub async fn acquire(
    ui: &Ui,
    env_name: &str,
    target: &Target,
    ours: &LockRecord,
    policy: &Policy,
) -> Result<(), CliError> {
    let started = Instant::now();
    let mut waiting: Option<crate::ui::Stage> = None;
    loop {
        let attempt = {
            // A lock half-written when a signal arrives would block the next deploy until it expires.
            let _c = crate::interrupt::critical();
            target.try_lock(ours, None).await?
        };
        let holder = match attempt {
            LockAttempt::Acquired => return Ok(()),
            LockAttempt::Held(h) if h.nonce == ours.nonce => return Ok(()),
            LockAttempt::Held(h) => h,
        };
        let takeover = if holder.expired() {
            Some(format!("taking over the expired deploy lock of {env_name}, held by {}", holder.describe()))
        } else if policy.force_unlock {
            Some(format!("--force-unlock: breaking the deploy lock of {env_name}, held by {}", holder.describe()))
        } else {
            None
        };
        if let Some(warning) = takeover {
            let replaced = {
                let _c = crate::interrupt::critical();
                target.try_lock(ours, Some(&holder)).await?
            };
            if replaced == LockAttempt::Acquired {
                ui.warn(warning);
                return Ok(());
            }
            // Someone else took it over first: they hold it now; look again.
            continue;
        }
        let deadline = policy.wait.map(|w| started + w);
        if deadline.is_none_or(|d| Instant::now() >= d) {
            drop(waiting);
            return Err(held_error(env_name, &holder, policy.wait));
        }
        let stage = waiting.get_or_insert_with(|| ui.stage("lock"));
        crate::report::Reporter::status(
            &*stage,
            &format!("waiting for the deploy lock of {env_name}, held by {}", holder.describe()),
        );
        if crate::interrupt::unless_interrupted(tokio::time::sleep(WAIT_POLL)).await.is_none() {
            return Err(CliError::interrupted(format!(
                "interrupted while waiting for the deploy lock of {env_name}; nothing was changed"
            )));
        }
    }
}

fn held_error(env_name: &str, holder: &LockRecord, waited: Option<Duration>) -> CliError {
    let message = match waited {
        Some(w) => format!(
            "{env_name} is still locked by another deploy after waiting {}: {}",
            humantime::format_duration(Duration::from_secs(w.as_secs())),
            holder.describe()
        ),
        None => format!("{env_name} is locked by another deploy: {}", holder.describe()),
    };
    CliError::locked(message)
        .hint("wait for it with `--wait-lock 10m`, or watch it with `shipit status ".to_string() + env_name + "`")
        .hint("if that run is gone (a killed CI job), the lock expires by itself; `--force-unlock` breaks it now")
}

/// Renew the lock until dropped. Never returns: run it beside the locked work with `select!`. A renewal that
/// fails is a warning (the work goes on; the change itself is not undone for a lost lock).
pub async fn heartbeat(ui: &Ui, env_name: &str, target: &Target, ours: &LockRecord) {
    if !target.can_renew_lock() {
        return std::future::pending().await;
    }
    let mut current = ours.clone();
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        let mut next = current.clone();
        next.until = Utc::now() + chrono::Duration::from_std(TTL).unwrap_or_default();
        match target.renew_lock(&next).await {
            Ok(()) => current = next,
            Err(e) => ui.warn(format!("{env_name}: could not renew the deploy lock: {}", e.message)),
        }
    }
}

/// Confirm the lock is still ours right before the change (on ECS, the second half of taking it).
pub async fn confirm(env_name: &str, target: &Target, ours: &LockRecord) -> Result<(), CliError> {
    match target.read_lock().await? {
        Some(now) if now.nonce == ours.nonce => Ok(()),
        Some(now) => Err(CliError::locked(format!(
            "{env_name}: another deploy took the lock just now: {}; nothing was changed",
            now.describe()
        ))
        .hint("run the command again (with `--wait-lock 10m` to queue behind it)")),
        None => Err(CliError::locked(format!(
            "{env_name}: the deploy lock was removed before the change (a --force-unlock elsewhere?); nothing was changed"
        ))
        .hint("run the command again")),
    }
}

/// Release the lock; a failure is a warning with what to do, never a failed deploy.
pub async fn release(ui: &Ui, env_name: &str, target: &Target, ours: &LockRecord) {
    let _c = crate::interrupt::critical();
    let released = tokio::time::timeout(Duration::from_secs(20), target.unlock(ours)).await;
    let problem = match released {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e.message,
        Err(_) => "no answer within 20s".to_string(),
    };
    ui.warn(format!(
        "{env_name}: could not release the deploy lock ({problem}); it expires at {}, or the next deploy can pass --force-unlock",
        ours.until.format("%H:%M:%S UTC")
    ));
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var(crate::env_vars::EnvVars::HOSTNAME).ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Unique enough for "is this still my lock": time, process and a per-process counter.
fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{:x}-{:x}-{n}", nanos, std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_renewable_locks_cover_the_whole_bound() {
        let r = record("shipit deploy local", "sha256:abc", Duration::from_secs(600), false);
        let ttl = (r.until - r.since).num_seconds();
        assert_eq!(ttl, 600 + TTL.as_secs() as i64);
        let r = record("shipit deploy local", "sha256:abc", Duration::from_secs(600), true);
        assert_eq!((r.until - r.since).num_seconds(), TTL.as_secs() as i64);
        assert!(!r.expired());
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(nonce(), nonce());
    }
}
