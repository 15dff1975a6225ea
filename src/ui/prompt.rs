//! Questions to a person. Each one has a non-interactive answer (a default, `--yes`, or a clear error that
//! names the flag to use), because CI has no one to ask.

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Select};

use super::Ui;
use crate::error::CliError;

fn prompt_error(e: dialoguer::Error) -> CliError {
    // Ctrl-C or a closed terminal while a question is open.
    CliError::interrupted(format!("prompt aborted: {e}"))
}

impl Ui {
    /// Ask yes/no. Without a terminal, `--yes` answers yes; otherwise it is an approval error (exit 4) whose
    /// hint names `what_flag`.
    pub fn confirm(&self, question: &str, default: bool, what_flag: &str) -> Result<bool, CliError> {
        if self.assume_yes {
            self.info(format!("{} {question} yes (--yes)", console::style("?").cyan()));
            return Ok(true);
        }
        if !self.interactive {
            return Err(CliError::approval(format!("{question} — no terminal to ask on"))
                .hint(format!("pass {what_flag} to approve non-interactively")));
        }
        Confirm::with_theme(&ColorfulTheme::default())
            .with_prompt(question)
            .default(default)
            .interact()
            .map_err(prompt_error)
    }

    /// Pick one of `items`; non-interactively the default is taken.
    pub fn select(&self, question: &str, items: &[String], default: usize) -> Result<usize, CliError> {
        if !self.interactive {
            return Ok(default);
        }
        Select::with_theme(&ColorfulTheme::default())
            .with_prompt(question)
            .items(items)
            .default(default)
            .max_length(12)
            .interact()
            .map_err(prompt_error)
    }

    /// Ask for text; non-interactively the default is taken.
    pub fn input(&self, question: &str, default: &str) -> Result<String, CliError> {
        if !self.interactive {
            return Ok(default.to_string());
        }
        Input::with_theme(&ColorfulTheme::default())
            .with_prompt(question)
            .default(default.to_string())
            .interact_text()
            .map_err(prompt_error)
    }
}
