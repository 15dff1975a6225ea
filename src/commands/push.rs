//! `shipit push`: check the registry, build unless it already has this commit, push, record the digest.

use crate::ci;
use crate::cli::PushArgs;
use crate::error::CliError;
use crate::pipeline::build::{self as build_stage, BuildOptions, Plan};
use crate::pipeline::push;
use crate::providers::docker::Engine;
use crate::release::{Release, short_digest};
use crate::settings::Settings;

pub async fn run(args: PushArgs, settings: &Settings) -> Result<(), CliError> {
    let ui = &settings.ui;
    let loaded = settings.load_config()?;
    let plan = Plan::resolve(&loaded, args.build.registry.as_deref(), args.build.allow_dirty)?;
    super::build::announce(settings, &plan);

    let stage = ui.stage("registry");
    let session = match push::connect(&plan, &stage).await {
        Ok(s) => s,
        Err(e) => {
            stage.fail("not usable");
            return Err(e);
        }
    };
    if !args.rebuild {
        let found = match push::existing(&session, &plan, &stage).await {
            Ok(f) => f,
            Err(e) => {
                stage.fail("not usable");
                return Err(e);
            }
        };
        if let Some(image) = found {
            stage.ok(session.describe());
            let tag = plan.identity_tag.as_deref().unwrap_or_default();
            ui.stage("build").skipped(format!(
                "{}:{tag} is already in the registry as {} (--rebuild builds it again)",
                session.target.push_repository(),
                short_digest(&image.digest)
            ));
            ui.stage("push").skipped("nothing to push");
            let release = push::record_existing(&plan, &session.target.name, image)?;
            attach_evidence(settings, &loaded, &session, &release).await?;
            return finish(settings, &release, true);
        }
    }
    stage.ok(session.describe());

    let engine = Engine::connect(None).await?;
    let stage = ui.stage("build");
    let options = BuildOptions { no_cache: args.build.no_cache, ..Default::default() }
        .with_registry(&session.target.push_host, session.auth.as_ref());
    let built = match build_stage::run(&plan, &engine, &options, &stage).await {
        Ok(b) => b,
        Err(e) => {
            stage.fail("failed");
            return Err(e);
        }
    };
    stage.ok(built.summary());

    let stage = ui.stage("push");
    let (release, totals) = match push::run(&session, &plan, &engine, &built, &stage).await {
        Ok(r) => r,
        Err(e) => {
            stage.fail("failed");
            return Err(e);
        }
    };
    let retried = if totals.attempts > 1 { format!("; {} attempts", totals.attempts) } else { String::new() };
    let plural = |n: usize| if n == 1 { "layer" } else { "layers" };
    stage.ok(format!(
        "{}  ({} {} uploaded, {}; {} already there{retried})",
        short_pinned(&release),
        totals.layers_uploaded,
        plural(totals.layers_uploaded),
        indicatif::HumanBytes(totals.bytes_uploaded),
        totals.layers_existing
    ));
    attach_evidence(settings, &loaded, &session, &release).await?;
    finish(settings, &release, false)
}

/// Attach this commit's scan (or its recorded skip) to the pushed digest, where every deploy reads it.
pub async fn attach_evidence(
    settings: &Settings,
    loaded: &crate::config::Loaded,
    session: &push::Session,
    release: &Release,
) -> Result<(), CliError> {
    let stage = settings.ui.stage("evidence");
    match crate::evidence::publish::after_push(loaded, session, release, &stage).await {
        Ok(p) => {
            let (good, line) = crate::evidence::publish::describe(&p);
            if good {
                stage.ok(line)
            } else {
                stage.warn(line)
            }
            Ok(())
        }
        Err(e) => {
            stage.fail("not attached");
            Err(e)
        }
    }
}

fn short_pinned(r: &Release) -> String {
    format!("{}@{}…", r.image.repository, short_digest(&r.image.digest))
}

fn finish(settings: &Settings, release: &Release, skipped: bool) -> Result<(), CliError> {
    let ui = &settings.ui;
    let pinned = release.image.pinned();
    if ui.json() {
        ui.print_json(release);
    } else {
        ui.print_data(&pinned);
    }
    let outputs = ci::set_outputs(&[("image", &pinned), ("digest", &release.image.digest)]);
    let mut rows = vec![
        ("image", pinned.clone()),
        ("commit", format!("{} ({})", release.commit.sha, release.commit.branch.as_deref().unwrap_or("detached"))),
        ("tags", release.tags.join(", ")),
    ];
    if skipped {
        rows.push(("build", "skipped: already in the registry".into()));
    }
    for (stage, secs) in &release.durations {
        rows.push((stage.as_str(), format!("{secs:.1}s")));
    }
    let summary = ci::append_summary(&ci::summary_table(&format!("shipit push: {}", release.app), &rows));
    if let Err(e) = outputs.and(summary) {
        ui.warn(format!("cannot write the GitHub Actions outputs: {e}"));
    }
    Ok(())
}
