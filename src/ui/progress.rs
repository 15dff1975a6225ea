//! A pipeline stage as the user sees it: a spinner with live status on a terminal, one line per change in CI,
//! and a final `✔ build  summary  8.4s` line either way.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use console::style;
use indicatif::{ProgressBar, ProgressStyle};

use super::Ui;
use super::actions;
use crate::report::Reporter;

pub struct Stage {
    ui: Ui,
    name: &'static str,
    bar: Option<ProgressBar>,
    started: Instant,
    last_status: Mutex<String>,
    /// In GitHub Actions, a `::group::` is open for this stage's lines.
    grouped: AtomicBool,
}

/// How a stage of this run ended, for the job summary's stages table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageResult {
    pub stage: &'static str,
    /// `ok`, `skipped`, `warning`, `failed`
    pub result: &'static str,
    pub message: String,
    pub seconds: f64,
}

static RESULTS: Mutex<Vec<StageResult>> = Mutex::new(Vec::new());

/// Every stage that finished in this process, in order.
pub fn stage_results() -> Vec<StageResult> {
    RESULTS.lock().unwrap().clone()
}

/// The last stage that failed (the `::error` annotation's title).
pub(super) fn last_failed() -> Option<&'static str> {
    RESULTS.lock().unwrap().iter().rev().find(|r| r.result == "failed").map(|r| r.stage)
}

impl Stage {
    pub(super) fn new(ui: Ui, name: &'static str) -> Stage {
        let bar = ui.live.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {prefix:8.bold} {wide_msg} {elapsed:>4}")
                    .expect("valid template")
                    .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
            );
            bar.set_prefix(name);
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Stage { ui, name, bar, started: Instant::now(), last_status: Mutex::new(String::new()), grouped: false.into() }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn finish_line(&self, symbol: console::StyledObject<&str>, msg: &str) -> String {
        let secs = self.started.elapsed().as_secs_f64();
        let took = if secs >= 0.05 { format!("  {}", style(format_secs(secs)).dim()) } else { String::new() };
        format!("{symbol} {:<8} {msg}{took}", self.name)
    }

    /// The stage succeeded.
    pub fn ok(self, msg: impl AsRef<str>) {
        let line = self.finish_line(style("✔").green(), msg.as_ref());
        self.finish(line, "ok", msg.as_ref(), false);
    }

    /// The stage was skipped (nothing to do, or turned off).
    pub fn skipped(self, msg: impl AsRef<str>) {
        let line = self.finish_line(style("-").dim(), msg.as_ref());
        self.finish(line, "skipped", msg.as_ref(), false);
    }

    /// The stage finished with a warning worth seeing.
    pub fn warn(self, msg: impl AsRef<str>) {
        let line = self.finish_line(style("!").yellow(), msg.as_ref());
        if self.ui.actions {
            self.end_group();
            eprintln!("{}", actions::command("warning", &[("title", self.name)], msg.as_ref()));
        }
        self.finish(line, "warning", msg.as_ref(), false);
    }

    /// The stage failed; the error itself is printed by the caller.
    pub fn fail(self, msg: impl AsRef<str>) {
        let line = self.finish_line(style("✘").red(), msg.as_ref());
        self.finish(line, "failed", msg.as_ref(), true);
    }

    fn finish(mut self, line: String, result: &'static str, msg: &str, always: bool) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.end_group();
        if always || !self.ui.quiet {
            eprintln!("{line}");
        }
        RESULTS.lock().unwrap().push(StageResult {
            stage: self.name,
            result,
            message: msg.to_string(),
            seconds: self.started.elapsed().as_secs_f64(),
        });
    }

    /// In GitHub Actions a stage's detail lines fold into a group named after it; the final line stays out.
    fn begin_group(&self) {
        if self.ui.actions && !self.grouped.swap(true, Ordering::Relaxed) {
            eprintln!("{}", actions::command("group", &[], self.name));
        }
    }

    fn end_group(&self) {
        if self.grouped.swap(false, Ordering::Relaxed) {
            eprintln!("::endgroup::");
        }
    }

    fn print_above(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                self.begin_group();
                eprintln!("{text}")
            }
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.end_group();
    }
}

impl Reporter for Stage {
    fn status(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(msg.to_string()),
            None => {
                if self.ui.quiet || self.ui.json() {
                    return;
                }
                let mut last = self.last_status.lock().unwrap();
                if *last != msg {
                    *last = msg.to_string();
                    self.begin_group();
                    eprintln!("  {} {msg}", style(self.name).dim());
                }
            }
        }
    }

    fn line(&self, msg: &str) {
        if !self.ui.quiet && !self.ui.json() {
            self.print_above(&format!("  {msg}"));
        }
    }

    fn detail(&self, msg: &str) {
        if self.ui.verbose > 0 {
            self.print_above(&format!("  {}", style(msg).dim()));
        }
    }

    fn bytes(&self, done: u64, total: Option<u64>) {
        let text = match total {
            Some(t) if t > 0 => format!(
                "{} / {} ({:.0}%)",
                indicatif::HumanBytes(done),
                indicatif::HumanBytes(t),
                done as f64 * 100.0 / t as f64
            ),
            _ => format!("{}", indicatif::HumanBytes(done)),
        };
        // Byte counts change constantly; in plain mode only the live bar shows them.
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        }
    }
}

pub fn format_secs(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let s = secs.round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}
