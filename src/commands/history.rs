//! `shipit history <env>`: the releases an environment has run, newest first.

use crate::cli::HistoryArgs;
use crate::deploy::Revision;
use crate::deploy::meta::{ago, previous_good, short_commit};
use crate::deploy::target::Target;
use crate::error::CliError;
use crate::release::short_digest;
use crate::settings::Settings;
use crate::ui::table;

pub async fn run(args: HistoryArgs, settings: &Settings) -> Result<(), CliError> {
    let loaded = settings.load_config()?;
    let env = loaded.environment(&args.environment)?;
    let target = Target::connect(&args.environment, env, &loaded.config.app.name).await?;
    let history = target.history(args.limit).await?;
    let ui = &settings.ui;
    if ui.json() {
        ui.print_json(&serde_json::json!({
            "environment": args.environment,
            "target": target.describe(),
            "revisions": history,
        }));
        return Ok(());
    }
    if history.is_empty() {
        ui.print_data(format!("{}: no releases yet ({})", args.environment, target.describe()));
        return Ok(());
    }
    ui.print_data(render(&history));
    Ok(())
}

/// One row per revision; shared with the rollback picker so both read the same.
pub fn row(r: &Revision, suggested: bool) -> Vec<String> {
    let marker = if r.live {
        "● live".to_string()
    } else if suggested {
        "← previous".to_string()
    } else {
        String::new()
    };
    vec![
        r.revision.clone(),
        r.digest.as_deref().map(short_digest).unwrap_or_else(|| r.image.clone()),
        r.commit.as_deref().map(short_commit).unwrap_or("-").to_string(),
        r.deployer.clone().unwrap_or_else(|| "-".into()),
        r.created.map(ago).unwrap_or_else(|| "-".into()),
        marker,
    ]
}

pub const HEADERS: [&str; 6] = ["revision", "digest", "commit", "deployer", "deployed", ""];

pub fn render(history: &[Revision]) -> String {
    let suggested = previous_good(history);
    let rows: Vec<Vec<String>> = history.iter().enumerate().map(|(i, r)| row(r, Some(i) == suggested)).collect();
    table::render(&HEADERS, &rows)
}
