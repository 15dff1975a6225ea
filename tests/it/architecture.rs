//! ARCHITECTURE.md stays true: every `src/…` path it names exists, every top-level module is named there, and the
//! layer rules it states hold in the source.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn architecture() -> String {
    std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap()
}

/// The backticked `src/…` paths of a markdown text (`src/commands/<verb>.rs` style placeholders excluded).
fn src_paths(markdown: &str) -> Vec<String> {
    let mut paths: Vec<String> = markdown
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("src/") && !s.contains(['<', ' ', '…', '*']))
        .map(|s| s.trim_end_matches('/').to_string())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

#[test]
fn every_module_path_named_in_architecture_md_exists() {
    let paths = src_paths(&architecture());
    assert!(paths.len() > 30, "only {} src/ paths found in ARCHITECTURE.md: {paths:?}", paths.len());
    let missing: Vec<&String> = paths.iter().filter(|p| !root().join(p).exists()).collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md names paths that no longer exist (update the map): {missing:?}");
}

#[test]
fn every_top_level_module_is_on_the_map() {
    let named = src_paths(&architecture());
    let mut unnamed = Vec::new();
    for entry in std::fs::read_dir(root().join("src")).unwrap() {
        let rel = format!("src/{}", entry.unwrap().file_name().to_string_lossy());
        if !named.iter().any(|p| p == &rel || p.starts_with(&format!("{rel}/"))) {
            unnamed.push(rel);
        }
    }
    unnamed.sort();
    assert!(unnamed.is_empty(), "modules missing from ARCHITECTURE.md's code map (say what they are for): {unnamed:?}");
}

#[test]
fn the_path_parser_reads_backticks_only() {
    let md = "`src/a.rs` and src/b.rs, `src/c/` `src/commands/<verb>.rs` `cargo test`";
    assert_eq!(src_paths(md), vec!["src/a.rs".to_string(), "src/c".to_string()]);
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Lines of code (comments stripped) under `dir` that contain one of `needles`.
fn offending_lines(dir: &str, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in rust_files(&root().join(dir)) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if needles.iter().any(|n| code.contains(n)) {
                found.push(format!("{}:{}: {}", file.strip_prefix(root()).unwrap().display(), i + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn providers_do_not_reach_up() {
    let found = offending_lines(
        "src/providers",
        &["crate::cli", "crate::commands", "crate::pipeline", "crate::settings", "crate::ui", "crate::deploy"],
    );
    assert!(
        found.is_empty(),
        "providers must not import cli/commands/pipeline/settings/ui/deploy; shared types go in src/rollout.rs \
         (ARCHITECTURE.md, Layers):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_engine_does_not_reach_into_commands() {
    let found = offending_lines("src/deploy", &["crate::commands", "crate::settings"]);
    assert!(
        found.is_empty(),
        "src/deploy must not import commands/settings (ARCHITECTURE.md, Layers):\n{}",
        found.join("\n")
    );
}

#[test]
fn config_and_scan_stay_pure() {
    for dir in ["src/config", "src/scan"] {
        let found = offending_lines(
            dir,
            &[
                "crate::cli",
                "crate::commands",
                "crate::pipeline",
                "crate::providers",
                "crate::deploy",
                "crate::settings",
            ],
        );
        assert!(found.is_empty(), "{dir} must stay pure (ARCHITECTURE.md, Layers):\n{}", found.join("\n"));
    }
}

#[test]
fn only_ui_writes_to_the_terminal() {
    const PRINTS: &[&str] = &["println!", "print!(", "eprintln!", "eprint!(", "dbg!(", "io::stdout()", "io::stderr()"];
    let mut found = Vec::new();
    for dir in ["src/providers", "src/deploy", "src/pipeline", "src/commands", "src/config", "src/scan"] {
        found.extend(offending_lines(dir, PRINTS));
    }
    assert!(
        found.is_empty(),
        "only src/ui writes to the terminal; providers report through report::Reporter, commands through Ui:\n{}",
        found.join("\n")
    );
}
