//! Bounds on everything outside shipit's control: a credential helper that hangs cannot hang a pipeline nor
//! make Ctrl-C do nothing, and shipit's own output files never block its next run.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::support::cli::{describe, text};
use crate::support::git_repo::Repo;

fn ship_toml(registry_host: &str, env: &str) -> String {
    format!(
        "[app]\nname = \"api\"\n\n[registries.r]\ntype = \"oci\"\nrepository = \"{registry_host}/api\"\ninsecure = true\n\n{env}\n"
    )
}

#[test]
fn a_hung_credential_helper_still_stops_at_ctrl_c() {
    let env = crate::require_env!("docker");
    let repo = Repo::with_ship_toml(&ship_toml(
        "127.0.0.1:5999",
        &format!(
            "[environments.dev]\ntarget = \"docker\"\ncontainer_name = \"api-bounds\"\nhost = \"{}\"\n",
            env.docker_host
        ),
    ));
    let bin = tempfile::tempdir().unwrap();
    let helper = bin.path().join("docker-credential-hang");
    let pidfile = bin.path().join("helper.pid");
    std::fs::write(&helper, format!("#!/bin/sh\necho $$ > {}\nexec sleep 60\n", pidfile.display())).unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let docker_config = tempfile::tempdir().unwrap();
    std::fs::write(docker_config.path().join("config.json"), r#"{"credHelpers": {"127.0.0.1:5999": "hang"}}"#).unwrap();

    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    let child = crate::support::cli::std_command(&repo.work())
        .args(["plan", "dev"])
        .env("PATH", path)
        .env("DOCKER_CONFIG", docker_config.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the helper really runs, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid = loop {
        if let Ok(pid) = std::fs::read_to_string(&pidfile)
            && !pid.trim().is_empty()
        {
            break pid.trim().to_string();
        }
        assert!(Instant::now() < deadline, "the credential helper never ran");
        std::thread::sleep(Duration::from_millis(50));
    };
    let ok = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
    let interrupted = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(interrupted.elapsed() < Duration::from_secs(1), "exits within a second: {:?}", interrupted.elapsed());
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    assert!(text(&out.stderr).contains("interrupted by SIGINT; no environment was changed"), "{}", describe(&out));
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ");
    assert!(!alive, "the helper was killed, not left behind");
}

/// docs/ecs.md's example writes build/imagedefinitions.json into the tree; the next run must not call the tree
/// dirty because of it — and anything else uncommitted still does.
#[test]
fn image_definitions_written_by_shipit_keep_the_tree_clean() {
    let repo = Repo::with_ship_toml(&ship_toml(
        "127.0.0.1:5000",
        "[check]\nrequire_clean = true\nrequire_pushed = false\n\n[environments.prod]\ntarget = \"ecs\"\ncluster = \"c\"\nservice = \"api\"\nimage_definitions = \"build/imagedefinitions.json\"\n",
    ));
    repo.write("build/imagedefinitions.json", "[{\"name\": \"api\", \"imageUri\": \"r/api@sha256:abc\"}]\n");
    let out = repo.shipit().args(["check"]).output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));

    repo.write("notes.txt", "uncommitted\n");
    let out = repo.shipit().args(["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let err = text(&out.stderr);
    assert!(err.contains("notes.txt") && !err.contains("imagedefinitions.json"), "{err}");
}
