//! Questions to a person. Each one has a non-interactive answer (a default, `--yes`, or a clear error that
//! names the flag to use), because CI has no one to ask.

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Input, Select};

use super::Ui;
use crate::error::CliError;

fn prompt_error(e: dialoguer::Error) -> CliError {
    // Ctrl-C or a closed terminal while a question is open.
    CliError::interrupted(format!("prompt aborted: {e}"))
}

impl Ui {
    /// The approval question, `QUESTION [y/N/d]`: `y` approves, `n` or Enter declines, `d` prints
    /// `details()` and asks again. Without a terminal it is `--yes` or an approval error (exit 4) at once,
    /// naming `what_flag`.
    pub fn approve(&self, question: &str, what_flag: &str, details: &dyn Fn() -> String) -> Result<bool, CliError> {
        if self.assume_yes {
            self.info(format!("{} {question} yes (--yes)", console::style("?").cyan()));
            return Ok(true);
        }
        if !self.interactive {
            return Err(CliError::approval(format!("{question} — no terminal to ask on"))
                .hint(format!("pass {what_flag} to approve non-interactively")));
        }
        let term = console::Term::stderr();
        loop {
            let prompt = format!("{} {question} [y/N/d] ", console::style("?").yellow().bold());
            term.write_str(&prompt).map_err(|e| prompt_error(e.into()))?;
            let key = term.read_char().map_err(|e| prompt_error(e.into()))?;
            let answer = match key {
                'y' | 'Y' => Some(true),
                'n' | 'N' | '\n' | '\r' => Some(false),
                'd' | 'D' => None,
                // Ctrl-C arrives as a character in raw mode.
                '\u{3}' => return Err(CliError::interrupted("prompt aborted")),
                _ => {
                    term.write_line("").map_err(|e| prompt_error(e.into()))?;
                    continue;
                }
            };
            match answer {
                Some(yes) => {
                    term.write_line(if yes { "yes" } else { "no" }).map_err(|e| prompt_error(e.into()))?;
                    return Ok(yes);
                }
                None => {
                    term.write_line("details").map_err(|e| prompt_error(e.into()))?;
                    term.write_str(&details()).map_err(|e| prompt_error(e.into()))?;
                }
            }
        }
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
