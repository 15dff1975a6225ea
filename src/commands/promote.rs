//! `shipit promote <from> <to>`: deploy to <to> exactly the digest live in <from>, after checking that it
//! ran there successfully (for at least `promote_after`, when <to> sets it) and that its evidence passes.
//! Needs only ship.toml and credentials: no build, no local record.

use chrono::Utc;

use crate::cli::PromoteArgs;
use crate::deploy::engine;
use crate::deploy::meta::{self, short_commit};
use crate::deploy::target::Target;
use crate::error::CliError;
use crate::rollout::{DeployMeta, DeployOptions};
use crate::settings::Settings;

pub async fn run(args: PromoteArgs, settings: &Settings) -> Result<(), CliError> {
    let ui = &settings.ui;
    let loaded = settings.load_config()?;
    let (from, to) = (args.from.as_str(), args.to.as_str());
    if from == to {
        return Err(
            CliError::usage("promote needs two different environments").hint("shipit promote staging production")
        );
    }
    let from_env = loaded.environment(from)?;
    let to_env = loaded.environment(to)?;
    let source = Target::connect(from, from_env, &loaded.config.app.name).await?;
    let live = source.live().await?.ok_or_else(|| {
        CliError::gate(format!("nothing runs in {from}: there is nothing to promote"))
            .hint(format!("deploy to {from} first (`shipit ship {from}`)"))
    })?;
    let image = live.image_ref().ok_or_else(|| {
        CliError::gate(format!(
            "{from} runs `{}`, which is not pinned by digest; shipit promotes digests only",
            live.image
        ))
    })?;
    let rollout = live.rollout.to_ascii_uppercase();
    if rollout.contains("PROGRESS") || rollout.contains("FAIL") || live.running < 1 {
        return Err(CliError::gate(format!(
            "{from} has not finished running {} successfully (rollout {}, {} running)",
            image.short_digest(),
            live.rollout,
            live.running
        ))
        .hint(format!("`shipit status {from}` shows the rollout; promote once it is complete")));
    }
    let history = source.history(50).await?;
    let revision = history.iter().find(|r| r.live);
    if revision.is_some_and(|r| r.failed) {
        return Err(CliError::gate(format!("the rollout of {} to {from} was marked failed", image.short_digest()))
            .hint(format!("`shipit history {from}`")));
    }
    if let Some(wait) = to_env.promote_after.as_ref().map(|d| d.get()) {
        // When the digest went live in <from>: the oldest consecutive revision running it.
        let since = history
            .iter()
            .skip_while(|r| !r.live)
            .take_while(|r| r.digest.as_deref() == Some(image.digest.as_str()))
            .filter_map(|r| r.created)
            .min();
        let Some(since) = since else {
            return Err(CliError::gate(format!(
                "{to} sets promote_after = \"{}\", but {from} does not say when {} went live",
                humantime::format_duration(wait),
                image.short_digest()
            ))
            .hint("deploy it to the source environment with shipit, which records the time"));
        };
        let age = (Utc::now() - since).to_std().unwrap_or_default();
        if age < wait {
            let left = wait - age;
            return Err(CliError::gate(format!(
                "{} has been live in {from} for {}; {to} wants {} (promote_after)",
                image.short_digest(),
                humantime::format_duration(std::time::Duration::from_secs(age.as_secs())),
                humantime::format_duration(wait)
            ))
            .hint(format!(
                "try again in {}",
                humantime::format_duration(std::time::Duration::from_secs(left.as_secs() + 1))
            )));
        }
    }
    ui.info(format!(
        "promoting {} ({}) from {from}",
        image.pinned(),
        live.commit.as_deref().map(short_commit).unwrap_or("unknown commit")
    ));

    let gate = crate::evidence::gate::Gate::for_env(
        &loaded,
        to_env,
        args.force,
        args.reason.as_deref(),
        &crate::report::Silent,
    )
    .await?;
    let target = Target::connect(to, to_env, &loaded.config.app.name).await?;
    let commit = live.commit.clone().unwrap_or_else(|| "unknown".into());
    crate::evidence::set_promoted_from(from);
    let request = engine::Request {
        env_name: to,
        env: to_env,
        target: &target,
        change: engine::Change::Deploy(&image),
        meta: DeployMeta {
            cause: format!("shipit promote {from} {to} {}", short_commit(&commit)),
            commit: commit.clone(),
            deployer: meta::deployer(),
            summary: None,
        },
        opts: DeployOptions {
            force: args.force,
            timeout: to_env.timeout.get(),
            auto_rollback: to_env.auto_rollback,
            wait_merge: args.lock.wait_merge,
        },
        lock: (&args.lock).into(),
        command: format!("shipit promote {from} {to}"),
        root: &loaded.root,
        evidence: &gate,
        sources: &crate::pipeline::screen::Sources::new(&loaded),
        announce: &crate::deploy::announce::Announcer::new(&loaded),
    };
    let report = engine::run(ui, request, |now| {
        if crate::pipeline::plan::deploy_is_noop(now, &image.digest, args.force) {
            return Ok(engine::Decision::Skip(format!("{to} already runs {} — nothing to do", image.short_digest())));
        }
        Ok(engine::Decision::Approve { question: format!("Promote {} from {from} to {to}?", image.short_digest()) })
    })
    .await?;
    match report {
        Some(r) if ui.json() => ui.print_json(&r),
        None if ui.json() => ui.print_json(&serde_json::json!({
            "environment": to, "image": image.pinned(), "result": "unchanged"
        })),
        _ => {}
    }
    Ok(())
}
