//! `shipit check`, local git part: real repositories with a bare remote.

use crate::support::cli::{describe, text};
use crate::support::git_repo::Repo;

const SHIP_TOML: &str = r#"[app]
name = "api"

[check]
branches = ["main", "release/*"]

[registries.local]
type = "oci"
repository = "127.0.0.1:5000/api"

[environments.production]
target = "docker"
container_name = "api"
branches = ["release/*"]
"#;

fn check(repo: &Repo, args: &[&str]) -> std::process::Output {
    repo.shipit().arg("check").args(args).output().unwrap()
}

#[test]
fn clean_pushed_commit_on_an_allowed_branch_passes() {
    let repo = Repo::with_ship_toml(SHIP_TOML);
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{} on main, clean, pushed to origin/main", &repo.head()[..12])), "{err}");
    assert!(err.contains("✔ branch    on main"), "{err}");

    let out = check(&repo, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], true);
    assert_eq!(v["commit"]["sha"], repo.head());
    let names: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["clean", "branch", "pushed"]);
}

#[test]
fn dirty_and_untracked_files_are_listed() {
    let repo = Repo::with_ship_toml(SHIP_TOML);
    repo.write("README.md", "# api, edited\n");
    repo.write("notes/todo.txt", "later\n");
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("not ready to ship: clean"), "{err}");
    assert!(err.contains("2 uncommitted change(s)"), "{err}");
    assert!(err.contains("modified   README.md"), "{err}");
    assert!(err.contains("untracked  notes/todo.txt"), "{err}");
    assert!(err.contains("hint: commit or stash"), "{err}");

    // A file staged for deletion is named as such.
    repo.git(&["checkout", "--", "README.md"]);
    std::fs::remove_dir_all(repo.work().join("notes")).unwrap();
    repo.git(&["rm", "-q", "README.md"]);
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("deleted    README.md"), "{}", describe(&out));
}

#[test]
fn shipits_own_state_does_not_make_the_tree_dirty() {
    let repo = Repo::with_ship_toml(SHIP_TOML);
    repo.write(".shipit/releases/abc.json", "{}");
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}

#[test]
fn commits_ahead_of_upstream_are_counted_and_listed() {
    let repo = Repo::with_ship_toml(SHIP_TOML);
    repo.commit("a.txt", "a", "add a");
    repo.commit("b.txt", "b", "add b");
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("2 commit(s) ahead of origin/main, not pushed"), "{err}");
    assert!(err.contains("add b") && err.contains("add a"), "{err}");
    assert!(err.contains("hint: push them: `git push`"), "{err}");

    repo.git(&["push", "-q"]);
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}

#[test]
fn a_branch_never_pushed_has_no_upstream() {
    let repo = Repo::with_ship_toml(SHIP_TOML);
    repo.git(&["switch", "-q", "-c", "release/1.2"]);
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("branch release/1.2 has no upstream"), "{err}");
    assert!(err.contains("git push -u origin release/1.2"), "{err}");
    assert!(err.contains("✔ branch    on release/1.2"), "glob release/* allows it: {err}");
}

#[test]
fn branch_not_allowed() {
    let repo = Repo::with_ship_toml(SHIP_TOML);
    repo.git(&["switch", "-q", "-c", "feature/login"]);
    repo.git(&["push", "-q", "-u", "origin", "feature/login"]);
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("branch feature/login may not ship (allowed: main, release/*)"), "{err}");
    assert!(err.contains("not ready to ship: branch"), "only the branch fails: {err}");
}

#[test]
fn an_environment_s_branches_replace_the_check_branches() {
    let repo = Repo::with_ship_toml(SHIP_TOML);
    let out = check(&repo, &["production"]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(text(&out.stderr).contains("branch main may not ship (allowed: release/*)"), "{}", describe(&out));

    repo.git(&["switch", "-q", "-c", "release/2.0"]);
    repo.git(&["push", "-q", "-u", "origin", "release/2.0"]);
    let out = check(&repo, &["production"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));

    let out = check(&repo, &["prod"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("did you mean `production`"), "{}", describe(&out));
}

#[test]
fn detached_head_passes_only_when_a_pushed_allowed_branch_contains_it() {
    let repo = Repo::with_ship_toml(SHIP_TOML);
    let pushed = repo.head();
    // CI checks out the SHA: detached, but origin/main contains it.
    repo.git(&["checkout", "-q", "--detach", &pushed]);
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("detached HEAD, contained in main"), "{err}");
    assert!(err.contains("pushed (in origin/main)"), "{err}");

    // A commit made on the detached HEAD is on no branch at all.
    repo.commit("c.txt", "c", "detached work");
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("detached HEAD is not on an allowed branch (contained in no pushed branch"), "{err}");
    assert!(err.contains("detached HEAD is in no pushed branch"), "{err}");

    // Detached on a pushed branch that is not allowed.
    repo.git(&["push", "-q", "origin", "HEAD:refs/heads/experiment"]);
    repo.git(&["fetch", "-q", "origin"]);
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("contained in origin/experiment; allowed: main, release/*"),
        "{}",
        describe(&out)
    );
}

#[test]
fn require_tag_and_relaxed_checks() {
    let repo = Repo::with_ship_toml(SHIP_TOML);
    repo.set_ship_toml("[app]\nname = \"api\"\n\n[check]\nrequire_tag = true\nrequire_clean = false\n");
    repo.write("scratch.txt", "not committed");
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("HEAD has no tag"), "{err}");
    assert!(err.contains("- clean     not required"), "{err}");

    repo.git(&["tag", "v1.0.0"]);
    let out = check(&repo, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text(&out.stderr).contains("tagged v1.0.0"), "{}", describe(&out));
}

#[test]
fn not_a_git_repository() {
    let s = crate::support::cli::Scratch::new();
    s.write("ship.toml", "[app]\nname = \"api\"\n");
    let out = s.shipit().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out.stderr).contains("is not inside a git repository"), "{}", describe(&out));
}
