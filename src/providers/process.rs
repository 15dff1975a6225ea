//! Running a helper program (a docker credential helper, `gh auth token`) from code that is not async: with a
//! timeout, killed when it runs over or when a signal arrives, so a hung helper can neither hang a pipeline nor
//! make Ctrl-C do nothing.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot run it: {0}")]
    Spawn(std::io::Error),
    #[error("it did not finish within {}s and was killed", .0.as_secs())]
    TimedOut(Duration),
    #[error("interrupted")]
    Interrupted,
    #[error("waiting for it failed: {0}")]
    Wait(std::io::Error),
}

/// Run `cmd` with `input` on its stdin; stdout and stderr are captured.
/// Output kept per stream (a credential is a few kilobytes); the rest is read and dropped.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;

pub fn run(cmd: &mut Command, input: Option<&[u8]>, timeout: Duration) -> Result<Output, RunError> {
    let mut child = cmd
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(RunError::Spawn)?;
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        // A helper that exits without reading stdin closes the pipe; its exit status says what happened.
        let _ = stdin.write_all(input);
    }
    // Drained on threads: a child that fills a pipe buffer would otherwise never exit.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                // Keep what a helper may sensibly print; drain the rest so the child can still exit.
                let _ = (&mut p).take(MAX_OUTPUT_BYTES as u64).read_to_end(&mut buf);
                let _ = std::io::copy(&mut p, &mut std::io::sink());
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(RunError::Wait(e)),
        }
        let stop = if crate::interrupt::requested() {
            Some(RunError::Interrupted)
        } else if Instant::now() >= deadline {
            Some(RunError::TimedOut(timeout))
        } else {
            None
        };
        if let Some(e) = stop {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(Output { status, stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_stdin() {
        let out = run(Command::new("cat").arg("-"), Some(b"hello"), Duration::from_secs(5)).unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"hello");
    }

    #[test]
    fn a_hung_program_is_killed() {
        let started = Instant::now();
        let err = run(Command::new("sleep").arg("30"), None, Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, RunError::TimedOut(_)), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
