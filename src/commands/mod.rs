//! One file per subcommand. Commands are thin: translate arguments, call the pipeline or a provider, report.

mod build;
mod check;
mod completions;
mod config;
mod deploy;
mod doctor;
mod history;
mod init;
mod keys;
mod plan;
mod promote;
mod push;
mod rollback;
mod scan;
mod ship;
mod status;
mod verify;

use crate::cli::Command;
use crate::error::CliError;
use crate::settings::Settings;

pub async fn run(command: Command, settings: &Settings) -> Result<(), CliError> {
    match command {
        Command::Init(args) => init::run(args, settings).await,
        Command::Config(cmd) => config::run(cmd, settings),
        Command::Keys(cmd) => keys::run(cmd, settings),
        Command::Doctor => doctor::run(settings).await,
        Command::Build(args) => build::run(args, settings).await,
        Command::Push(args) => push::run(args, settings).await,
        Command::Ship(args) => ship::run(args, settings).await,
        Command::Plan(args) => plan::run(args, settings).await,
        Command::Deploy(args) => deploy::run(args, settings).await,
        Command::Status(args) => status::run(args, settings).await,
        Command::History(args) => history::run(args, settings).await,
        Command::Rollback(args) => rollback::run(args, settings).await,
        Command::Completions { shell } => completions::run(shell, settings),
        Command::Check(args) => check::run(args, settings).await,
        Command::Scan(args) => scan::run(args, settings).await,
        Command::Verify(args) => verify::run(args, settings).await,
        Command::Promote(args) => promote::run(args, settings).await,
    }
}
