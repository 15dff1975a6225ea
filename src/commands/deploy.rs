//! `shipit deploy <env>`: put an already-pushed release (a digest) on an environment.

use crate::cli::DeployArgs;
use crate::config::Loaded;
use crate::deploy::engine;
use crate::deploy::meta;
use crate::deploy::target::Target;
use crate::error::CliError;
use crate::providers::git;
use crate::release::{ImageRef, Release};
use crate::rollout::{DeployMeta, DeployOptions};
use crate::settings::Settings;

pub async fn run(args: DeployArgs, settings: &Settings) -> Result<(), CliError> {
    let ui = &settings.ui;
    let loaded = settings.load_config()?;
    let env = loaded.environment(&args.environment)?;
    let gate =
        crate::evidence::gate::Gate::for_env(&loaded, env, args.force, args.reason.as_deref(), &crate::report::Silent)
            .await?;
    let (image, commit) = resolve_image(&args, &loaded, settings, &gate).await?;
    let target = Target::connect(&args.environment, env, &loaded.config.app.name).await?;

    let request = engine::Request {
        env_name: &args.environment,
        env,
        target: &target,
        change: engine::Change::Deploy(&image),
        meta: DeployMeta {
            cause: format!("shipit deploy {} {}", args.environment, meta::short_commit(&commit)),
            commit: commit.clone(),
            deployer: meta::deployer(),
            summary: None,
        },
        opts: DeployOptions {
            force: args.force,
            timeout: env.timeout.get(),
            auto_rollback: env.auto_rollback,
            wait_merge: args.lock.wait_merge,
        },
        lock: (&args.lock).into(),
        command: format!("shipit deploy {}", args.environment),
        root: &loaded.root,
        evidence: &gate,
        sources: &crate::pipeline::screen::Sources::new(&loaded),
        announce: &crate::deploy::announce::Announcer::new(&loaded),
    };
    let report = engine::run(ui, request, |live| {
        if crate::pipeline::plan::deploy_is_noop(live, &image.digest, args.force) {
            return Ok(engine::Decision::Skip(format!(
                "{} already runs {} — nothing to do (--force deploys again)",
                args.environment,
                image.short_digest()
            )));
        }
        Ok(engine::Decision::Approve { question: format!("Deploy to {}?", args.environment) })
    })
    .await?;
    let Some(report) = report else {
        if ui.json() {
            ui.print_json(&serde_json::json!({
                "environment": args.environment, "image": image.pinned(), "result": "unchanged"
            }));
        }
        return Ok(());
    };
    // The rollout is done; a file that cannot be written is worth a warning, not a failed deploy.
    match crate::providers::ecs::write_environment_image_definitions(&loaded.root, env, &loaded.config.app.name, &image)
    {
        Ok(Some(path)) => ui.info(format!("wrote {}", path.display())),
        Ok(None) => {}
        Err(e) => ui.warn(e.message),
    }
    if ui.json() {
        ui.print_json(&report);
    }
    Ok(())
}

/// The image to deploy: an explicit `--image`, a `--digest` in the environment's registry, or the release
/// record `shipit push` wrote for HEAD.
async fn resolve_image(
    args: &DeployArgs,
    loaded: &Loaded,
    settings: &Settings,
    gate: &crate::evidence::gate::Gate,
) -> Result<(ImageRef, String), CliError> {
    let env = loaded.environment(&args.environment)?;
    if let Some(image) = &args.image {
        let parsed = ImageRef::parse_pinned(image).ok_or_else(|| {
            CliError::usage(format!("`{image}` is not pinned by digest"))
                .hint("shipit only deploys immutable references: REPO@sha256:<64 hex>")
        })?;
        return Ok((parsed, "unknown".into()));
    }
    let (registry_name, registry) = loaded
        .registry_for(env)
        .ok_or_else(|| CliError::usage(format!("environment `{}` has no registry", args.environment)))?;
    if let Some(digest) = &args.digest {
        let digest = if digest.starts_with("sha256:") { digest.clone() } else { format!("sha256:{digest}") };
        let image = ImageRef::parse_pinned(&format!("{}@{digest}", registry.repository.get_ref()))
            .ok_or_else(|| CliError::usage(format!("`{digest}` is not a full sha256 digest (64 hex characters)")))?;
        return Ok((image, "unknown".into()));
    }
    let head = git::head_commit(&settings.cwd)?;
    let Some(release) = Release::for_commit_in(&loaded.root, &head.sha, registry_name) else {
        // A fresh checkout (a deploy job on another runner) has no record: ask the registry for this commit's tag.
        return from_registry(args, loaded, registry_name, gate, &head).await;
    };
    if release.registry != registry_name {
        return Err(CliError::usage(format!(
            "the release of {} was pushed to registry `{}`, but `{}` deploys from `{registry_name}`",
            head.short_sha, release.registry, args.environment
        ))
        .hint(format!("run `shipit push --registry {registry_name}`")));
    }
    if release.commit.dirty && !args.force {
        return Err(CliError::usage(format!(
            "the release of {} was built from uncommitted changes (--allow-dirty)",
            head.short_sha
        ))
        .hint("commit and `shipit push` again, or pass --force to deploy it anyway"));
    }
    // Whether it may be deployed is the evidence gate's question (the engine's first step), asked of the
    // registry, not of this record.
    Ok((release.image, release.commit.sha))
}

async fn from_registry(
    args: &DeployArgs,
    loaded: &Loaded,
    registry_name: &str,
    gate: &crate::evidence::gate::Gate,
    head: &crate::release::Commit,
) -> Result<(ImageRef, String), CliError> {
    let no_release = || {
        CliError::usage(format!("no pushed release for commit {} (HEAD)", head.short_sha)).hint(format!(
            "run `shipit push` first, or `shipit ship {}` to build, scan, push and deploy in one go",
            args.environment
        ))
    };
    let plan = crate::pipeline::build::Plan::resolve(loaded, Some(registry_name), true)?;
    let (Some(tag), false) = (plan.identity_tag.as_deref(), plan.commit.dirty) else { return Err(no_release()) };
    let own;
    let session = match &gate.session {
        Ok(s) => s,
        Err(_) => {
            let (name, reg) = loaded.registry_for(loaded.environment(&args.environment)?).ok_or_else(no_release)?;
            own = crate::pipeline::push::connect_target(
                crate::pipeline::build::RegistryTarget::new(name, reg),
                &crate::report::Silent,
            )
            .await?;
            &own
        }
    };
    let digest = session.client.manifest_digest(&session.target.path, tag, &crate::report::Silent).await?;
    let digest = digest.ok_or_else(no_release)?;
    Ok((ImageRef { repository: session.target.repository.clone(), digest }, head.sha.clone()))
}
