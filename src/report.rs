//! How providers tell the user what is happening without knowing a terminal exists. The ui module implements
//! this with indicatif spinners on a terminal and plain lines in CI; tests use `Recorder`.

use std::sync::Mutex;

pub trait Reporter: Send + Sync {
    /// The live status of the current stage ("step 3/7: RUN cargo build", "2/3 tasks running"). On a terminal
    /// it replaces the spinner text; elsewhere it is printed as a line when it changes.
    fn status(&self, msg: &str);
    /// A line worth keeping in the log (a finished build step, a rollout event, a warning).
    fn line(&self, msg: &str);
    /// Full output (the whole build log, every API call), shown only with `-v`.
    fn detail(&self, msg: &str);
    /// Progress of a transfer in bytes (`total` when known).
    fn bytes(&self, done: u64, total: Option<u64>);
}

/// Reports nothing.
pub struct Silent;

impl Reporter for Silent {
    fn status(&self, _: &str) {}
    fn line(&self, _: &str) {}
    fn detail(&self, _: &str) {}
    fn bytes(&self, _: u64, _: Option<u64>) {}
}

/// Keeps every report, for tests that assert on what a user would have seen.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn lines(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

impl Reporter for Recorder {
    fn status(&self, msg: &str) {
        self.events.lock().unwrap().push(format!("status: {msg}"));
    }
    fn line(&self, msg: &str) {
        self.events.lock().unwrap().push(format!("line: {msg}"));
    }
    fn detail(&self, msg: &str) {
        self.events.lock().unwrap().push(format!("detail: {msg}"));
    }
    fn bytes(&self, done: u64, total: Option<u64>) {
        self.events.lock().unwrap().push(format!("bytes: {done}/{total:?}"));
    }
}
