//! Everything resolved once from flags and the environment, handed to every command.

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::config::{self, Loaded};
use crate::error::CliError;
use crate::ui::Ui;

pub struct Settings {
    pub ui: Ui,
    pub config_path: Option<PathBuf>,
    pub cwd: PathBuf,
}

impl Settings {
    pub fn new(global: &GlobalArgs) -> Settings {
        Settings {
            ui: Ui::new(global.output, global.color, global.yes, global.quiet, global.verbose),
            config_path: global.config.clone(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }

    /// Find, parse and validate ship.toml.
    pub fn load_config(&self) -> Result<Loaded, CliError> {
        Ok(config::load(self.config_path.as_deref(), &self.cwd)?)
    }
}
