//! One error type at the top of the program: what went wrong, what to do about it, and which exit code a
//! pipeline can branch on. Providers have their own typed errors; they become a `CliError` at the command layer,
//! where there is enough context to write a useful hint.

use std::fmt;

/// Exit codes are part of shipit's interface: CI pipelines branch on them. Keep them stable (docs/exit-codes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitClass {
    /// 1: an operation failed (API error, build failed, deploy failed).
    Failure,
    /// 2: bad flag, bad ship.toml, bad input.
    Usage,
    /// 3: a gate said no (commit check, scan findings, policy).
    Gate,
    /// 4: approval was required but not given (no terminal and no `--yes`), or it was declined.
    Approval,
    /// 5: the deploy failed and the environment was rolled back to the digest it ran before.
    RolledBack,
    /// 6: the environment is locked by another deploy (the message names the holder).
    Locked,
    /// 130: interrupted by a signal (SIGINT, SIGTERM, SIGHUP).
    Interrupted,
}

impl ExitClass {
    pub fn code(self) -> u8 {
        match self {
            ExitClass::Failure => 1,
            ExitClass::Usage => 2,
            ExitClass::Gate => 3,
            ExitClass::Approval => 4,
            ExitClass::RolledBack => 5,
            ExitClass::Locked => 6,
            ExitClass::Interrupted => 130,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CliError {
    pub class: ExitClass,
    /// One sentence; what happened. Printed after `error: `.
    pub message: String,
    /// Pre-rendered detail (a config snippet, a findings table, a build log tail). Printed verbatim.
    pub detail: Option<String>,
    /// What the user can do next. Printed as `hint: ` lines.
    pub hints: Vec<String>,
    /// The command already printed its JSON result (which says what failed); `--output json` then must not
    /// print a second document.
    pub json_printed: bool,
}

impl CliError {
    pub fn new(class: ExitClass, message: impl Into<String>) -> Self {
        CliError { class, message: message.into(), detail: None, hints: Vec::new(), json_printed: false }
    }
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(ExitClass::Failure, message)
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ExitClass::Usage, message)
    }
    pub fn gate(message: impl Into<String>) -> Self {
        Self::new(ExitClass::Gate, message)
    }
    pub fn approval(message: impl Into<String>) -> Self {
        Self::new(ExitClass::Approval, message)
    }
    pub fn rolled_back(message: impl Into<String>) -> Self {
        Self::new(ExitClass::RolledBack, message)
    }
    pub fn locked(message: impl Into<String>) -> Self {
        Self::new(ExitClass::Locked, message)
    }
    pub fn interrupted(message: impl Into<String>) -> Self {
        Self::new(ExitClass::Interrupted, message)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    /// Mark that the command's JSON output already describes this failure.
    pub fn json_printed(mut self) -> Self {
        self.json_printed = true;
        self
    }
    /// Prefix the message with what we were doing when it failed ("push to ghcr: …").
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
    pub fn exit_code(&self) -> u8 {
        self.class.code()
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Render an error chain as one line: "outer: inner: root cause". The AWS SDK and hyper hide the useful
/// part (connection refused, the service's message) several `source()`s deep.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;
