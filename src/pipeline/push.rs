//! The push stage: find credentials and prove the registry accepts them before anything is built, skip the
//! whole build when the registry already holds this commit, push every tag through the engine with retries,
//! and read the manifest digest back from the registry. The digest is the release's identity from here on.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::config::{RegistryKind, ecr_region};
use crate::error::CliError;
use crate::pipeline::build::{BuiltImage, Plan, RegistryTarget};
use crate::providers::credentials::{self, RegistryAuth};
use crate::providers::docker::{self, Engine, PushError, PushOutcome};
use crate::providers::registry::{self, Access};
use crate::providers::{aws, ecr};
use crate::release::{ImageRef, Release};
use crate::report::Reporter;

/// A registry that answered and accepted our credentials.
pub struct Session {
    pub target: RegistryTarget,
    pub auth: Option<RegistryAuth>,
    pub client: registry::Client,
    pub access: Access,
}

impl Session {
    /// "127.0.0.1:5001 accepts shipit (GITHUB_TOKEN)" — names where the credentials came from, never them.
    pub fn describe(&self) -> String {
        match &self.access {
            Access::Open => format!("{} answers (no credentials needed)", self.target.push_host),
            Access::Authenticated { user, source } => {
                let who = if user.is_empty() { "the token".to_string() } else { format!("user {user}") };
                format!("{} accepts {who} (from {source})", self.target.push_host)
            }
        }
    }
}

/// What to tell a user whose registry wants credentials we lack or rejected.
fn credentials_hint(t: &RegistryTarget) -> String {
    let c = &t.config;
    match (c.kind, c.password_env.as_ref()) {
        (_, Some(var)) => format!("set {var} to the password or token of the registry user"),
        (RegistryKind::Ecr, None) => {
            "shipit logs in with ECR GetAuthorizationToken; check the AWS identity (AWS_PROFILE, `aws sso login`) and its ecr:* permissions".into()
        }
        (RegistryKind::Ghcr, None) => {
            "set GITHUB_TOKEN or GH_TOKEN to a token with write:packages (in Actions: `permissions: packages: write`), or run `gh auth login`".into()
        }
        (RegistryKind::Oci, None) => format!(
            "add `username` and `password_env` to [registries.{}] in ship.toml, or run `docker login {}`",
            t.name, t.push_host
        ),
    }
}

/// Resolve credentials (ECR: log in, and create the repository if asked) and check that the registry
/// answers and accepts them. Fails in seconds, before any build.
pub async fn connect(plan: &Plan, reporter: &dyn Reporter) -> Result<Session, CliError> {
    let target = plan.registry.clone().ok_or_else(|| {
        CliError::usage("ship.toml defines no registry to push to")
            .hint("add a [registries.<name>] table (type = \"ecr\", \"ghcr\" or \"oci\"); see `shipit init`")
    })?;
    connect_target(target, reporter).await
}

/// `connect` for a registry named in ship.toml, without a build plan (deploys read evidence through it).
pub async fn connect_target(target: RegistryTarget, reporter: &dyn Reporter) -> Result<Session, CliError> {
    let c = &target.config;
    let auth = match c.kind {
        RegistryKind::Ecr => {
            let region = c.region.as_deref().or_else(|| ecr_region(&target.repository));
            let sdk = aws::sdk_config(region, c.endpoint_url.as_deref()).await;
            reporter.status("ECR: GetAuthorizationToken");
            let auth = ecr::login(&sdk).await?;
            reporter.status(&format!("ECR: checking repository {}", target.path));
            match ecr::ensure_repository(&sdk, ecr::account_id(&target.repository), &target.path, c.create_repository)
                .await
            {
                Ok(ecr::RepositoryState::Created) => reporter.line(&format!("created ECR repository {}", target.path)),
                Ok(ecr::RepositoryState::Exists) => {}
                // Push-only roles may not describe repositories; the push itself will tell if it is missing.
                Err(ecr::EcrError::Api { code: Some(code), detail, .. })
                    if code.contains("AccessDenied") && !c.create_repository =>
                {
                    reporter.line(&format!("cannot check ECR repository {}: {detail}; pushing anyway", target.path))
                }
                Err(e) => return Err(e.into()),
            }
            Some(auth)
        }
        _ => credentials::resolve(&target.name, c, &target.push_host, &credentials::Lookup::from_env())?,
    };
    let client = registry::Client::new(&target.push_host, c.insecure, auth.clone(), credentials_hint(&target));
    reporter.status(&format!("checking {}", target.push_host));
    let access = client.check(&target.path, reporter).await?;
    Ok(Session { target, auth, client, access })
}

/// The image the registry already holds for this commit (`<repo>:<identity tag>`), if any. A dirty build is
/// never "already there".
pub async fn existing(session: &Session, plan: &Plan, reporter: &dyn Reporter) -> Result<Option<ImageRef>, CliError> {
    if plan.commit.dirty {
        return Ok(None);
    }
    let Some(tag) = &plan.identity_tag else { return Ok(None) };
    reporter.status(&format!("looking for {}:{tag}", session.target.push_repository()));
    let digest = session.client.manifest_digest(&session.target.path, tag, reporter).await?;
    Ok(digest.map(|digest| ImageRef { repository: session.target.repository.clone(), digest }))
}

/// How often and how patiently a failed push is repeated (the registry keeps the layers that made it, so
/// a retry only sends what is missing).
#[derive(Debug, Clone, Copy)]
pub struct PushRetry {
    pub attempts: u32,
    pub first_delay: Duration,
}

impl Default for PushRetry {
    fn default() -> Self {
        PushRetry { attempts: 4, first_delay: Duration::from_secs(1) }
    }
}

/// Totals of a push, for the summary line.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PushTotals {
    pub layers_uploaded: usize,
    pub layers_existing: usize,
    pub bytes_uploaded: u64,
    pub attempts: u32,
}

/// Push every tag of `built`, read the digest back from the registry, and save the release record
/// (`.shipit/releases/<sha>.json`; save it again after adding a scan summary).
pub async fn run(
    session: &Session,
    plan: &Plan,
    engine: &Engine,
    built: &BuiltImage,
    reporter: &dyn Reporter,
) -> Result<(Release, PushTotals), CliError> {
    let started = Instant::now();
    let push_repo = session.target.push_repository();
    let host = &session.target.push_host;
    let mut totals = PushTotals::default();
    let path = &session.target.path;

    // The first tag goes through the engine, which uploads the layers and the manifest.
    let first = &built.tags[0];
    reporter.status(&format!("pushing {push_repo}:{first}"));
    let (outcome, attempts) =
        push_with_retries(session, engine, &push_repo, first, PushRetry::default(), reporter).await?;
    totals.attempts = attempts;
    totals.layers_uploaded = outcome.layers_uploaded;
    totals.layers_existing = outcome.layers_existing;
    totals.bytes_uploaded = outcome.bytes_uploaded;

    // The digest is the registry's answer, not the engine's claim.
    reporter.status(&format!("reading the manifest of {push_repo}:{first} from {host}"));
    let manifest = session.client.get_manifest(path, first, reporter).await?.ok_or_else(|| {
        CliError::failure(format!("registry {host} has no manifest for {push_repo}:{first} right after pushing it"))
            .hint("the registry may be eventually consistent or misbehaving; run `shipit push` again")
    })?;
    let digest = manifest.digest.clone();
    if let Some(pushed) = outcome.digest.as_ref().filter(|d| **d != digest) {
        return Err(CliError::failure(format!(
            "registry {host} holds {digest} for {push_repo}:{first}, but the engine pushed {pushed}"
        ))
        .hint("another push to the same tag raced this one; run `shipit push --rebuild` again"));
    }

    // Other tags name the same manifest: put it under each tag directly (one request instead of another
    // engine push that re-checks every layer). Should the registry refuse, the engine does it.
    for tag in built.tags.iter().skip(1) {
        reporter.status(&format!("tagging {push_repo}:{tag}"));
        match session.client.put_manifest(path, tag, &manifest, reporter).await {
            Ok(d) if d == digest => continue,
            Ok(d) => reporter.line(&format!("registry {host} stored {d} for tag {tag}; pushing it through the engine")),
            Err(e) => reporter
                .line(&format!("tagging {tag} through the registry API failed ({e}); pushing it through the engine")),
        }
        push_with_retries(session, engine, &push_repo, tag, PushRetry::default(), reporter).await?;
        let tagged = session.client.manifest_digest(path, tag, reporter).await?;
        if tagged.as_deref() != Some(digest.as_str()) {
            return Err(CliError::failure(format!(
                "registry {host} holds {} for {push_repo}:{tag}, expected {digest}",
                tagged.as_deref().unwrap_or("nothing")
            ))
            .hint("another push to the same tag raced this one; run `shipit push --rebuild` again"));
        }
    }

    let mut durations = BTreeMap::new();
    durations.insert("build".to_string(), round(built.duration.as_secs_f64()));
    durations.insert("push".to_string(), round(started.elapsed().as_secs_f64()));
    let release = Release {
        app: plan.app.clone(),
        commit: plan.commit.clone(),
        registry: session.target.name.clone(),
        image: ImageRef { repository: session.target.repository.clone(), digest },
        tags: built.tags.clone(),
        created: Utc::now(),
        durations,
        scan: None,
    };
    save(plan, &release)?;
    Ok((release, totals))
}

/// The release record for an image the registry already held (skip-when-exists). An existing record for
/// the same image is kept as is (it may carry a scan summary).
pub fn record_existing(plan: &Plan, registry: &str, image: ImageRef) -> Result<Release, CliError> {
    if let Some(r) = Release::for_commit_in(&plan.root, &plan.commit.sha, registry)
        && r.image == image
    {
        return Ok(r);
    }
    let release = Release {
        app: plan.app.clone(),
        commit: plan.commit.clone(),
        registry: registry.to_string(),
        image,
        tags: plan.tags.clone(),
        created: Utc::now(),
        durations: BTreeMap::new(),
        scan: None,
    };
    save(plan, &release)?;
    Ok(release)
}

/// Save the record (`Release::save` also keeps `.shipit/` out of `git status`).
pub fn save(plan: &Plan, release: &Release) -> Result<PathBuf, CliError> {
    release.save(&plan.root)
}

fn round(secs: f64) -> f64 {
    (secs * 10.0).round() / 10.0
}

async fn push_with_retries(
    session: &Session,
    engine: &Engine,
    repository: &str,
    tag: &str,
    retry: PushRetry,
    reporter: &dyn Reporter,
) -> Result<(PushOutcome, u32), CliError> {
    let host = &session.target.push_host;
    let mut delay = retry.first_delay;
    let mut attempt = 1;
    loop {
        match docker::push(engine, repository, tag, session.auth.as_ref(), host, reporter).await {
            Ok(outcome) => return Ok((outcome, attempt)),
            Err(e) if e.is_transient() && attempt < retry.attempts => {
                reporter.line(&format!(
                    "push to {host} failed ({e}); retrying in {}s (attempt {}/{})",
                    delay.as_secs_f64(),
                    attempt + 1,
                    retry.attempts
                ));
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(e) => return Err(push_error(e, session, repository, tag, attempt)),
        }
    }
}

fn push_error(e: PushError, session: &Session, repository: &str, tag: &str, attempts: u32) -> CliError {
    let host = &session.target.push_host;
    let tries = if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() };
    let err = CliError::failure(format!("push of {repository}:{tag} to registry {host} failed{tries}: {e}"));
    let lower = e.to_string().to_ascii_lowercase();
    if lower.contains("unauthorized") || lower.contains("denied") || lower.contains("authentication required") {
        err.hint(credentials_hint(&session.target))
    } else if matches!(e, PushError::Api { .. }) {
        err.hint("check the Docker engine (`shipit doctor`)")
    } else if e.is_transient() {
        err.hint(format!(
            "registry {host} kept failing; check its status and run `shipit push` again (layers already sent are kept)"
        ))
    } else {
        err
    }
}
