//! `shipit rollback <env>`: put a previous release back (no rebuild) and wait for it like a deploy.

use crate::cli::RollbackArgs;
use crate::deploy::engine;
use crate::deploy::meta::{deployer, previous_good, short_commit};
use crate::deploy::target::Target;
use crate::error::CliError;
use crate::release::short_digest;
use crate::rollout::{DeployMeta, DeployOptions, Revision};
use crate::settings::Settings;

pub async fn run(args: RollbackArgs, settings: &Settings) -> Result<(), CliError> {
    let ui = &settings.ui;
    let loaded = settings.load_config()?;
    let env = loaded.environment(&args.environment)?;
    let target = Target::connect(&args.environment, env, &loaded.config.app.name).await?;
    let history = target.history(50).await?;
    let gate =
        crate::evidence::gate::Gate::for_env(&loaded, env, args.force, args.reason.as_deref(), &crate::report::Silent)
            .await?;

    let candidates: Vec<&Revision> = history.iter().filter(|r| !r.live).collect();
    if candidates.is_empty() {
        return Err(CliError::failure(format!("{} has no previous release to roll back to", args.environment))
            .hint(format!("`shipit history {}` lists what it has run", args.environment)));
    }
    let chosen: &Revision = if let Some(to) = &args.to {
        find(&history, to)?
    } else if args.previous {
        let i = previous_good(&history).ok_or_else(|| {
            CliError::failure(format!(
                "{}: no release before the live one with a different image whose rollout did not fail",
                args.environment
            ))
            .hint("use --to REVISION to pick one from `shipit history`")
        })?;
        &history[i]
    } else {
        if !ui.interactive {
            return Err(CliError::usage("which release? there is no terminal to pick one on")
                .hint("pass --previous or --to REVISION|DIGEST (see `shipit history`)"));
        }
        let suggested = previous_good(&history);
        let rows: Vec<Vec<String>> =
            history.iter().enumerate().map(|(i, r)| super::history::row(r, Some(i) == suggested, None)).collect();
        let table = crate::ui::table::render(&super::history::HEADERS, &rows);
        let mut lines = table.lines();
        let header = lines.next().unwrap_or_default().to_string();
        let items: Vec<String> = lines.map(str::to_string).collect();
        let default = suggested.unwrap_or_else(|| history.iter().position(|r| !r.live).unwrap_or(0));
        let picked =
            ui.select(&format!("Roll back {} to which release?\n  {header}", args.environment), &items, default)?;
        &history[picked]
    };
    if chosen.live {
        return Err(CliError::usage(format!("revision {} is what runs now", chosen.revision))
            .hint("pick an older revision from `shipit history`"));
    }

    // A tag can point at another image tomorrow: a rollback puts back exactly what ran, or says it cannot.
    if chosen.digest.is_none() && !args.force {
        return Err(CliError::usage(format!(
            "revision {} runs `{}`, which is not pinned by digest; rolling back to it may start a different image than the one that ran",
            chosen.revision, chosen.image
        ))
        .hint("pass --force to roll back to it anyway, or pick a revision with a digest from `shipit history`"));
    }

    let what = chosen.digest.as_deref().map(short_digest).unwrap_or_else(|| chosen.image.clone());
    let env_name = args.environment.as_str();
    let request = engine::Request {
        env_name,
        env,
        target: &target,
        change: engine::Change::Rollback(chosen),
        meta: DeployMeta {
            commit: chosen.commit.clone().unwrap_or_else(|| "unknown".into()),
            deployer: deployer(),
            cause: format!("shipit rollback {env_name} to revision {}", chosen.revision),
            summary: None,
        },
        // A rollback that fails must not roll "back" to the release being abandoned: no auto-rollback here.
        opts: DeployOptions {
            force: args.force,
            timeout: env.timeout.get(),
            auto_rollback: false,
            wait_merge: args.lock.wait_merge,
        },
        lock: (&args.lock).into(),
        command: format!("shipit rollback {env_name}"),
        root: &loaded.root,
        evidence: &gate,
        sources: &crate::pipeline::screen::Sources::new(&loaded),
        announce: &crate::deploy::announce::Announcer::new(&loaded),
    };
    let report = engine::run(ui, request, |_live| {
        let question = format!(
            "Roll back {env_name} to revision {} ({what}{}){}?",
            chosen.revision,
            chosen.commit.as_deref().map(|c| format!(", {}", short_commit(c))).unwrap_or_default(),
            // Allowed (the failure may have been the cluster's, not the release's), but never without saying so.
            if chosen.failed { ", which failed when it was last rolled out" } else { "" }
        );
        // Approved as the environment says, like any change: a rollback is a release too.
        Ok(engine::Decision::Approve { question })
    })
    .await?;
    if let Some(report) = report
        && ui.json()
    {
        ui.print_json(&report);
    }
    Ok(())
}

/// `--to` matches a revision exactly, or a digest by prefix (with or without `sha256:`).
fn find<'a>(history: &'a [Revision], to: &str) -> Result<&'a Revision, CliError> {
    if let Some(r) = history.iter().find(|r| r.revision == to) {
        return Ok(r);
    }
    let hex = to.strip_prefix("sha256:").unwrap_or(to);
    let matches: Vec<&Revision> = history
        .iter()
        .filter(|r| {
            hex.len() >= 4 && r.digest.as_deref().is_some_and(|d| d["sha256:".len().min(d.len())..].starts_with(hex))
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(CliError::usage(format!("no revision or digest `{to}` in the history"))
            .hint("`shipit history <env>` lists revisions and digests")),
        many => {
            // The same digest may appear in several revisions; they are the same release, take the newest.
            if many.iter().all(|r| r.digest == many[0].digest) {
                Ok(many[0])
            } else {
                Err(CliError::usage(format!("`{to}` matches several digests; give more characters")))
            }
        }
    }
}
