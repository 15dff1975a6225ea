//! `shipit status <env>`: what runs there now.

use crate::cli::EnvArgs;
use crate::deploy::meta::short_commit;
use crate::deploy::target::Target;
use crate::error::CliError;
use crate::settings::Settings;

pub async fn run(args: EnvArgs, settings: &Settings) -> Result<(), CliError> {
    let loaded = settings.load_config()?;
    let env = loaded.environment(&args.environment)?;
    let target = Target::connect(&args.environment, env, &loaded.config.app.name).await?;
    let live = target.live().await?;
    let ui = &settings.ui;
    if ui.json() {
        ui.print_json(&serde_json::json!({
            "environment": args.environment,
            "target": target.describe(),
            "live": live,
        }));
        return Ok(());
    }
    let Some(l) = live else {
        ui.print_data(format!("{}: nothing deployed yet ({})", args.environment, target.describe()));
        return Ok(());
    };
    let mut out = format!("environment  {}\ntarget       {}\n", args.environment, target.describe());
    out.push_str(&format!("image        {}\n", l.image));
    if let Some(c) = &l.commit {
        out.push_str(&format!("commit       {}\n", short_commit(c)));
    }
    if let Some(r) = &l.revision {
        out.push_str(&format!("revision     {r}\n"));
    }
    out.push_str(&format!(
        "rollout      {}  ({} running, {} pending, {} desired)\n",
        l.rollout, l.running, l.pending, l.desired
    ));
    for d in &l.details {
        out.push_str(&format!("             {d}\n"));
    }
    ui.print_data(out);
    Ok(())
}
