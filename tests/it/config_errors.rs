//! Malformed ship.toml files: each one must exit 2 with an error that names file:line:col (where there is a
//! line), says what was expected, and hints at the fix. The messages are snapshotted: a change in wording is a
//! change users see, and must be reviewed.

use crate::support::cli::{Scratch, describe, text};

const BASE: &str = r#"[app]
name = "api"

[build]
dockerfile = "Dockerfile"

[registries.ghcr]
type = "ghcr"
repository = "ghcr.io/acme/api"

[environments.staging]
target = "ecs"
cluster = "staging"
service = "api"
"#;

/// Run `shipit config validate` on `contents`; return (exit code, stderr with the temp dir redacted).
fn validate(contents: &[u8], env: &[(&str, &str)]) -> (i32, String) {
    let s = Scratch::new();
    s.write("ship.toml", contents);
    let mut cmd = s.shipit();
    cmd.args(["config", "validate"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stderr = s.redact(&text(&out.stderr));
    assert!(!stderr.contains("panicked"), "panic: {}", describe(&out));
    (out.status.code().unwrap_or(-1), stderr)
}

fn case(name: &str, contents: &str) {
    case_env(name, contents, &[]);
}

fn case_env(name: &str, contents: &str, env: &[(&str, &str)]) {
    let (code, stderr) = validate(contents.as_bytes(), env);
    assert_eq!(code, 2, "{name}: expected exit 2, got {code}\n{stderr}");
    assert!(stderr.starts_with("error: "), "{name}: {stderr}");
    insta::assert_snapshot!(name, stderr);
}

#[test]
fn base_config_is_valid() {
    let (code, stderr) = validate(BASE.as_bytes(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("is valid"), "{stderr}");
}

#[test]
fn unknown_top_level_key() {
    case("unknown_top_level_key", &format!("{BASE}\n[enviroments.prod]\ntarget = \"ecs\"\n"));
}

#[test]
fn unknown_nested_key_suggests_the_nearest() {
    case("unknown_nested_key", &BASE.replace("dockerfile = ", "dockerfle = "));
}

#[test]
fn unknown_key_in_environment() {
    case("unknown_environment_key", &BASE.replace("service = \"api\"", "servce = \"api\""));
}

#[test]
fn wrong_type_string_for_bool() {
    case("wrong_type_bool", &BASE.replace("[build]\n", "[build]\nallow_latest = \"yes\"\n"));
}

#[test]
fn wrong_type_table_for_string() {
    case("wrong_type_table", &BASE.replace("name = \"api\"", "name = { first = \"api\" }"));
}

#[test]
fn wrong_type_array_of_numbers() {
    case("wrong_type_array", &BASE.replace("[build]\n", "[build]\ntags = [1, 2]\n"));
}

#[test]
fn missing_app_table() {
    case("missing_app", &BASE.replace("[app]\nname = \"api\"\n", ""));
}

#[test]
fn missing_app_name() {
    case("missing_app_name", &BASE.replace("name = \"api\"\n", ""));
}

#[test]
fn missing_target() {
    case("missing_target", &BASE.replace("target = \"ecs\"\n", ""));
}

#[test]
fn unknown_target_value() {
    case("unknown_target", &BASE.replace("target = \"ecs\"", "target = \"ecss\""));
}

#[test]
fn missing_ecs_fields() {
    case("missing_ecs_fields", &BASE.replace("cluster = \"staging\"\nservice = \"api\"\n", ""));
}

#[test]
fn missing_kubernetes_deployment() {
    case(
        "missing_kubernetes_deployment",
        &BASE.replace(
            "target = \"ecs\"\ncluster = \"staging\"\nservice = \"api\"\n",
            "target = \"kubernetes\"\nnamespace = \"web\"\n",
        ),
    );
}

#[test]
fn key_for_another_target() {
    case("key_for_another_target", &format!("{BASE}deployment = \"api\"\n"));
}

#[test]
fn duplicate_environment() {
    case(
        "duplicate_environment",
        &format!("{BASE}\n[environments.staging]\ntarget = \"docker\"\ncontainer_name = \"x\"\n"),
    );
}

#[test]
fn bad_duration() {
    case("bad_duration", &format!("{BASE}timeout = \"10 minutes-ish\"\n"));
}

#[test]
fn duration_without_unit() {
    case("duration_without_unit", &format!("{BASE}timeout = \"600\"\n"));
}

#[test]
fn bad_ghcr_repository() {
    case("bad_ghcr_repository", &BASE.replace("ghcr.io/acme/api", "docker.io/acme/api"));
}

#[test]
fn bad_ecr_repository() {
    case(
        "bad_ecr_repository",
        &BASE.replace(
            "type = \"ghcr\"\nrepository = \"ghcr.io/acme/api\"",
            "type = \"ecr\"\nrepository = \"12345.dkr.ecr.us-east-1.amazonaws.com/api\"",
        ),
    );
}

#[test]
fn repository_with_tag() {
    case("repository_with_tag", &BASE.replace("ghcr.io/acme/api", "ghcr.io/acme/api:latest"));
}

#[test]
fn uppercase_repository() {
    case("uppercase_repository", &BASE.replace("ghcr.io/acme/api", "ghcr.io/Acme/API"));
}

#[test]
fn insecure_registry_off_this_machine() {
    case(
        "insecure_remote_registry",
        &BASE.replace(
            "type = \"ghcr\"\nrepository = \"ghcr.io/acme/api\"",
            "type = \"oci\"\nrepository = \"registry.acme.dev/api\"\ninsecure = true",
        ),
    );
}

#[test]
fn two_docker_environments_share_a_container() {
    case(
        "shared_docker_container",
        &format!(
            "{BASE}\n[environments.dev]\ntarget = \"docker\"\ncontainer_name = \"api\"\n\n[environments.demo]\ntarget = \"docker\"\ncontainer_name = \"api\"\n"
        ),
    );
}

#[test]
fn unknown_registry_reference() {
    case("unknown_registry_reference", &format!("{BASE}registry = \"gchr\"\n"));
}

#[test]
fn environment_without_registry_when_several() {
    case(
        "ambiguous_registry",
        &BASE.replace(
            "[environments.staging]",
            "[registries.mirror]\ntype = \"oci\"\nrepository = \"registry.acme.dev/api\"\n\n[environments.staging]",
        ),
    );
}

#[test]
fn invalid_environment_name() {
    case("invalid_environment_name", &BASE.replace("[environments.staging]", "[environments.Staging_EU]"));
}

#[test]
fn unset_variable() {
    case("unset_variable", &BASE.replace("service = \"api\"", "service = \"${SHIPIT_TEST_UNSET_SERVICE}\""));
}

#[test]
fn bad_variable_syntax() {
    case("bad_variable_syntax", &BASE.replace("service = \"api\"", "service = \"${SERVICE\""));
}

#[test]
fn latest_tag_refused() {
    case("latest_tag_refused", &BASE.replace("[build]\n", "[build]\ntags = [\"latest\"]\n"));
}

#[test]
fn unknown_tag_placeholder() {
    case("unknown_tag_placeholder", &BASE.replace("[build]\n", "[build]\ntags = [\"{commit}\"]\n"));
}

#[test]
fn bad_severity() {
    case("bad_severity", &format!("{BASE}\n[scan]\nfail_on = \"severe\"\n"));
}

#[test]
fn exception_without_expiry() {
    case(
        "exception_without_expiry",
        &format!("{BASE}\n[[scan.exceptions]]\nid = \"CVE-2019-18224\"\nreason = \"not reachable\"\n"),
    );
}

#[test]
fn exception_bad_date() {
    case(
        "exception_bad_date",
        &format!("{BASE}\n[[scan.exceptions]]\nid = \"CVE-2019-18224\"\nreason = \"x\"\nexpires = \"31/01/2027\"\n"),
    );
}

#[test]
fn toml_syntax_error() {
    case("toml_syntax_error", &BASE.replace("name = \"api\"", "name = \"api"));
}

#[test]
fn bad_platform() {
    case("bad_platform", &BASE.replace("[build]\n", "[build]\nplatform = \"amd64\"\n"));
}

#[test]
fn several_problems_reported_together() {
    case("several_problems", &BASE.replace("ghcr.io/acme/api", "ghcr.io/api").replace("cluster = \"staging\"\n", ""));
}

#[test]
fn empty_file() {
    case("empty_file", "");
}

#[test]
fn whitespace_only_file() {
    case("whitespace_only_file", "\n   \n# just a comment\n");
}

#[test]
fn invalid_utf8() {
    let mut bytes = BASE.as_bytes().to_vec();
    let at = BASE.find("api").unwrap();
    bytes.splice(at..at + 1, [0xff, 0xfe]);
    let (code, stderr) = validate(&bytes, &[]);
    assert_eq!(code, 2, "{stderr}");
    insta::assert_snapshot!("invalid_utf8", stderr);
}

#[test]
fn ten_megabyte_file() {
    let mut big = BASE.to_string();
    big.push_str("# ");
    big.push_str(&"x".repeat(10 * 1024 * 1024));
    big.push('\n');
    let (code, stderr) = validate(big.as_bytes(), &[]);
    assert_eq!(code, 2, "{stderr}");
    insta::assert_snapshot!("ten_megabyte_file", stderr);
}

#[test]
fn binary_garbage() {
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let (code, stderr) = validate(&bytes, &[]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn json_output_carries_the_error() {
    let s = Scratch::new();
    s.write("ship.toml", BASE.replace("dockerfile = ", "dockerfle = "));
    let out = s.shipit().args(["config", "validate", "--output", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["exit_code"], 2);
    assert_eq!(v["error"]["class"], "usage");
    assert!(v["error"]["message"].as_str().unwrap().contains("unknown key `dockerfle`"));
    assert!(v["error"]["hints"][0].as_str().unwrap().contains("did you mean `dockerfile`"));
}

#[test]
fn notify_needs_one_destination_with_an_http_url() {
    case(
        "notify_destinations",
        &format!(
            "{BASE}\n[[notify]]\nwebhook = \"https://hooks.example.com/a\"\nslack = \"https://hooks.slack.com/b\"\n\n\
             [[notify]]\nslack = \"hooks.slack.com/no-scheme\"\nenvironments = [\"prdo\"]\n"
        ),
    );
}

#[test]
fn gitops_keys_that_do_not_fit_the_format() {
    case(
        "gitops_keys_that_do_not_fit_the_format",
        &format!(
            "{BASE}\n[environments.production]\ntarget = \"gitops\"\nrepository = \"deploy\"\npath = \"../apps/values.yaml\"\n\
             format = \"helm\"\nimage_name = \"api\"\nregistry = \"ghcr\"\n"
        ),
    );
}
