//! shipit: take one commit to production. README.md is the tour, ARCHITECTURE.md the map of this code, STYLE.md
//! the house rules.

pub mod build_cache;
pub mod build_context;
pub mod ci;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod env_vars;
pub mod error;
pub mod evidence;
#[doc(hidden)]
pub mod fuzz_api;
pub mod interrupt;
pub mod pipeline;
pub mod providers;
pub mod release;
pub mod report;
pub mod rollout;
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
    // to guess (see docs/platform-notes.md: two compiled-in providers make the first kube client panic).
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
        interrupt::install();
        // A command that sees the signal itself (a rollout watch) returns its own, more precise, error; otherwise
        // the command is dropped here, but never inside a critical section (a Docker-host swap, a restore).
        tokio::select! {
            biased;
            r = commands::run(cli.command, &settings) => r,
            _ = interrupt::may_exit() => Err(interrupted()),
        }
    });
    // Whatever was left running (a lock heartbeat, a watch) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    // The job summary ends with the run's stages, whatever the command and however it ended.
    let stages = ui::stage_results();
    if !stages.is_empty()
        && let Err(e) = ci::append_summary(&ci::stages_table(&stages))
    {
        settings.ui.warn(format!("cannot write the GitHub Actions summary: {e}"));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            settings.ui.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// The error of a signal: what each environment touched in this run was doing when shipit stopped.
fn interrupted() -> CliError {
    let states = pipeline::journal::lines();
    let signal = interrupt::signal_name().unwrap_or("a signal");
    if states.is_empty() {
        return CliError::interrupted(format!("interrupted by {signal}; no environment was changed"))
            .hint("a release record or scan report may be incomplete; run the command again");
    }
    CliError::interrupted(format!("interrupted by {signal}"))
        .detail(pipeline::journal::detail())
        .hint("`shipit status <env>` shows what runs; `shipit rollback <env>` puts a previous release back")
}
