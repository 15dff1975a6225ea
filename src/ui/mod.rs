//! The only module that knows a terminal exists. Everything user-visible goes through `Ui`:
//! stdout carries data (JSON, tables), stderr carries progress and messages.

/// An `eprintln!` that never panics: once the terminal is gone (SIGHUP) writes fail with EIO, and a panic then
/// would abort whatever change is in flight. (stdout is written with `write!` already.)
macro_rules! eprintln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

pub mod actions;
mod progress;
mod prompt;
pub mod table;

use std::io::{IsTerminal, Write};

use console::style;
use serde::Serialize;

use crate::cli::{ColorChoice, OutputFormat};
use crate::env_vars::EnvVars;
use crate::error::CliError;

pub use progress::{Stage, StageResult, stage_results};

#[derive(Debug, Clone)]
pub struct Ui {
    pub output: OutputFormat,
    /// Prompts allowed: stdin and stderr are terminals, not CI, no `--yes`.
    pub interactive: bool,
    /// `--yes`: approvals are given, choices take their defaults.
    pub assume_yes: bool,
    /// Live spinners and bars allowed (stderr is a terminal, not quiet, not JSON).
    pub live: bool,
    pub quiet: bool,
    pub verbose: u8,
    pub ci: bool,
    /// Running in GitHub Actions: the log speaks its workflow commands (see `actions`).
    pub actions: bool,
}

impl Ui {
    pub fn new(output: OutputFormat, color: ColorChoice, assume_yes: bool, quiet: bool, verbose: u8) -> Ui {
        let stderr_tty = std::io::stderr().is_terminal();
        let stdin_tty = std::io::stdin().is_terminal();
        let ci = env_true(EnvVars::CI);
        // Decided per stream: `shipit history > file` in a terminal must not write escape codes into the file.
        let colors = |is_tty: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                if std::env::var_os(EnvVars::NO_COLOR).is_some_and(|v| !v.is_empty()) {
                    false
                } else if std::env::var(EnvVars::CLICOLOR_FORCE).is_ok_and(|v| !v.is_empty() && v != "0") {
                    true
                } else if std::env::var(EnvVars::CLICOLOR).is_ok_and(|v| v == "0") {
                    false
                } else {
                    is_tty
                }
            }
        };
        console::set_colors_enabled(colors(std::io::stdout().is_terminal()));
        console::set_colors_enabled_stderr(colors(stderr_tty));
        let json = output == OutputFormat::Json;
        Ui {
            output,
            interactive: stdin_tty && stderr_tty && !ci && !assume_yes,
            assume_yes,
            live: stderr_tty && !quiet && !json && !ci,
            quiet,
            verbose,
            ci,
            actions: std::env::var(EnvVars::GITHUB_ACTIONS).is_ok_and(|v| v == "true"),
        }
    }

    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }

    /// A message on stderr (suppressed by `-q`).
    pub fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }

    pub fn success(&self, msg: impl AsRef<str>) {
        self.info(format!("{} {}", style("✔").green(), msg.as_ref()));
    }

    /// A block of lines on stderr, as is (the approval screen); suppressed by `-q` like `info`.
    pub fn block(&self, text: &str) {
        if !self.quiet {
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
    }

    pub fn warn(&self, msg: impl AsRef<str>) {
        if self.actions {
            eprintln!("{}", actions::command("warning", &[], msg.as_ref()));
        } else {
            eprintln!("{} {}", style("warning:").yellow().bold(), msg.as_ref());
        }
    }

    /// A line worth finding again (what went live where); an annotation in GitHub Actions, plain elsewhere.
    pub fn notice(&self, title: &str, msg: impl AsRef<str>) {
        if self.actions {
            eprintln!("{}", actions::command("notice", &[("title", title)], msg.as_ref()));
        }
    }

    /// Debug output for `-v`.
    pub fn debug(&self, msg: impl AsRef<str>) {
        if self.verbose > 0 {
            eprintln!("{} {}", style("debug:").dim(), msg.as_ref());
        }
    }

    pub fn error(&self, err: &CliError) {
        let mut out = String::new();
        out.push_str(&format!("{} {}\n", style("error:").red().bold(), err.message));
        if let Some(detail) = &err.detail {
            out.push_str(detail.trim_end());
            out.push('\n');
        }
        for h in &err.hints {
            out.push_str(&format!("{} {h}\n", style("hint:").cyan().bold()));
        }
        let _ = std::io::stderr().write_all(out.as_bytes());
        if self.actions {
            let mut text = err.message.clone();
            for h in &err.hints {
                text.push_str(&format!("\nhint: {h}"));
            }
            let title = match progress::last_failed() {
                Some(stage) => format!("shipit: {stage} failed"),
                None => "shipit failed".to_string(),
            };
            eprintln!("{}", actions::command("error", &[("title", &title)], &text));
        }
        if self.json() && !err.json_printed {
            self.print_json(&serde_json::json!({ "ok": false, "error": error_json(err) }));
        }
    }

    /// Data for stdout, as pretty JSON.
    pub fn print_json<T: Serialize + ?Sized>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value).expect("JSON output serializes");
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
    }

    /// Data for stdout, as text (tables, schemas, completion scripts).
    pub fn print_data(&self, text: impl AsRef<str>) {
        let mut stdout = std::io::stdout().lock();
        let text = text.as_ref();
        let _ = stdout.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = stdout.write_all(b"\n");
        }
    }

    /// A stage of the pipeline with a live spinner (terminal) or plain status lines (CI).
    pub fn stage(&self, name: &'static str) -> Stage {
        Stage::new(self.clone(), name)
    }
}

/// A command's JSON report with `ok` and, when the command failed (a gate said no), the same `error` object
/// every failing command prints, next to the report's own fields.
pub fn report_json<T: Serialize + ?Sized>(report: &T, err: Option<&CliError>) -> serde_json::Value {
    let mut value = serde_json::to_value(report).expect("JSON output serializes");
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("ok".into(), serde_json::Value::Bool(err.is_none()));
        if let Some(e) = err {
            map.insert("error".into(), error_json(e));
        }
    }
    value
}

/// The `error` object of `--output json`: the same for every command, so a pipeline can read `.error.class`.
pub fn error_json(err: &CliError) -> serde_json::Value {
    serde_json::json!({
        "message": err.message,
        "detail": err.detail,
        "hints": err.hints,
        "class": err.class,
        "exit_code": err.exit_code(),
    })
}

fn env_true(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}
