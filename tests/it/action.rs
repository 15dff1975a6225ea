//! The GitHub Action: action.yml runs scripts/action-run; here that script runs as Actions would run it, with
//! `GITHUB_OUTPUT`, `GITHUB_PATH` and `GITHUB_STEP_SUMMARY` pointing at files, against a real local ship (Docker
//! engine, open registry, real trivy offline, the Docker host target).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::cli::describe;
use crate::support::env::{TestEnv, unique_name};
use crate::support::git_repo::Repo;
use crate::support::images::RemoveContainers;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One step of the action: `scripts/action-run STEP` in `dir`, with `HOME` at `home` and the shipit this suite
/// built on PATH (as the install step leaves it), and nothing of the developer's own environment.
fn step(name: &str, dir: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(root().join("scripts/action-run"));
    cmd.arg(name).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("SHIPIT_")
            || k.starts_with("GITHUB_")
            || k.starts_with("INPUT_")
            || k.starts_with("RUNNER_")
            || k == "GH_TOKEN"
        {
            cmd.env_remove(k);
        }
    }
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_shipit")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    cmd.env("PATH", path).env("HOME", home).env("CI", "true").env("NO_COLOR", "1");
    cmd.env("SHIPIT_DEPLOYER", "test-runner");
    cmd
}

/// `name=value` lines of a `$GITHUB_OUTPUT` file.
fn outputs(file: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

fn output<'a>(all: &'a [(String, String)], name: &str) -> Option<&'a str> {
    all.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn action_yml_runs_the_script_steps_with_declared_inputs_and_outputs() {
    let yml = std::fs::read_to_string(root().join("action.yml")).unwrap();
    assert!(yml.contains("using: composite"), "{yml}");
    assert!(yml.contains("uses: actions/cache@"), "the installed binary is cached between runs");
    assert!(yml.contains("key: ${{ steps.key.outputs.key }}"), "{yml}");
    assert!(yml.contains("if: steps.cache.outputs.cache-hit != 'true'"), "install only on a cache miss");
    for s in ["cache-key", "install", "run"] {
        assert!(yml.contains(&format!("\"$GITHUB_ACTION_PATH/scripts/action-run\" {s}'")), "step {s} missing");
    }
    for input in ["command", "environments", "args", "working-directory"] {
        assert!(yml.contains(&format!("\n  {input}:\n")), "input {input} is not declared");
    }
    for used in yml.split("${{ inputs.").skip(1) {
        let name = used.split(' ').next().unwrap();
        assert!(yml.contains(&format!("\n  {name}:\n")), "inputs.{name} is used but not declared");
    }
    for out in ["image", "digest", "environment", "exit-code"] {
        assert!(
            yml.contains(&format!("\n  {out}:\n")) && yml.contains(&format!("${{{{ steps.run.outputs.{out} }}}}")),
            "output {out} is not declared or not mapped to the run step"
        );
    }
}

#[test]
fn the_cache_key_is_stable_and_the_install_dir_goes_on_path() {
    let tmp = tempfile::tempdir().unwrap();
    let key = |out: &Path| -> String {
        let gh_path = tmp.path().join("gh-path");
        let o = step("cache-key", tmp.path(), tmp.path())
            .env("GITHUB_OUTPUT", out)
            .env("GITHUB_PATH", &gh_path)
            .env("GITHUB_ACTION_REF", "v1/rc")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", describe(&o));
        let path = std::fs::read_to_string(&gh_path).unwrap();
        assert_eq!(path.lines().last().unwrap(), tmp.path().join(".shipit-action/bin").display().to_string());
        output(&outputs(out), "key").expect("key= written").to_string()
    };
    let first = key(&tmp.path().join("o1"));
    assert!(first.starts_with("shipit-Linux-") && first.contains("-v1_rc-"), "{first}");
    assert_eq!(first, key(&tmp.path().join("o2")), "the same sources must give the same key");
}

/// A fake shipit in the install dir: it records its arguments, so the splitting of `args` can be checked.
fn fake_installed_shipit(home: &Path) -> PathBuf {
    let bin = home.join(".shipit-action/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("shipit");
    std::fs::write(&fake, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$HOME/args\"\nexit 3\n")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    fake
}

#[test]
fn args_are_split_like_words_and_never_expanded() {
    let home = tempfile::tempdir().unwrap();
    fake_installed_shipit(home.path());
    let out_file = home.path().join("out");
    let o = step("run", home.path(), home.path())
        .env("GITHUB_OUTPUT", &out_file)
        .env("INPUT_COMMAND", "deploy")
        .env("INPUT_ENVIRONMENTS", "staging,\nproduction")
        .env("INPUT_ARGS", "--yes --reason \"INC-1: two words\" '$(touch pwned)' `touch pwned`")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "the step exits with shipit's code: {}", describe(&o));
    let args = std::fs::read_to_string(home.path().join("args")).unwrap();
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "deploy",
            "staging",
            "production",
            "--yes",
            "--reason",
            "INC-1: two words",
            "$(touch pwned)",
            "`touch",
            "pwned`"
        ],
        "the installed shipit in ~/.shipit-action wins over PATH, and args are words, not shell"
    );
    assert!(!home.path().join("pwned").exists(), "args must never be run through a shell");
    let outs = outputs(&out_file);
    assert_eq!(output(&outs, "exit-code"), Some("3"));
    assert_eq!(output(&outs, "environment"), None, "no environment output for a command that failed");

    let o = step("run", home.path(), home.path()).env("INPUT_ARGS", "--reason 'unclosed").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot split args"), "{}", describe(&o));
}

#[test]
fn a_usage_error_is_the_step_result() {
    let repo = Repo::with_ship_toml(
        "[app]\nname = \"web\"\n\n[registries.local]\ntype = \"oci\"\nrepository = \"127.0.0.1:5000/web\"\ninsecure = true\n\n\
         [environments.dev]\ntarget = \"docker\"\n",
    );
    let home = tempfile::tempdir().unwrap();
    let out_file = home.path().join("out");
    let o: Output = step("run", &repo.work(), home.path())
        .env("GITHUB_OUTPUT", &out_file)
        .env("INPUT_COMMAND", "plan")
        .env("INPUT_ENVIRONMENTS", "nope")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("shipit-action: $ shipit plan nope"), "the step shows the command it ran:\n{err}");
    assert!(err.contains("hint:"), "shipit's own message reaches the log:\n{err}");
    let outs = outputs(&out_file);
    assert_eq!(output(&outs, "exit-code"), Some("2"));
    assert_eq!(output(&outs, "environment"), None);
}

const DOCKERFILE: &str = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY app.txt /app.txt\nENTRYPOINT [\"/bin/busybox\"]\n\
CMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 300 & wait\"]\n";

fn project(env: &TestEnv) -> (Repo, String, RemoveContainers) {
    let name = unique_name("action");
    let repository = format!("{}/{name}", env.registry_open);
    let repo = Repo::with_ship_toml(&format!(
        "[app]\nname = \"web\"\n\n[check]\nbranches = [\"main\"]\n\n[scan]\nfail_on = \"high\"\n\n\
         [registries.local]\ntype = \"oci\"\nrepository = \"{repository}\"\ninsecure = true\n\n\
         [environments.dev]\ntarget = \"docker\"\ncontainer_name = \"{name}\"\nhost = \"{host}\"\nnetwork = \"none\"\n\
         approval = \"manual\"\ntimeout = \"20s\"\n",
        host = env.docker_host
    ));
    std::fs::copy(env.busybox.as_ref().unwrap(), repo.work().join("busybox")).unwrap();
    repo.write("Dockerfile", DOCKERFILE);
    repo.write("app.txt", "version 1\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "app"]);
    repo.git(&["push", "-q"]);
    (repo, repository, RemoveContainers(name))
}

#[test]
fn ship_through_the_action_writes_the_outputs_and_the_summary() {
    let env = crate::require_env!("docker", "registry_open", "busybox", "trivy", "trivy_db");
    let (repo, repository, _containers) = project(env);
    let cache = env.trivy_cache();
    let home = tempfile::tempdir().unwrap();
    let out_file = home.path().join("gh-output");
    let summary = home.path().join("gh-summary.md");
    // The step runs from the workspace root; working-directory points it at the project.
    let o = step("run", repo.dir.path(), home.path())
        .env("GITHUB_OUTPUT", &out_file)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("INPUT_COMMAND", "ship")
        .env("INPUT_ENVIRONMENTS", "dev")
        .env("INPUT_ARGS", "--yes")
        .env("INPUT_WORKING_DIRECTORY", repo.work())
        .env("SHIPIT_TRIVY", env.trivy())
        .env("TRIVY_CACHE_DIR", cache.path())
        .env("SHIPIT_TRIVY_OFFLINE", "1")
        .env("DOCKER_HOST", &env.docker_host)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", describe(&o));

    let outs = outputs(&out_file);
    let digest = output(&outs, "digest").expect("digest output");
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "{digest}");
    assert_eq!(output(&outs, "image"), Some(format!("{repository}@{digest}").as_str()));
    assert_eq!(output(&outs, "environment"), Some("dev"));
    assert_eq!(output(&outs, "exit-code"), Some("0"));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("shipit ship: web") && md.contains(digest), "{md}");

    // What the outputs say is what runs.
    let status = step("run", &repo.work(), home.path())
        .env("INPUT_COMMAND", "status")
        .env("INPUT_ENVIRONMENTS", "dev")
        .env("INPUT_ARGS", "--output json")
        .env("DOCKER_HOST", &env.docker_host)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", describe(&status));
    let live: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(live["live"]["image"], format!("{repository}@{digest}"), "{live:#}");
}
