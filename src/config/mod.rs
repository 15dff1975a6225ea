//! ship.toml: finding it, parsing it with spans, validating it, and turning every problem into an error that
//! names file:line:col.

mod diagnostic;
mod schema;
pub mod targets;
mod validate;
pub mod values;

use std::path::{Path, PathBuf};

pub use diagnostic::{Diagnostic, did_you_mean, line_col};
pub use schema::*;
pub use targets::{DockerEnv, EcsEnv, GitOpsEnv, GitOpsFile, KubeEnv, TargetEnv};
pub use validate::{check_repository, ecr_region};
pub use values::{Date, DurationStr, IString, Severity};

use crate::error::CliError;

pub const FILE_NAME: &str = "ship.toml";

/// A ship.toml is a few kilobytes. Refusing huge files keeps a mistaken `--config` (a log, a binary) from
/// taking seconds to fail with a confusing parse error.
const MAX_SIZE: usize = 1024 * 1024;

/// A parsed and validated ship.toml, with where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    /// The directory holding ship.toml; relative paths in the file are resolved against it.
    pub root: PathBuf,
    pub config: Config,
}

impl Loaded {
    pub fn environment(&self, name: &str) -> Result<&Environment, CliError> {
        match self.config.environments.get(name) {
            Some(env) => Ok(env.get_ref()),
            None => {
                let names: Vec<&str> = self.config.environments.keys().map(String::as_str).collect();
                let mut err = CliError::usage(format!("no environment named `{name}` in {}", self.path.display()));
                if let Some(hint) = did_you_mean(name, names.iter().copied()) {
                    err = err.hint(hint);
                }
                Err(if names.is_empty() {
                    err.hint("add an [environments.<name>] table to ship.toml (see `shipit init`)")
                } else {
                    err.hint(format!("environments: {}", names.join(", ")))
                })
            }
        }
    }

    /// Whether `path` (relative to the git work tree `workdir`) is something shipit itself writes: its state in
    /// `.shipit/` and each ECS environment's `image_definitions` file. The clean-tree check ignores them, so a
    /// run's own output never blocks the next run.
    pub fn is_own_output(&self, workdir: &std::path::Path, path: &str) -> bool {
        let (Ok(workdir), Ok(root)) = (workdir.canonicalize(), self.root.canonicalize()) else { return false };
        let Ok(rel_root) = root.strip_prefix(&workdir) else { return false };
        let under_root = |p: &std::path::Path| p.to_string_lossy().replace('\\', "/");
        let state = under_root(&rel_root.join(".shipit"));
        let state = state.trim_start_matches("./");
        if path == state || path.starts_with(&format!("{state}/")) {
            return true;
        }
        self.config.environments.values().filter_map(|e| e.get_ref().image_definitions.as_ref()).any(|f| {
            let written = under_root(&rel_root.join(f.as_str()));
            path == written.trim_start_matches("./")
        })
    }

    /// The registry an environment deploys from (validation guarantees it exists).
    pub fn registry_for(&self, env: &Environment) -> Option<(&str, &Registry)> {
        match &env.registry {
            Some(name) => {
                self.config.registries.get_key_value(name.get_ref().as_str()).map(|(k, v)| (k.as_str(), v.get_ref()))
            }
            None => self.config.registries.iter().next().map(|(k, v)| (k.as_str(), v.get_ref())),
        }
    }
}

#[derive(Debug)]
pub enum ConfigError {
    NotFound { start: PathBuf },
    Io { path: PathBuf, error: std::io::Error },
    Invalid(Vec<Diagnostic>),
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::NotFound { start } => {
                CliError::usage(format!("no {FILE_NAME} found in {} or any parent directory", start.display()))
                    .hint("run `shipit init` to create one, or point at it with `--config PATH` / SHIPIT_CONFIG")
            }
            ConfigError::Io { path, error } => {
                let err = CliError::usage(format!("cannot read {}: {error}", path.display()));
                if error.kind() == std::io::ErrorKind::NotFound {
                    err.hint("check the path given with `--config` or SHIPIT_CONFIG")
                } else {
                    err
                }
            }
            ConfigError::Invalid(diags) => {
                let first = &diags[0];
                if diags.len() == 1 {
                    let mut err = CliError::usage(format!("{} ({})", first.message, first.position()))
                        .detail(first.render_detail());
                    for h in &first.hints {
                        err = err.hint(h.clone());
                    }
                    return err;
                }
                // Several problems: each one is rendered in full, with its own hints, in file order.
                let mut detail = String::new();
                for (i, d) in diags.iter().enumerate() {
                    if i > 0 {
                        detail.push_str(&format!("\nerror: {}\n", d.message));
                    }
                    detail.push_str(&d.render_detail());
                    for h in &d.hints {
                        detail.push_str(&format!("\nhint: {h}"));
                    }
                }
                CliError::usage(format!(
                    "{} ({}) — and {} more problem(s)",
                    first.message,
                    first.position(),
                    diags.len() - 1
                ))
                .detail(detail)
                .hint("fix each problem above; `shipit config validate` checks again")
            }
        }
    }
}

/// Find ship.toml: an explicit path (flag or SHIPIT_CONFIG) wins; otherwise walk up from `start`, like Cargo.
pub fn locate(explicit: Option<&Path>, start: &Path) -> Result<PathBuf, ConfigError> {
    if let Some(path) = explicit {
        return Ok(if path.is_dir() { path.join(FILE_NAME) } else { path.to_path_buf() });
    }
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent();
    }
    Err(ConfigError::NotFound { start: start.to_path_buf() })
}

pub fn load(explicit: Option<&Path>, start: &Path) -> Result<Loaded, ConfigError> {
    let path = locate(explicit, start)?;
    let bytes = std::fs::read(&path).map_err(|error| ConfigError::Io { path: path.clone(), error })?;
    let config = parse_bytes(&path, &bytes)?;
    let root = path
        .parent()
        .map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p })
        .unwrap_or(Path::new("."))
        .to_path_buf();
    Ok(Loaded { path, root, config })
}

/// Parse and validate. `path` is only used in messages.
pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
    let one = |d: Diagnostic| ConfigError::Invalid(vec![d]);
    if bytes.len() > MAX_SIZE {
        return Err(one(Diagnostic::new(
            path,
            "",
            None,
            format!("the file is {:.1} MB; a ship.toml is a few kilobytes", bytes.len() as f64 / 1e6),
        )
        .with_hint("is `--config` pointing at the right file?")));
    }
    let source = match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let (line, col) = line_col(valid, valid.len());
            let mut d = Diagnostic::new(path, "", None, "the file is not valid UTF-8");
            d.location = Some((line, col));
            return Err(one(d.with_hint("save the file as UTF-8 (TOML requires it)")));
        }
    };
    if source.trim().is_empty() {
        return Err(one(Diagnostic::new(path, source, None, "the file is empty")
            .with_hint("run `shipit init --force` to write a commented starting point")));
    }
    let config: Config = toml::from_str(source).map_err(|e| one(from_toml_error(path, source, &e)))?;
    validate::validate(path, source, &config).map_err(ConfigError::Invalid)?;
    Ok(config)
}

fn from_toml_error(path: &Path, source: &str, e: &toml::de::Error) -> Diagnostic {
    let raw = e.message().trim();
    let mut hints = Vec::new();
    let message = if let Some(rest) = raw.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        if let Some(h) = did_you_mean(field, candidates.iter().copied()) {
            hints.push(h);
        }
        if !candidates.is_empty() {
            hints.push(format!("valid keys here: {}", candidates.join(", ")));
        }
        format!("unknown key `{field}`")
    } else if let Some(rest) = raw.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        if let Some(h) = did_you_mean(value, candidates.iter().copied()) {
            hints.push(h.replace('`', "\""));
        }
        format!("unknown value \"{value}\", expected one of {}", quote_list(&candidates))
    } else if let Some(rest) = raw.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        hints.push(match field {
            "app" => "start the file with an [app] table: `[app]` then `name = \"my-app\"`".to_string(),
            _ => format!("add `{field} = …` to this table (see docs/configuration.md)"),
        });
        format!("missing required key `{field}`")
    } else if raw == "duplicate key" {
        let key = e.span().and_then(|r| source.get(r)).unwrap_or("this key").trim().to_string();
        hints.push("each key and table may appear once; merge the two definitions".to_string());
        format!("`{key}` is defined twice")
    } else if raw.starts_with("invalid type:") {
        raw.replacen("invalid type:", "wrong type:", 1)
    } else {
        raw.to_string()
    };
    let mut d = Diagnostic::new(path, source, e.span(), message);
    d.hints = hints;
    d
}

fn quote_list(items: &[&str]) -> String {
    items.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
}

/// The JSON Schema of ship.toml, for editors.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Config)).expect("schema serializes");
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), "https://shipit.dev/ship.schema.json".into());
        obj.insert("title".into(), "ship.toml".into());
    }
    schema
}
