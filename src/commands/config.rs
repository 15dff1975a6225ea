use serde_json::json;

use crate::cli::ConfigCommand;
use crate::config;
use crate::error::CliError;
use crate::settings::Settings;

pub fn run(cmd: ConfigCommand, settings: &Settings) -> Result<(), CliError> {
    match cmd {
        ConfigCommand::Validate => {
            let loaded = settings.load_config()?;
            let c = &loaded.config;
            if settings.ui.json() {
                settings.ui.print_json(&json!({
                    "ok": true,
                    "path": loaded.path,
                    "app": c.app.name,
                    "registries": c.registries.keys().collect::<Vec<_>>(),
                    "environments": c.environments.keys().collect::<Vec<_>>(),
                }));
            }
            settings.ui.success(format!(
                "{} is valid: app `{}`, {} registr{}, {} environment{} ({})",
                loaded.path.display(),
                c.app.name,
                c.registries.len(),
                if c.registries.len() == 1 { "y" } else { "ies" },
                c.environments.len(),
                if c.environments.len() == 1 { "" } else { "s" },
                c.environments.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
            Ok(())
        }
        ConfigCommand::Schema => {
            let schema = config::json_schema();
            settings.ui.print_data(serde_json::to_string_pretty(&schema).expect("schema serializes"));
            Ok(())
        }
    }
}
