//! shipit: take one commit to production. See README.md for the tour and DESIGN notes in docs/.

pub mod build_cache;
pub mod build_context;
pub mod ci;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod error;
pub mod pipeline;
pub mod providers;
pub mod release;
pub mod report;
pub mod scan;
pub mod settings;
pub mod ui;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::error::CliError;
use crate::settings::Settings;

pub fn main() -> ExitCode {
    // kube, octocrab and the AWS SDK all use rustls; pin one process-wide crypto provider so none of them has
    // to guess (see FACTS.md: two compiled-in providers make the first kube client panic).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    let cli = Cli::parse();
    let settings = Settings::new(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            r = commands::run(cli.command, &settings) => r,
            _ = tokio::signal::ctrl_c() => Err(interrupted()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            settings.ui.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// The Ctrl-C error: what each environment touched in this run was doing when shipit stopped.
fn interrupted() -> CliError {
    let states = pipeline::journal::lines();
    if states.is_empty() {
        return CliError::interrupted("interrupted; no environment was changed")
            .hint("a release record or scan report may be incomplete; run the command again");
    }
    CliError::interrupted("interrupted")
        .detail(states.iter().map(|s| format!("  {s}")).collect::<Vec<_>>().join("\n"))
        .hint("on ECS and Kubernetes a started rollout goes on without shipit; on a Docker host the old container may be stopped — `shipit status <env>` shows what runs, `shipit rollback <env>` puts a release back")
}
