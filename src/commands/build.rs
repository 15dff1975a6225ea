//! `shipit build`: build HEAD's image locally, tagged for the registry. No registry is contacted.

use crate::cli::BuildArgs;
use crate::error::CliError;
use crate::pipeline::build::{self, BuildOptions, Plan};
use crate::providers::docker::Engine;
use crate::settings::Settings;

pub async fn run(args: BuildArgs, settings: &Settings) -> Result<(), CliError> {
    let ui = &settings.ui;
    let loaded = settings.load_config()?;
    let plan = Plan::resolve(&loaded, args.registry.as_deref(), args.allow_dirty)?;
    announce(settings, &plan);
    let engine = Engine::connect(None).await?;
    let stage = ui.stage("build");
    let built =
        match build::run(&plan, &engine, &BuildOptions { no_cache: args.no_cache, ..Default::default() }, &stage).await
        {
            Ok(b) => b,
            Err(e) => {
                stage.fail("failed");
                return Err(e);
            }
        };
    stage.ok(built.summary());
    if ui.json() {
        ui.print_json(&serde_json::json!({
            "ok": true,
            "image": built,
            "references": built.references(),
            "commit": plan.commit,
        }));
    } else {
        ui.print_data(&built.references()[0]);
    }
    Ok(())
}

/// Notes about the plan worth a line before the work starts.
pub(super) fn announce(settings: &Settings, plan: &Plan) {
    for note in &plan.notes {
        settings.ui.info(format!("note: {note}"));
    }
    if plan.commit.dirty {
        settings.ui.warn(format!(
            "building uncommitted changes on top of {} (--allow-dirty); tags end in -dirty",
            plan.commit.short_sha
        ));
    }
}
