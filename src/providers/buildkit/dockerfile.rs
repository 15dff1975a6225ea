//! From a BuildKit vertex name (`[builder 3/5] RUN make`) back to the Dockerfile line it came from, so a failed
//! build says where to look. BuildKit numbers the instructions of each stage from 1 (its `FROM`) and prefixes
//! them with the stage name (`stage-N` for unnamed stages of a multi-stage file).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line of the instruction's first line.
    pub line: usize,
    /// The instruction, continuation lines joined.
    pub text: String,
}

struct Stage {
    name: Option<String>,
    /// BuildKit does not number a `FROM scratch` (it has no vertex), so the stage's steps start after it.
    scratch: bool,
    instructions: Vec<Instruction>,
}

/// Split a Dockerfile into stages of instructions (comments, blank lines and parser directives skipped;
/// `\` continuations joined).
fn parse(text: &str) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut pending: Option<Instruction> = None;
    let mut preamble: Vec<Instruction> = Vec::new();
    let mut finish = |ins: Instruction, stages: &mut Vec<Stage>| {
        let keyword = ins.text.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        if keyword == "FROM" {
            let words: Vec<&str> = ins.text.split_whitespace().collect();
            let name = words
                .iter()
                .position(|w| w.eq_ignore_ascii_case("as"))
                .and_then(|i| words.get(i + 1))
                .map(|n| n.to_ascii_lowercase());
            let scratch = words.get(1).is_some_and(|w| w.eq_ignore_ascii_case("scratch"))
                || (words.get(1).is_some_and(|w| w.starts_with("--"))
                    && words.get(2).is_some_and(|w| w.eq_ignore_ascii_case("scratch")));
            stages.push(Stage { name, scratch, instructions: vec![ins] });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(ins);
        } else {
            preamble.push(ins);
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_none()) {
            continue;
        }
        let (body, continues) = match trimmed.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (trimmed, false),
        };
        match pending.as_mut() {
            Some(p) => {
                if !body.is_empty() {
                    p.text.push(' ');
                    p.text.push_str(body);
                }
            }
            None => pending = Some(Instruction { line: i + 1, text: body.to_string() }),
        }
        if !continues && let Some(done) = pending.take() {
            finish(done, &mut stages);
        }
    }
    if let Some(done) = pending.take() {
        finish(done, &mut stages);
    }
    stages
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The instruction a vertex named `[stage N/M] TEXT` ran, if it is one.
pub fn locate(dockerfile: &str, vertex: &str) -> Option<Instruction> {
    let rest = vertex.strip_prefix('[')?;
    let (prefix, text) = rest.split_once("] ")?;
    let words: Vec<&str> = prefix.split_whitespace().collect();
    let (n, _) = words.last()?.split_once('/')?;
    let n: usize = n.parse().ok()?;
    let stage_name = words.iter().rev().nth(1).filter(|w| !w.contains('/')).map(|w| w.to_ascii_lowercase());
    let stages = parse(dockerfile);
    let keyword = text.split_whitespace().next()?.to_ascii_uppercase();
    let stage = match &stage_name {
        Some(name) => stages.iter().enumerate().find_map(|(i, s)| {
            (s.name.as_deref() == Some(name.as_str()) || *name == format!("stage-{i}")).then_some(s)
        }),
        None if stages.len() == 1 => stages.first(),
        None => None,
    };
    let by_position = stage
        .and_then(|s| s.instructions.get(if s.scratch { n } else { n.checked_sub(1)? }))
        .filter(|ins| ins.text.split_whitespace().next().is_some_and(|k| k.eq_ignore_ascii_case(&keyword)));
    if let Some(found) = by_position {
        return Some(found.clone());
    }
    // Names are the instruction's text (with build args expanded): match it in the stage, then anywhere.
    let wanted = normalize(text).to_ascii_lowercase();
    let all: Vec<&Instruction> = match stage {
        Some(s) => s.instructions.iter().chain(stages.iter().flat_map(|s| s.instructions.iter())).collect(),
        None => stages.iter().flat_map(|s| s.instructions.iter()).collect(),
    };
    all.into_iter().find(|ins| normalize(&ins.text).to_ascii_lowercase() == wanted).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# syntax comment\nFROM scratch AS base\nCOPY busybox /bin/busybox\n\n\
                        FROM base AS builder\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \\\n    \"exit 3\"]\n\
                        FROM scratch\nCOPY --from=builder /out /out\n";

    #[test]
    fn position_in_the_named_stage() {
        let found = locate(FILE, "[builder 2/2] RUN [\"/bin/busybox\", \"sh\", \"-c\", \"exit 3\"]").unwrap();
        assert_eq!(found.line, 6);
        assert_eq!(found.text, "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"exit 3\"]");
        assert_eq!(locate(FILE, "[base 1/1] COPY busybox /bin/busybox").unwrap().line, 3);
        assert_eq!(locate(FILE, "[stage-2 1/1] COPY --from=builder /out /out").unwrap().line, 9);
    }

    #[test]
    fn single_stage_and_platform_prefix() {
        let file = "FROM scratch\nCOPY a /a\nCOPY b /b\n";
        assert_eq!(locate(file, "[2/2] COPY b /b").unwrap().line, 3);
        assert_eq!(locate(file, "[linux/arm64 1/2] COPY a /a").unwrap().line, 2);
        let file = "FROM alpine\nCOPY a /a\nCOPY a /a\n";
        assert_eq!(locate(file, "[3/3] COPY a /a").unwrap().line, 3, "by position, not the first equal text");
        assert_eq!(locate(file, "[internal] load build definition from Dockerfile"), None);
    }

    #[test]
    fn text_match_when_the_position_disagrees() {
        let file = "FROM scratch\nCOPY a /a\nCOPY b /b\n";
        assert_eq!(locate(file, "[9/9] COPY   b /b").unwrap().line, 3);
    }
}
