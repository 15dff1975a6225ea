//! Registry credentials, found where the user already keeps them: ship.toml's `username` + `password_env`,
//! the GitHub token for ghcr.io, and docker's own config.json (`auths`, `credHelpers`, `credsStore`), resolved
//! the way the docker CLI resolves them. ECR credentials come from `providers::ecr`.
//!
//! A password only ever lives in a [`Secret`], whose Debug output is redacted and which has no Display, so it
//! cannot end up in a message, a log line or the release record by accident.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde::Deserialize;

use crate::config::{Registry, RegistryKind};
use crate::env_vars::EnvVars;
use crate::error::CliError;

/// A password or token. Deliberately not `Display`; `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The raw value, for the one place that has to send it (an HTTP header, the engine's X-Registry-Auth).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Credentials for one registry host, and where they came from (for messages: never the value itself).
#[derive(Debug, Clone)]
pub struct RegistryAuth {
    pub username: String,
    pub password: Secret,
    /// OAuth2 identity token from a credential helper (`Username: "<token>"`), used instead of the password.
    pub identity_token: Option<Secret>,
    /// "GITHUB_TOKEN", "password_env SHIPIT_PW", "~/.docker/config.json", "docker-credential-pass", "ECR".
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("environment variable {var} (password_env of registry `{registry}`) is not set")]
    PasswordEnvMissing { registry: String, var: String },
    #[error("`username` is set for registry `{registry}` but `password_env` is not")]
    PasswordEnvNotConfigured { registry: String },
    #[error("no GitHub token for ghcr.io: GITHUB_TOKEN and GH_TOKEN are unset and `gh auth token` gave nothing")]
    NoGitHubToken,
    #[error("cannot read docker config {path}: {detail}")]
    DockerConfig { path: PathBuf, detail: String },
    #[error("credential helper docker-credential-{helper} failed for {host}: {detail}")]
    Helper { helper: String, host: String, detail: String },
    #[error("interrupted while docker-credential-{helper} was asked for {host}; nothing was changed")]
    Interrupted { helper: String, host: String },
}

/// A credential helper that answers slower than this is hung (waiting for an unlock prompt nobody sees).
const HELPER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl From<CredentialError> for CliError {
    fn from(e: CredentialError) -> Self {
        let hint = match &e {
            CredentialError::PasswordEnvMissing { var, .. } => {
                format!("export {var}=<password or token> and try again")
            }
            CredentialError::PasswordEnvNotConfigured { .. } => {
                "add `password_env = \"NAME\"` (the variable holding the password) next to `username`".into()
            }
            CredentialError::NoGitHubToken => {
                "set GITHUB_TOKEN (in Actions: `permissions: packages: write`) or run `gh auth login`".into()
            }
            CredentialError::DockerConfig { .. } => {
                "fix or remove the file (DOCKER_CONFIG points at its directory)".into()
            }
            CredentialError::Helper { helper, .. } => format!(
                "check that docker-credential-{helper} is installed and unlocked, or remove it from ~/.docker/config.json"
            ),
            CredentialError::Interrupted { .. } => "run the command again".into(),
        };
        let class = match &e {
            CredentialError::Interrupted { .. } => CliError::interrupted(e.to_string()),
            CredentialError::PasswordEnvNotConfigured { .. } => CliError::usage(e.to_string()),
            _ => CliError::failure(e.to_string()),
        };
        class.hint(hint)
    }
}

/// Where to look outside ship.toml: injectable so tests need not touch the process environment.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// docker's config.json (default: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
    /// PATH used to find `docker-credential-*` helpers (default: the process PATH).
    pub path: Option<OsString>,
}

impl Lookup {
    pub fn from_env() -> Lookup {
        let docker_config = std::env::var_os(EnvVars::DOCKER_CONFIG)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os(EnvVars::HOME).map(|h| PathBuf::from(h).join(".docker")))
            .map(|d| d.join("config.json"));
        Lookup { docker_config, path: std::env::var_os(EnvVars::PATH) }
    }
}

/// Credentials for pushing to `host` (the push host, which may differ from the repository's host).
/// `Ok(None)`: nothing configured; the registry may still allow anonymous access (the preflight check tells).
/// ECR is not handled here (see `providers::ecr::login`).
pub fn resolve(
    name: &str,
    registry: &Registry,
    host: &str,
    lookup: &Lookup,
) -> Result<Option<RegistryAuth>, CredentialError> {
    if let Some(auth) = from_ship_toml(name, registry)? {
        return Ok(Some(auth));
    }
    if registry.kind == RegistryKind::Ghcr {
        return match crate::providers::github::token() {
            Some((token, source)) => Ok(Some(RegistryAuth {
                username: ghcr_username(registry),
                password: Secret::new(token),
                identity_token: None,
                source: source.to_string(),
            })),
            None => match from_docker_config(host, lookup)? {
                Some(auth) => Ok(Some(auth)),
                None => Err(CredentialError::NoGitHubToken),
            },
        };
    }
    from_docker_config(host, lookup)
}

/// ghcr.io checks the token, not the user name; Actions' GITHUB_ACTOR is the conventional one.
fn ghcr_username(registry: &Registry) -> String {
    registry
        .username
        .as_ref()
        .map(|u| u.to_string())
        .or_else(|| std::env::var(EnvVars::GITHUB_ACTOR).ok().filter(|a| !a.is_empty()))
        .unwrap_or_else(|| "shipit".to_string())
}

fn from_ship_toml(name: &str, registry: &Registry) -> Result<Option<RegistryAuth>, CredentialError> {
    let Some(var) = &registry.password_env else {
        if registry.username.is_some() && registry.kind == RegistryKind::Oci {
            return Err(CredentialError::PasswordEnvNotConfigured { registry: name.to_string() });
        }
        return Ok(None);
    };
    let password = std::env::var(var.as_str())
        .ok()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| CredentialError::PasswordEnvMissing { registry: name.to_string(), var: var.to_string() })?;
    let username = match (&registry.username, registry.kind) {
        (Some(u), _) => u.to_string(),
        (None, RegistryKind::Ghcr) => ghcr_username(registry),
        (None, _) => "shipit".to_string(),
    };
    Ok(Some(RegistryAuth {
        username,
        password: Secret::new(password),
        identity_token: None,
        source: format!("password_env {var}"),
    }))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DockerConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
}

/// docker's resolution order: a `credHelpers` entry for the host, else the `credsStore`, else the inline
/// `auths` entry. A store that has nothing for the host falls back to `auths` (docker writes both forms).
pub fn from_docker_config(host: &str, lookup: &Lookup) -> Result<Option<RegistryAuth>, CredentialError> {
    let Some(path) = &lookup.docker_config else { return Ok(None) };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CredentialError::DockerConfig { path: path.clone(), detail: e.to_string() }),
    };
    let file = parse_docker_config(&text, path)?;
    if let Some(helper) = file.helper_for(host)
        && let Some(auth) = run_helper(&helper, host, lookup)?
    {
        return Ok(Some(auth));
    }
    file.inline_auth(host, path, &display_path(path))
}

pub(crate) fn parse_docker_config(text: &str, path: &Path) -> Result<DockerConfigFile, CredentialError> {
    serde_json::from_str(text)
        .map_err(|e| CredentialError::DockerConfig { path: path.to_path_buf(), detail: e.to_string() })
}

impl DockerConfigFile {
    /// The credential helper for `host`: its `credHelpers` entry, else the `credsStore`.
    pub(crate) fn helper_for(&self, host: &str) -> Option<String> {
        self.cred_helpers
            .iter()
            .find(|(k, _)| normalize_host(k) == host)
            .map(|(_, v)| v.clone())
            .or(self.creds_store.clone())
            .filter(|h| !h.is_empty())
    }

    /// The inline `auths` entry for `host`; `shown` is how the file is named in messages.
    pub(crate) fn inline_auth(
        &self,
        host: &str,
        path: &Path,
        shown: &str,
    ) -> Result<Option<RegistryAuth>, CredentialError> {
        let entry = self.auths.iter().find(|(k, _)| normalize_host(k) == host).map(|(_, v)| v);
        let Some(entry) = entry else { return Ok(None) };
        let shown = shown.to_string();
        if let Some(token) = entry.identity_token.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(RegistryAuth {
                username: entry.username.clone().unwrap_or_default(),
                password: Secret::new(""),
                identity_token: Some(Secret::new(token.clone())),
                source: shown,
            }));
        }
        if let Some(encoded) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
            let not_base64 = || CredentialError::DockerConfig {
                path: path.to_path_buf(),
                detail: format!("the `auth` entry for {host} is not base64 of USER:PASSWORD"),
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(not_base64)?;
            let (user, pass) = decoded.split_once(':').ok_or_else(not_base64)?;
            return Ok(Some(RegistryAuth {
                username: user.to_string(),
                password: Secret::new(pass),
                identity_token: None,
                source: shown,
            }));
        }
        if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
            return Ok(Some(RegistryAuth {
                username: u.clone(),
                password: Secret::new(p.clone()),
                identity_token: None,
                source: shown,
            }));
        }
        Ok(None)
    }
}

fn display_path(path: &Path) -> String {
    match std::env::var_os(EnvVars::HOME).map(PathBuf::from) {
        Some(home) if path.starts_with(&home) => {
            format!("~/{}", path.strip_prefix(&home).unwrap_or(path).display())
        }
        _ => path.display().to_string(),
    }
}

/// `https://registry.acme.dev/v1/` → `registry.acme.dev` (config.json keys come in several historical forms).
pub fn normalize_host(key: &str) -> &str {
    let k = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// `docker-credential-<helper> get` with the host on stdin, as the docker CLI calls it.
fn run_helper(helper: &str, host: &str, lookup: &Lookup) -> Result<Option<RegistryAuth>, CredentialError> {
    let program = format!("docker-credential-{helper}");
    let fail = |detail: String| CredentialError::Helper { helper: helper.to_string(), host: host.to_string(), detail };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let exe = which::which_in(&program, lookup.path.clone(), cwd)
        .map_err(|_| fail(format!("{program} is not installed (not found on PATH)")))?;
    let out = match super::process::run(Command::new(&exe).arg("get"), Some(host.as_bytes()), HELPER_TIMEOUT) {
        Ok(out) => out,
        Err(super::process::RunError::Interrupted) => {
            return Err(CredentialError::Interrupted { helper: helper.to_string(), host: host.to_string() });
        }
        Err(e) => return Err(fail(e.to_string())),
    };
    if !out.status.success() {
        // Helpers print this exact text for a host they have nothing for.
        let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        if said.contains("credentials not found") {
            return Ok(None);
        }
        return Err(fail(format!("exit status {}: {}", out.status, first_line(&said))));
    }
    parse_helper_reply(&out.stdout, &program).map_err(fail)
}

/// A credential helper's `get` answer: `{"Username": …, "Secret": …}` (`<token>` as the user name means the
/// secret is an identity token). `Ok(None)`: an empty secret, nothing stored.
pub(crate) fn parse_helper_reply(stdout: &[u8], program: &str) -> Result<Option<RegistryAuth>, String> {
    let reply: HelperReply = serde_json::from_slice(stdout)
        .map_err(|_| "it did not print the {\"Username\", \"Secret\"} JSON docker expects".to_string())?;
    if reply.secret.is_empty() {
        return Ok(None);
    }
    let token = reply.username == "<token>";
    Ok(Some(RegistryAuth {
        username: if token { String::new() } else { reply.username },
        password: Secret::new(if token { String::new() } else { reply.secret.clone() }),
        identity_token: token.then(|| Secret::new(reply.secret)),
        source: program.to_string(),
    }))
}

fn first_line(s: &str) -> String {
    s.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no output").chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup_with(dir: &Path, config: &str) -> Lookup {
        let path = dir.join("config.json");
        std::fs::write(&path, config).unwrap();
        Lookup { docker_config: Some(path), path: Some(dir.as_os_str().to_owned()) }
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let auth = RegistryAuth { username: "u".into(), password: s, identity_token: None, source: "x".into() };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }

    #[test]
    fn inline_auths_in_every_key_form() {
        let dir = tempfile::tempdir().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        let lookup = lookup_with(
            dir.path(),
            &format!(r#"{{"auths": {{"https://registry.acme.dev/v1/": {{"auth": "{b64}"}}, "other.dev": {{}}}}}}"#),
        );
        let auth = from_docker_config("registry.acme.dev", &lookup).unwrap().unwrap();
        assert_eq!(auth.username, "alice");
        assert_eq!(auth.password.expose(), "s3cret");
        assert!(from_docker_config("other.dev", &lookup).unwrap().is_none());
        assert!(from_docker_config("nowhere.dev", &lookup).unwrap().is_none());
    }

    #[test]
    fn missing_config_is_no_credentials() {
        let lookup = Lookup { docker_config: Some(PathBuf::from("/nonexistent/config.json")), path: None };
        assert!(from_docker_config("x.dev", &lookup).unwrap().is_none());
    }

    #[cfg(unix)]
    fn helper(dir: &Path, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn cred_helpers_win_over_store_and_auths() {
        let dir = tempfile::tempdir().unwrap();
        helper(
            dir.path(),
            "special",
            "#!/bin/sh\nread host\necho \"{\\\"ServerURL\\\":\\\"$host\\\",\\\"Username\\\":\\\"helper-$host\\\",\\\"Secret\\\":\\\"pw\\\"}\"\n",
        );
        helper(dir.path(), "store", "#!/bin/sh\necho 'credentials not found in native keychain'\nexit 1\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode("inline:pw2");
        let lookup = lookup_with(
            dir.path(),
            &format!(
                r#"{{"credHelpers": {{"special.dev": "special"}}, "credsStore": "store",
                    "auths": {{"plain.dev": {{"auth": "{b64}"}}}}}}"#
            ),
        );
        let a = from_docker_config("special.dev", &lookup).unwrap().unwrap();
        assert_eq!(a.username, "helper-special.dev");
        assert_eq!(a.source, "docker-credential-special");
        // The store has nothing for plain.dev: fall back to the inline entry.
        let b = from_docker_config("plain.dev", &lookup).unwrap().unwrap();
        assert_eq!(b.username, "inline");
        assert!(from_docker_config("none.dev", &lookup).unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn broken_or_missing_helper_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        helper(dir.path(), "broken", "#!/bin/sh\necho 'keychain locked' >&2\nexit 3\n");
        let lookup = lookup_with(dir.path(), r#"{"credsStore": "broken"}"#);
        let err = from_docker_config("x.dev", &lookup).unwrap_err().to_string();
        assert!(err.contains("docker-credential-broken") && err.contains("keychain locked"), "{err}");
        let lookup = lookup_with(dir.path(), r#"{"credsStore": "absent"}"#);
        let err = from_docker_config("x.dev", &lookup).unwrap_err().to_string();
        assert!(err.contains("not installed"), "{err}");
    }

    #[test]
    fn host_normalization() {
        assert_eq!(normalize_host("https://index.docker.io/v1/"), "index.docker.io");
        assert_eq!(normalize_host("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(normalize_host("http://localhost:5000/"), "localhost:5000");
    }
}
