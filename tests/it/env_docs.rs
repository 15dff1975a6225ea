//! The registry of environment variables (src/env_vars.rs) is the only place names are spelled, and
//! docs/environment.md is generated from its doc comments. `scripts/gen-env-docs` rewrites the page; these tests
//! fail when someone edits one without the other, or reads a variable by a literal name.

use std::path::{Path, PathBuf};

const REGISTRY: &str = "src/env_vars.rs";
const PAGE: &str = "docs/environment.md";
/// Set by `scripts/gen-env-docs` (and, as for completions and the man page, by hand): write the page instead of failing.
const UPDATE_VAR: &str = "SHIPIT_UPDATE_GENERATED";

#[derive(Debug, PartialEq)]
struct Var {
    section: String,
    name: String,
    /// Paragraphs of the doc comment, each joined into one line.
    paragraphs: Vec<String>,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The registry's constants in source order. Panics, naming the line, on anything the generator cannot read.
fn parse(source: &str) -> Vec<Var> {
    let mut vars = Vec::new();
    let mut section = None::<String>;
    let mut doc: Vec<String> = Vec::new();
    let mut inside = false;
    for (i, line) in source.lines().enumerate() {
        let at = || format!("{REGISTRY}:{}", i + 1);
        let t = line.trim();
        if !inside {
            inside = t == "impl EnvVars {";
            continue;
        }
        if let Some(title) = t.strip_prefix("// ## ") {
            assert!(doc.is_empty(), "{}: a section title between a doc comment and its constant", at());
            section = Some(title.trim().to_string());
        } else if let Some(text) = t.strip_prefix("///") {
            doc.push(text.strip_prefix(' ').unwrap_or(text).trim_end().to_string());
        } else if let Some(rest) = t.strip_prefix("pub const ") {
            let (name, value) = rest
                .strip_suffix("\";")
                .and_then(|r| r.split_once(": &'static str = \""))
                .unwrap_or_else(|| panic!("{}: expected `pub const NAME: &'static str = \"NAME\";`", at()));
            assert_eq!(name, value, "{}: a constant's value is its own name", at());
            assert!(!doc.is_empty(), "{}: {name} has no doc comment (it becomes docs/environment.md)", at());
            let section =
                section.clone().unwrap_or_else(|| panic!("{}: {name} comes before any `// ## ` section", at()));
            let paragraphs = doc.split(|l| l.is_empty()).filter(|p| !p.is_empty()).map(|p| p.join(" ")).collect();
            vars.push(Var { section, name: name.to_string(), paragraphs });
            doc.clear();
        } else if !doc.is_empty() && !t.is_empty() && !t.starts_with("#[") {
            panic!("{}: a doc comment that documents no constant", at());
        }
    }
    vars
}

fn render(vars: &[Var]) -> String {
    let mut out = String::from(
        "# Environment variables\n\n\
         <!-- Generated from src/env_vars.rs by scripts/gen-env-docs; edit the doc comments there, not this page.\n     \
         tests/it/env_docs.rs fails when the two differ. -->\n\n\
         Every environment variable shipit itself reads. Beyond these, values in ship.toml can refer to any variable\n\
         as `${NAME}` or `${NAME:-default}`, and a registry's `password_env` names the variable that holds its\n\
         password ([configuration.md](configuration.md)). The AWS SDK reads its own (`AWS_PROFILE`, `AWS_REGION`,\n\
         `AWS_ACCESS_KEY_ID`, …), as do trivy and the `docker-credential-*` helpers shipit runs.\n",
    );
    let mut section = "";
    for v in vars {
        if v.section != section {
            section = &v.section;
            out.push_str(&format!("\n## {section}\n"));
        }
        out.push_str(&format!("\n### `{}`\n", v.name));
        for p in &v.paragraphs {
            out.push('\n');
            out.push_str(&wrap(p, 116));
        }
    }
    out
}

/// Greedy word wrap, so the page reads well as plain text too.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[test]
fn environment_page_matches_the_registry() {
    let source = std::fs::read_to_string(root().join(REGISTRY)).unwrap();
    let vars = parse(&source);
    assert!(vars.len() >= 20, "only {} variables parsed from {REGISTRY}", vars.len());
    let mut names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "a variable is declared twice in {REGISTRY}");

    let expected = render(&vars);
    let page = root().join(PAGE);
    let actual = std::fs::read_to_string(&page).unwrap_or_default();
    if actual == expected {
        return;
    }
    if std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1") {
        std::fs::write(&page, &expected).unwrap();
        eprintln!("wrote {}", page.display());
        return;
    }
    let listed: Vec<&str> = actual.lines().filter_map(|l| l.strip_prefix("### `")?.strip_suffix('`')).collect();
    let missing: Vec<&&str> = names.iter().filter(|n| !listed.contains(n)).collect();
    let extra: Vec<&&str> = listed.iter().filter(|n| !names.contains(n)).collect();
    panic!(
        "{PAGE} is out of date with {REGISTRY} (missing: {missing:?}, not in the registry: {extra:?}).\n\
         Run scripts/gen-env-docs to rewrite it. Expected:\n{expected}"
    );
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn variables_are_read_by_their_registered_name() {
    // A literal here is a variable docs/environment.md does not know about.
    const READS: &[&str] = &["env::var(\"", "env::var_os(\"", "env = \"", "env_true(\""];
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.ends_with(REGISTRY)) {
        let text = std::fs::read_to_string(file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if READS.iter().any(|r| code.contains(r)) {
                found.push(format!("{}:{}: {}", file.strip_prefix(root()).unwrap().display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "read environment variables through crate::env_vars::EnvVars (add the name there with a doc comment, \
         then run scripts/gen-env-docs):\n{}",
        found.join("\n")
    );
}

#[test]
fn parser_reads_sections_paragraphs_and_refuses_strays() {
    let vars = parse(
        "impl EnvVars {\n    // ## One\n\n    /// First line\n    /// continues.\n    ///\n    /// Second.\n    \
         pub const A_B: &'static str = \"A_B\";\n}\n",
    );
    assert_eq!(
        vars,
        vec![Var {
            section: "One".into(),
            name: "A_B".into(),
            paragraphs: vec!["First line continues.".into(), "Second.".into()]
        }]
    );
    let mismatched =
        std::panic::catch_unwind(|| parse("impl EnvVars {\n// ## S\n/// d\npub const A: &'static str = \"B\";\n"));
    assert!(mismatched.is_err(), "a constant whose value is not its name must be refused");
    let undocumented =
        std::panic::catch_unwind(|| parse("impl EnvVars {\n// ## S\npub const A: &'static str = \"A\";\n"));
    assert!(undocumented.is_err(), "an undocumented constant must be refused");
}
