//! `shipit history <env>`: the releases an environment has run, newest first.

use serde::Serialize;

use crate::cli::HistoryArgs;
use crate::deploy::meta::{ago, previous_good, short_commit};
use crate::deploy::target::Target;
use crate::error::CliError;
use crate::evidence::gate::Gate;
use crate::release::{ImageRef, short_digest};
use crate::rollout::Revision;
use crate::settings::Settings;
use crate::ui::table;

pub async fn run(args: HistoryArgs, settings: &Settings) -> Result<(), CliError> {
    let loaded = settings.load_config()?;
    let env = loaded.environment(&args.environment)?;
    let target = Target::connect(&args.environment, env, &loaded.config.app.name).await?;
    let history = target.history(args.limit).await?;
    let ui = &settings.ui;
    let gate = Gate::for_env(&loaded, env, false, None, &crate::report::Silent).await?;
    let seen = evidence(&gate, &args.environment, &history).await;
    if ui.json() {
        let revisions: Vec<serde_json::Value> = history
            .iter()
            .zip(&seen)
            .map(|(r, s)| {
                let mut v = serde_json::to_value(r).expect("serializes");
                v["evidence"] = serde_json::to_value(s).expect("serializes");
                v
            })
            .collect();
        ui.print_json(&serde_json::json!({
            "environment": args.environment,
            "target": target.describe(),
            "revisions": revisions,
        }));
        return Ok(());
    }
    if history.is_empty() {
        ui.print_data(format!("{}: no releases yet ({})", args.environment, target.describe()));
        return Ok(());
    }
    ui.print_data(render(&history, &seen));
    for (r, s) in history.iter().zip(&seen) {
        if let Some(Seen { forced: Some(why), .. }) = s {
            ui.warn(format!("revision {} was deployed with --force past the scan gate: {why}", r.revision));
        }
    }
    Ok(())
}

/// What the registry holds about a revision's digest for this environment: whether the chain the policy asks
/// for is complete, who approved it and how, and whether the scan gate was forced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Seen {
    /// Links missing from the chain (`scan`, `approval`); empty: complete.
    pub missing: Vec<&'static str>,
    pub approved_by: Option<String>,
    pub method: Option<String>,
    pub approved_at: Option<String>,
    pub forced: Option<String>,
}

/// The evidence of each revision, read concurrently (one digest's evidence is a few registry requests).
/// Environments that do not keep evidence (`require_scan = false`, another registry) show nothing.
async fn evidence(gate: &Gate, env_name: &str, history: &[Revision]) -> Vec<Option<Seen>> {
    let reads = history.iter().map(|r| async move {
        let image = ImageRef::parse_pinned(&r.image)?;
        let known = tokio::time::timeout(std::time::Duration::from_secs(10), gate.known(&image)).await.ok()?;
        if !known.read {
            return None;
        }
        let approval = known.approvals.iter().find(|a| a.environment == env_name);
        let forced = known
            .deploys
            .iter()
            .filter(|d| d.environment == env_name)
            .find_map(|d| d.forced.as_ref().map(|f| format!("{} (missing: {})", f.reason, f.missing)));
        let mut missing = Vec::new();
        if !known.judged.as_ref().is_some_and(|j| j.verdict.passed) && !known.skipped {
            missing.push("scan");
        }
        if approval.is_none() {
            missing.push("approval");
        }
        Some(Seen {
            missing,
            approved_by: approval.map(|a| a.ci_actor.clone().unwrap_or_else(|| a.by.clone())),
            method: approval.map(|a| a.method.as_str().to_string()),
            approved_at: approval.map(|a| a.at.to_rfc3339()),
            forced,
        })
    });
    futures_util::future::join_all(reads).await
}

/// One row per revision; shared with the rollback picker so both read the same.
pub fn row(r: &Revision, suggested: bool, seen: Option<&Seen>) -> Vec<String> {
    let mut marks = Vec::new();
    if r.live {
        marks.push("● live");
    } else if suggested {
        marks.push("← previous");
    }
    if r.failed {
        marks.push("✘ failed");
    }
    if seen.is_some_and(|s| s.forced.is_some()) {
        marks.push("⚠ forced");
    }
    let incomplete = seen.filter(|s| !s.missing.is_empty()).map(|s| format!("✘ no {}", s.missing.join(", no ")));
    let mut marks: Vec<String> = marks.into_iter().map(str::to_string).collect();
    marks.extend(incomplete);
    let marker = marks.join(", ");
    let approved = match seen {
        Some(Seen { approved_by: Some(by), method: Some(m), .. }) => format!("{by} ({m})"),
        _ => "-".into(),
    };
    vec![
        r.revision.clone(),
        r.digest.as_deref().map(short_digest).unwrap_or_else(|| r.image.clone()),
        r.commit.as_deref().map(short_commit).unwrap_or("-").to_string(),
        r.deployer.clone().unwrap_or_else(|| "-".into()),
        approved,
        r.created.map(ago).unwrap_or_else(|| "-".into()),
        marker,
    ]
}

pub const HEADERS: [&str; 7] = ["revision", "digest", "commit", "deployer", "approved", "deployed", ""];

pub fn render(history: &[Revision], seen: &[Option<Seen>]) -> String {
    let suggested = previous_good(history);
    let rows: Vec<Vec<String>> = history
        .iter()
        .enumerate()
        .map(|(i, r)| row(r, Some(i) == suggested, seen.get(i).and_then(Option::as_ref)))
        .collect();
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
            render(&history, &[]).lines().skip(1).map(|l| l.split("  ").last().unwrap().trim().to_string()).collect();
        assert_eq!(marks, ["● live", "✘ failed", "← previous"]);
        assert_eq!(row(&rev("3", "c", true, true), false, None).last().unwrap(), "● live, ✘ failed");
    }
}
