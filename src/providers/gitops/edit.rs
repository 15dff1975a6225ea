//! The one-value edit of a YAML file in the config repository, byte for byte: comments, key order, quoting,
//! indentation, line endings and document separators stay as they are; only the image value changes (or one
//! line is added when the key it needs is not there yet). This is deliberately not a YAML round trip: every
//! YAML library rewrites what it does not model (comments, quoting, anchors), and a reviewer of the config
//! repository must see a one-line diff.
//!
//! The locator understands YAML's block structure (block mappings and sequences, by indentation; single-line
//! plain and quoted scalars) and treats everything else it meets on the way — flow collections, block scalars,
//! multi-line values — as an opaque value it skips. Only the value being edited, and the nodes on the path to
//! it, must be plain: an anchor, an alias, a merge key, a tag, a flow collection or a templated value there is
//! refused with an error that names the line.

use std::ops::Range;

use crate::release::ImageRef;

/// What to change in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    /// A kustomization.yaml `images:` entry with this `name`: `newName` and `digest` are written.
    Kustomize { name: String },
    /// A Helm values file: the scalar at this dotted path (`image.digest`), written as `form` says.
    Helm { path: Vec<String>, form: HelmForm },
    /// A plain manifest (one or more documents): every container (and init container) with this name gets
    /// `image: repository@digest`.
    Manifest { container: String },
}

/// How the digest is written at a Helm values path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelmForm {
    /// `sha256:…` (charts with an `image.digest` value).
    Digest,
    /// `repository@sha256:…` (charts that take the whole image reference).
    Image,
    /// `<tag>@sha256:…`: the tag already there is kept and the digest pinned after it (charts that render
    /// `repository:tag`; a reference with a tag and a digest is pulled by the digest).
    TagAtDigest,
}

/// What the file says runs now.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    /// The image reference as a runtime would pull it (`repo@sha256:…`, or `repo:tag` when not pinned).
    pub image: String,
    pub digest: Option<String>,
    /// 1-based line of the value.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error("line {line}: {what}")]
    Refused { line: usize, what: String },
    #[error("{0}")]
    NotFound(String),
}

fn refused(line: usize, what: impl Into<String>) -> EditError {
    EditError::Refused { line: line + 1, what: what.into() }
}

/// Read what the file pins now.
pub fn read(text: &str, spec: &Spec) -> Result<Current, EditError> {
    let docs = parse(text);
    match spec {
        Spec::Kustomize { name } => {
            let entry = kustomize_entry(&docs, name)?;
            let scalar = |key: &str| entry.get(key).and_then(|n| n.scalar());
            let repo = scalar("newName").or(scalar("name")).map(|s| s.value.clone()).unwrap_or_default();
            let line = scalar("digest").or(scalar("newTag")).or(scalar("name")).map_or(0, |s| s.line);
            let digest = scalar("digest").map(|s| s.value.clone()).filter(|d| !d.is_empty());
            let image = match (&digest, scalar("newTag")) {
                (Some(d), _) => format!("{repo}@{d}"),
                (None, Some(t)) => format!("{repo}:{}", t.value),
                (None, None) => repo,
            };
            Ok(Current { image, digest, line: line + 1 })
        }
        Spec::Helm { path, form } => {
            let (parent, leaf) = helm_leaf(&docs, path)?;
            let s = leaf.as_scalar(path.last().map_or("", String::as_str))?;
            let (image, digest) = match form {
                HelmForm::Digest => {
                    let repo = parent.get("repository").and_then(|n| n.scalar()).map(|r| r.value.clone());
                    let digest = Some(s.value.clone()).filter(|d| d.starts_with("sha256:"));
                    let image = match (&repo, &digest) {
                        (Some(r), Some(d)) => format!("{r}@{d}"),
                        _ => s.value.clone(),
                    };
                    (image, digest)
                }
                HelmForm::Image => (s.value.clone(), digest_of(&s.value)),
                HelmForm::TagAtDigest => {
                    let repo = parent.get("repository").and_then(|n| n.scalar()).map(|r| r.value.clone());
                    let image = match &repo {
                        Some(r) => format!("{r}:{}", s.value),
                        None => s.value.clone(),
                    };
                    (image, digest_of(&s.value))
                }
            };
            Ok(Current { image, digest, line: s.line + 1 })
        }
        Spec::Manifest { container } => {
            let images = manifest_images(&docs, container)?;
            let first = images[0].as_scalar("image")?;
            Ok(Current { image: first.value.clone(), digest: digest_of(&first.value), line: first.line + 1 })
        }
    }
}

/// The file with the image changed to `image` (by digest) and every other byte as it was.
pub fn apply(text: &str, spec: &Spec, image: &ImageRef) -> Result<String, EditError> {
    let docs = parse(text);
    let mut edits: Vec<Edit> = Vec::new();
    match spec {
        Spec::Kustomize { name } => {
            let entry = kustomize_entry(&docs, name)?;
            let map = entry.map;
            let scalar_of = |key: &str| -> Result<Option<&Scalar>, EditError> {
                match map.entries.iter().find(|e| e.key == key) {
                    None => Ok(None),
                    Some(e) => e.value.as_scalar(key).map(Some),
                }
            };
            let entry_name = scalar_of("name")?.map(|s| s.value.clone()).unwrap_or_default();
            let mut inserts = Vec::new();
            match scalar_of("newName")? {
                Some(s) => edits.push(s.replace(&image.repository)),
                None if entry_name != image.repository => inserts.push(("newName", image.repository.clone())),
                None => {}
            }
            match scalar_of("digest")? {
                Some(s) => edits.push(s.replace(&image.digest)),
                None => inserts.push(("digest", image.digest.clone())),
            }
            if !inserts.is_empty() {
                edits.push(insert_keys(text, map, &inserts));
            }
        }
        Spec::Helm { path, form } => {
            let (_, leaf) = helm_leaf(&docs, path)?;
            let s = leaf.as_scalar(path.last().map_or("", String::as_str))?;
            let value = match form {
                HelmForm::Digest => image.digest.clone(),
                HelmForm::Image => image.pinned(),
                HelmForm::TagAtDigest => {
                    let tag = s.value.split('@').next().unwrap_or_default();
                    if tag.is_empty() || tag.starts_with("sha256:") {
                        return Err(refused(
                            s.line,
                            format!(
                                "`{}` holds no tag to keep (\"{}\"); value = \"tag@digest\" pins the digest after the tag there",
                                path.join("."),
                                s.value
                            ),
                        ));
                    }
                    format!("{tag}@{}", image.digest)
                }
            };
            edits.push(s.replace(&value));
        }
        Spec::Manifest { container } => {
            for node in manifest_images(&docs, container)? {
                edits.push(node.as_scalar("image")?.replace(&image.pinned()));
            }
        }
    }
    Ok(splice(text, edits))
}

fn digest_of(image: &str) -> Option<String> {
    image.split_once('@').map(|(_, d)| d.to_string()).filter(|d| d.starts_with("sha256:"))
}

struct Edit {
    range: Range<usize>,
    text: String,
}

fn splice(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.range.start));
    let mut out = text.to_string();
    for e in edits {
        out.replace_range(e.range, &e.text);
    }
    out
}

/// New `key: value` lines after the last line of `map`, at its indentation, with the file's line ending.
fn insert_keys(text: &str, map: &Map, keys: &[(&str, String)]) -> Edit {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let pad = " ".repeat(map.col);
    let at = map.end;
    let mut lines = String::new();
    // The last line of the file may have no line ending.
    let needs_break = at == text.len() && !text.is_empty() && !text.ends_with('\n');
    if needs_break {
        lines.push_str(eol);
    }
    for (i, (k, v)) in keys.iter().enumerate() {
        lines.push_str(&format!("{pad}{k}: {v}"));
        if i + 1 < keys.len() || !needs_break {
            lines.push_str(eol);
        }
    }
    Edit { range: at..at, text: lines }
}

// --- the locator -------------------------------------------------------------------------------------------

#[derive(Debug)]
enum Node {
    Empty,
    Scalar(Scalar),
    Map(Map),
    Seq(Vec<Node>),
    /// A value the locator does not model; the reason says what it is (for an error when the path needs it).
    Opaque {
        line: usize,
        what: &'static str,
    },
    /// `&anchor` or `!tag` before a node; refused on the path.
    Props {
        line: usize,
        props: String,
        inner: Box<Node>,
    },
}

#[derive(Debug)]
struct Map {
    col: usize,
    entries: Vec<Entry>,
    /// Byte offset just past the last line of the mapping (where a new key goes).
    end: usize,
}

#[derive(Debug)]
struct Entry {
    key: String,
    line: usize,
    value: Node,
}

#[derive(Debug, Clone)]
struct Scalar {
    line: usize,
    value: String,
    /// The bytes of the token in the file (quotes included); empty (at the insertion point) for a null value.
    span: Range<usize>,
    style: Style,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    /// `key:` with nothing after it.
    Null,
}

impl Scalar {
    fn replace(&self, value: &str) -> Edit {
        let text = match self.style {
            Style::Plain => value.to_string(),
            Style::Null => format!(" {value}"),
            Style::Single => format!("'{}'", value.replace('\'', "''")),
            Style::Double => format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")),
        };
        Edit { range: self.span.clone(), text }
    }
}

impl Node {
    fn scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    fn line(&self) -> Option<usize> {
        match self {
            Node::Scalar(s) => Some(s.line),
            Node::Opaque { line, .. } | Node::Props { line, .. } => Some(*line),
            Node::Map(m) => m.entries.first().map(|e| e.line),
            Node::Seq(_) | Node::Empty => None,
        }
    }

    /// The value being edited must be a plain, single-line scalar that nothing else refers to.
    fn as_scalar(&self, key: &str) -> Result<&Scalar, EditError> {
        match self {
            Node::Scalar(s) if s.value.contains("{{") => Err(refused(
                s.line,
                format!(
                    "`{key}` is templated (\"{}\"); shipit writes a literal digest and will not replace a template",
                    s.value
                ),
            )),
            Node::Scalar(s) => Ok(s),
            Node::Props { line, props, .. } if props.starts_with('*') => Err(refused(
                *line,
                format!(
                    "`{key}` is the alias `{props}` of a value defined elsewhere in the file; shipit edits literal values only"
                ),
            )),
            Node::Props { line, props, .. } => Err(refused(
                *line,
                format!(
                    "`{key}` carries `{props}`; changing an anchored or tagged value would change every alias of it"
                ),
            )),
            Node::Opaque { line, what } => Err(refused(*line, format!("`{key}` is {what}, not a single-line value"))),
            Node::Map(_) | Node::Seq(_) => {
                Err(refused(self.line().unwrap_or(0), format!("`{key}` is a mapping or a list, not a value")))
            }
            Node::Empty => Err(EditError::NotFound(format!("`{key}` has no value"))),
        }
    }

    /// Step into a mapping on the path; anchors, aliases and flow collections on the way are refused.
    fn as_map(&self, key: &str) -> Result<&Map, EditError> {
        match self {
            Node::Map(m) => {
                if let Some(merge) = m.entries.iter().find(|e| e.key == "<<") {
                    return Err(refused(
                        merge.line,
                        format!("`{key}` merges another mapping (`<<:`); its values may come from an anchor elsewhere"),
                    ));
                }
                Ok(m)
            }
            Node::Props { line, props, .. } => Err(refused(
                *line,
                format!("`{key}` carries `{props}`; an anchored mapping is shared with its aliases"),
            )),
            Node::Opaque { line, what } => Err(refused(*line, format!("`{key}` is {what}"))),
            Node::Scalar(s) => Err(refused(s.line, format!("`{key}` is a value (\"{}\"), not a mapping", s.value))),
            Node::Seq(_) | Node::Empty => Err(refused(self.line().unwrap_or(0), format!("`{key}` is not a mapping"))),
        }
    }
}

impl Map {
    fn get(&self, key: &str) -> Option<&Node> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.value)
    }
}

/// One line of content (blank and comment-only lines are left out), from `col` on: after a `- ` the rest of
/// the line is a fragment of its own, one level deeper.
#[derive(Debug, Clone, Copy)]
struct Frag<'a> {
    line: usize,
    col: usize,
    /// Byte offset of `col` in the file.
    at: usize,
    /// From `col` to the end of the line (no line ending).
    text: &'a str,
    /// Byte offset just past the line ending.
    next: usize,
}

/// The documents of a file, each parsed into its block structure.
fn parse(text: &str) -> Vec<Node> {
    let mut docs = Vec::new();
    let mut frags: Vec<Frag> = Vec::new();
    let mut offset = 0;
    for (line, raw) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += raw.len();
        let content = raw.trim_end_matches(['\n', '\r']);
        if is_marker(content, "---") || is_marker(content, "...") {
            docs.push(node(&frags));
            frags.clear();
            continue;
        }
        if content.starts_with('%') && frags.is_empty() {
            continue; // a directive (%YAML, %TAG)
        }
        // A byte-order mark opens some files written on Windows; it is no indentation, and stays where it is.
        let (bom, content) = match content.strip_prefix('\u{feff}') {
            Some(rest) if line == 0 => ('\u{feff}'.len_utf8(), rest),
            _ => (0, content),
        };
        let trimmed = content.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let col = content.len() - trimmed.len();
        frags.push(Frag { line, col, at: start + bom + col, text: trimmed, next: offset });
    }
    docs.push(node(&frags));
    docs
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn is_dash(text: &str) -> bool {
    text == "-" || text.starts_with("- ") || text.starts_with("-\t")
}

fn node(frags: &[Frag]) -> Node {
    let Some(first) = frags.first() else { return Node::Empty };
    if is_dash(first.text) {
        return sequence(frags, first.col);
    }
    if key_colon(first.text).is_some() {
        return mapping(frags, first.col);
    }
    if frags.len() > 1 {
        return Node::Opaque { line: first.line, what: "a multi-line value" };
    }
    inline_value(first, first.text, first.at)
}

fn sequence(frags: &[Frag], col: usize) -> Node {
    let starts: Vec<usize> = (0..frags.len()).filter(|&i| frags[i].col == col && is_dash(frags[i].text)).collect();
    let mut items = Vec::new();
    for (n, &i) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(frags.len());
        let dash = frags[i];
        let rest = dash.text[1..].trim_start_matches([' ', '\t']);
        let mut item: Vec<Frag> = Vec::new();
        if !rest.is_empty() && !rest.starts_with('#') {
            let skip = dash.text.len() - rest.len();
            item.push(Frag { line: dash.line, col: dash.col + skip, at: dash.at + skip, text: rest, next: dash.next });
        }
        item.extend_from_slice(&frags[i + 1..end]);
        items.push(node(&item));
    }
    Node::Seq(items)
}

fn mapping(frags: &[Frag], col: usize) -> Node {
    // A key at this column starts an entry; a `- ` at this column belongs to the entry before (`images:\n- …`).
    let starts: Vec<usize> = (0..frags.len()).filter(|&i| frags[i].col == col && !is_dash(frags[i].text)).collect();
    let mut entries = Vec::new();
    for (n, &i) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(frags.len());
        let f = frags[i];
        let Some((key, after)) = key_colon(f.text) else {
            entries.push(Entry {
                key: String::new(),
                line: f.line,
                value: Node::Opaque { line: f.line, what: "not a `key: value` line" },
            });
            continue;
        };
        let rest_raw = &f.text[after..];
        let rest = rest_raw.trim_start_matches([' ', '\t']);
        let rest_at = f.at + after + (rest_raw.len() - rest.len());
        let children = &frags[i + 1..end];
        let value = entry_value(f, rest, rest_at, f.at + after, children);
        entries.push(Entry { key, line: f.line, value });
    }
    let end = frags.last().map_or(0, |f| f.next);
    Node::Map(Map { col, entries, end })
}

/// The value of `key:` — on the same line (`rest`), or the lines below it (`children`).
fn entry_value(f: Frag, rest: &str, rest_at: usize, colon_end: usize, children: &[Frag]) -> Node {
    let (props, after_props) = split_props(rest);
    let bare = strip_comment(after_props);
    if bare.is_empty() {
        let inner = if children.is_empty() {
            if props.is_empty() {
                Node::Scalar(Scalar {
                    line: f.line,
                    value: String::new(),
                    span: colon_end..colon_end,
                    style: Style::Null,
                })
            } else {
                Node::Empty
            }
        } else {
            node(children)
        };
        return if props.is_empty() {
            inner
        } else {
            Node::Props { line: f.line, props: props.trim().to_string(), inner: Box::new(inner) }
        };
    }
    if bare.starts_with(['|', '>']) {
        return Node::Opaque { line: f.line, what: "a block scalar" };
    }
    if !children.is_empty() {
        let what =
            if bare.starts_with(['"', '\'']) { "a quoted value spanning several lines" } else { "a multi-line value" };
        return Node::Opaque { line: f.line, what };
    }
    // Properties (`&a`, `!t`) are wrapped around the value by `inline_value` itself.
    inline_value(&f, rest, rest_at)
}

/// `&anchor` and `!tag` properties at the start of a value, and what follows them.
fn split_props(text: &str) -> (&str, &str) {
    let mut rest = text;
    loop {
        if rest.starts_with('&') || rest.starts_with('!') {
            let end = rest.find([' ', '\t']).unwrap_or(rest.len());
            rest = rest[end..].trim_start_matches([' ', '\t']);
        } else {
            break;
        }
    }
    (&text[..text.len() - rest.len()], rest)
}

/// A value on one line: a quoted or plain scalar, or something opaque.
fn inline_value(f: &Frag, text: &str, at: usize) -> Node {
    let line = f.line;
    let (props, rest) = split_props(text);
    if !props.is_empty() {
        let inner = inline_value(f, rest, at + props.len());
        return Node::Props { line, props: props.trim().to_string(), inner: Box::new(inner) };
    }
    let opaque = |what| Node::Opaque { line, what };
    if text.starts_with("{{") {
        // A template (helmfile, a .gotmpl values file): a scalar, so that the edit refuses it by name.
        let value = strip_comment(text);
        return Node::Scalar(Scalar {
            line,
            value: value.to_string(),
            span: at..at + value.len(),
            style: Style::Plain,
        });
    }
    match text.chars().next() {
        Some('*') => return Node::Props { line, props: strip_comment(text).to_string(), inner: Box::new(Node::Empty) },
        Some('|' | '>') => return opaque("a block scalar"),
        Some('{' | '[') => return opaque("a flow collection"),
        Some('"') => {
            return match double_quoted(text) {
                Some((value, len)) => Node::Scalar(Scalar { line, value, span: at..at + len, style: Style::Double }),
                None => opaque("a quoted value spanning several lines"),
            };
        }
        Some('\'') => {
            return match single_quoted(text) {
                Some((value, len)) => Node::Scalar(Scalar { line, value, span: at..at + len, style: Style::Single }),
                None => opaque("a quoted value spanning several lines"),
            };
        }
        _ => {}
    }
    let value = strip_comment(text);
    Node::Scalar(Scalar { line, value: value.to_string(), span: at..at + value.len(), style: Style::Plain })
}

/// A plain value ends at ` #` (a comment) or the end of the line; trailing blanks are not part of it.
fn strip_comment(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut end = text.len();
    for i in 0..bytes.len() {
        if bytes[i] == b'#' && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
            end = i;
            break;
        }
    }
    text[..end].trim_end_matches([' ', '\t'])
}

/// `"…"` at the start of `text`: the value and the token's length, if it closes on this line.
fn double_quoted(text: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => {
                let (_, e) = chars.next()?;
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
            }
            c => out.push(c),
        }
    }
    None
}

fn single_quoted(text: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            return Some((out, i + 1));
        }
        let c = text[i..].chars().next()?;
        out.push(c);
        i += c.len_utf8();
    }
    None
}

/// `key:` at the start of `text`: the key (unquoted) and the offset just past the colon.
fn key_colon(text: &str) -> Option<(String, usize)> {
    if text.starts_with('"') {
        let (key, len) = double_quoted(text)?;
        return text[len..].trim_start_matches([' ', '\t']).starts_with(':').then(|| {
            let colon = len + text[len..].find(':').unwrap_or(0);
            (key, colon + 1)
        });
    }
    if text.starts_with('\'') {
        let (key, len) = single_quoted(text)?;
        return text[len..].trim_start_matches([' ', '\t']).starts_with(':').then(|| {
            let colon = len + text[len..].find(':').unwrap_or(0);
            (key, colon + 1)
        });
    }
    if text.starts_with(['#', '{', '[', '|', '>', '&', '*', '!', '%', '@', '`']) {
        return None;
    }
    let bytes = text.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b'#' && i > 0 && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
            return None;
        }
        if bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t') {
            return Some((text[..i].trim_end().to_string(), i + 1));
        }
    }
    None
}

// --- the three layouts -------------------------------------------------------------------------------------

struct KustomizeEntry<'a> {
    map: &'a Map,
}

impl KustomizeEntry<'_> {
    fn get(&self, key: &str) -> Option<&Node> {
        self.map.get(key)
    }
}

fn kustomize_entry<'a>(docs: &'a [Node], name: &str) -> Result<KustomizeEntry<'a>, EditError> {
    let mut names = Vec::new();
    // An entry the locator cannot read (`- {name: api, digest: …}`) may be the one asked for: say so.
    let mut unreadable: Option<(usize, &'static str)> = None;
    for doc in docs {
        let Node::Map(root) = doc else { continue };
        let Some(images) = root.entries.iter().find(|e| e.key == "images") else { continue };
        let items = match &images.value {
            Node::Seq(items) => items,
            Node::Empty => continue,
            Node::Scalar(s) if s.style == Style::Null => continue,
            other => {
                return Err(refused(
                    other.line().unwrap_or(images.line),
                    "`images:` is not a block list (`- name: …` entries); shipit edits block lists only",
                ));
            }
        };
        for item in items {
            if let Node::Opaque { line, what } = item {
                unreadable.get_or_insert((*line, *what));
            }
            let Node::Map(m) = item else { continue };
            let Some(n) = m.get("name").and_then(Node::scalar) else { continue };
            if n.value == name {
                let entry = item.as_map(&format!("images[name={name}]"))?;
                return Ok(KustomizeEntry { map: entry });
            }
            names.push(n.value.clone());
        }
    }
    if let Some((line, what)) = unreadable {
        return Err(refused(
            line,
            format!(
                "no block entry of `images:` has name `{name}`, and this entry is {what}; shipit edits `- name: …` block entries only"
            ),
        ));
    }
    Err(EditError::NotFound(if names.is_empty() {
        "the file has no `images:` list".to_string()
    } else {
        format!("no `images:` entry has name `{name}` (there are: {})", names.join(", "))
    }))
}

/// The mapping holding the last key of `path`, and that key's value (in the first document that has it).
fn helm_leaf<'a>(docs: &'a [Node], path: &[String]) -> Result<(&'a Map, &'a Node), EditError> {
    let Some((last, parents)) = path.split_last() else {
        return Err(EditError::NotFound("an empty YAML path".into()));
    };
    let mut missing = None;
    'docs: for doc in docs {
        if matches!(doc, Node::Empty) {
            continue;
        }
        let mut map = doc.as_map("(the document)")?;
        let mut walked: Vec<&str> = Vec::new();
        for key in parents {
            walked.push(key);
            match map.get(key) {
                Some(n) => map = n.as_map(&walked.join("."))?,
                None => {
                    missing.get_or_insert(walked.join("."));
                    continue 'docs;
                }
            }
        }
        match map.get(last) {
            Some(n) => return Ok((map, n)),
            None => {
                missing.get_or_insert(path.join("."));
            }
        }
    }
    Err(EditError::NotFound(format!("the file has no `{}`", missing.unwrap_or_else(|| path.join(".")))))
}

/// The `image:` of every container (or init container) named `container`, in every document.
fn manifest_images<'a>(docs: &'a [Node], container: &str) -> Result<Vec<&'a Node>, EditError> {
    let mut found = Vec::new();
    let mut seen = Vec::new();
    for doc in docs {
        walk_containers(doc, container, &mut found, &mut seen)?;
    }
    if found.is_empty() {
        seen.sort();
        seen.dedup();
        return Err(EditError::NotFound(if seen.is_empty() {
            "the file has no `containers:` list".to_string()
        } else {
            format!("no container is named `{container}` (there are: {})", seen.join(", "))
        }));
    }
    Ok(found)
}

fn walk_containers<'a>(
    node: &'a Node,
    container: &str,
    found: &mut Vec<&'a Node>,
    seen: &mut Vec<String>,
) -> Result<(), EditError> {
    match node {
        Node::Map(m) => {
            for e in &m.entries {
                if (e.key == "containers" || e.key == "initContainers")
                    && let Node::Seq(items) = &e.value
                {
                    for item in items {
                        let Node::Map(c) = item else { continue };
                        let Some(name) = c.get("name").and_then(Node::scalar) else { continue };
                        if name.value != container {
                            seen.push(name.value.clone());
                            continue;
                        }
                        let map = item.as_map(&format!("{}[name={container}]", e.key))?;
                        match map.get("image") {
                            Some(img) => found.push(img),
                            None => {
                                return Err(refused(
                                    name.line,
                                    format!("container `{container}` has no `image:` to change"),
                                ));
                            }
                        }
                    }
                } else {
                    walk_containers(&e.value, container, found, seen)?;
                }
            }
        }
        Node::Seq(items) => {
            for i in items {
                walk_containers(i, container, found, seen)?;
            }
        }
        Node::Props { inner, .. } => walk_containers(inner, container, found, seen)?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const NEW: &str = "sha256:9b1e000000000000000000000000000000000000000000000000000000000000";

    fn image(repo: &str) -> ImageRef {
        ImageRef { repository: repo.into(), digest: NEW.into() }
    }

    /// Apply the edit and check that exactly the lines named changed (to the text given), byte for byte.
    fn assert_only(before: &str, after: &str, changed: &[(usize, &str)]) {
        let b: Vec<&str> = before.split_inclusive('\n').collect();
        let a: Vec<&str> = after.split_inclusive('\n').collect();
        let mut expected: Vec<String> = b.iter().map(|s| s.to_string()).collect();
        for (line, text) in changed {
            expected[*line - 1] = text.to_string();
        }
        assert_eq!(a.concat(), expected.concat(), "after:\n{after}");
    }

    const KUSTOMIZATION: &str = "\
# overlays/production — managed by hand and by shipit
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: prod
resources:
  - ../../base
images:
- name: ghcr.io/acme/worker   # the queue worker
  newTag: v1.9.0
- name: api
  newName: ghcr.io/acme/api
  digest: sha256:1111111111111111111111111111111111111111111111111111111111111111 # pinned by shipit
- name: nginx
  newName: registry.acme.dev/mirror/nginx
  newTag: \"1.27\"
patches:
  - path: replicas.yaml
";

    #[test]
    fn a_kustomization_with_many_images_changes_only_the_digest_of_its_entry() {
        let spec = Spec::Kustomize { name: "api".into() };
        let cur = read(KUSTOMIZATION, &spec).unwrap();
        assert_eq!(cur.digest.as_deref(), Some(OLD));
        assert_eq!(cur.image, format!("ghcr.io/acme/api@{OLD}"));
        assert_eq!(cur.line, 12);
        let out = apply(KUSTOMIZATION, &spec, &image("ghcr.io/acme/api")).unwrap();
        assert_only(KUSTOMIZATION, &out, &[(12, &format!("  digest: {NEW} # pinned by shipit\n"))]);
        assert_eq!(read(&out, &spec).unwrap().digest.as_deref(), Some(NEW));
    }

    #[test]
    fn a_kustomization_entry_without_digest_gets_the_lines_it_needs() {
        let spec = Spec::Kustomize { name: "ghcr.io/acme/worker".into() };
        let out = apply(KUSTOMIZATION, &spec, &image("ghcr.io/acme/worker")).unwrap();
        // name == repository: no newName needed; newTag stays (kustomize uses the digest when both are set).
        let want = KUSTOMIZATION.replace("  newTag: v1.9.0\n", &format!("  newTag: v1.9.0\n  digest: {NEW}\n"));
        assert_eq!(out, want);
        let spec = Spec::Kustomize { name: "nginx".into() };
        let out = apply(KUSTOMIZATION, &spec, &image("ghcr.io/acme/nginx")).unwrap();
        let want = KUSTOMIZATION.replace(
            "  newName: registry.acme.dev/mirror/nginx\n  newTag: \"1.27\"\n",
            &format!("  newName: ghcr.io/acme/nginx\n  newTag: \"1.27\"\n  digest: {NEW}\n"),
        );
        assert_eq!(out, want);
    }

    #[test]
    fn a_flow_entry_in_images_is_named_rather_than_skipped() {
        let text = "images:\n- {name: api, digest: sha256:aa}\n- name: web\n  newTag: v1\n";
        let err = read(text, &Spec::Kustomize { name: "api".into() }).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 2: no block entry of `images:` has name `api`, and this entry is a flow collection"),
            "{err}"
        );
        assert!(read(text, &Spec::Kustomize { name: "web".into() }).is_ok());
    }

    #[test]
    fn an_unknown_kustomize_image_names_the_ones_there() {
        let err = read(KUSTOMIZATION, &Spec::Kustomize { name: "web".into() }).unwrap_err();
        assert_eq!(err.to_string(), "no `images:` entry has name `web` (there are: ghcr.io/acme/worker, api, nginx)");
    }

    #[test]
    fn indented_images_and_crlf_line_endings_are_kept() {
        let text = format!(
            "images:\r\n  - name: api   \r\n    newName: ghcr.io/acme/api\r\n    digest: '{OLD}'\r\nresources: [a.yaml]\r\n"
        );
        let out = apply(&text, &Spec::Kustomize { name: "api".into() }, &image("ghcr.io/acme/api")).unwrap();
        assert_eq!(out, text.replace(OLD, NEW));
        // A last entry without digest and without a final newline.
        let text = "images:\r\n  - name: api\r\n    newTag: v1";
        let out = apply(text, &Spec::Kustomize { name: "api".into() }, &image("ghcr.io/acme/api")).unwrap();
        assert_eq!(
            out,
            format!("images:\r\n  - name: api\r\n    newTag: v1\r\n    newName: ghcr.io/acme/api\r\n    digest: {NEW}")
        );
    }

    const VALUES: &str = "\
# Default values for api.
replicaCount: 3

defaults: &defaults
  pullPolicy: IfNotPresent   # shared with the sidecar
  resources: {limits: {cpu: 500m}}

image:
  # The registry is mirrored in the EU region.
  repository: ghcr.io/acme/api
  tag: \"v1.4.2\"
  digest: \"sha256:1111111111111111111111111111111111111111111111111111111111111111\"   # written by shipit
  <<: ignored-in-a-string
sidecar:
  <<: *defaults
  image: busybox
podAnnotations:
  description: |
    image:
      digest: not-this-one
ingress:
  hosts: [\"api.acme.dev\"]
";

    #[test]
    fn helm_values_with_comments_and_anchors_elsewhere_change_one_value() {
        // `<<: ignored-in-a-string` is a merge key in `image`: the locator must refuse it. Use a clean copy.
        let values = VALUES.replace("  <<: ignored-in-a-string\n", "");
        let spec = Spec::Helm { path: vec!["image".into(), "digest".into()], form: HelmForm::Digest };
        let cur = read(&values, &spec).unwrap();
        assert_eq!((cur.image.as_str(), cur.line), (format!("ghcr.io/acme/api@{OLD}").as_str(), 12));
        let out = apply(&values, &spec, &image("ghcr.io/acme/api")).unwrap();
        assert_only(&values, &out, &[(12, &format!("  digest: \"{NEW}\"   # written by shipit\n"))]);
    }

    #[test]
    fn helm_tag_at_digest_keeps_the_tag_and_pins_the_digest() {
        let values = VALUES.replace("  <<: ignored-in-a-string\n", "");
        let spec = Spec::Helm { path: vec!["image".into(), "tag".into()], form: HelmForm::TagAtDigest };
        let out = apply(&values, &spec, &image("ghcr.io/acme/api")).unwrap();
        assert_only(&values, &out, &[(11, &format!("  tag: \"v1.4.2@{NEW}\"\n"))]);
        // Again: the old digest after the tag is replaced, the tag kept.
        let again =
            apply(&out, &spec, &ImageRef { repository: "ghcr.io/acme/api".into(), digest: OLD.into() }).unwrap();
        assert_only(&values, &again, &[(11, &format!("  tag: \"v1.4.2@{OLD}\"\n"))]);
        assert_eq!(read(&again, &spec).unwrap().digest.as_deref(), Some(OLD));
    }

    #[test]
    fn a_merge_key_anchor_alias_or_template_on_the_path_is_refused() {
        let spec = Spec::Helm { path: vec!["image".into(), "digest".into()], form: HelmForm::Digest };
        let err = read(VALUES, &spec).unwrap_err();
        assert!(err.to_string().starts_with("line 13: `image` merges another mapping"), "{err}");
        let anchored = "image: &img\n  digest: sha256:aa\nother: *img\n";
        let err = apply(anchored, &spec, &image("r")).unwrap_err();
        assert!(err.to_string().contains("line 1: `image` carries `&img`"), "{err}");
        let aliased = "base:\n  d: &d sha256:aa\nimage:\n  digest: *d\n";
        let err = apply(aliased, &spec, &image("r")).unwrap_err();
        assert!(err.to_string().contains("line 4: `digest` is the alias `*d`"), "{err}");
        let anchored_value = "image:\n  digest: &d sha256:aa\n";
        assert!(apply(anchored_value, &spec, &image("r")).unwrap_err().to_string().contains("carries `&d`"));
        let templated = "image:\n  digest: \"{{ .Values.global.digest }}\"\n";
        let err = apply(templated, &spec, &image("r")).unwrap_err();
        assert!(err.to_string().contains("line 2: `digest` is templated"), "{err}");
        let flow = "image: {repository: r, digest: sha256:aa}\n";
        assert!(apply(flow, &spec, &image("r")).unwrap_err().to_string().contains("a flow collection"));
        let missing = "image:\n  repository: r\n";
        assert_eq!(apply(missing, &spec, &image("r")).unwrap_err().to_string(), "the file has no `image.digest`");
    }

    #[test]
    fn a_block_scalar_that_looks_like_the_path_is_not_edited() {
        let spec = Spec::Helm { path: vec!["podAnnotations".into(), "description".into()], form: HelmForm::Digest };
        assert!(read(VALUES, &spec).unwrap_err().to_string().contains("a block scalar"));
    }

    const MANIFESTS: &str = "\
---
# the service
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/api@sha256:1111111111111111111111111111111111111111111111111111111111111111
          args: [\"migrate\"]
      containers:
        - name: api
          image: \"ghcr.io/acme/api@sha256:1111111111111111111111111111111111111111111111111111111111111111\"
          ports:
            - containerPort: 8080
        - image: envoyproxy/envoy:v1.31   # name after image
          name: envoy
...
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: api-cleanup
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: api
            image: ghcr.io/acme/api:old-tag
";

    #[test]
    fn multi_document_manifests_change_every_container_of_that_name() {
        let spec = Spec::Manifest { container: "api".into() };
        let cur = read(MANIFESTS, &spec).unwrap();
        assert_eq!((cur.digest.as_deref(), cur.line), (Some(OLD), 23));
        let pinned = format!("ghcr.io/acme/api@{NEW}");
        let out = apply(MANIFESTS, &spec, &image("ghcr.io/acme/api")).unwrap();
        assert_only(
            MANIFESTS,
            &out,
            &[(23, &format!("          image: \"{pinned}\"\n")), (41, &format!("            image: {pinned}\n"))],
        );
        let spec = Spec::Manifest { container: "migrate".into() };
        let out = apply(MANIFESTS, &spec, &image("ghcr.io/acme/api")).unwrap();
        assert_only(MANIFESTS, &out, &[(19, &format!("          image: {pinned}\n"))]);
        let err = read(MANIFESTS, &Spec::Manifest { container: "web".into() }).unwrap_err();
        assert_eq!(err.to_string(), "no container is named `web` (there are: api, envoy, migrate)");
    }

    #[test]
    fn keys_and_values_are_read_like_yaml_reads_them() {
        assert_eq!(key_colon("image: x"), Some(("image".into(), 6)));
        assert_eq!(key_colon("\"image\" : x").map(|k| k.0), Some("image".into()));
        assert_eq!(key_colon("url: http://x:80"), Some(("url".into(), 4)));
        assert_eq!(key_colon("http://x:80"), None);
        assert_eq!(key_colon("a # b: c"), None);
        assert_eq!(strip_comment("sha256:ab # c"), "sha256:ab");
        assert_eq!(strip_comment("a#b"), "a#b");
        assert_eq!(single_quoted("'it''s' # x"), Some(("it's".into(), 7)));
        assert_eq!(double_quoted("\"a\\\"b\""), Some(("a\"b".into(), 6)));
    }

    #[test]
    fn a_byte_order_mark_is_neither_indentation_nor_lost() {
        let text = format!("\u{feff}images:\n- name: api\n  digest: {OLD}\nresources:\n- a.yaml\n");
        let out = apply(&text, &Spec::Kustomize { name: "api".into() }, &image("ghcr.io/acme/api")).unwrap();
        assert_eq!(
            out,
            format!(
                "\u{feff}images:\n- name: api\n  digest: {NEW}\n  newName: ghcr.io/acme/api\nresources:\n- a.yaml\n"
            )
        );
    }

    #[test]
    fn a_null_value_is_filled_in() {
        let spec = Spec::Helm { path: vec!["image".into(), "digest".into()], form: HelmForm::Digest };
        let text = "image:\n  repository: ghcr.io/acme/api\n  digest:   # set by shipit\nnext: 1\n";
        let out = apply(text, &spec, &image("ghcr.io/acme/api")).unwrap();
        assert_eq!(
            out,
            format!("image:\n  repository: ghcr.io/acme/api\n  digest: {NEW}   # set by shipit\nnext: 1\n")
        );
    }
}
