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
    let lock = target.read_lock().await?;
    let ui = &settings.ui;
    if ui.json() {
        ui.print_json(&serde_json::json!({
            "environment": args.environment,
            "target": target.describe(),
            "live": live,
            "lock": lock.as_ref().map(|l| serde_json::json!({
                "holder": l.holder, "host": l.host, "command": l.command, "what": l.what,
                "since": l.since, "until": l.until, "expired": l.expired(),
            })),
        }));
        return Ok(());
    }
    let lock_line = lock.as_ref().map(|l| {
        let state = if l.expired() { "expired; the next deploy takes it over" } else { "held" };
        format!("lock         {state}: {}\n", l.describe())
    });
    let Some(l) = live else {
        let mut out = format!("{}: nothing deployed yet ({})\n", args.environment, target.describe());
        out.push_str(lock_line.as_deref().unwrap_or_default());
        ui.print_data(out);
        return Ok(());
    };
    let mut out = format!("environment  {}\ntarget       {}\n", args.environment, target.describe());
    if let Some(line) = &lock_line {
        out.push_str(line);
    }
    out.push_str(&format!("image        {}\n", l.image));
    if let Some(c) = &l.commit {
        out.push_str(&format!("commit       {}\n", short_commit(c)));
    }
    if let Some(r) = &l.revision {
        out.push_str(&format!("revision     {r}\n"));
    }
    if (l.desired, l.running, l.pending) == (0, 0, 0) {
        // Nothing to count (a gitops environment: the state is the config repository's).
        out.push_str(&format!("rollout      {}\n", l.rollout));
    } else {
        out.push_str(&format!(
            "rollout      {}  ({} running, {} pending, {} desired)\n",
            l.rollout, l.running, l.pending, l.desired
        ));
    }
    for d in &l.details {
        out.push_str(&format!("             {d}\n"));
    }
    ui.print_data(out);
    Ok(())
}
