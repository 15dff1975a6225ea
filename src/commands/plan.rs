//! `shipit plan <env>…`: what `shipit ship` would do, without doing it.

use crate::cli::{PlanArgs, ShipArgs};
use crate::error::CliError;
use crate::settings::Settings;

pub async fn run(args: PlanArgs, settings: &Settings) -> Result<(), CliError> {
    let ship = ShipArgs {
        environments: args.environments,
        dry_run: true,
        rebuild: false,
        wait_checks: false,
        skip_scan: false,
        reason: None,
        force: false,
        lock: Default::default(),
    };
    super::ship::run(ship, settings).await
}
