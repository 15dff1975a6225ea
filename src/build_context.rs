//! The build context: the files under `build.context` that `.dockerignore` lets through, written as a tar and
//! streamed to the engine through a small bounded channel, so a 1 GiB context costs a few MiB of memory.
//!
//! `.dockerignore` follows docker's rules, not git's: every pattern is relative to the context root (`*.log`
//! only matches at the top; use `**/*.log` for any depth), a pattern matching a directory excludes everything
//! in it, `!pattern` re-includes, and the last pattern that matches a path or one of its parents wins. The
//! Dockerfile and `.dockerignore` are always sent (the engine needs them). Each pattern is compiled with the
//! `ignore` crate's gitignore matcher, anchored at the root.

use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::error::CliError;

/// Size of one chunk handed to the engine, and how many may wait in the channel: at most ~4.5 MiB of the
/// context is in memory at any time, whatever its size. Measured on a loaded 2-core machine (bench/), a
/// 16-chunk queue and 256 KiB reads kept the engine fed where 4 chunks and tar's 8 KiB reads made it wait.
const CHUNK: usize = 256 * 1024;
const IN_FLIGHT: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("build context {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("Dockerfile {0} does not exist")]
    DockerfileMissing(PathBuf),
    #[error("Dockerfile {dockerfile} is outside the build context {context}")]
    DockerfileOutside { dockerfile: String, context: PathBuf },
    #[error(".dockerignore line {line}: invalid pattern \"{pattern}\": {detail}")]
    BadPattern { line: usize, pattern: String, detail: String },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} changed while it was being sent (it shrank by {missing} bytes)")]
    Changed { path: PathBuf, missing: u64 },
    #[error("the engine stopped reading the build context")]
    Aborted,
}

impl From<ContextError> for CliError {
    fn from(e: ContextError) -> Self {
        let hint = match &e {
            ContextError::NotADirectory(_) => "check `build.context` in ship.toml (relative to ship.toml)",
            ContextError::DockerfileMissing(_) => "check `build.dockerfile` in ship.toml (relative to the context)",
            ContextError::DockerfileOutside { .. } => "move the Dockerfile into the context, or widen `build.context`",
            ContextError::BadPattern { .. } => {
                "fix the pattern; see https://docs.docker.com/build/concepts/context/#dockerignore-files"
            }
            ContextError::Io { .. } => "fix the permissions, or exclude the path in .dockerignore",
            ContextError::Changed { .. } => "something is writing into the build context; exclude it in .dockerignore",
            ContextError::Aborted => "the engine's own error (below) says why",
        };
        CliError::failure(e.to_string()).hint(hint)
    }
}

struct Rule {
    /// Cleaned pattern, without the leading `!`.
    pattern: String,
    exclude: bool,
    matcher: Gitignore,
}

/// A parsed `.dockerignore`.
#[derive(Default)]
pub struct DockerIgnore {
    rules: Vec<Rule>,
}

impl DockerIgnore {
    /// Parse the file's text the way docker does (moby/patternmatcher/ignorefile): trim, skip blanks and
    /// `#` comments, clean each path (`./a//b/` → `a/b`), drop a leading `/`.
    pub fn parse(text: &str) -> Result<DockerIgnore, ContextError> {
        let mut rules = Vec::new();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, raw) in text.lines().enumerate() {
            if raw.starts_with('#') {
                continue;
            }
            let mut pattern = raw.trim();
            if pattern.is_empty() {
                continue;
            }
            let exclude = !pattern.starts_with('!');
            if !exclude {
                pattern = pattern[1..].trim();
            }
            let cleaned = clean(pattern);
            let cleaned = if cleaned.len() > 1 { cleaned.trim_start_matches('/').to_string() } else { cleaned };
            let mut builder = GitignoreBuilder::new("");
            // docker (Go's filepath.Match) rejects `[abc` as a bad pattern; git would read it literally.
            builder.allow_unclosed_class(false);
            let bad =
                |detail: String| ContextError::BadPattern { line: i + 1, pattern: raw.trim().to_string(), detail };
            builder.add_line(None, &format!("/{cleaned}")).map_err(|e| bad(e.to_string()))?;
            let matcher = builder.build().map_err(|e| bad(e.to_string()))?;
            rules.push(Rule { pattern: cleaned, exclude, matcher });
        }
        Ok(DockerIgnore { rules })
    }

    pub fn load(context: &Path) -> Result<DockerIgnore, ContextError> {
        let path = context.join(".dockerignore");
        match std::fs::read_to_string(&path) {
            Ok(text) => DockerIgnore::parse(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(DockerIgnore::default()),
            Err(source) => Err(ContextError::Io { path, source }),
        }
    }

    /// Per rule: does it match `rel` or one of its parents (`parent` holds the parents' answers)? Then the
    /// last matching rule decides, exactly as docker's `MatchesOrParentMatches`.
    fn evaluate(&self, rel: &Path, is_dir: bool, parent: &[bool]) -> (bool, Vec<bool>) {
        let mut hits = Vec::with_capacity(self.rules.len());
        let mut excluded = false;
        for (i, rule) in self.rules.iter().enumerate() {
            let hit = parent.get(i).copied().unwrap_or(false) || !rule.matcher.matched(rel, is_dir).is_none();
            if hit {
                excluded = rule.exclude;
            }
            hits.push(hit);
        }
        (excluded, hits)
    }

    /// Whether `rel` (a path relative to the context, `/`-separated) is left out of the context.
    pub fn is_excluded(&self, rel: &str, is_dir: bool) -> bool {
        let mut hits = Vec::new();
        let mut path = PathBuf::new();
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            path.push(part);
            let last = i + 1 == parts.len();
            let (excluded, h) = self.evaluate(&path, if last { is_dir } else { true }, &hits);
            if last {
                return excluded;
            }
            hits = h;
        }
        false
    }

    /// docker walks into an excluded directory only when an exception pattern starts with its path.
    fn may_reinclude_under(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        self.rules.iter().any(|r| !r.exclude && format!("{}/", r.pattern).starts_with(&prefix))
    }
}

/// Go's `filepath.Clean` on a slash path: collapse `//`, drop `.`, resolve `..` lexically, no trailing `/`.
fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// What was sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContextStats {
    pub files: u64,
    /// Bytes of file content (the tar itself is a little larger).
    pub bytes: u64,
}

pub struct Context {
    pub dir: PathBuf,
    /// The Dockerfile, relative to `dir`, `/`-separated.
    pub dockerfile: String,
    ignore: DockerIgnore,
    /// Paths (relative to `dir`) never sent whatever .dockerignore says: shipit's own `.shipit/` state.
    always_excluded: Vec<PathBuf>,
}

impl Context {
    pub fn open(dir: &Path, dockerfile: &str, always_excluded: Vec<PathBuf>) -> Result<Context, ContextError> {
        if !dir.is_dir() {
            return Err(ContextError::NotADirectory(dir.to_path_buf()));
        }
        let rel = clean(&dockerfile.replace('\\', "/"));
        if rel.starts_with("..") || rel.starts_with('/') {
            return Err(ContextError::DockerfileOutside {
                dockerfile: dockerfile.to_string(),
                context: dir.to_path_buf(),
            });
        }
        if !dir.join(&rel).is_file() {
            return Err(ContextError::DockerfileMissing(dir.join(&rel)));
        }
        Ok(Context { dir: dir.to_path_buf(), dockerfile: rel, ignore: DockerIgnore::load(dir)?, always_excluded })
    }

    /// Write the context as a tar into `out` (blocking). Entries are sorted, owned by root, with the files'
    /// modes and mtimes, as the docker CLI sends them.
    pub fn write_tar<W: Write>(&self, out: W) -> Result<ContextStats, ContextError> {
        let mut tar = tar::Builder::new(out);
        tar.follow_symlinks(false);
        let mut stats = ContextStats::default();
        self.visit(&mut tar, &self.dir, Path::new(""), &[], &mut stats)?;
        let mut out = tar.into_inner().map_err(|e| self.io_error(&self.dir, e))?;
        out.flush().map_err(|e| self.io_error(&self.dir, e))?;
        Ok(stats)
    }

    /// The paths that would be sent (files and directories), for tests and `-v`.
    pub fn list(&self) -> Result<Vec<String>, ContextError> {
        let mut buf = Vec::new();
        self.write_tar(&mut buf)?;
        let mut archive = tar::Archive::new(&buf[..]);
        let entries = archive.entries().map_err(|e| self.io_error(&self.dir, e))?;
        Ok(entries.filter_map(|e| e.ok()?.path().ok().map(|p| p.to_string_lossy().to_string())).collect())
    }

    /// Stream the tar: a blocking thread walks and writes into a bounded channel; the returned stream hands
    /// the chunks to the HTTP body. `sent` counts bytes as they are produced. The join handle says how the
    /// walk ended (an unreadable file is reported as such, not as the engine's "unexpected EOF").
    #[allow(clippy::type_complexity)]
    pub fn stream(
        self,
    ) -> (
        impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
        Arc<AtomicU64>,
        tokio::task::JoinHandle<Result<ContextStats, ContextError>>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, io::Error>>(IN_FLIGHT);
        let sent = Arc::new(AtomicU64::new(0));
        let writer = ChannelWriter { tx: tx.clone(), buf: BytesMut::with_capacity(CHUNK), sent: sent.clone() };
        let handle = tokio::task::spawn_blocking(move || {
            // io::copy reads straight into a BufWriter's buffer: one 256 KiB read instead of 32 small ones.
            let result = self.write_tar(io::BufWriter::with_capacity(CHUNK, writer));
            if let Err(e) = &result {
                // Fail the upload so the engine does not build a truncated context.
                let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
            }
            result
        });
        let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
        (stream, sent, handle)
    }

    fn io_error(&self, path: &Path, e: io::Error) -> ContextError {
        if e.kind() == io::ErrorKind::BrokenPipe {
            ContextError::Aborted
        } else {
            ContextError::Io { path: path.to_path_buf(), source: e }
        }
    }

    fn is_forced(&self, rel: &Path) -> bool {
        rel == Path::new(&self.dockerfile) || rel == Path::new(".dockerignore")
    }

    fn leads_to_forced(&self, rel: &Path) -> bool {
        Path::new(&self.dockerfile).starts_with(rel)
    }

    fn visit<W: Write>(
        &self,
        tar: &mut tar::Builder<W>,
        abs: &Path,
        rel: &Path,
        parent_hits: &[bool],
        stats: &mut ContextStats,
    ) -> Result<(), ContextError> {
        let read = std::fs::read_dir(abs).map_err(|e| self.io_error(abs, e))?;
        let mut entries = read.collect::<Result<Vec<_>, _>>().map_err(|e| self.io_error(abs, e))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let child_abs = entry.path();
            let child_rel = rel.join(entry.file_name());
            if self.always_excluded.contains(&child_rel) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&child_abs).map_err(|e| self.io_error(&child_abs, e))?;
            let is_dir = meta.is_dir();
            let (excluded, hits) = self.ignore.evaluate(&child_rel, is_dir, parent_hits);
            if is_dir {
                let rel_str = child_rel.to_string_lossy().replace('\\', "/");
                if excluded && !self.ignore.may_reinclude_under(&rel_str) && !self.leads_to_forced(&child_rel) {
                    continue;
                }
                if !excluded {
                    let mut header = self.header(&meta, tar::EntryType::Directory, 0);
                    tar.append_data(&mut header, &child_rel, io::empty()).map_err(|e| self.io_error(&child_abs, e))?;
                }
                self.visit(tar, &child_abs, &child_rel, &hits, stats)?;
            } else if !excluded || self.is_forced(&child_rel) {
                self.append(tar, &child_abs, &child_rel, &meta, stats)?;
            }
        }
        Ok(())
    }

    fn append<W: Write>(
        &self,
        tar: &mut tar::Builder<W>,
        abs: &Path,
        rel: &Path,
        meta: &std::fs::Metadata,
        stats: &mut ContextStats,
    ) -> Result<(), ContextError> {
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target = std::fs::read_link(abs).map_err(|e| self.io_error(abs, e))?;
            let mut header = self.header(meta, tar::EntryType::Symlink, 0);
            tar.append_link(&mut header, rel, &target).map_err(|e| self.io_error(abs, e))?;
        } else if ft.is_file() {
            let file = std::fs::File::open(abs).map_err(|e| self.io_error(abs, e))?;
            let size = meta.len();
            let mut header = self.header(meta, tar::EntryType::Regular, size);
            let mut reader = ExactReader { inner: file.take(size), remaining: size };
            let result = tar.append_data(&mut header, rel, &mut reader);
            // The engine hanging up mid-file also leaves bytes unread: that is not the file's doing.
            if let Err(e) = &result
                && e.kind() == io::ErrorKind::BrokenPipe
            {
                return Err(ContextError::Aborted);
            }
            if reader.remaining > 0 {
                return Err(ContextError::Changed { path: abs.to_path_buf(), missing: reader.remaining });
            }
            result.map_err(|e| self.io_error(abs, e))?;
            stats.files += 1;
            stats.bytes += size;
        }
        // Sockets, FIFOs and devices are not build inputs; docker skips them as well.
        Ok(())
    }

    fn header(&self, meta: &std::fs::Metadata, kind: tar::EntryType, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_uid(0);
        header.set_gid(0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            header.set_mode(meta.mode() & 0o7777);
            header.set_mtime(meta.mtime().max(0) as u64);
        }
        #[cfg(not(unix))]
        {
            header.set_mode(if kind == tar::EntryType::Directory { 0o755 } else { 0o644 });
            let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            header.set_mtime(mtime.map(|d| d.as_secs()).unwrap_or(0));
        }
        header
    }
}

/// Reads exactly the size recorded in the tar header; a file that shrinks mid-read is detected by the
/// caller through `remaining` (tar would otherwise write a corrupt archive).
struct ExactReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.remaining > 0 && !buf.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being read"));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, io::Error>>,
    buf: BytesMut,
    sent: Arc<AtomicU64>,
}

impl ChannelWriter {
    fn send_chunk(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, BytesMut::with_capacity(CHUNK)).freeze();
        let len = chunk.len() as u64;
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the engine stopped reading the build context"))?;
        self.sent.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CHUNK {
            self.send_chunk()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_chunk()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send_chunk();
    }
}

/// `.shipit` relative to the context, when ship.toml's state directory lies inside it.
pub fn state_dir_within(context: &Path, root: &Path) -> Option<PathBuf> {
    let context = context.canonicalize().ok()?;
    let state = root.canonicalize().ok()?.join(".shipit");
    let rel = state.strip_prefix(&context).ok()?;
    rel.components().all(|c| matches!(c, Component::Normal(_))).then(|| rel.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(patterns: &str, path: &str) -> bool {
        DockerIgnore::parse(patterns).unwrap().is_excluded(path, false)
    }

    #[test]
    fn patterns_are_root_relative_unlike_gitignore() {
        assert!(ignored("*.log", "debug.log"));
        assert!(!ignored("*.log", "logs/debug.log"), "docker: *.log matches only at the root");
        assert!(ignored("**/*.log", "logs/deep/debug.log"));
        assert!(ignored("**/*.log", "debug.log"), "** matches zero directories");
        assert!(ignored("/secret.txt", "secret.txt"));
        assert!(ignored("./secret.txt", "secret.txt"));
        assert!(!ignored("secret.txt", "sub/secret.txt"));
        assert!(ignored("*/temp*", "somedir/temporary.txt"));
        assert!(!ignored("*/temp*", "somedir/sub/temporary.txt"));
        assert!(ignored("temp?", "temp1"));
        assert!(ignored("*", "a/b"), "parent match: `*` excludes directory a, so a/b too");
    }

    #[test]
    fn directories_exclude_their_contents() {
        assert!(ignored("node_modules", "node_modules/x/index.js"));
        assert!(ignored("build/", "build/out.bin"), "a trailing slash is cleaned away");
        assert!(ignored("a//b/../c", "a/c/file"));
        assert!(!ignored("node_modules", "src/node_modules/x.js"));
    }

    #[test]
    fn exceptions_and_last_match_wins() {
        assert!(!ignored("*.md\n!README.md", "README.md"));
        assert!(ignored("*.md\n!README.md", "CHANGES.md"));
        // The exception comes first, the exclusion later: the later one wins.
        assert!(ignored("!README.md\n*.md", "README.md"));
        // Re-including a file inside an excluded directory works in docker (not in git).
        assert!(!ignored("docs\n!docs/keep.txt", "docs/keep.txt"));
        assert!(ignored("docs\n!docs/keep.txt", "docs/other.txt"));
        // …and a later directory exclusion beats the earlier exception.
        assert!(ignored("!docs/keep.txt\ndocs", "docs/keep.txt"));
    }

    #[test]
    fn comments_blanks_and_whitespace() {
        let di = DockerIgnore::parse("\u{feff}# a comment\n\n   \n  spaced.txt  \n*\n! kept.txt").unwrap();
        assert_eq!(di.rules.len(), 3);
        assert!(di.is_excluded("spaced.txt", false));
        assert!(!di.is_excluded("kept.txt", false));
        assert!(DockerIgnore::parse("[unclosed").is_err());
    }

    #[test]
    fn clean_like_go() {
        assert_eq!(clean("a//b/./c/"), "a/b/c");
        assert_eq!(clean("a/../../b"), "../b");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("./"), ".");
    }

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        dir
    }

    #[test]
    fn the_tar_honours_dockerignore_but_keeps_dockerfile_and_dockerignore() {
        let dir = tree(&[
            ("Dockerfile", "FROM scratch\n"),
            (".dockerignore", "Dockerfile\n.dockerignore\nsecret.env\nnode_modules\ndocs\n!docs/keep.md\n"),
            ("secret.env", "TOKEN=x"),
            ("src/main.rs", "fn main() {}"),
            ("node_modules/a/index.js", "x"),
            ("docs/keep.md", "k"),
            ("docs/drop.md", "d"),
            (".shipit/releases/x.json", "{}"),
        ]);
        let ctx = Context::open(dir.path(), "Dockerfile", vec![PathBuf::from(".shipit")]).unwrap();
        let mut names = ctx.list().unwrap();
        names.sort();
        assert_eq!(names, vec![".dockerignore", "Dockerfile", "docs/keep.md", "src", "src/main.rs"]);
    }

    #[test]
    fn dockerfile_in_an_excluded_directory_is_still_sent() {
        let dir =
            tree(&[("docker/Dockerfile", "FROM scratch\n"), ("docker/other", "o"), (".dockerignore", "docker\n")]);
        let ctx = Context::open(dir.path(), "docker/Dockerfile", vec![]).unwrap();
        let names = ctx.list().unwrap();
        assert!(names.contains(&"docker/Dockerfile".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n == "docker/other"), "{names:?}");
    }

    #[test]
    fn missing_or_escaping_dockerfile() {
        let dir = tree(&[("Dockerfile", "FROM scratch\n")]);
        assert!(matches!(Context::open(dir.path(), "Nope", vec![]), Err(ContextError::DockerfileMissing(_))));
        assert!(matches!(
            Context::open(dir.path(), "../Dockerfile", vec![]),
            Err(ContextError::DockerfileOutside { .. })
        ));
    }

    #[tokio::test]
    async fn streaming_produces_the_same_archive() {
        let big = "x".repeat(3 * CHUNK + 17);
        let dir = tree(&[("Dockerfile", "FROM scratch\n"), ("big.bin", &big), ("a/b/c.txt", "c")]);
        let mut expected = Vec::new();
        let stats = Context::open(dir.path(), "Dockerfile", vec![]).unwrap().write_tar(&mut expected).unwrap();
        assert_eq!(stats.files, 3);
        let (stream, sent, handle) = Context::open(dir.path(), "Dockerfile", vec![]).unwrap().stream();
        use futures_util::StreamExt;
        let chunks: Vec<Bytes> = stream.map(|c| c.unwrap()).collect().await;
        assert!(chunks.iter().all(|c| c.len() <= CHUNK));
        let got: Vec<u8> = chunks.concat();
        assert_eq!(got, expected);
        assert_eq!(sent.load(Ordering::Relaxed), expected.len() as u64);
        assert_eq!(handle.await.unwrap().unwrap(), stats);
    }
}
