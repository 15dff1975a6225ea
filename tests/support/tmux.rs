//! A real terminal for prompt tests: the program runs in a detached tmux session; tests type keys and read the
//! screen.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    session: String,
}

impl Tmux {
    pub fn start(session: &str, cwd: &Path, argv: &[&str], env: &[(&str, &str)]) -> Tmux {
        // `remain-on-exit` keeps the final screen readable after the program ends.
        let mut cmd = Command::new("tmux");
        cmd.args(["new-session", "-d", "-x", "160", "-y", "40", "-s", session, "-c"]).arg(cwd);
        for (k, v) in env {
            cmd.args(["-e", &format!("{k}={v}")]);
        }
        // The program must see a person at a terminal, even when the test suite itself runs in CI: CI=true
        // (inherited by the tmux server from whoever started it) would make shipit non-interactive.
        cmd.args(["--", "env", "-u", "CI"]);
        cmd.args(argv);
        let out = cmd.output().expect("run tmux");
        assert!(out.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
        let _ = Command::new("tmux").args(["set-option", "-t", session, "remain-on-exit", "on"]).output();
        Tmux { session: session.to_string() }
    }

    pub fn screen(&self) -> String {
        let out =
            Command::new("tmux").args(["capture-pane", "-p", "-t", &self.session]).output().expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub fn keys(&self, keys: &[&str]) {
        let out = Command::new("tmux").args(["send-keys", "-t", &self.session]).args(keys).output().expect("send-keys");
        assert!(out.status.success(), "send-keys: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Poll the screen until it contains `needle`; panic with the screen when it never does.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("timed out waiting for {needle:?} on the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.session]).output();
    }
}
