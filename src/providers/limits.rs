//! Caps on what shipit reads from outside, and the words for an answer that is not what was asked for.
//!
//! Every size that comes from another system has a cap no honest answer reaches (the table is in
//! docs/security.md); reading stops there with an error naming the system, what was read and the cap, so a
//! broken or hostile server costs a bounded amount of memory. An answer that is not JSON is described for
//! what it most likely is (an HTML login page, an empty or a truncated body) instead of serde's "expected
//! value at line 1 column 1".

use bytes::{Bytes, BytesMut};

/// An image manifest or index. The OCI distribution spec asks registries to accept at least 4 MiB.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;
/// An evidence blob (a DSSE envelope; a scan statement holds the findings of a large image).
pub const MAX_EVIDENCE_BLOB_BYTES: usize = 64 << 20;
/// A registry token endpoint's reply (a JSON object with a token of a few kilobytes).
pub const MAX_TOKEN_REPLY_BYTES: usize = 1 << 20;
/// An error body: only its first words make it into a message.
pub const MAX_ERROR_BODY_BYTES: usize = 64 << 10;
/// One page of a GitHub API list (100 check-runs are ~0.5 MB).
pub const MAX_GITHUB_PAGE_BYTES: usize = 16 << 20;
/// One SonarQube web API answer.
pub const MAX_SONAR_ANSWER_BYTES: usize = 8 << 20;
/// One ECS API answer (DescribeServices with 100 events, DescribeTasks of 100 tasks are well under 1 MB).
pub const MAX_ECS_ANSWER_BYTES: usize = 16 << 20;
/// One answer of the Kubernetes API server, a watch's long poll included.
pub const MAX_KUBE_ANSWER_BYTES: usize = 128 << 20;
/// A Trivy JSON report (a large image with every finding is tens of megabytes).
pub const MAX_TRIVY_REPORT_BYTES: usize = 256 << 20;
/// What trivy prints on stderr that shipit keeps for a failure's message.
pub const MAX_LOG_TAIL_BYTES: usize = 8 << 10;
/// A label, annotation or tag value shipit shows (commit, deployer, digest): longer ones are cut.
pub const MAX_LABEL_CHARS: usize = 256;

/// `4 MiB`, `64 KiB`.
pub fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Why `body` is not the JSON that was expected, in words a person can act on.
pub fn not_json(body: &[u8], err: &serde_json::Error) -> String {
    let start = body.trim_ascii_start();
    if start.is_empty() {
        return "the answer is empty".into();
    }
    if looks_like_html(start) {
        return "it is an HTML page (a login page or a proxy in front of the service?), not JSON".into();
    }
    if err.is_eof() {
        return format!("the JSON ends after {} bytes (a truncated answer?)", body.len());
    }
    if err.line() == 1 && err.column() <= 1 {
        let head: String = String::from_utf8_lossy(start).chars().take(40).collect();
        return format!("it is not JSON (it starts with {:?})", head.trim_end());
    }
    err.to_string()
}

/// hyper's words for a body that ended before its Content-Length (or its last chunk).
pub fn broke_off(error_chain: &str) -> bool {
    error_chain.contains("end of file before message length reached")
        || error_chain.contains("connection closed before message completed")
}

pub fn looks_like_html(body: &[u8]) -> bool {
    let head: Vec<u8> = body.trim_ascii_start().iter().take(15).map(u8::to_ascii_lowercase).collect();
    head.starts_with(b"<!doctype html") || head.starts_with(b"<html") || head.starts_with(b"<head")
}

/// A label, annotation or tag value as shipit shows it: at most `MAX_LABEL_CHARS` characters, with a note
/// saying how much was cut.
pub fn label(value: &str) -> String {
    let count = value.chars().count();
    if count <= MAX_LABEL_CHARS {
        return value.to_string();
    }
    let kept: String = value.chars().take(MAX_LABEL_CHARS).collect();
    format!("{kept}… ({} more characters cut)", count - MAX_LABEL_CHARS)
}

/// The last `MAX_LOG_TAIL_BYTES` of a program's output, cut at a line (or character) boundary.
pub fn log_tail(text: &str) -> String {
    if text.len() <= MAX_LOG_TAIL_BYTES {
        return text.to_string();
    }
    let mut start = text.len() - MAX_LOG_TAIL_BYTES;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let tail = &text[start..];
    let tail = tail.split_once('\n').map(|(_, rest)| rest).filter(|r| !r.is_empty()).unwrap_or(tail);
    format!("[… {} earlier bytes not shown]\n{tail}", text.len() - tail.len())
}

#[derive(Debug)]
pub enum ReadError {
    /// The body is longer than the cap (by its Content-Length, or once that many bytes arrived).
    TooLarge {
        limit: usize,
    },
    Transport(reqwest::Error),
}

/// The whole body of `resp`, refusing more than `limit` bytes.
pub async fn read_capped(mut resp: reqwest::Response, limit: usize) -> Result<Bytes, ReadError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReadError::TooLarge { limit });
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Transport)? {
        if buf.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// At most `limit` bytes of the body as text, for an error message; the rest is not read.
pub async fn read_prefix(mut resp: reqwest::Response, limit: usize) -> String {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = limit - buf.len();
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if buf.len() >= limit {
            break;
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_labels() {
        assert_eq!(size(MAX_MANIFEST_BYTES), "4 MiB");
        assert_eq!(size(MAX_ERROR_BODY_BYTES), "64 KiB");
        assert_eq!(size(1000), "1000 bytes");
        assert_eq!(label("3f2c1ab"), "3f2c1ab");
        let long = "é".repeat(MAX_LABEL_CHARS + 10);
        assert!(label(&long).ends_with("… (10 more characters cut)"), "{}", label(&long));
    }

    #[test]
    fn answers_that_are_not_json_are_named() {
        let err = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap_err();
        let html = b"\n<!DOCTYPE html><html><body>Sign in</body></html>";
        assert!(not_json(html, &err(html)).contains("HTML page"));
        assert_eq!(not_json(b"", &err(b"")), "the answer is empty");
        assert_eq!(not_json(b"OK\n", &err(b"OK\n")), "it is not JSON (it starts with \"OK\")");
        let cut = br#"{"services":[{"serviceName":"a""#;
        assert!(not_json(cut, &err(cut)).contains("truncated"), "{}", not_json(cut, &err(cut)));
    }

    #[test]
    fn log_tails_keep_the_end() {
        let text = "x".repeat(MAX_LOG_TAIL_BYTES) + "\nlast line\n";
        let tail = log_tail(&text);
        assert!(tail.ends_with("last line\n"));
        assert!(tail.starts_with("[… "), "{tail}");
        assert!(tail.len() < MAX_LOG_TAIL_BYTES + 100);
        assert_eq!(log_tail("short"), "short");
    }
}
