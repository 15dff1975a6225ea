//! `shipit ship <env>…`: the whole pipeline for HEAD — check, build, scan, push, then approve and deploy each
//! environment in order. It plans first (the same plan `shipit plan` prints), then executes it.

use serde::Serialize;

use crate::ci;
use crate::cli::ShipArgs;
use crate::config::{Environment, Loaded};
use crate::deploy::engine::{self, Change, DeployReport};
use crate::deploy::meta;
use crate::deploy::target::Target;
use crate::error::CliError;
use crate::pipeline::build::{self as build_stage, BuildOptions};
use crate::pipeline::check::{self, CheckOptions, CheckReport};
use crate::pipeline::plan::{self, EnvFacts, Facts};
use crate::pipeline::{approve, push, scan};
use crate::providers::docker::{self, Engine};
use crate::release::{ImageRef, Release, ScanSummary};
use crate::report::Reporter;
use crate::rollout::{DeployMeta, DeployOptions, LiveState, LockRecord};
use crate::settings::Settings;
use crate::ui::Ui;

/// One environment, resolved and connected.
struct Env<'a> {
    name: &'a str,
    env: &'a Environment,
    target: Result<Target, CliError>,
    live: Result<Option<LiveState>, CliError>,
    lock: Option<LockRecord>,
}

#[derive(Serialize)]
struct ShipReport<'a> {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<serde_json::Value>,
    release: &'a Release,
    check: &'a CheckReport,
    deploys: &'a [DeployReport],
}

pub async fn run(args: ShipArgs, settings: &Settings) -> Result<(), CliError> {
    let ui = &settings.ui;
    let loaded = settings.load_config()?;
    let registries = registries_for(&loaded, &args.environments)?;
    let registry = registries[0].clone();
    // A clean tree is part of the check stage; the build plan must not refuse it first with another message.
    let build_plan = build_stage::Plan::resolve(&loaded, Some(&registry), true)?;

    // Learn about the world: the registry (and whether it already has this commit), each environment.
    let probe = ui.stage("plan");
    let session = push::connect(&build_plan, &probe).await;
    let existing = match (&session, args.rebuild) {
        (Ok(s), false) => push::existing(s, &build_plan, &probe).await,
        _ => Ok(None),
    };
    // Environments that deploy from other registries (ECR for ECS, GHCR for Kubernetes): the same image is
    // pushed there too, once per registry, each with its own record and evidence.
    let mut others = Vec::new();
    for name in &registries[1..] {
        let plan = build_stage::Plan::resolve(&loaded, Some(name), true)?;
        let session = push::connect(&plan, &probe).await;
        let existing = match (&session, args.rebuild) {
            (Ok(s), false) => push::existing(s, &plan, &probe).await,
            _ => Ok(None),
        };
        others.push(OtherRegistry { name: name.clone(), plan, session, existing });
    }
    let mut envs = Vec::new();
    for name in &args.environments {
        let env = loaded.environment(name)?;
        probe.status(&format!("asking {name} what it runs"));
        let target = Target::connect(name, env, &loaded.config.app.name).await;
        let live = match &target {
            Ok(t) => t.live().await,
            Err(e) => Err(e.clone()),
        };
        // Only to warn early: the lock itself is taken right before the deploy.
        let lock = match &target {
            Ok(t) => t.read_lock().await.ok().flatten(),
            Err(_) => None,
        };
        envs.push(Env { name, env, target, live, lock });
    }
    let facts = Facts {
        config: &loaded.config,
        commit: &build_plan.commit,
        registry: &registry,
        references: build_plan.references(),
        existing: existing.as_ref().ok().cloned().flatten(),
        registry_probe: match (&session, &existing) {
            (Err(e), _) | (_, Err(e)) => Err(e.message.clone()),
            _ => Ok(()),
        },
        also_push: others
            .iter()
            .map(|o| plan::AlsoPush {
                registry: o.name.clone(),
                reference: o.plan.references().into_iter().next().unwrap_or_default(),
                existing: o.existing.as_ref().ok().cloned().flatten(),
                probe: match (&o.session, &o.existing) {
                    (Err(e), _) | (_, Err(e)) => Err(e.message.clone()),
                    _ => Ok(()),
                },
            })
            .collect(),
        skip_scan: args.skip_scan.then_some(args.reason.as_deref().unwrap_or_default()),
        assume_yes: ui.assume_yes,
        force: args.force,
        wait_lock: args.lock.wait_lock,
        environments: envs
            .iter()
            .map(|e| EnvFacts {
                name: e.name,
                env: e.env,
                target: e
                    .target
                    .as_ref()
                    .map(Target::describe)
                    .unwrap_or_else(|err| format!("unreachable ({})", err.message)),
                live: e.live.clone().map_err(|err| err.message),
                approved_by_env: approve::approved_by_env(e.name),
                lock: e.lock.clone(),
            })
            .collect(),
    };
    let the_plan = plan::make(&facts);
    if args.dry_run {
        probe.ok(format!(
            "{} on {}",
            build_plan.commit.short_sha,
            build_plan.commit.branch.as_deref().unwrap_or("detached HEAD")
        ));
        if ui.json() {
            ui.print_json(&the_plan);
        } else {
            ui.print_data(the_plan.render());
            print_screens(
                ui,
                &loaded,
                &envs,
                existing.as_ref().ok().cloned().flatten().as_ref(),
                &build_plan.commit.sha,
                args.force,
            )
            .await;
        }
        return Ok(());
    }
    probe.ok(format!("{} stage(s) to run", the_plan.steps.iter().filter(|s| s.skipped.is_none()).count()));

    // Nothing below may start against an unusable registry or an unreachable environment.
    let session = session?;
    let existing = existing?;
    let others: Vec<ReadyRegistry> = others
        .into_iter()
        .map(|o| {
            let context = |e: CliError| e.context(format!("registry `{}`", o.name));
            Ok(ReadyRegistry {
                session: o.session.map_err(context)?,
                existing: o.existing.map_err(context)?,
                name: o.name,
                plan: o.plan,
            })
        })
        .collect::<Result<_, CliError>>()?;
    for e in &envs {
        if let Err(err) = &e.target {
            return Err(err.clone().context(format!("environment `{}`", e.name)));
        }
        if let Err(err) = &e.live {
            return Err(err.clone().context(format!("environment `{}`: cannot read what runs there", e.name)));
        }
    }

    // 1. commit check — once per distinct branch rule, so every environment's `branches` is honoured.
    let stage = ui.stage("check");
    let mut rules: Vec<Option<&[crate::config::IString]>> = Vec::new();
    for e in &envs {
        let rule = e.env.branches.as_deref();
        if !rules.contains(&rule) {
            rules.push(rule);
        }
    }
    let opts = CheckOptions { wait: args.wait_checks, ..Default::default() };
    let mut report = None;
    for rule in rules {
        match check::run(&loaded, rule, &opts, &stage).await {
            Ok(r) => report = Some(r),
            Err(e) => {
                stage.fail("the commit may not ship");
                return Err(e);
            }
        }
    }
    let report = report.expect("at least one environment");
    stage.ok(report.headline());

    // 2–4. build, scan, push (build and push skipped when the registry already has this commit)
    let mut built_here = None;
    let release = match existing {
        Some(image) => {
            ui.stage("build").skipped(format!("already in the registry as {}", image.short_digest()));
            let scan = scan_pushed(ui, &loaded, &build_plan, &session, &image, &args).await?;
            ui.stage("push").skipped(format!("{} (nothing to push)", image.pinned()));
            let mut release = push::record_existing(&build_plan, &registry, image)?;
            release.scan = Some(scan);
            push::save(&build_plan, &release)?;
            super::push::attach_evidence(settings, &loaded, &session, &release).await?;
            release
        }
        None => {
            let engine = Engine::connect(None).await?;
            let stage = ui.stage("build");
            let options = BuildOptions::default().with_registry(&session.target.push_host, session.auth.as_ref());
            let built = match build_stage::run(&build_plan, &engine, &options, &stage).await {
                Ok(b) => b,
                Err(e) => {
                    stage.fail("failed");
                    return Err(e);
                }
            };
            stage.ok(built.summary());
            let scan = run_scan(ui, &loaded, &built.references()[0], &build_plan.commit.sha, &args).await?;
            let mut release = push_stage(ui, &session, &build_plan, &engine, &built).await?;
            release.scan = Some(scan);
            push::save(&build_plan, &release)?;
            super::push::attach_evidence(settings, &loaded, &session, &release).await?;
            built_here = Some(built);
            release
        }
    };
    let mut releases = vec![release.clone()];
    for o in &others {
        releases.push(push_to(settings, &loaded, o, built_here.as_ref(), &release).await?);
    }
    if let Err(e) = ci::set_outputs(&[("image", &release.image.pinned()), ("digest", &release.image.digest)]) {
        ui.warn(format!("cannot write the GitHub Actions outputs: {e}"));
    }

    // 5–6. approve and deploy, environment by environment
    let mut deploys = Vec::new();
    let result = deploy_all(ui, &loaded, &envs, &releases, &args, &mut deploys).await;
    write_summary(ui, &release, &report, &deploys, result.as_ref().err());
    if ui.json() {
        ui.print_json(&ShipReport {
            ok: result.is_ok(),
            error: result.as_ref().err().map(crate::ui::error_json),
            release: &release,
            check: &report,
            deploys: &deploys,
        });
    }
    result.map_err(|e| if ui.json() { e.json_printed() } else { e })
}

/// `plan` shows the approval screen of each environment that would be asked, without asking.
async fn print_screens(
    ui: &Ui,
    loaded: &Loaded,
    envs: &[Env<'_>],
    image: Option<&ImageRef>,
    commit: &str,
    force: bool,
) {
    let sources = crate::pipeline::screen::Sources::new(loaded);
    for e in envs {
        let (Ok(target), Ok(live)) = (&e.target, &e.live) else { continue };
        if e.env.approval == crate::config::Approval::None
            || image.is_some_and(|i| plan::deploy_is_noop(live.as_ref(), &i.digest, force))
        {
            continue;
        }
        let Ok(gate) = crate::evidence::gate::Gate::for_env(loaded, e.env, false, None, &crate::report::Silent).await
        else {
            continue;
        };
        let incoming = crate::pipeline::screen::Incoming {
            change: "deploy",
            image,
            image_text: "(the image this ship builds)".into(),
            commit: Some(commit),
            revision: None,
        };
        let checked = crate::evidence::gate::Checked::default();
        let screen =
            crate::pipeline::screen::gather(&sources, e.name, target, live.as_ref(), incoming, &checked, &gate).await;
        ui.print_data(crate::pipeline::screen::text(&screen));
    }
}

async fn deploy_all(
    ui: &Ui,
    loaded: &Loaded,
    envs: &[Env<'_>],
    releases: &[Release],
    args: &ShipArgs,
    deploys: &mut Vec<DeployReport>,
) -> Result<(), CliError> {
    let sources = crate::pipeline::screen::Sources::new(loaded);
    let announce = crate::deploy::announce::Announcer::new(loaded);
    for e in envs {
        let target = e.target.as_ref().map_err(Clone::clone)?;
        // Each environment deploys the digest in its own registry.
        let registry = loaded.registry_for(e.env).map(|(name, _)| name);
        let release = releases.iter().find(|r| Some(r.registry.as_str()) == registry).unwrap_or(&releases[0]);
        let reason = if args.force { args.reason.as_deref() } else { None };
        let gate =
            crate::evidence::gate::Gate::for_env(loaded, e.env, args.force, reason, &crate::report::Silent).await?;
        let request = engine::Request {
            env_name: e.name,
            env: e.env,
            target,
            change: Change::Deploy(&release.image),
            meta: DeployMeta {
                commit: release.commit.sha.clone(),
                deployer: meta::deployer(),
                cause: format!("shipit ship {} {}", e.name, release.commit.short_sha),
                summary: None,
            },
            opts: DeployOptions {
                force: args.force,
                timeout: e.env.timeout.get(),
                auto_rollback: e.env.auto_rollback,
                wait_merge: args.lock.wait_merge,
            },
            lock: (&args.lock).into(),
            command: format!("shipit ship {}", e.name),
            root: &loaded.root,
            evidence: &gate,
            sources: &sources,
            announce: &announce,
        };
        let report = engine::run(ui, request, |live| {
            if plan::deploy_is_noop(live, &release.image.digest, args.force) {
                return Ok(engine::Decision::Skip(format!("{} already runs {}", e.name, release.image.short_digest())));
            }
            Ok(engine::Decision::Approve { question: format!("Deploy to {}?", e.name) })
        })
        .await?;
        let Some(report) = report else { continue };
        deploys.push(report);
        // CodePipeline-style consumers read the image from imagedefinitions.json (ECS environments that ask).
        // The rollout is done; a file that cannot be written is worth a warning, not a failed deploy.
        match crate::providers::ecs::write_environment_image_definitions(
            &loaded.root,
            e.env,
            &loaded.config.app.name,
            &release.image,
        ) {
            Ok(Some(path)) => ui.info(format!("wrote {}", path.display())),
            Ok(None) => {}
            Err(err) => ui.warn(format!("{}: {}", e.name, err.message)),
        }
    }
    Ok(())
}

/// The push stage: push `built` to the session's registry and say what went up.
async fn push_stage(
    ui: &Ui,
    session: &push::Session,
    plan: &build_stage::Plan,
    engine: &Engine,
    built: &build_stage::BuiltImage,
) -> Result<Release, CliError> {
    let stage = ui.stage("push");
    match push::run(session, plan, engine, built, &stage).await {
        Ok((release, totals)) => {
            stage.ok(format!(
                "{}  ({} layer(s) uploaded, {})",
                release.image.pinned(),
                totals.layers_uploaded,
                indicatif::HumanBytes(totals.bytes_uploaded)
            ));
            Ok(release)
        }
        Err(e) => {
            stage.fail(format!("registry `{}`", session.target.name));
            Err(e)
        }
    }
}

/// The registries the environments deploy from, in the order the environments are named; the first is where
/// the image is built for and scanned.
fn registries_for(loaded: &Loaded, names: &[String]) -> Result<Vec<String>, CliError> {
    let mut registries: Vec<String> = Vec::new();
    for name in names {
        let env = loaded.environment(name)?;
        let (reg, _) = loaded
            .registry_for(env)
            .ok_or_else(|| CliError::usage(format!("environment `{name}` has no registry to deploy from")))?;
        if !registries.iter().any(|r| r == reg) {
            registries.push(reg.to_string());
        }
    }
    if registries.is_empty() {
        return Err(CliError::usage("name at least one environment"));
    }
    Ok(registries)
}

/// Another registry the environments deploy from, as probed for the plan.
struct OtherRegistry {
    name: String,
    plan: build_stage::Plan,
    session: Result<push::Session, CliError>,
    existing: Result<Option<ImageRef>, CliError>,
}

struct ReadyRegistry {
    name: String,
    plan: build_stage::Plan,
    session: push::Session,
    existing: Option<ImageRef>,
}

/// Put the release in one more registry: what it already holds for this commit, else the image built in this
/// run (tagged under that registry's name too), else a build for it (the first registry had the commit, so
/// nothing was built). The scan verdict is the first registry's: the same image, bound by its image id.
async fn push_to(
    settings: &Settings,
    loaded: &Loaded,
    o: &ReadyRegistry,
    built: Option<&build_stage::BuiltImage>,
    first: &Release,
) -> Result<Release, CliError> {
    let ui = &settings.ui;
    if let Some(image) = &o.existing {
        ui.stage("push").skipped(format!("{} (registry `{}` already has it)", image.pinned(), o.name));
        let mut release = push::record_existing(&o.plan, &o.name, image.clone())?;
        release.scan = first.scan.clone();
        push::save(&o.plan, &release)?;
        super::push::attach_evidence(settings, loaded, &o.session, &release).await?;
        return Ok(release);
    }
    let engine = Engine::connect(None).await?;
    let built = match built {
        Some(b) => {
            for tag in &b.tags {
                docker::tag(&engine, &b.id, &o.plan.repository, tag).await?;
            }
            build_stage::BuiltImage { repository: o.plan.repository.clone(), ..b.clone() }
        }
        None => {
            let stage = ui.stage("build");
            let options = BuildOptions::default().with_registry(&o.session.target.push_host, o.session.auth.as_ref());
            match build_stage::run(&o.plan, &engine, &options, &stage).await {
                Ok(b) => {
                    stage.ok(b.summary());
                    b
                }
                Err(e) => {
                    stage.fail("failed");
                    return Err(e);
                }
            }
        }
    };
    let mut release = push_stage(ui, &o.session, &o.plan, &engine, &built).await?;
    if release.image.digest != first.image.digest {
        ui.warn(format!(
            "registry `{}` stored {} for this commit, registry `{}` {}: the engine pushed different manifests",
            o.name,
            release.image.short_digest(),
            first.registry,
            first.image.short_digest()
        ));
    }
    release.scan = first.scan.clone();
    push::save(&o.plan, &release)?;
    super::push::attach_evidence(settings, loaded, &o.session, &release).await?;
    Ok(release)
}

async fn run_scan(ui: &Ui, loaded: &Loaded, image: &str, sha: &str, args: &ShipArgs) -> Result<ScanSummary, CliError> {
    if args.skip_scan {
        let reason = args.reason.as_deref().unwrap_or_default();
        let summary = scan::skip(loaded, Some(sha), reason)?;
        ui.stage("scan").warn(format!("SKIPPED: {} (recorded in the release)", reason.trim()));
        return Ok(summary);
    }
    let stage = ui.stage("scan");
    match scan::run(loaded, image, sha, &stage).await {
        Ok(summary) if summary.skipped_reason.is_some() => {
            stage.warn(format!("skipped: {}", summary.skipped_reason.as_deref().unwrap_or_default()));
            Ok(summary)
        }
        Ok(summary) => {
            stage.ok(describe_scan(&summary));
            Ok(summary)
        }
        Err(e) => {
            stage.fail("findings block the release");
            Err(e)
        }
    }
}

/// The registry already has this commit: reuse the scan that gated it when this machine made it, otherwise pull
/// the pushed image and scan it, so an image never reaches an environment unscanned.
async fn scan_pushed(
    ui: &Ui,
    loaded: &Loaded,
    build_plan: &build_stage::Plan,
    session: &push::Session,
    image: &ImageRef,
    args: &ShipArgs,
) -> Result<ScanSummary, CliError> {
    let sha = &build_plan.commit.sha;
    if !args.skip_scan
        && let Some(prev) = Release::for_commit(&loaded.root, sha)
        && prev.image == *image
        && let Some(summary) = prev.scan.filter(|s| s.passed && s.skipped_reason.is_none())
    {
        ui.stage("scan").ok(format!("{} (scanned when it was pushed)", describe_scan(&summary)));
        return Ok(summary);
    }
    if !args.skip_scan && loaded.config.scan.enabled {
        let engine = Engine::connect(None).await?;
        let stage = ui.stage("scan");
        stage.status(&format!("pulling {} to scan it", image.pinned()));
        let pulled = docker::pull(&engine, &image.pinned(), session.auth.as_ref(), &stage).await;
        drop(stage);
        if let Err(e) = pulled {
            return Err(CliError::failure(e.to_string()).hint(
                "the image must be scanned before it ships; --skip-scan --reason \"…\" skips that in an emergency",
            ));
        }
        return run_scan(ui, loaded, &image.pinned(), sha, args).await;
    }
    run_scan(ui, loaded, &image.pinned(), sha, args).await
}

fn describe_scan(s: &ScanSummary) -> String {
    let mut parts: Vec<String> = ["CRITICAL", "HIGH", "MEDIUM", "LOW"]
        .iter()
        .map(|sev| format!("{} {sev}", s.counts.get(*sev).copied().unwrap_or(0)))
        .collect();
    parts.truncate(2);
    let mut text = format!("trivy: {}", parts.join(", "));
    if s.allowed > 0 {
        // A summary that reaches this line passed, so every counted finding is an allowed one: name them by
        // severity, UNKNOWN included, as the scan stage does.
        let by_severity: Vec<String> = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]
            .iter()
            .filter_map(|sev| s.counts.get(*sev).filter(|n| **n > 0).map(|n| format!("{n} {sev}")))
            .collect();
        text.push_str(&format!(" ({} allowed)", by_severity.join(", ")));
    }
    if !s.exceptions_used.is_empty() {
        text.push_str(&format!("; exceptions used: {}", s.exceptions_used.join(", ")));
    }
    text
}

fn write_summary(ui: &Ui, release: &Release, report: &CheckReport, deploys: &[DeployReport], err: Option<&CliError>) {
    let mut rows = vec![
        ("image", release.image.pinned()),
        ("commit", format!("{} ({})", release.commit.sha, release.commit.branch.as_deref().unwrap_or("detached"))),
        ("check", report.headline()),
    ];
    if let Some(s) = &release.scan {
        rows.push((
            "scan",
            s.skipped_reason.as_ref().map(|r| format!("SKIPPED: {r}")).unwrap_or_else(|| describe_scan(s)),
        ));
    }
    for d in deploys {
        rows.push((
            "deploy",
            format!(
                "{}: {} ({})",
                d.environment,
                d.target,
                serde_json::to_value(&d.outcome)
                    .ok()
                    .and_then(|v| v["result"].as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(e) = err {
        rows.push(("result", format!("failed: {}", e.message)));
    }
    let title = format!("shipit ship: {} {}", release.app, release.commit.short_sha);
    if let Err(e) = ci::append_summary(&ci::summary_table(&title, &rows)) {
        ui.warn(format!("cannot write the GitHub Actions summary: {e}"));
    }
}
