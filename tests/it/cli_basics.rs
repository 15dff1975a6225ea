//! The parts of shipit that need no service: config discovery and interpolation, init, the JSON Schema,
//! completions and the man page, doctor's report when something is missing.

use crate::support::cli::{Scratch, describe, shipit_in, text};

const VALID: &str = r#"[app]
name = "api"

[registries.ghcr]
type = "ghcr"
repository = "${SHIPIT_TEST_REPOSITORY:-ghcr.io/acme/api}"

[environments.dev]
target = "docker"
container_name = "api-dev"
"#;

#[test]
fn finds_ship_toml_from_a_subdirectory() {
    let s = Scratch::new();
    s.write("ship.toml", VALID);
    std::fs::create_dir_all(s.path().join("src/deep/er")).unwrap();
    let out = shipit_in(&s.path().join("src/deep/er")).args(["config", "validate"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(s.redact(&text(&out.stderr)).contains("[DIR]/ship.toml is valid"), "{}", describe(&out));
}

#[test]
fn explicit_config_path_wins() {
    let s = Scratch::new();
    s.write("ship.toml", "not = [valid");
    let other = s.write("elsewhere/custom.toml", VALID);
    let out = s.shipit().args(["config", "validate", "--config"]).arg(&other).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let out = s.shipit().args(["config", "validate"]).env("SHIPIT_CONFIG", &other).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let out = s.shipit().args(["config", "validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn missing_config_is_a_usage_error_with_a_hint() {
    let s = Scratch::new();
    let out = s.shipit().args(["config", "validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("no ship.toml found"), "{err}");
    assert!(err.contains("hint: run `shipit init`"), "{err}");
}

#[test]
fn interpolates_from_the_environment() {
    let s = Scratch::new();
    s.write("ship.toml", VALID);
    let json = |out: std::process::Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", describe(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // The default applies when the variable is unset, the variable when set; a bad value is caught.
    let v = json(s.shipit().args(["config", "validate", "--output", "json"]).output().unwrap());
    assert_eq!(v["ok"], true);
    let out = s
        .shipit()
        .args(["config", "validate"])
        .env("SHIPIT_TEST_REPOSITORY", "ghcr.io/acme/from-env")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let out = s.shipit().args(["config", "validate"]).env("SHIPIT_TEST_REPOSITORY", "quay.io/acme/x").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid repository \"quay.io/acme/x\""), "{}", describe(&out));
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

#[test]
fn init_detects_the_repository_and_never_overwrites_silently() {
    let s = Scratch::new();
    git(s.path(), &["init", "-q"]);
    git(s.path(), &["remote", "add", "origin", "git@github.com:Acme/Payments-API.git"]);
    s.write("docker/Dockerfile", "FROM scratch\n");

    let out = s.shipit().args(["init", "--yes", "--target", "kubernetes"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let written = std::fs::read_to_string(s.path().join("ship.toml")).unwrap();
    assert!(written.contains("repository = \"ghcr.io/acme/payments-api\""), "{written}");
    assert!(written.contains("dockerfile = \"docker/Dockerfile\""), "{written}");
    assert!(written.contains("target = \"kubernetes\""), "{written}");
    assert!(written.contains("[check.github]\nrepository = \"Acme/Payments-API\""), "{written}");
    let out = s.shipit().args(["config", "validate"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));

    // A second init refuses; --force replaces and keeps the old file.
    std::fs::write(s.path().join("ship.toml"), format!("{written}\n# my edits\n")).unwrap();
    let out = s.shipit().args(["init", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("already exists"), "{}", describe(&out));
    let out = s.shipit().args(["init", "--yes", "--force", "--target", "ecs"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let backup = std::fs::read_to_string(s.path().join("ship.toml.bak")).unwrap();
    assert!(backup.contains("# my edits"));
    assert!(std::fs::read_to_string(s.path().join("ship.toml")).unwrap().contains("target = \"ecs\""));
}

#[test]
fn init_rejects_a_bad_repository_without_writing() {
    let s = Scratch::new();
    let out =
        s.shipit().args(["init", "--yes", "--registry", "ecr", "--repository", "ghcr.io/acme/api"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(text(&out.stderr).contains("not an ECR repository"), "{}", describe(&out));
    assert!(!s.path().join("ship.toml").exists());
}

/// Every file `shipit init` can write, and the documented example, validate against `shipit config schema`.
#[test]
fn examples_validate_against_the_json_schema() {
    let s = Scratch::new();
    let out = s.shipit().args(["config", "schema"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");

    let mut documents =
        vec![std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ship.example.toml")).unwrap()];
    for registry in ["ghcr", "ecr", "oci"] {
        for target in ["ecs", "kubernetes", "docker"] {
            let out = s
                .shipit()
                .args(["init", "--yes", "--stdout", "--registry", registry, "--target", target])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", describe(&out));
            documents.push(text(&out.stdout));
        }
    }
    for doc in documents {
        let value: serde_json::Value = toml::from_str(&doc).expect("example parses as TOML");
        let errors: Vec<String> =
            validator.iter_errors(&value).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        assert!(errors.is_empty(), "{errors:#?}\n{doc}");
    }
    // The schema does reject nonsense, so the check above is not vacuous.
    let bad: serde_json::Value = toml::from_str("[app]\nname = 1\nbogus = true\n").unwrap();
    assert!(!validator.is_valid(&bad));
}

/// completions/ and docs/man/shipit.1 are generated; this fails when they are stale.
/// Regenerate with `SHIPIT_UPDATE_GENERATED=1 cargo test --test it generated_files`.
#[test]
fn generated_files_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var("SHIPIT_UPDATE_GENERATED").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    let mut check = |rel: &str, fresh: Vec<u8>| {
        let path = root.join(rel);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &fresh).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&fresh[..]) {
            stale.push(rel.to_string());
        }
    };
    for (shell, file) in [
        ("bash", "completions/shipit.bash"),
        ("zsh", "completions/_shipit"),
        ("fish", "completions/shipit.fish"),
        ("powershell", "completions/_shipit.ps1"),
        ("elvish", "completions/shipit.elv"),
    ] {
        let out = shipit_in(root).args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{}", describe(&out));
        assert!(out.stdout.len() > 500, "{shell} completions look empty");
        check(file, out.stdout);
    }
    let mut man = Vec::new();
    clap_mangen::Man::new(shipit::cli::command()).render(&mut man).unwrap();
    check("docs/man/shipit.1", man);
    assert!(
        stale.is_empty(),
        "stale generated files: {stale:?}; run SHIPIT_UPDATE_GENERATED=1 cargo test --test it generated_files"
    );
}

#[test]
fn doctor_reports_a_missing_docker_engine_with_a_hint() {
    let s = Scratch::new();
    s.write("ship.toml", VALID);
    let out = s
        .shipit()
        .arg("doctor")
        .env("DOCKER_HOST", format!("unix://{}/no-such.sock", s.path().display()))
        .env("PATH", "/usr/bin:/bin")
        .env("KUBECONFIG", s.path().join("no-kubeconfig"))
        .env("SHIPIT_TRIVY", s.path().join("no-trivy"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stdout = s.redact(&text(&out.stdout));
    let docker_line = stdout.lines().find(|l| l.contains("docker")).unwrap();
    assert!(docker_line.starts_with("✘ docker"), "{stdout}");
    assert!(stdout.contains("hint: start the Docker engine, or set DOCKER_HOST"), "{stdout}");
    assert!(stdout.contains("✘ trivy"), "scan is on by default, so trivy is needed: {stdout}");
    assert!(stdout.contains("! kubernetes"), "no kubernetes environment, so only a warning: {stdout}");
    assert!(text(&out.stderr).contains("check(s) failed: docker, trivy"), "{}", describe(&out));

    let out = s
        .shipit()
        .args(["doctor", "--output", "json"])
        .env("DOCKER_HOST", format!("unix://{}/no-such.sock", s.path().display()))
        .env("SHIPIT_TRIVY", s.path().join("no-trivy"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let docker = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "docker").unwrap();
    assert_eq!(docker["status"], "fail");
    assert!(docker["hint"].as_str().unwrap().contains("DOCKER_HOST"));
}

#[test]
fn doctor_passes_docker_when_the_engine_answers() {
    let env = crate::require_env!("docker");
    let s = Scratch::new();
    s.write("ship.toml", VALID);
    let out = s.shipit().args(["doctor", "--output", "json"]).env("DOCKER_HOST", &env.docker_host).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let docker = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "docker").unwrap();
    assert_eq!(docker["status"], "ok", "{v:#}");
    assert!(docker["detail"].as_str().unwrap().contains("API 1."), "{v:#}");
    assert!(docker["detail"].as_str().unwrap().contains("BuildKit: yes"), "{v:#}");
}

#[test]
fn help_lists_examples_and_exit_codes() {
    let s = Scratch::new();
    let out = s.shipit().arg("--help").output().unwrap();
    let help = text(&out.stdout);
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("Exit codes: 0 ok"), "{help}");
    let out = s.shipit().args(["rollback", "--help"]).output().unwrap();
    assert!(text(&out.stdout).contains("shipit rollback production --previous --yes"));
}

/// `shipit init` on a terminal asks, with what it detected as the defaults; the answers end up in the file.
#[test]
fn init_asks_on_a_terminal() {
    let _env = crate::require_env!("tmux");
    let s = Scratch::new();
    git(s.path(), &["init", "-q"]);
    git(s.path(), &["remote", "add", "origin", "https://github.com/acme/billing.git"]);
    s.write("Dockerfile", "FROM scratch\n");
    let session = crate::support::env::unique_name("init");
    let tmux = crate::support::tmux::Tmux::start(
        &session,
        s.path(),
        &[env!("CARGO_BIN_EXE_shipit"), "init"],
        &[("NO_COLOR", "1")],
    );
    let timeout = std::time::Duration::from_secs(15);
    tmux.wait_for("Application name", timeout);
    tmux.keys(&["-l", "billing-api"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("Dockerfile", timeout);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("Where do images go?", timeout);
    assert!(screen.contains("ghcr — GitHub Container Registry"), "{screen}");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("Image repository", timeout);
    assert!(screen.contains("ghcr.io/acme/billing"), "the detected remote is the default: {screen}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Where does it run?", timeout);
    tmux.keys(&["Down", "Enter"]);
    tmux.wait_for("wrote", timeout);
    drop(tmux);
    let written = std::fs::read_to_string(s.path().join("ship.toml")).unwrap();
    assert!(written.contains("name = \"billing-api\""), "{written}");
    assert!(written.contains("repository = \"ghcr.io/acme/billing\""), "{written}");
    assert!(written.contains("target = \"ecs\""), "{written}");
}
