//! What shipit has done to each environment so far in this run, so that an interruption (Ctrl-C) can say
//! exactly what state every environment is in instead of leaving the user to guess.

use std::collections::BTreeMap;
use std::sync::Mutex;

static JOURNAL: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

/// Record the latest state of `env` ("rollout of revision 7 in progress", "runs sha256:… (completed)").
pub fn set(env: &str, state: impl Into<String>) {
    if let Ok(mut j) = JOURNAL.lock() {
        j.insert(env.to_string(), state.into());
    }
}

/// One line per environment touched in this run.
pub fn lines() -> Vec<String> {
    JOURNAL.lock().map(|j| j.iter().map(|(env, state)| format!("{env}: {state}")).collect()).unwrap_or_default()
}

/// The journal as the detail block of an interruption error: one indented line per environment.
pub fn detail() -> String {
    lines().iter().map(|s| format!("  {s}")).collect::<Vec<_>>().join("\n")
}
