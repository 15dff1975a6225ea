//! The rollout engine: every deploy and rollback, on every target, goes through [`run`]:
//!
//! lock → read live state → the evidence gate → decide (nothing to do?) → the approval screen and question
//! → confirm the lock → announce (GitHub Deployment) → apply + watch (the target) → verify → restore on a
//! failed verification → mark the outcome → record (evidence) → announce the outcome → unlock
//!
//! and its result becomes what the user sees and the exit code a pipeline branches on (0 completed, 1 failed,
//! 5 failed and rolled back, 6 locked, 130 interrupted).

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::lock::{self, Policy};
use super::target::Target;
use super::verify;
use crate::config::Environment;
use crate::error::CliError;
use crate::pipeline::journal;
use crate::release::ImageRef;
use crate::report::Reporter;
use crate::rollout::{DeployMeta, DeployOptions, LiveState, LockRecord, Outcome, Revision};
use crate::ui::Ui;

pub enum Change<'a> {
    Deploy(&'a ImageRef),
    Rollback(&'a Revision),
}

impl Change<'_> {
    fn stage(&self) -> &'static str {
        match self {
            Change::Deploy(_) => "deploy",
            Change::Rollback(_) => "rollback",
        }
    }

    /// `sha256:9b1e…` or `revision 7`
    fn what(&self) -> String {
        match self {
            Change::Deploy(img) => img.short_digest(),
            Change::Rollback(rev) => format!("revision {}", rev.revision),
        }
    }

    fn image(&self) -> String {
        match self {
            Change::Deploy(img) => img.pinned(),
            Change::Rollback(rev) => rev.image.clone(),
        }
    }

    fn image_ref(&self) -> Option<ImageRef> {
        match self {
            Change::Deploy(img) => Some((*img).clone()),
            Change::Rollback(rev) => ImageRef::parse_pinned(&rev.image),
        }
    }
}

/// What the caller decides once it has seen what runs now (under the lock).
pub enum Decision {
    /// Go on once approved as the environment's `approval` says: the approval screen, then `question`.
    Approve { question: String },
    /// Nothing to do; the message says why (the environment already runs this digest).
    Skip(String),
}

pub struct Request<'a> {
    pub env_name: &'a str,
    pub env: &'a Environment,
    pub target: &'a Target,
    pub change: Change<'a>,
    pub meta: DeployMeta,
    pub opts: DeployOptions,
    pub lock: Policy,
    /// The command line in words, for the lock record: `shipit ship production`.
    pub command: String,
    /// ship.toml's directory (verification commands run there).
    pub root: &'a Path,
    /// The release evidence this change needs (checked before it, recorded after it).
    pub evidence: &'a crate::evidence::gate::Gate,
    /// Where the approval screen reads commits from.
    pub sources: &'a crate::pipeline::screen::Sources,
    /// Who else hears about the change (GitHub Deployments, `[[notify]]`).
    pub announce: &'a super::announce::Announcer,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    pub environment: String,
    pub target: String,
    pub image: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Run one change on one environment. `decide` sees the live state read under the lock and may refuse (an
/// approval declined), skip, or let it proceed. `Ok(None)`: skipped.
pub async fn run(
    ui: &Ui,
    req: Request<'_>,
    decide: impl FnOnce(Option<&LiveState>) -> Result<Decision, CliError>,
) -> Result<Option<DeployReport>, CliError> {
    let target = req.target;
    let bound = locked_bound(&req);
    let ours = lock::record(&req.command, &req.change.what(), bound, target.can_renew_lock());
    lock::acquire(ui, req.env_name, target, &ours, &req.lock).await?;
    // From here this function answers signals itself: it must release the lock on the way out.
    let hold = crate::interrupt::hold();
    let result = tokio::select! {
        r = locked(ui, &req, &ours, decide) => r,
        _ = lock::heartbeat(ui, req.env_name, target, &ours) => unreachable!("the heartbeat never ends"),
        _ = crate::interrupt::outside_critical() => Err(interrupted(req.env_name, target).await),
    };
    lock::release(ui, req.env_name, target, &ours).await;
    drop(hold);
    result
}

/// How long the locked section can take at most: rollout, an automatic rollback's rollout, verification.
fn locked_bound(req: &Request<'_>) -> Duration {
    let verify = req.env.verify.as_ref().map_or(Duration::ZERO, |v| v.for_.get() + v.timeout.get());
    req.opts.timeout * 2 + verify + Duration::from_secs(5 * 60)
}

async fn locked(
    ui: &Ui,
    req: &Request<'_>,
    ours: &LockRecord,
    decide: impl FnOnce(Option<&LiveState>) -> Result<Decision, CliError>,
) -> Result<Option<DeployReport>, CliError> {
    let (env_name, target) = (req.env_name, req.target);
    let live = target.live().await?;
    // Evidence first, before anyone is asked to approve: a digest already live is a no-op unless forced.
    let image = req.change.image_ref();
    let already = image.as_ref().is_some_and(|i| live.as_ref().and_then(|l| l.digest.as_deref()) == Some(&i.digest));
    let checked = if already && !req.opts.force {
        crate::evidence::gate::Checked::default()
    } else {
        req.evidence.check(ui, env_name, image.as_ref()).await?
    };
    let question = match decide(live.as_ref())? {
        Decision::Skip(why) => {
            ui.stage(req.change.stage()).skipped(why);
            return Ok(None);
        }
        Decision::Approve { question } => question,
    };
    // Asked for an approval, or carried to the reviewers of a pull request.
    let screen = match req.env.approval {
        crate::config::Approval::None if !target.carries_summary() => None,
        _ => Some(screen(req, live.as_ref(), &checked).await),
    };
    let image_text = req.change.image();
    let event = super::announce::Event {
        env_name,
        env: req.env,
        change: change_name(req),
        image: &image_text,
        digest: image.as_ref().map(|i| i.digest.as_str()),
        commit: match &req.change {
            Change::Deploy(_) => Some(req.meta.commit.as_str()),
            Change::Rollback(rev) => rev.commit.as_deref(),
        },
        actor: &req.meta.deployer,
    };
    if req.env.approval != crate::config::Approval::None
        && !ui.assume_yes
        && !crate::pipeline::approve::approved_by_env(env_name)
    {
        req.announce.approval_pending(ui, &event).await;
    }
    crate::pipeline::approve::ask(ui, env_name, req.env, &question, screen.as_ref())?;
    lock::confirm(env_name, target, ours).await?;
    let deployment = req.announce.started(ui, &event).await;

    let name = req.change.stage();
    let stage = ui.stage(name);
    let what = req.change.what();
    let started = chrono::Utc::now();
    journal::set(env_name, format!("{name} of {what} to {} was started and had not finished", target.describe()));
    let meta = DeployMeta {
        summary: screen.as_ref().filter(|_| target.carries_summary()).map(crate::pipeline::screen::markdown),
        ..req.meta.clone()
    };
    let result = match &req.change {
        Change::Deploy(img) => target.deploy(img, &meta, &req.opts, &stage).await,
        Change::Rollback(rev) => target.rollback(rev, &meta, &req.opts, &stage).await,
    };
    let result = match result {
        Ok(Outcome::Completed { revision }) => verify_and_keep(req, live.as_ref(), revision, &stage).await,
        other => other,
    };
    journal::set(
        env_name,
        match &result {
            Ok(Outcome::Completed { revision }) => format!("revision {revision} ({what}) is live"),
            Ok(Outcome::Failed { revision, .. }) => format!("revision {revision} ({what}) failed; not rolled back"),
            Ok(Outcome::RolledBack { restored, .. }) => format!("rolled back to revision {restored}"),
            Ok(Outcome::Interrupted { state, .. }) => state.clone(),
            Ok(Outcome::Proposed { url, .. }) => {
                format!("{what} is proposed in {url}; nothing changed until it is merged")
            }
            Err(e) => format!("{name} of {what} failed: {}", e.message),
        },
    );
    record(ui, req, &checked, started, &result).await;
    let announced = match &result {
        Ok(o) => Ok(DeployReport {
            environment: env_name.to_string(),
            target: target.describe(),
            image: req.change.image(),
            outcome: o.clone(),
        }),
        Err(e) => Err(e.message.clone()),
    };
    req.announce.finished(ui, &event, deployment, &announced).await;
    let outcome = match result {
        Ok(o) => o,
        Err(e) => {
            stage.fail(format!("{}: {}", target.describe(), e.message));
            return Err(e);
        }
    };
    report(ui, env_name, target, req.change.image(), outcome, stage).map(Some)
}

/// `deploy`, `rollback` or `promote`, as the screen and the announcements name the change.
fn change_name(req: &Request<'_>) -> &'static str {
    if req.command.starts_with("shipit promote") { "promote" } else { req.change.stage() }
}

/// The approval screen for this change, read under the lock (so it shows what really runs).
async fn screen(
    req: &Request<'_>,
    live: Option<&LiveState>,
    checked: &crate::evidence::gate::Checked,
) -> crate::pipeline::screen::Screen {
    use crate::pipeline::screen::{Incoming, gather};
    let image = req.change.image_ref();
    let (commit, revision) = match &req.change {
        Change::Deploy(_) => (Some(req.meta.commit.as_str()), None),
        Change::Rollback(rev) => (rev.commit.as_deref(), Some(*rev)),
    };
    let incoming =
        Incoming { change: change_name(req), image: image.as_ref(), image_text: req.change.image(), commit, revision };
    gather(req.sources, req.env_name, req.target, live, incoming, checked, req.evidence).await
}

/// The platform says the rollout is done; ask the service. A failed verification is a failed deploy: the
/// revision is marked failed and, with `auto_rollback`, the release that ran before is put back.
async fn verify_and_keep(
    req: &Request<'_>,
    before: Option<&LiveState>,
    revision: String,
    stage: &crate::ui::Stage,
) -> Result<Outcome, CliError> {
    let Some(v) = &req.env.verify else { return Ok(Outcome::Completed { revision }) };
    let image = req.change.image();
    let digest = ImageRef::parse_pinned(&image).map(|r| r.digest);
    let release =
        verify::Release { environment: req.env_name, image: &image, digest: digest.as_deref(), revision: &revision };
    let failure = match verify::run(v, req.root, &release, stage).await {
        Ok(()) => return Ok(Outcome::Completed { revision }),
        Err(f) => f,
    };
    let target = req.target;
    let history = target.history(50).await?;
    if let Some(failed) = history.iter().find(|r| r.revision == revision) {
        target.mark_failed(failed, stage).await?;
    }
    let previous = before.and_then(|l| l.revision.as_deref()).filter(|p| *p != revision);
    let restore_to = previous.and_then(|p| history.iter().find(|r| r.revision == p));
    let Some(restore_to) = restore_to.filter(|_| req.opts.auto_rollback) else {
        let reason = if req.opts.auto_rollback {
            format!("{failure}\nnothing to roll back to: no earlier revision is known")
        } else {
            failure
        };
        return Ok(Outcome::Failed { revision, reason });
    };
    stage.line(&failure);
    stage.line(&format!("auto-rollback: restoring revision {}", restore_to.revision));
    let meta = DeployMeta {
        commit: restore_to.commit.clone().unwrap_or_else(|| "unknown".into()),
        deployer: req.meta.deployer.clone(),
        cause: format!("shipit auto-rollback of {} after a failed verification", req.env_name),
        summary: None,
    };
    // The restore is what keeps the environment whole: it runs to its end even if a signal arrives.
    let restored = {
        let _c = crate::interrupt::critical();
        let opts = DeployOptions { force: true, auto_rollback: false, ..req.opts.clone() };
        target.rollback(restore_to, &meta, &opts, stage).await
    };
    match restored {
        Ok(Outcome::Completed { revision: back }) => Ok(Outcome::RolledBack {
            revision,
            restored: restore_to.revision.clone(),
            reason: format!("{failure}\n(restored as revision {back})"),
        }),
        Ok(other) => Ok(Outcome::Failed {
            revision,
            reason: format!(
                "{failure}\nthe automatic rollback to revision {} did not complete either: {}",
                restore_to.revision,
                outcome_reason(&other)
            ),
        }),
        Err(e) => Ok(Outcome::Failed {
            revision,
            reason: format!(
                "{failure}\nthe automatic rollback to revision {} failed: {}",
                restore_to.revision, e.message
            ),
        }),
    }
}

/// Attach the approval and how the change ended to the digest (the evidence `verify` and `promote` read).
async fn record(
    ui: &Ui,
    req: &Request<'_>,
    checked: &crate::evidence::gate::Checked,
    started: chrono::DateTime<chrono::Utc>,
    result: &Result<Outcome, CliError>,
) {
    let (revision, result, reason) = match result {
        Ok(Outcome::Completed { revision }) => (Some(revision.clone()), "completed", None),
        Ok(Outcome::Failed { revision, reason }) => (Some(revision.clone()), "failed", Some(reason.clone())),
        Ok(Outcome::RolledBack { revision, reason, .. }) => {
            (Some(revision.clone()), "rolled_back", Some(reason.clone()))
        }
        Ok(Outcome::Interrupted { revision, state }) => (Some(revision.clone()), "interrupted", Some(state.clone())),
        Ok(Outcome::Proposed { revision, url }) => (Some(revision.clone()), "proposed", Some(url.clone())),
        Err(e) => (None, "error", Some(e.message.clone())),
    };
    let record = crate::evidence::gate::deploy_record(
        req.env_name,
        req.target.describe(),
        req.change.stage(),
        revision,
        started,
        result.to_string(),
        reason,
        checked.forced.clone(),
    );
    req.evidence.record(ui, checked, record).await;
}

fn outcome_reason(o: &Outcome) -> String {
    match o {
        Outcome::Completed { revision } => format!("revision {revision} completed"),
        Outcome::Failed { reason, .. } | Outcome::RolledBack { reason, .. } => reason.clone(),
        Outcome::Interrupted { state, .. } => state.clone(),
        Outcome::Proposed { url, .. } => format!("proposed in {url}"),
    }
}

/// A signal arrived while the change was being watched: say what the environment runs now (asked again, with
/// a short bound) and what to do next. The target's own rollout goes on without shipit.
async fn interrupted(env_name: &str, target: &Target) -> CliError {
    let now = match tokio::time::timeout(Duration::from_secs(5), target.live()).await {
        Ok(Ok(Some(l))) => format!(
            "{env_name}: runs {}{} (rollout {}); {} goes on without shipit",
            crate::pipeline::approve::describe_live(Some(&l)),
            l.revision.as_deref().map(|r| format!(", revision {r}")).unwrap_or_default(),
            l.rollout,
            target.describe()
        ),
        Ok(Ok(None)) => format!("{env_name}: nothing runs on {}", target.describe()),
        Ok(Err(e)) => format!("{env_name}: cannot tell what runs now ({})", e.message),
        Err(_) => format!("{env_name}: cannot tell what runs now (no answer within 5s)"),
    };
    journal::set(env_name, now.trim_start_matches(&format!("{env_name}: ")).to_string());
    let signal = crate::interrupt::signal_name().unwrap_or("a signal");
    CliError::interrupted(format!("interrupted by {signal}")).detail(journal::detail()).hint(format!(
        "`shipit status {env_name}` follows the rollout; `shipit rollback {env_name}` puts the previous release back"
    ))
}

fn report(
    ui: &Ui,
    env_name: &str,
    target: &Target,
    image: String,
    outcome: Outcome,
    stage: crate::ui::Stage,
) -> Result<DeployReport, CliError> {
    let report =
        DeployReport { environment: env_name.to_string(), target: target.describe(), image, outcome: outcome.clone() };
    summarize(ui, &report);
    match outcome {
        Outcome::Completed { revision } => {
            stage.ok(format!("{} revision {revision} is live", target.describe()));
            Ok(report)
        }
        Outcome::Failed { revision, reason } => {
            stage.fail(format!("{} revision {revision} failed", target.describe()));
            Err(CliError::failure(format!("rollout of revision {revision} to {env_name} failed"))
                .detail(indent(&reason))
                .hint(format!("`shipit status {env_name}` shows what runs now; `shipit rollback {env_name}` puts a previous release back")))
        }
        Outcome::RolledBack { revision, restored, reason } => {
            stage.fail(format!("{} revision {revision} failed; rolled back to revision {restored}", target.describe()));
            Err(CliError::rolled_back(format!(
                "rollout of revision {revision} to {env_name} failed and was rolled back: revision {restored} runs again"
            ))
            .detail(indent(&reason))
            .hint(format!("fix the cause above, then ship again; `shipit status {env_name}` confirms what runs")))
        }
        Outcome::Proposed { revision, url } => {
            stage.ok(format!("{} revision {revision} proposed: {url} (it deploys once merged)", target.describe()));
            Ok(report)
        }
        Outcome::Interrupted { revision, .. } => {
            stage.fail(format!("{} revision {revision}: interrupted", target.describe()));
            let signal = crate::interrupt::signal_name().unwrap_or("a signal");
            Err(CliError::interrupted(format!("interrupted by {signal}")).detail(journal::detail()).hint(format!(
                "`shipit status {env_name}` shows what runs; `shipit rollback {env_name}` puts a previous release back"
            )))
        }
    }
}

/// The outcome in the job summary and, when it went live, as a notice in the Actions log.
fn summarize(ui: &Ui, r: &DeployReport) {
    let line = match &r.outcome {
        Outcome::Completed { revision } => {
            ui.notice(&format!("{} is live", r.environment), format!("{} revision {revision}: {}", r.target, r.image));
            format!("✅ completed: revision {revision} is live")
        }
        Outcome::Failed { revision, .. } => format!("❌ failed: revision {revision}"),
        Outcome::RolledBack { revision, restored, .. } => {
            format!("↩️ failed and rolled back: revision {revision} failed, revision {restored} runs again")
        }
        Outcome::Interrupted { revision, .. } => format!("⏹ interrupted during revision {revision}"),
        Outcome::Proposed { revision, url } => format!("📝 proposed as {revision}: {url}"),
    };
    let md = format!("### {}: {line}\n\n`{}` on {}\n", r.environment, r.image, r.target);
    if let Err(e) = crate::ci::append_summary(&md) {
        ui.warn(format!("cannot write the GitHub Actions summary: {e}"));
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}
