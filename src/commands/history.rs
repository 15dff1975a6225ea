//! `shipit history <env>`: the releases an environment has run, newest first.

use crate::cli::HistoryArgs;
use crate::deploy::meta::{ago, previous_good, short_commit};
use crate::deploy::target::Target;
use crate::error::CliError;
use crate::release::short_digest;
use crate::rollout::Revision;
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
    let mut marks = Vec::new();
    if r.live {
        marks.push("● live");
    } else if suggested {
        marks.push("← previous");
    }
    if r.failed {
        marks.push("✘ failed");
    }
    let marker = marks.join(", ");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(n: &str, image: &str, live: bool, failed: bool) -> Revision {
        Revision {
            revision: n.into(),
            image: image.into(),
            digest: None,
            commit: None,
            deployer: None,
            created: None,
            live,
            failed,
        }
    }

    #[test]
    fn failed_revisions_are_marked_and_never_suggested() {
        let history = [rev("4", "b", true, false), rev("3", "c", false, true), rev("1", "a", false, false)];
        let marks: Vec<String> =
            render(&history).lines().skip(1).map(|l| l.split("  ").last().unwrap().trim().to_string()).collect();
        assert_eq!(marks, ["● live", "✘ failed", "← previous"]);
        assert_eq!(row(&rev("3", "c", true, true), false).last().unwrap(), "● live, ✘ failed");
    }
}
