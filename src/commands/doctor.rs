//! `shipit doctor`: one line per thing shipit needs, with a hint for each one that is missing.

use console::style;
use serde::Serialize;

use crate::config::{Loaded, RegistryKind, TargetKind};
use crate::error::CliError;
use crate::providers::{aws, docker, git, github, kube, trivy};
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    /// Missing, but nothing in ship.toml needs it.
    Warn,
    /// Missing and ship.toml needs it.
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    status: Status,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

/// Which systems ship.toml actually uses, so a missing one is an error only when it matters.
#[derive(Default)]
struct Needs {
    docker: bool,
    trivy: bool,
    aws: bool,
    kube: bool,
    github: bool,
    /// A gitops environment fetches and pushes its config repository with the `git` program.
    git_program: bool,
}

impl Needs {
    fn of(loaded: Option<&Loaded>) -> Needs {
        let Some(l) = loaded else { return Needs::default() };
        let c = &l.config;
        let envs = || c.environments.values().map(|e| e.get_ref());
        Needs {
            docker: true,
            trivy: c.scan.enabled,
            aws: c.registries.values().any(|r| r.get_ref().kind == RegistryKind::Ecr)
                || envs().any(|e| e.target == TargetKind::Ecs),
            // A gitops environment waiting for Flux reads it through the Kubernetes API.
            kube: envs().any(|e| e.target == TargetKind::Kubernetes || e.flux.is_some()),
            // A gitops environment opens pull requests on GitHub.
            github: c.check.github.is_some()
                || envs().any(|e| {
                    e.target == TargetKind::GitOps
                        && e.mode != Some(crate::config::GitOpsMode::Push)
                        && e.repository.as_deref().is_some_and(crate::config::targets::gitops_github_slug)
                }),
            git_program: envs().any(|e| e.target == TargetKind::GitOps),
        }
    }
}

fn check(name: &'static str, needed: bool, result: Result<String, (String, String)>) -> Check {
    match result {
        Ok(detail) => Check { name, status: Status::Ok, detail, hint: None },
        Err((detail, hint)) => {
            Check { name, status: if needed { Status::Fail } else { Status::Warn }, detail, hint: Some(hint) }
        }
    }
}

pub async fn run(settings: &Settings) -> Result<(), CliError> {
    let ui = &settings.ui;
    let loaded = settings.load_config();
    let needs = Needs::of(loaded.as_ref().ok());
    let mut checks = Vec::new();

    checks.push(match &loaded {
        Ok(l) => Check {
            name: "ship.toml",
            status: Status::Ok,
            detail: format!(
                "{} ({} environment{})",
                l.path.display(),
                l.config.environments.len(),
                if l.config.environments.len() == 1 { "" } else { "s" }
            ),
            hint: None,
        },
        Err(e) => Check {
            name: "ship.toml",
            status: if e.class == crate::error::ExitClass::Usage && e.message.starts_with("no ship.toml") {
                Status::Warn
            } else {
                Status::Fail
            },
            detail: e.message.clone(),
            hint: e.hints.first().cloned(),
        },
    });

    // The independent network checks run concurrently: doctor should take one timeout, not the sum.
    let (docker_result, aws_result) = tokio::join!(check_docker(), check_aws(&loaded));
    checks.push(check("docker", needs.docker, docker_result));
    checks.push(check("trivy", needs.trivy, check_trivy().await));
    checks.push(check("git", true, check_git(settings)));
    checks.push(check("aws", needs.aws, aws_result));
    checks.push(check("kubernetes", needs.kube, check_kube()));
    checks.push(check("github", needs.github, check_github()));
    if needs.git_program {
        checks.push(check("git program", true, check_git_program()));
    }

    let failed: Vec<&str> = checks.iter().filter(|c| c.status == Status::Fail).map(|c| c.name).collect();
    if ui.json() {
        ui.print_json(&serde_json::json!({ "ok": failed.is_empty(), "checks": checks }));
    } else {
        let mut out = String::new();
        for c in &checks {
            let symbol = match c.status {
                Status::Ok => style("✔").green(),
                Status::Warn => style("!").yellow(),
                Status::Fail => style("✘").red(),
            };
            out.push_str(&format!("{symbol} {:<11} {}\n", c.name, c.detail));
            if let Some(h) = &c.hint {
                out.push_str(&format!("  {:<11} {} {h}\n", "", style("hint:").cyan()));
            }
        }
        ui.print_data(out.trim_end());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::failure(format!("{} check(s) failed: {}", failed.len(), failed.join(", ")))
            .hint("fix the lines marked ✘ above; `!` lines are not needed by this ship.toml")
            .json_printed())
    }
}

async fn check_docker() -> Result<String, (String, String)> {
    let fail = |e: docker::DockerError| (e.to_string(), e.hint().to_string());
    let host = docker::host(None);
    let probe = async {
        let (client, host) = docker::connect(None).await?;
        let info = docker::ping(&client, &host).await?;
        let kit = crate::providers::buildkit::support(&docker::Engine { api: client, host }).await.ok();
        Ok::<_, docker::DockerError>((info, kit))
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), probe).await {
        Ok(Ok((info, kit))) => {
            let kit = match kit {
                Some(k) if k.buildkit => format!("; BuildKit: yes ({})", k.reason),
                Some(k) => format!("; BuildKit: no ({})", k.reason),
                None => String::new(),
            };
            Ok(format!("engine {} (API {}, {}) at {host}{kit}", info.version, info.api_version, info.os_arch))
        }
        Ok(Err(e)) => Err(fail(e)),
        Err(_) => Err((
            format!("the Docker engine at {host} did not answer within 5s"),
            "check that dockerd is running and responsive".into(),
        )),
    }
}

async fn check_trivy() -> Result<String, (String, String)> {
    let path = trivy::locate().map_err(|e| (e.to_string(), trivy::INSTALL_HINT.to_string()))?;
    let version = trivy::version(&path)
        .await
        .map_err(|e| (e.to_string(), "reinstall trivy or point SHIPIT_TRIVY at a working binary".to_string()))?;
    Ok(format!("trivy {version} at {}", path.display()))
}

fn check_git_program() -> Result<String, (String, String)> {
    let mut cmd = std::process::Command::new("git");
    cmd.arg("--version");
    let hint = "install git: gitops environments fetch and push their config repository with it".to_string();
    match crate::providers::process::run(&mut cmd, None, std::time::Duration::from_secs(5)) {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        Ok(out) => Err((format!("`git --version` failed: {}", String::from_utf8_lossy(&out.stderr).trim()), hint)),
        Err(e) => Err((format!("cannot run git: {e}"), hint)),
    }
}

fn check_git(settings: &Settings) -> Result<String, (String, String)> {
    let repo = git::open(&settings.cwd).map_err(|_| {
        (
            format!("{} is not inside a git repository", settings.cwd.display()),
            "shipit tags images with the commit SHA: run it inside the repository (`git init` for a new one)"
                .to_string(),
        )
    })?;
    let head = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id().to_string()[..12].to_string())
        .unwrap_or_else(|| "no commits yet".into());
    let root = repo.workdir().map(|p| p.display().to_string()).unwrap_or_default();
    Ok(format!("{root} (HEAD {head})"))
}

async fn check_aws(loaded: &Result<Loaded, CliError>) -> Result<String, (String, String)> {
    // Use the first ECS/ECR region and endpoint in ship.toml so the check matches what a deploy would do.
    let (region, endpoint) = loaded
        .as_ref()
        .ok()
        .and_then(|l| {
            l.config.registries.values().map(|r| r.get_ref()).find(|r| r.kind == RegistryKind::Ecr).map(|r| {
                (
                    r.region
                        .as_ref()
                        .map(|s| s.to_string())
                        .or_else(|| crate::config::ecr_region(r.repository.get_ref()).map(str::to_string)),
                    r.endpoint_url.as_ref().map(|s| s.to_string()),
                )
            })
        })
        .unwrap_or((None, None));
    let config = aws::sdk_config(region.as_deref(), endpoint.as_deref()).await;
    let region = config.region().map(|r| r.to_string()).unwrap_or_else(|| "no region".into());
    match aws::resolve_credentials(&config).await {
        Ok(provider) => Ok(format!("credentials from {provider}, region {region}")),
        Err(e) => Err((
            format!("no AWS credentials: {e}"),
            "set AWS_PROFILE (and `aws sso login`), or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".into(),
        )),
    }
}

fn check_kube() -> Result<String, (String, String)> {
    kube::current_context().map(|(ctx, server)| format!("context {ctx} ({server})")).map_err(|e| {
        (format!("no usable kubeconfig: {e}"), "set KUBECONFIG or run `kubectl config use-context NAME`".into())
    })
}

fn check_github() -> Result<String, (String, String)> {
    github::token().map(|(_, source)| format!("token from {source}")).ok_or_else(|| {
        ("no GitHub token".into(), "set GITHUB_TOKEN or GH_TOKEN, or log in with `gh auth login`".into())
    })
}
