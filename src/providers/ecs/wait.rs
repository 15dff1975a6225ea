//! Watching one ECS deployment until it completes, fails or runs out of time, and saying which — truthfully.
//!
//! The deployment is followed by id (from the UpdateService answer), so a circuit-breaker rollback, which creates
//! a *new* PRIMARY deployment of the old revision, is seen as what it is: ours lost. Polling starts fast and backs
//! off while nothing changes; close to the end (every task running, old tasks draining) it stays fast so that
//! completion is reported promptly.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{Deployment, Service};

use super::service::{deployments_summary, is_primary, primary, rollout_state};
use super::taskdef::{same_revision, short_name};
use super::tasks::{StoppedTask, stopped_tasks};
use super::{EcsError, describe_service};
use crate::report::Reporter;

const FIRST_POLL: Duration = Duration::from_millis(250);
const MAX_POLL: Duration = Duration::from_secs(5);
/// While only the last step remains, poll at least this often: completion must be reported within a second.
const NEAR_DONE_POLL: Duration = Duration::from_millis(500);

#[derive(Debug)]
pub(crate) enum Rollout {
    Completed,
    /// ECS gave up on the deployment, or another deployment took its place.
    Failed {
        reason: String,
        stopped: Vec<StoppedTask>,
        /// The deployment that became PRIMARY instead of ours (the circuit breaker's rollback, or someone else's
        /// deploy): `(id, task definition)`.
        replaced_by: Option<(String, String)>,
    },
    /// Still going when time ran out; `last_seen` says how far it got.
    TimedOut {
        last_seen: String,
    },
}

pub(crate) struct Watch<'a> {
    pub client: &'a Client,
    pub cluster: &'a str,
    pub service: &'a str,
    /// The task definition being rolled out (ARN or `family:revision`).
    pub task_definition: &'a str,
    /// The deployment ECS created for it, when UpdateService said.
    pub deployment_id: Option<String>,
    /// Service events that existed before the update; anything else is news worth a line.
    pub known_events: HashSet<String>,
    pub timeout: Duration,
    pub reporter: &'a dyn Reporter,
}

enum Verdict {
    Completed,
    Failed { reason: String, replaced_by: Option<(String, String)> },
    Waiting { near_done: bool },
}

impl Watch<'_> {
    pub(crate) async fn run(mut self) -> Result<Rollout, EcsError> {
        let deadline = Instant::now() + self.timeout;
        let mut interval = FIRST_POLL;
        let mut last_summary = String::new();
        let mut seen_tasks: HashSet<String> = HashSet::new();
        let mut stopped: Vec<StoppedTask> = Vec::new();
        let mut failed_seen = 0;
        let label = short_name(self.task_definition);
        loop {
            let service = describe_service(self.client, self.cluster, self.service).await?;
            self.report_events(&service);
            let ours = self.find_ours(&service).cloned();
            if self.deployment_id.is_none() {
                self.deployment_id = ours.as_ref().and_then(|d| d.id.clone());
            }

            let mut summary = deployments_summary(&service);
            if ours.is_none() {
                summary = format!("waiting for ECS to start a deployment of {label}; {summary}");
            }
            let changed = summary != last_summary;
            if changed {
                self.reporter.status(&summary);
                self.reporter.detail(&format!("ecs: {summary}"));
                last_summary = summary.clone();
            }

            if let Some(d) = &ours
                && d.failed_tasks > failed_seen
            {
                failed_seen = d.failed_tasks;
                self.collect_stopped(ours.as_ref(), &mut seen_tasks, &mut stopped).await?;
            }

            match self.verdict(&service, ours.as_ref()) {
                Verdict::Completed => return Ok(Rollout::Completed),
                Verdict::Failed { reason, replaced_by } => {
                    self.collect_stopped(ours.as_ref(), &mut seen_tasks, &mut stopped).await?;
                    return Ok(Rollout::Failed { reason, stopped, replaced_by });
                }
                Verdict::Waiting { near_done } => {
                    let now = Instant::now();
                    if now >= deadline {
                        let mut last_seen = summary;
                        if !stopped.is_empty() {
                            last_seen.push_str(&format!("; {}", stopped_summary(&stopped)));
                        }
                        return Ok(Rollout::TimedOut { last_seen });
                    }
                    interval = next_interval(interval, changed, near_done);
                    tokio::time::sleep(interval.min(deadline - now)).await;
                }
            }
        }
    }

    fn find_ours<'s>(&self, service: &'s Service) -> Option<&'s Deployment> {
        let deployments = service.deployments();
        match &self.deployment_id {
            Some(id) => deployments.iter().find(|d| d.id() == Some(id.as_str())),
            None => deployments
                .iter()
                .filter(|d| d.task_definition().is_some_and(|td| same_revision(td, self.task_definition)))
                .find(|d| is_primary(d)),
        }
    }

    fn verdict(&self, service: &Service, ours: Option<&Deployment>) -> Verdict {
        let other_primary = || {
            primary(service).filter(|p| p.id() != ours.and_then(|o| o.id())).map(|p| {
                (p.id().unwrap_or("?").to_string(), p.task_definition().map(short_name).unwrap_or_else(|| "?".into()))
            })
        };
        let Some(d) = ours else {
            // We knew its id and it is gone: ECS replaced it (it keeps a failed deployment around for a while,
            // so this is rare, but a later deploy by someone else does it).
            return match (&self.deployment_id, other_primary()) {
                (Some(id), Some((pid, ptd))) => Verdict::Failed {
                    reason: format!("deployment {id} disappeared; {pid} ({ptd}) is PRIMARY now"),
                    replaced_by: Some((pid, ptd)),
                },
                _ => Verdict::Waiting { near_done: false },
            };
        };
        let id = d.id().unwrap_or("?");
        if rollout_state(d) == Some("FAILED") {
            let why = d.rollout_state_reason().unwrap_or("no reason given");
            return Verdict::Failed {
                reason: format!("ECS marked deployment {id} FAILED: {why}"),
                replaced_by: other_primary(),
            };
        }
        if !is_primary(d) {
            if let Some((pid, ptd)) = other_primary() {
                return Verdict::Failed {
                    reason: format!("deployment {id} is no longer PRIMARY: {pid} ({ptd}) took over"),
                    replaced_by: Some((pid, ptd)),
                };
            }
            return Verdict::Waiting { near_done: false };
        }
        let all_running = d.running_count >= d.desired_count && d.pending_count == 0;
        match rollout_state(d) {
            Some("COMPLETED") => Verdict::Completed,
            None if all_running && service.deployments().len() == 1 => Verdict::Completed,
            _ => Verdict::Waiting { near_done: all_running },
        }
    }

    fn report_events(&mut self, service: &Service) {
        // ECS lists events newest first; print them in the order they happened.
        let fresh: Vec<_> =
            service.events().iter().filter(|e| e.id().is_some_and(|id| !self.known_events.contains(id))).collect();
        for event in fresh.into_iter().rev() {
            self.known_events.insert(event.id().unwrap_or_default().to_string());
            if let Some(msg) = event.message() {
                self.reporter.line(msg);
            }
        }
    }

    async fn collect_stopped(
        &self,
        ours: Option<&Deployment>,
        seen: &mut HashSet<String>,
        all: &mut Vec<StoppedTask>,
    ) -> Result<(), EcsError> {
        for task in stopped_tasks(self.client, self.cluster, self.service, self.task_definition, ours).await? {
            if seen.insert(task.arn.clone()) {
                self.reporter.line(&format!("task {} stopped: {}", task.id(), task.summary()));
                all.push(task);
            }
        }
        Ok(())
    }
}

/// `3 tasks stopped: Essential container in task exited (api: exit code 1)` — distinct reasons, most common first.
pub(crate) fn stopped_summary(stopped: &[StoppedTask]) -> String {
    let mut reasons: Vec<(String, usize)> = Vec::new();
    for task in stopped {
        let s = task.summary();
        match reasons.iter_mut().find(|(r, _)| *r == s) {
            Some((_, n)) => *n += 1,
            None => reasons.push((s, 1)),
        }
    }
    reasons.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let shown: Vec<String> =
        reasons.iter().take(3).map(|(r, n)| if *n > 1 { format!("{r} ×{n}") } else { r.clone() }).collect();
    let noun = if stopped.len() == 1 { "task" } else { "tasks" };
    format!("{} {noun} stopped: {}", stopped.len(), shown.join("; "))
}

/// Back off while nothing changes; start over when something does; stay quick near the end.
pub(crate) fn next_interval(current: Duration, changed: bool, near_done: bool) -> Duration {
    let next = if changed { FIRST_POLL } else { current.mul_f64(1.5).min(MAX_POLL) };
    if near_done { next.min(NEAR_DONE_POLL) } else { next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_backs_off_and_stays_quick_near_the_end() {
        let mut i = FIRST_POLL;
        let mut seen = vec![];
        for _ in 0..8 {
            i = next_interval(i, false, false);
            seen.push(i);
        }
        assert!(seen[0] <= Duration::from_secs(1));
        assert_eq!(*seen.last().unwrap(), MAX_POLL);
        assert_eq!(next_interval(MAX_POLL, true, false), FIRST_POLL);
        assert_eq!(next_interval(MAX_POLL, false, true), NEAR_DONE_POLL);
    }

    #[test]
    fn stopped_reasons_are_grouped() {
        let t = |arn: &str, reason: &str, c: &[&str]| StoppedTask {
            arn: arn.into(),
            reason: reason.into(),
            containers: c.iter().map(|s| s.to_string()).collect(),
        };
        let s = stopped_summary(&[
            t("a", "Essential container in task exited", &["api: exit code 1"]),
            t("b", "Essential container in task exited", &["api: exit code 1"]),
            t("c", "CannotPullContainerError", &[]),
        ]);
        assert_eq!(
            s,
            "3 tasks stopped: Essential container in task exited (api: exit code 1) ×2; CannotPullContainerError"
        );
    }
}
