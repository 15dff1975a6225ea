//! Every input that once crashed a fuzz target (tests/fixtures/fuzz-regressions/<target>/, one file per
//! crash), replayed on stable through the same entry points the fuzz targets call (`shipit::fuzz_api`), so CI
//! keeps them fixed without a nightly toolchain. The fuzz seeds (fuzz/seeds/) go through too: they prove the
//! entry points run on stable, and each target's harness reaches its parser. See docs/security.md.

use std::path::{Path, PathBuf};

use shipit::fuzz_api;

type Entry = fn(&[u8]);

const TARGETS: &[(&str, Entry)] = &[
    ("ship_toml", fuzz_api::ship_toml),
    ("trivy_report", fuzz_api::trivy_report),
    ("registry", fuzz_api::registry),
    ("docker_credentials", fuzz_api::docker_credentials),
    ("kube_rollout", fuzz_api::kube_rollout),
    ("ecs_outcome", |d| drop(fuzz_api::ecs_outcome(d))),
    ("api_answers", fuzz_api::api_answers),
];

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|x| x != "md"))
        .collect();
    files.sort();
    files
}

fn replay(root: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(root);
    let mut count = 0;
    for (target, entry) in TARGETS {
        for file in files(&root.join(target)) {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| entry(&data));
            assert!(outcome.is_ok(), "{target}: {} panics", file.display());
            count += 1;
        }
    }
    count
}

#[test]
fn inputs_that_once_crashed_a_fuzz_target_no_longer_do() {
    let n = replay("tests/fixtures/fuzz-regressions");
    assert!(n > 0, "tests/fixtures/fuzz-regressions holds no inputs");
}

#[test]
fn the_fuzz_seeds_run_through_every_target_on_stable() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for (target, _) in TARGETS {
        assert!(!files(&root.join(target)).is_empty(), "fuzz/seeds/{target} is empty");
    }
    replay("fuzz/seeds");
}
