//! The build stage: decide what to build (commit, registry, tags, labels) once, as a `Plan`, then stream the
//! context to the engine and build it. `shipit build`, `shipit push` and `shipit ship` share both halves.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::build_cache::{CacheExport, CacheImport};
use crate::build_context::{Context, ContextError, ContextStats, state_dir_within};
use crate::config::{BuildSecret, Builder, Loaded, Registry};
use crate::error::CliError;
use crate::providers::buildkit::{self, SecretValue, SessionServices};
use crate::providers::docker::{self, BuildError, BuildOutcome, BuildRequest, Engine};
use crate::providers::git;
use crate::release::Commit;
use crate::report::Reporter;

/// Where the image goes: a `[registries.<name>]` entry, resolved.
#[derive(Debug, Clone)]
pub struct RegistryTarget {
    pub name: String,
    pub config: Registry,
    /// `ghcr.io/acme/api`: what deploys pull and what the release record names.
    pub repository: String,
    /// `HOST[:PORT]` images are pushed to (`push_host`, else the repository's host).
    pub push_host: String,
    /// `acme/api`: the repository path on that host.
    pub path: String,
}

impl RegistryTarget {
    pub fn new(name: &str, config: &Registry) -> RegistryTarget {
        let repository = config.repository.get_ref().to_string();
        let (host, path) = repository.split_once('/').unwrap_or(("", &repository));
        let push_host = config.push_host.as_ref().map(|h| h.to_string()).unwrap_or_else(|| host.to_string());
        RegistryTarget {
            name: name.to_string(),
            config: config.clone(),
            path: path.to_string(),
            push_host,
            repository: repository.clone(),
        }
    }

    /// `push_host/path`: the name the image is tagged with locally and pushed as.
    pub fn push_repository(&self) -> String {
        format!("{}/{}", self.push_host, self.path)
    }
}

/// Everything decided before the engine is touched.
#[derive(Debug, Clone)]
pub struct Plan {
    pub app: String,
    pub commit: Commit,
    /// The directory of ship.toml (release records live under it).
    pub root: PathBuf,
    pub registry: Option<RegistryTarget>,
    /// Local name of the image: the push repository, or the app name when no registry is configured.
    pub repository: String,
    /// Rendered tags, `-dirty` included when the tree is dirty.
    pub tags: Vec<String>,
    /// The tag naming exactly this commit (from `{sha}`, else `{short_sha}`): what skip-when-exists looks up.
    pub identity_tag: Option<String>,
    pub context_dir: PathBuf,
    pub dockerfile: String,
    pub args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub target: Option<String>,
    pub platform: Option<String>,
    pub builder: Builder,
    /// `[build.secrets]`: where each value comes from (read when the build starts, never kept in the plan).
    pub secrets: BTreeMap<String, BuildSecret>,
    pub ssh: bool,
    pub network: Option<String>,
    pub cache_from: Vec<String>,
    pub cache_to: Vec<String>,
    /// Things worth telling the user (a tag template that could not be rendered, a dropped `latest`).
    pub notes: Vec<String>,
}

impl Plan {
    /// Read HEAD, pick the registry, render tags and labels. A dirty tree is refused unless `allow_dirty`.
    pub fn resolve(loaded: &Loaded, registry: Option<&str>, allow_dirty: bool) -> Result<Plan, CliError> {
        let config = &loaded.config;
        let root = loaded.root.clone();
        let mut commit = git::head_commit(&root)?;
        let dirty = dirty_paths(loaded)?;
        commit.dirty = !dirty.is_empty();
        if commit.dirty && !allow_dirty {
            let shown: Vec<&str> = dirty.iter().take(5).map(String::as_str).collect();
            let more = if dirty.len() > 5 { format!(" and {} more", dirty.len() - 5) } else { String::new() };
            return Err(CliError::gate(format!(
                "the working tree has uncommitted changes ({}{more}); an image must come from a commit",
                shown.join(", ")
            ))
            .hint("commit or stash the changes, or pass --allow-dirty to build anyway (the tags then end in -dirty)"));
        }

        let target = select_registry(loaded, registry)?;
        let repository = match &target {
            Some(t) => t.push_repository(),
            None => local_name(&config.app.name),
        };
        let templates: Vec<String> = config.build.tags.iter().map(|t| t.to_string()).collect();
        let rendered = render_tags(&templates, &commit, config.build.allow_latest)?;

        let context_dir = root.join(config.build.context.as_str());
        let source = git::remote_url(&root, "origin").and_then(|u| https_source(&u));
        let created = created_time(&root, commit.dirty);
        let user_labels: BTreeMap<String, String> =
            config.build.labels.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
        let labels = oci_labels(&commit, source.as_deref(), created, &user_labels);

        Ok(Plan {
            app: config.app.name.to_string(),
            commit,
            root,
            registry: target,
            repository,
            tags: rendered.tags,
            identity_tag: rendered.identity,
            context_dir,
            dockerfile: config.build.dockerfile.to_string(),
            args: config.build.args.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            labels,
            target: config.build.target.as_ref().map(|t| t.to_string()),
            platform: config.build.platform.as_ref().map(|p| p.to_string()),
            builder: config.build.builder,
            secrets: config.build.secrets.clone(),
            ssh: config.build.ssh,
            network: config.build.network.map(|n| n.as_str().to_string()),
            cache_from: config.build.cache_from.iter().map(|c| c.to_string()).collect(),
            cache_to: config.build.cache_to.iter().map(|c| c.to_string()).collect(),
            notes: rendered.notes,
        })
    }

    /// `repository:tag` for every tag.
    pub fn references(&self) -> Vec<String> {
        self.tags.iter().map(|t| format!("{}:{t}", self.repository)).collect()
    }
}

/// Uncommitted paths, leaving out what shipit writes itself (`.shipit/`, `image_definitions` files).
fn dirty_paths(loaded: &Loaded) -> Result<Vec<String>, CliError> {
    let root = &loaded.root;
    let repo = git::open(root).map_err(|_| git::GitError::NotARepo(root.to_path_buf()))?;
    let workdir = repo.workdir().map(Path::to_path_buf).unwrap_or_default();
    let paths = git::dirty_paths(&repo).map_err(git::GitError::from)?;
    Ok(paths.into_iter().filter(|p| !loaded.is_own_output(&workdir, p)).collect())
}

fn select_registry(loaded: &Loaded, wanted: Option<&str>) -> Result<Option<RegistryTarget>, CliError> {
    let regs = &loaded.config.registries;
    let names: Vec<&str> = regs.keys().map(String::as_str).collect();
    match wanted {
        Some(name) => match regs.get(name) {
            Some(r) => Ok(Some(RegistryTarget::new(name, r.get_ref()))),
            None => {
                let mut err = CliError::usage(format!("no registry named `{name}` in {}", loaded.path.display()));
                if let Some(h) = crate::config::did_you_mean(name, names.iter().copied()) {
                    err = err.hint(h);
                }
                Err(err.hint(if names.is_empty() {
                    "define one in a [registries.<name>] table".to_string()
                } else {
                    format!("registries: {}", names.join(", "))
                }))
            }
        },
        None if regs.len() > 1 => Err(CliError::usage(format!(
            "{} defines {} registries; say which one to use",
            loaded.path.display(),
            regs.len()
        ))
        .hint(format!("pass --registry NAME (one of: {})", names.join(", ")))),
        None => Ok(regs.iter().next().map(|(n, r)| RegistryTarget::new(n, r.get_ref()))),
    }
}

/// A valid local repository name from the app name (`My App` → `my-app`).
fn local_name(app: &str) -> String {
    let s: String = app
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let s = s.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string();
    if s.is_empty() { "app".into() } else { s }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RenderedTags {
    pub tags: Vec<String>,
    pub identity: Option<String>,
    pub notes: Vec<String>,
}

/// Render `build.tags`. A template whose placeholder has no value here (`{version}` without a tag on HEAD,
/// `{branch}` on a detached HEAD) is skipped with a note rather than failing the build. A dirty commit's tags
/// end in `-dirty`, so they can never be mistaken for the commit's.
pub fn render_tags(templates: &[String], commit: &Commit, allow_latest: bool) -> Result<RenderedTags, CliError> {
    let mut out = RenderedTags { tags: Vec::new(), identity: None, notes: Vec::new() };
    let mut identity_rank = 0;
    for template in templates {
        let branch = commit.branch.as_deref().map(tag_safe);
        let version = commit.tag.as_deref().map(tag_safe);
        let mut missing = None;
        let mut tag = template.clone();
        for (name, value) in [
            ("sha", Some(commit.sha.clone())),
            ("short_sha", Some(commit.short_sha.clone())),
            ("branch", branch),
            ("version", version),
        ] {
            let key = format!("{{{name}}}");
            if tag.contains(&key) {
                match value {
                    Some(v) => tag = tag.replace(&key, &v),
                    None => missing = Some(name),
                }
            }
        }
        if let Some(name) = missing {
            let why = if name == "version" { "HEAD has no git tag" } else { "HEAD is not on a branch" };
            out.notes.push(format!("tag template \"{template}\" skipped: {why}"));
            continue;
        }
        if commit.dirty {
            tag.push_str("-dirty");
        }
        if tag == "latest" && !allow_latest {
            out.notes.push("tag \"latest\" skipped: set `allow_latest = true` in [build] to push it".into());
            continue;
        }
        if tag.len() > 128 {
            return Err(CliError::usage(format!("tag \"{tag}\" (from \"{template}\") is longer than 128 characters"))
                .hint("shorten the template in `build.tags`, e.g. use {short_sha} instead of {sha}"));
        }
        let rank = if template.contains("{sha}") {
            2
        } else if template.contains("{short_sha}") {
            1
        } else {
            0
        };
        if rank > identity_rank {
            identity_rank = rank;
            out.identity = Some(tag.clone());
        }
        if !out.tags.contains(&tag) {
            out.tags.push(tag);
        }
    }
    if out.tags.is_empty() {
        let mut err = CliError::usage("no image tag could be made from `build.tags`");
        for n in &out.notes {
            err = err.hint(n.clone());
        }
        return Err(
            err.hint("include {sha} or {short_sha} in `build.tags` (the default is [\"{sha}\", \"{short_sha}\"])")
        );
    }
    Ok(out)
}

/// Branch and git-tag names may hold `/` and other characters tags cannot.
fn tag_safe(s: &str) -> String {
    let t: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '-' }).collect();
    t.trim_start_matches(['.', '-']).to_string()
}

/// The origin remote as an https URL for `org.opencontainers.image.source`. Credentials in the URL are
/// dropped (a token in a remote URL must not end up in an image label). Local paths give `None`.
pub fn https_source(url: &str) -> Option<String> {
    let url = url.trim();
    let (host, path) = if let Some(rest) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) {
        rest.split_once('/')?
    } else if let Some(rest) = url.strip_prefix("ssh://").or_else(|| url.strip_prefix("git://")) {
        rest.split_once('/')?
    } else if !url.contains("://") && url.contains(':') && !url.starts_with('/') {
        // scp-like: git@github.com:acme/api.git
        url.split_once(':')?
    } else {
        return None;
    };
    let host = host.rsplit('@').next()?;
    let host = if url.starts_with("ssh://") { host.split(':').next()? } else { host };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some(format!("https://{host}/{path}"))
}

/// `org.opencontainers.image.created`: SOURCE_DATE_EPOCH when set, else the commit's time, so that building a
/// commit again gives the same labels (the engine's cache holds, and a reproducible Dockerfile gives the same
/// digest). Uncommitted changes have no commit time: they get the current time.
fn created_time(root: &Path, dirty: bool) -> DateTime<Utc> {
    let epoch =
        std::env::var(crate::env_vars::EnvVars::SOURCE_DATE_EPOCH).ok().and_then(|s| s.trim().parse::<i64>().ok());
    let commit_time = || {
        let repo = git::open(root).ok()?;
        let commit = repo.head().ok()?.peel_to_commit().ok()?;
        Some(commit.time().seconds())
    };
    let secs = epoch.or_else(|| if dirty { None } else { commit_time() });
    secs.and_then(|s| DateTime::from_timestamp(s, 0)).unwrap_or_else(Utc::now)
}

/// The OCI annotations shipit sets, then `build.labels` (which may override all but the revision).
pub fn oci_labels(
    commit: &Commit,
    source: Option<&str>,
    created: DateTime<Utc>,
    user: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert("org.opencontainers.image.created".into(), created.to_rfc3339_opts(SecondsFormat::Secs, true));
    if let Some(s) = source {
        labels.insert("org.opencontainers.image.source".into(), s.to_string());
    }
    if let Some(v) = &commit.tag {
        labels.insert("org.opencontainers.image.version".into(), v.clone());
    }
    labels.extend(user.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.insert("org.opencontainers.image.revision".into(), commit.sha.clone());
    if commit.dirty {
        labels.insert("dev.shipit.dirty".into(), "true".into());
    }
    labels
}

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `--no-cache`: build every step again.
    pub no_cache: bool,
    /// Registry credentials BuildKit may ask for (a private base image, a `cache_from` image), by host.
    pub credentials: HashMap<String, buildkit::HostCredentials>,
}

impl BuildOptions {
    /// Offer the push registry's credentials to the build (what `docker login` gives `docker build`).
    pub fn with_registry(mut self, host: &str, auth: Option<&crate::providers::credentials::RegistryAuth>) -> Self {
        if let Some(a) = auth {
            // As the docker CLI answers BuildKit: an identity token goes alone, as the secret.
            let (username, secret) = match &a.identity_token {
                Some(t) => (String::new(), t.clone()),
                None => (a.username.clone(), a.password.clone()),
            };
            self.credentials.insert(host.to_string(), buildkit::HostCredentials { username, secret });
        }
        self
    }
}

/// A local image, built and tagged.
#[derive(Debug, Clone, Serialize)]
pub struct BuiltImage {
    /// `sha256:…` local image id (what the scan stage inspects).
    pub id: String,
    /// The local repository (the push repository when a registry is configured).
    pub repository: String,
    pub tags: Vec<String>,
    pub builder: &'static str,
    pub steps: usize,
    pub cached_steps: usize,
    pub context: ContextStats,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 10.0).round() / 10.0)
}

impl BuiltImage {
    pub fn references(&self) -> Vec<String> {
        self.tags.iter().map(|t| format!("{}:{t}", self.repository)).collect()
    }

    /// "127.0.0.1:5000/api:3f2c1ab… (7 steps, 3 cached; builder: classic)"
    pub fn summary(&self) -> String {
        let first = self.references().into_iter().next().unwrap_or_default();
        format!(
            "{first}  ({} steps, {} cached; builder: {}; context {} in {} files)",
            self.steps,
            self.cached_steps,
            self.builder,
            indicatif::HumanBytes(self.context.bytes),
            self.context.files
        )
    }
}

/// What BuildKit gets besides the context: secrets (read now, so a missing one fails before the build),
/// the SSH agent, caches.
struct KitInputs {
    services: SessionServices,
    cache_from: Vec<String>,
    inline_cache: bool,
}

impl Plan {
    /// BuildKit-only settings in use, by key (for "the classic builder cannot …").
    fn buildkit_only(&self) -> Vec<&'static str> {
        [
            (!self.secrets.is_empty(), "secrets"),
            (self.ssh, "ssh"),
            (!self.cache_from.is_empty(), "cache_from"),
            (!self.cache_to.is_empty(), "cache_to"),
        ]
        .into_iter()
        .filter_map(|(on, k)| on.then_some(k))
        .collect()
    }

    fn kit_inputs(&self) -> Result<KitInputs, CliError> {
        let mut services = SessionServices::default();
        for (id, source) in &self.secrets {
            let value = match (&source.env, &source.file) {
                (Some(var), None) => match std::env::var_os(var) {
                    Some(v) if !v.is_empty() => v.into_encoded_bytes(),
                    _ => {
                        return Err(CliError::usage(format!(
                            "build secret `{id}` comes from the environment variable {var}, which is not set"
                        ))
                        .hint(format!(
                            "export {var}=… (in CI, from the secret store), or remove `{id}` from [build.secrets]"
                        )));
                    }
                },
                (None, Some(file)) => {
                    let path = self.root.join(file);
                    std::fs::read(&path).map_err(|e| {
                        CliError::usage(format!("build secret `{id}`: cannot read {} ({e})", path.display()))
                            .hint(format!("`file` in [build.secrets] {id} is relative to ship.toml"))
                    })?
                }
                _ => {
                    return Err(CliError::usage(format!("build secret `{id}` needs exactly one of `env` or `file`")));
                }
            };
            services.secrets.insert(id.clone(), SecretValue(value));
        }
        if self.ssh {
            match std::env::var_os(crate::env_vars::EnvVars::SSH_AUTH_SOCK).filter(|s| !s.is_empty()) {
                Some(sock) => services.ssh_agent = Some(PathBuf::from(sock)),
                None => {
                    return Err(CliError::usage("`build.ssh = true` needs an SSH agent, but SSH_AUTH_SOCK is not set")
                        .hint("start one (`eval $(ssh-agent)`, `ssh-add`), in CI e.g. webfactory/ssh-agent, or set ssh = false"));
                }
            }
        }
        let mut cache_from = Vec::new();
        for spec in &self.cache_from {
            match crate::build_cache::parse_import(spec) {
                Ok(CacheImport::Registry { reference }) => cache_from.push(reference),
                Err(e) => return Err(CliError::usage(format!("cache_from \"{spec}\": {e}"))),
            }
        }
        let mut inline_cache = false;
        for spec in &self.cache_to {
            match crate::build_cache::parse_export(spec) {
                Ok(CacheExport::Inline) => inline_cache = true,
                Ok(CacheExport::Registry { reference, .. }) => {
                    return Err(CliError::usage(format!(
                        "cache_to \"{spec}\": the Docker engine's BuildKit cannot export a registry cache \
                         (its build API exports only the inline cache)"
                    ))
                    .hint(format!(
                        "use cache_to = [\"type=inline\"] and cache_from = [\"{reference}\"] pointing at a pushed tag \
                         (e.g. {{branch}}); docs/build-and-push.md has a GitHub Actions example"
                    )));
                }
                Err(e) => return Err(CliError::usage(format!("cache_to \"{spec}\": {e}"))),
            }
        }
        Ok(KitInputs { services, cache_from, inline_cache })
    }
}

/// A secret file that is also part of the context would be copied into the image by `COPY . .`.
fn secret_files_in_context(plan: &Plan) -> Vec<String> {
    let Ok(context) = plan.context_dir.canonicalize() else { return Vec::new() };
    let ignore = crate::build_context::DockerIgnore::load(&context).unwrap_or_default();
    plan.secrets
        .iter()
        .filter_map(|(id, source)| {
            let path = plan.root.join(source.file.as_ref()?).canonicalize().ok()?;
            let rel = path.strip_prefix(&context).ok()?.to_string_lossy().replace('\\', "/");
            (!ignore.is_excluded(&rel, false)).then(|| {
                format!(
                    "warning: secret `{id}` ({rel}) is inside the build context and not in .dockerignore: \
                     `COPY . …` would put it in a layer; add it to .dockerignore"
                )
            })
        })
        .collect()
}

/// Which builder runs, and the one line that says why.
async fn choose_builder(plan: &Plan, engine: &Engine) -> Result<(bool, String), CliError> {
    match plan.builder {
        Builder::Classic => Ok((false, "builder: classic (build.builder = \"classic\")".into())),
        Builder::Buildkit => Ok((true, "builder: BuildKit (build.builder = \"buildkit\")".into())),
        Builder::Auto => {
            let support = buildkit::support(engine).await.map_err(|detail| {
                CliError::from(docker::DockerError::Unreachable { host: engine.host.clone(), detail })
            })?;
            if support.buildkit {
                Ok((true, format!("builder: BuildKit ({})", support.reason)))
            } else {
                let needs = plan.buildkit_only();
                if !needs.is_empty() {
                    return Err(CliError::failure(format!(
                        "[build] uses {} but this engine has no BuildKit: {}",
                        needs.join(", "),
                        support.reason
                    ))
                    .hint("use an engine with BuildKit (Docker ≥ 18.09 on Linux; the default since 23.0)"));
                }
                Ok((false, format!("builder: classic ({})", support.reason)))
            }
        }
    }
}

/// Stream the context and build it with BuildKit or the classic builder, then add the remaining tags.
pub async fn run(
    plan: &Plan,
    engine: &Engine,
    options: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<BuiltImage, CliError> {
    let started = Instant::now();
    let excluded: Vec<PathBuf> = state_dir_within(&plan.context_dir, &plan.root).into_iter().collect();
    let context = Context::open(&plan.context_dir, &plan.dockerfile, excluded)?;
    let dockerfile = context.dockerfile.clone();
    let (mut use_kit, why) = choose_builder(plan, engine).await?;
    let inputs = if use_kit {
        let mut inputs = plan.kit_inputs()?;
        inputs.services.credentials.extend(options.credentials.clone());
        Some(inputs)
    } else {
        None
    };
    reporter.line(&why);
    for warning in secret_files_in_context(plan) {
        reporter.line(&warning);
    }
    reporter.status(&format!("sending build context (builder: {})", if use_kit { "BuildKit" } else { "classic" }));
    let (stream, sent, walker) = context.stream();
    let references = plan.references();
    let args: HashMap<String, String> = plan.args.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let labels: HashMap<String, String> = plan.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();

    let mut classic_stream = Some(stream);
    let mut built: Option<Result<BuildOutcome, BuildError>> = None;
    if let Some(inputs) = inputs {
        let request = buildkit::Request {
            dockerfile: &dockerfile,
            dockerfile_text: std::fs::read_to_string(plan.context_dir.join(&dockerfile)).ok(),
            reference: &references[0],
            args: args.clone(),
            labels: labels.clone(),
            target: plan.target.as_deref(),
            platform: plan.platform.as_deref(),
            network: plan.network.as_deref(),
            no_cache: options.no_cache,
            cache_from: inputs.cache_from,
            inline_cache: inputs.inline_cache,
            services: inputs.services,
        };
        let stream = classic_stream.take().expect("not consumed yet");
        match buildkit::build(engine, request, stream, Some(sent.clone()), reporter).await {
            Ok(outcome) => built = Some(Ok(outcome)),
            // Refused before any of the context was read: auto falls back with the same stream.
            Err((BuildError::Refused { message, .. }, Some(stream))) if plan.builder == Builder::Auto => {
                if !plan.buildkit_only().is_empty() {
                    return Err(CliError::failure(format!(
                        "[build] uses {} but the engine refused BuildKit: {message}",
                        plan.buildkit_only().join(", ")
                    ))
                    .hint("use an engine with BuildKit (Docker ≥ 18.09 on Linux; the default since 23.0)"));
                }
                reporter.line(&format!("builder: classic (the engine refused BuildKit: {message})"));
                use_kit = false;
                classic_stream = Some(stream);
            }
            Err((e, _)) => built = Some(Err(e)),
        }
    }
    let built = match (built, classic_stream) {
        (Some(b), _) => b,
        (None, Some(stream)) => {
            let request = BuildRequest {
                dockerfile: &dockerfile,
                reference: &references[0],
                args,
                labels,
                target: plan.target.as_deref(),
                platform: plan.platform.as_deref(),
                network: plan.network.as_deref(),
                no_cache: options.no_cache,
            };
            docker::build(engine, request, stream, Some(sent), reporter).await
        }
        (None, None) => unreachable!("the stream goes to exactly one builder"),
    };
    // The walker ends once the engine has read (or dropped) the whole context.
    let walked = walker.await.map_err(|e| CliError::failure(format!("the build context writer crashed: {e}")))?;
    let stats = match (&built, walked) {
        // A context that could not be read explains the engine's failure better than its "unexpected EOF".
        (_, Err(e)) if !matches!(e, ContextError::Aborted) => return Err(e.into()),
        (_, Ok(stats)) => stats,
        (_, Err(_)) => ContextStats::default(),
    };
    let outcome = built.map_err(|e| build_error(e, plan))?;
    for tag in plan.tags.iter().skip(1) {
        docker::tag(engine, &outcome.image_id, &plan.repository, tag).await?;
    }
    Ok(BuiltImage {
        id: outcome.image_id,
        repository: plan.repository.clone(),
        tags: plan.tags.clone(),
        builder: if use_kit { "buildkit" } else { "classic" },
        steps: outcome.steps,
        cached_steps: outcome.cached_steps,
        context: stats,
        duration: started.elapsed(),
    })
}

fn build_error(e: BuildError, plan: &Plan) -> CliError {
    let tail = e.tail().join("\n");
    let err = CliError::failure(e.to_string());
    let mut err = if tail.is_empty() { err } else { err.detail(tail) };
    let text = e.to_string().to_ascii_lowercase();
    if let Some(platform) = &plan.platform {
        if text.contains("exec format error") {
            err = err.hint(format!(
                "the engine cannot run {platform} programs: install QEMU emulation on its host \
                 (binfmt_misc, e.g. the qemu-user-static package) or build on a {platform} machine"
            ));
        } else if ["platform", "not supported", "no match for"].iter().any(|t| text.contains(t)) {
            err = err.hint(format!("the engine could not build for platform \"{platform}\" (build.platform)"));
        }
    }
    if text.contains("network bridge not found") {
        err = err
            .hint("the engine has no bridge network (dockerd --bridge=none): set build.network = \"host\" or \"none\"");
    }
    if text.contains("dockerfile parse error") && text.contains("unknown flag") {
        err = err.hint(
            "the engine's built-in Dockerfile frontend predates this syntax (Docker 20.10 has Dockerfile 1.2: no \
             COPY --link, no heredocs); use Docker ≥ 23, or start the Dockerfile with `# syntax=docker/dockerfile:1`",
        );
    }
    if text.contains("requires buildkit") {
        err = err.hint("this Dockerfile needs BuildKit: set build.builder = \"auto\" or \"buildkit\" in ship.toml");
    }
    match e {
        BuildError::Api { .. } | BuildError::Refused { .. } => err.hint("check the Docker engine (`shipit doctor`)"),
        _ => err.hint("run with -v to see the full build output"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(dirty: bool, branch: Option<&str>, tag: Option<&str>) -> Commit {
        Commit {
            sha: "3f2c1ab4d5e6f708192a3b4c5d6e7f8091a2b3c4".into(),
            short_sha: "3f2c1ab4d5e6".into(),
            branch: branch.map(String::from),
            author: None,
            message: None,
            tag: tag.map(String::from),
            dirty,
        }
    }

    fn t(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_tags_and_identity() {
        let r = render_tags(&t(&["{sha}", "{short_sha}"]), &commit(false, Some("main"), None), false).unwrap();
        assert_eq!(r.tags, t(&["3f2c1ab4d5e6f708192a3b4c5d6e7f8091a2b3c4", "3f2c1ab4d5e6"]));
        assert_eq!(r.identity.as_deref(), Some("3f2c1ab4d5e6f708192a3b4c5d6e7f8091a2b3c4"));
        assert!(r.notes.is_empty());
    }

    #[test]
    fn dirty_tags_say_so() {
        let r = render_tags(&t(&["{short_sha}", "{branch}"]), &commit(true, Some("feat/x"), None), false).unwrap();
        assert_eq!(r.tags, t(&["3f2c1ab4d5e6-dirty", "feat-x-dirty"]));
        assert_eq!(r.identity.as_deref(), Some("3f2c1ab4d5e6-dirty"));
    }

    #[test]
    fn missing_placeholders_are_skipped_with_a_note() {
        let r = render_tags(&t(&["v{version}", "{branch}-{short_sha}"]), &commit(false, None, None), false);
        let err = r.unwrap_err();
        assert!(err.message.contains("no image tag"), "{}", err.message);
        let r = render_tags(&t(&["{version}", "{sha}"]), &commit(false, None, Some("v1.2.0")), false).unwrap();
        assert_eq!(r.tags[0], "v1.2.0");
        let r = render_tags(&t(&["{version}", "{sha}"]), &commit(false, None, None), false).unwrap();
        assert_eq!(r.tags.len(), 1);
        assert!(r.notes[0].contains("HEAD has no git tag"));
    }

    #[test]
    fn latest_only_when_allowed() {
        let c = commit(false, Some("latest"), None);
        let r = render_tags(&t(&["{sha}", "{branch}"]), &c, false).unwrap();
        assert_eq!(r.tags.len(), 1);
        assert!(r.notes[0].contains("latest"));
        let r = render_tags(&t(&["{sha}", "latest"]), &c, true).unwrap();
        assert_eq!(r.tags[1], "latest");
    }

    #[test]
    fn source_urls() {
        assert_eq!(https_source("git@github.com:acme/api.git").as_deref(), Some("https://github.com/acme/api"));
        assert_eq!(
            https_source("ssh://git@gitlab.acme.dev:2222/team/api.git").as_deref(),
            Some("https://gitlab.acme.dev/team/api")
        );
        assert_eq!(
            https_source("https://x-access-token:ghs_secret@github.com/acme/api.git").as_deref(),
            Some("https://github.com/acme/api")
        );
        assert_eq!(https_source("http://git.acme.dev/api/").as_deref(), Some("https://git.acme.dev/api"));
        assert_eq!(https_source("/tmp/remote.git"), None);
        assert_eq!(https_source("file:///tmp/remote.git"), None);
    }

    #[test]
    fn labels_keep_the_revision() {
        let mut user = BTreeMap::new();
        user.insert("org.opencontainers.image.revision".to_string(), "forged".to_string());
        user.insert("team".to_string(), "payments".to_string());
        let created = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let l = oci_labels(&commit(false, None, Some("v2")), Some("https://github.com/acme/api"), created, &user);
        assert_eq!(l["org.opencontainers.image.revision"], "3f2c1ab4d5e6f708192a3b4c5d6e7f8091a2b3c4");
        assert_eq!(l["org.opencontainers.image.created"], "2023-11-14T22:13:20Z");
        assert_eq!(l["org.opencontainers.image.version"], "v2");
        assert_eq!(l["team"], "payments");
        assert!(!l.contains_key("dev.shipit.dirty"));
    }

    #[test]
    fn local_names() {
        assert_eq!(local_name("My App"), "my-app");
        assert_eq!(local_name("--"), "app");
    }

    #[test]
    fn push_host_replaces_the_host() {
        let cfg: crate::config::Config = toml::from_str(
            r#"
            [app]
            name = "api"
            [registries.ghcr]
            type = "ghcr"
            repository = "ghcr.io/acme/api"
            push_host = "127.0.0.1:5001"
            "#,
        )
        .unwrap();
        let t = RegistryTarget::new("ghcr", cfg.registries["ghcr"].get_ref());
        assert_eq!(t.repository, "ghcr.io/acme/api");
        assert_eq!(t.push_repository(), "127.0.0.1:5001/acme/api");
        assert_eq!(t.path, "acme/api");
    }
}
