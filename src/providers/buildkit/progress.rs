//! BuildKit's progress (the `moby.buildkit.trace` messages of a `/build` stream, decoded by bollard into
//! `StatusResponse`s) as the user sees it: one line per finished Dockerfile step with `CACHED` or its
//! duration, every log line with `-v` (`#N …`, like `--progress=plain`), and the last lines of each step kept
//! for the error when one fails.

use std::collections::{HashMap, VecDeque};

use bollard::grpc::build::moby::buildkit::v1::StatusResponse;

use crate::report::Reporter;

/// How many lines of a failing step's output the error shows.
pub const TAIL_LINES: usize = 20;

#[derive(Default)]
struct Vertex {
    /// `#N` in the log, in the order BuildKit first mentioned the vertex.
    number: usize,
    name: String,
    started: Option<f64>,
    done: bool,
    cached: bool,
    error: String,
    tail: VecDeque<String>,
    partial: String,
}

/// `[stage N/M] …`: a Dockerfile instruction (the rest are BuildKit's own: `[internal] load …`, exporting).
pub fn is_step(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('[') else { return false };
    let Some((prefix, _)) = rest.split_once("] ") else { return false };
    prefix
        .split_whitespace()
        .last()
        .and_then(|w| w.split_once('/'))
        .is_some_and(|(a, b)| a.parse::<usize>().is_ok() && b.parse::<usize>().is_ok())
}

#[derive(Default)]
pub struct Progress {
    vertices: HashMap<String, Vertex>,
    order: Vec<String>,
    /// Secret values: replaced by `***` in every line shown or kept.
    redact: Vec<String>,
    pub steps: usize,
    pub cached_steps: usize,
    /// The digest of the first vertex that failed.
    failed: Option<String>,
}

pub struct Failure {
    pub step: String,
    pub error: String,
    pub tail: Vec<String>,
}

/// A protobuf timestamp in seconds (the type is prost's; only its fields matter here).
macro_rules! seconds {
    ($t:expr) => {
        $t.as_ref().map(|t| t.seconds as f64 + t.nanos as f64 / 1e9)
    };
}

impl Progress {
    /// `secrets`: values to hide. Log lines are compared line by line, so each line of a multi-line value
    /// (a certificate, a key file) is hidden on its own; very short values would hide ordinary text, so values
    /// and lines under 4 characters are left alone.
    pub fn new(secrets: Vec<String>) -> Progress {
        let mut redact: Vec<String> = Vec::new();
        for s in &secrets {
            let whole = s.trim();
            redact.push(whole.to_string());
            redact.extend(whole.lines().map(|l| l.trim().to_string()));
        }
        redact.retain(|s| s.len() >= 4);
        // Longest first, so a whole value is replaced before any of its lines.
        redact.sort_by_key(|s| std::cmp::Reverse(s.len()));
        redact.dedup();
        Progress { redact, ..Default::default() }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.redact {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }

    fn vertex(&mut self, digest: &str) -> &mut Vertex {
        if !self.vertices.contains_key(digest) {
            self.order.push(digest.to_string());
            let number = self.order.len();
            self.vertices.insert(digest.to_string(), Vertex { number, ..Default::default() });
        }
        self.vertices.get_mut(digest).expect("inserted above")
    }

    pub fn handle(&mut self, status: &StatusResponse, reporter: &dyn Reporter) {
        for v in &status.vertexes {
            let name = self.redact(&v.name);
            let started = seconds!(v.started);
            let completed = seconds!(v.completed);
            let entry = self.vertex(&v.digest);
            entry.name = name.clone();
            let number = entry.number;
            let newly_started = entry.started.is_none() && started.is_some();
            if newly_started {
                entry.started = started;
            }
            entry.cached |= v.cached;
            let newly_done = !entry.done && (completed.is_some() || v.cached);
            if !v.error.is_empty() && entry.error.is_empty() {
                entry.error = v.error.clone();
            }
            if newly_done {
                entry.done = true;
            }
            let (cached, error, start) = (entry.cached, entry.error.clone(), entry.started);
            if newly_started && !newly_done {
                reporter.detail(&format!("#{number} {name}"));
                if is_step(&name) {
                    reporter.status(&name);
                }
            }
            if newly_done {
                let how = if !error.is_empty() {
                    "ERROR".to_string()
                } else if cached {
                    "CACHED".to_string()
                } else {
                    match (start, completed) {
                        (Some(s), Some(c)) => format!("{:.1}s", (c - s).max(0.0)),
                        _ => "done".to_string(),
                    }
                };
                reporter.detail(&format!("#{number} {name} {how}"));
                if is_step(&name) {
                    self.steps += 1;
                    if cached && error.is_empty() {
                        self.cached_steps += 1;
                    }
                    reporter.line(&format!("{name}  {how}"));
                } else if name.starts_with("importing cache") || name.starts_with("exporting cache") {
                    reporter.line(&format!("{name}  {how}"));
                }
            }
            if !error.is_empty() && self.failed.is_none() && !error.contains("context canceled") {
                self.failed = Some(v.digest.clone());
            }
        }
        for log in &status.logs {
            let text = String::from_utf8_lossy(&log.msg).to_string();
            let mut lines = Vec::new();
            {
                let entry = self.vertex(&log.vertex);
                entry.partial.push_str(&text);
                while let Some(nl) = entry.partial.find(['\n', '\r']) {
                    let line: String = entry.partial.drain(..=nl).collect();
                    let line = line.trim_end().to_string();
                    if !line.is_empty() {
                        lines.push(line);
                    }
                }
            }
            for line in lines {
                let line = self.redact(&line);
                let entry = self.vertex(&log.vertex);
                let number = entry.number;
                if entry.tail.len() == TAIL_LINES {
                    entry.tail.pop_front();
                }
                entry.tail.push_back(line.clone());
                reporter.detail(&format!("#{number} {line}"));
            }
        }
    }

    /// The failing step with its last output lines, when BuildKit said which vertex failed.
    pub fn failure(&mut self) -> Option<Failure> {
        let digest = self.failed.clone()?;
        let redacted_error = {
            let v = self.vertices.get(&digest)?;
            self.redact(&v.error)
        };
        let v = self.vertices.get_mut(&digest)?;
        let rest = std::mem::take(&mut v.partial);
        if !rest.trim().is_empty() {
            v.tail.push_back(rest.trim_end().to_string());
        }
        Some(Failure { step: v.name.clone(), error: redacted_error, tail: v.tail.iter().cloned().collect() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::grpc::build::moby::buildkit::v1::{Vertex as V, VertexLog};

    fn at(mut v: V, started: Option<(i64, i32)>, completed: Option<(i64, i32)>) -> V {
        if let Some((s, n)) = started {
            let mut t = v.started.take().unwrap_or_default();
            (t.seconds, t.nanos) = (s, n);
            v.started = Some(t);
        }
        if let Some((s, n)) = completed {
            let mut t = v.completed.take().unwrap_or_default();
            (t.seconds, t.nanos) = (s, n);
            v.completed = Some(t);
        }
        v
    }

    #[test]
    fn one_line_per_finished_step_and_the_failing_tail() {
        let rec = crate::report::Recorder::default();
        let mut p = Progress::new(vec!["s3cr3t-value".into()]);
        let internal = V { digest: "d0".into(), name: "[internal] load .dockerignore".into(), ..Default::default() };
        let copy = V { digest: "d1".into(), name: "[1/2] COPY a /a".into(), cached: true, ..Default::default() };
        let run =
            at(V { digest: "d2".into(), name: "[2/2] RUN make".into(), ..Default::default() }, Some((10, 0)), None);
        p.handle(&StatusResponse { vertexes: vec![internal, copy, run], ..Default::default() }, &rec);
        let log = |m: &str| VertexLog { vertex: "d2".into(), msg: m.as_bytes().to_vec(), ..Default::default() };
        p.handle(
            &StatusResponse {
                logs: vec![log("compiling\nthe token is s3cr3t-value\n"), log("boom")],
                ..Default::default()
            },
            &rec,
        );
        let failed = V {
            digest: "d2".into(),
            name: "[2/2] RUN make".into(),
            error: "process \"make\" did not complete successfully: exit code: 2".into(),
            ..Default::default()
        };
        let failed = at(failed, Some((10, 0)), Some((12, 500_000_000)));
        p.handle(&StatusResponse { vertexes: vec![failed], ..Default::default() }, &rec);
        let lines = rec.lines();
        assert!(lines.contains(&"line: [1/2] COPY a /a  CACHED".to_string()), "{lines:?}");
        assert!(lines.contains(&"status: [2/2] RUN make".to_string()), "{lines:?}");
        assert!(lines.contains(&"line: [2/2] RUN make  ERROR".to_string()), "{lines:?}");
        assert!(lines.contains(&"detail: #3 compiling".to_string()), "{lines:?}");
        assert!(!lines.iter().any(|l| l.contains("s3cr3t")), "{lines:?}");
        assert!(!lines.iter().any(|l| l.starts_with("line: [internal]")), "{lines:?}");
        assert_eq!((p.steps, p.cached_steps), (2, 1));
        let f = p.failure().unwrap();
        assert_eq!(f.step, "[2/2] RUN make");
        assert_eq!(f.tail, vec!["compiling", "the token is ***", "boom"]);
        assert!(f.error.contains("exit code: 2"));
    }

    #[test]
    fn multi_line_secrets_are_hidden_line_by_line() {
        let p = Progress::new(vec!["-----BEGIN KEY-----\nMIIBxyzsecretline\n-----END KEY-----\n".into(), "ab".into()]);
        assert_eq!(p.redact("got MIIBxyzsecretline here"), "got *** here");
        assert_eq!(p.redact("a tab b"), "a tab b", "a 2-character value is not hidden everywhere");
    }

    #[test]
    fn steps() {
        assert!(is_step("[builder 2/5] RUN make"));
        assert!(is_step("[3/3] COPY a /a"));
        assert!(!is_step("[internal] load metadata"));
        assert!(!is_step("exporting to image"));
    }
}
