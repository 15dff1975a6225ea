//! `shipit check`: may HEAD ship? One line per check, exit 3 with what to fix when one says no.

use console::style;

use crate::cli::CheckArgs;
use crate::error::CliError;
use crate::pipeline::check::{self, CheckOptions, CheckReport, Outcome};
use crate::settings::Settings;

pub async fn run(args: CheckArgs, settings: &Settings) -> Result<(), CliError> {
    let ui = &settings.ui;
    let loaded = settings.load_config()?;
    let env_branches = match &args.env {
        Some(name) => loaded.environment(name)?.branches.as_deref(),
        None => None,
    };
    let opts = CheckOptions { wait: args.wait, poll_interval: args.poll_interval };
    let stage = ui.stage("commit");
    let report = match check::evaluate(&loaded, env_branches, &opts, &stage).await {
        Ok(r) => r,
        Err(e) => {
            stage.fail("the commit check could not be completed");
            return Err(e);
        }
    };
    let err = (!report.passed).then(|| report.gate_error());
    if ui.json() {
        ui.print_json(&crate::ui::report_json(&report, err.as_ref()));
    }
    match err {
        None => {
            stage.ok(report.headline());
            ui.info(render(&report));
            Ok(())
        }
        Some(err) => {
            stage.fail(format!("{} may not ship", report.commit.short_sha));
            let passed = render(&report);
            if !passed.is_empty() {
                ui.info(passed);
            }
            Err(if ui.json() { err.json_printed() } else { err })
        }
    }
}

/// One line per check that did not fail, with its details; the failed ones, with theirs, are the error that
/// follows, so they are not repeated here.
fn render(report: &CheckReport) -> String {
    let mut out = String::new();
    for i in report.items.iter().filter(|i| i.outcome != Outcome::Fail) {
        let symbol = if i.outcome == Outcome::Pass { style("✔").green() } else { style("-").dim() };
        out.push_str(&format!("  {symbol} {:<9} {}\n", i.name, i.summary));
        for d in &i.details {
            out.push_str(&format!("      {}\n", style(d).dim()));
        }
    }
    out.trim_end().to_string()
}
