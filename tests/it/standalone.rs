//! A clone stands alone: the data the suite and the quickstart need is in the repository, and nothing points
//! outside it. (scripts/test-standalone proves it for real, from a fresh clone in an empty directory.)

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn nothing_refers_outside_the_repository() {
    // Spelled in pieces so this file does not match itself.
    let outside = [format!("../{}", "shared"), format!("{}/fixtures", "shared"), format!("{}.md", "FACTS")];
    let design = format!("{} notes", "DESIGN");
    let mut all = Vec::new();
    for dir in ["scripts", "tests", "src", "bench", "docs", "examples", ".ci"] {
        files(&root().join(dir), &mut all);
    }
    for f in ["Cargo.toml", "README.md", "ARCHITECTURE.md", "STYLE.md", "action.yml", "install.sh"] {
        all.push(root().join(f));
    }
    let mut found = Vec::new();
    for file in all {
        let Ok(text) = std::fs::read_to_string(&file) else { continue }; // binary fixtures
        for (i, line) in text.lines().enumerate() {
            if outside.iter().any(|o| line.contains(o.as_str())) || line.contains(&design) {
                found.push(format!("{}:{}: {}", file.strip_prefix(root()).unwrap().display(), i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "references to files outside the repository:\n{}", found.join("\n"));
}

#[test]
fn fixtures_are_in_the_repository_with_their_provenance() {
    let fixtures = root().join("tests/fixtures");
    for (dir, needed) in [
        ("trivy-db", &["db/trivy.db", "db/metadata.json", "image/Dockerfile", "source.json", "mkdb/main.go"][..]),
        ("trivy", &["debian-buster.json", "alpine-39.json"][..]),
    ] {
        let readme = std::fs::read_to_string(fixtures.join(dir).join("README.md"))
            .unwrap_or_else(|e| panic!("tests/fixtures/{dir}/README.md: {e}"));
        assert!(
            readme.contains("aquasecurity/trivy"),
            "tests/fixtures/{dir}/README.md must say where the data is from"
        );
        for f in needed {
            assert!(fixtures.join(dir).join(f).is_file(), "tests/fixtures/{dir}/{f} is missing");
        }
    }
}
