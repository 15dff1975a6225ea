//! `shipit init`: write a commented ship.toml from what the repository already says (Dockerfile, origin remote).

use std::path::Path;

use crate::cli::{InitArgs, RegistryChoice, TargetChoice};
use crate::config;
use crate::error::CliError;
use crate::providers::git;
use crate::settings::Settings;

pub async fn run(args: InitArgs, settings: &Settings) -> Result<(), CliError> {
    let ui = &settings.ui;
    let path = match &settings.config_path {
        Some(p) if p.is_dir() => p.join(config::FILE_NAME),
        Some(p) => p.clone(),
        None => settings.cwd.join(config::FILE_NAME),
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| settings.cwd.clone());
    if path.exists() && !args.force && !args.stdout {
        return Err(CliError::usage(format!("{} already exists", path.display()))
            .hint("use `shipit config validate` to check it, or `shipit init --force` to replace it (the old file is kept as ship.toml.bak)"));
    }

    let detected = Detected::scan(&dir);
    let name = match args.name {
        Some(n) => n,
        None => ui.input("Application name", &detected.name)?,
    };
    let dockerfile = match args.dockerfile {
        Some(d) => d,
        None => ui.input("Dockerfile", detected.dockerfile.as_deref().unwrap_or("Dockerfile"))?,
    };
    let registry = match args.registry {
        Some(r) => r,
        None => {
            let items = ["ghcr — GitHub Container Registry", "ecr — Amazon ECR", "oci — any other OCI registry"]
                .map(String::from);
            let default = if detected.github.is_some() || detected.remote.is_none() { 0 } else { 2 };
            [RegistryChoice::Ghcr, RegistryChoice::Ecr, RegistryChoice::Oci]
                [ui.select("Where do images go?", &items, default)?]
        }
    };
    let default_repo = match registry {
        RegistryChoice::Ghcr => match &detected.github {
            Some((owner, repo)) => format!("ghcr.io/{}/{}", owner.to_lowercase(), repo.to_lowercase()),
            None => format!("ghcr.io/your-org/{}", sanitize(&name)),
        },
        RegistryChoice::Ecr => format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{}", sanitize(&name)),
        RegistryChoice::Oci => format!("registry.example.com/{}", sanitize(&name)),
    };
    let repository = match args.repository {
        Some(r) => r,
        None => ui.input("Image repository", &default_repo)?,
    };
    let target = match args.target {
        Some(t) => t,
        None => {
            let items = [
                "docker — a container on a Docker host",
                "ecs — an Amazon ECS service",
                "kubernetes — a Kubernetes Deployment",
            ]
            .map(String::from);
            [TargetChoice::Docker, TargetChoice::Ecs, TargetChoice::Kubernetes]
                [ui.select("Where does it run?", &items, 0)?]
        }
    };

    let text = render(&Template {
        name: &name,
        dockerfile: &dockerfile,
        registry,
        repository: &repository,
        target,
        environment: &args.environment,
        github: detected.github.as_ref().map(|(o, r)| format!("{o}/{r}")),
    });
    // Never write a file that shipit itself would reject.
    config::parse_bytes(&path, text.as_bytes()).map_err(|e| {
        CliError::from(e).context("the generated ship.toml is invalid (check the values given to `shipit init`)")
    })?;

    if args.stdout {
        ui.print_data(&text);
        return Ok(());
    }
    if path.exists() {
        let backup = path.with_extension("toml.bak");
        std::fs::copy(&path, &backup).map_err(|e| {
            CliError::failure(format!("cannot back up {} to {}: {e}", path.display(), backup.display()))
        })?;
        ui.info(format!("kept the previous file as {}", backup.display()));
    }
    write_atomically(&path, &text)?;
    ui.success(format!("wrote {} (app `{name}`, {} → {})", path.display(), repository, args.environment));
    ui.info(
        "next: `shipit config validate`, then `shipit doctor` to check access to Docker, the registry and the target",
    );
    Ok(())
}

fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| CliError::failure(format!("cannot write {}: {e}", path.display()));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

struct Detected {
    name: String,
    dockerfile: Option<String>,
    remote: Option<String>,
    github: Option<(String, String)>,
}

impl Detected {
    fn scan(dir: &Path) -> Detected {
        let root = git::toplevel(dir).unwrap_or_else(|| dir.to_path_buf());
        let name = dir.file_name().and_then(|n| n.to_str()).map(sanitize).unwrap_or_else(|| "app".into());
        let remote = git::remote_url(dir, "origin");
        let github = remote.as_deref().and_then(git::github_slug);
        Detected { name, dockerfile: find_dockerfile(dir, &root), remote, github }
    }
}

fn find_dockerfile(dir: &Path, _root: &Path) -> Option<String> {
    let candidates = ["Dockerfile", "docker/Dockerfile", "build/Dockerfile", "Containerfile"];
    candidates.iter().find(|c| dir.join(c).is_file()).map(|c| c.to_string()).or_else(|| {
        std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            (n.ends_with(".Dockerfile") || n.starts_with("Dockerfile.")).then_some(n)
        })
    })
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '-' })
        .collect();
    let s = s.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string();
    if s.is_empty() { "app".into() } else { s }
}

struct Template<'a> {
    name: &'a str,
    dockerfile: &'a str,
    registry: RegistryChoice,
    repository: &'a str,
    target: TargetChoice,
    environment: &'a str,
    github: Option<String>,
}

fn render(t: &Template) -> String {
    let (reg_name, reg_block) = match t.registry {
        RegistryChoice::Ghcr => (
            "ghcr",
            format!(
                "[registries.ghcr]\n\
                 # Credentials: GITHUB_TOKEN, GH_TOKEN or `gh auth token`.\n\
                 type = \"ghcr\"\n\
                 repository = \"{}\"\n",
                t.repository
            ),
        ),
        RegistryChoice::Ecr => (
            "ecr",
            format!(
                "[registries.ecr]\n\
                 # Credentials: the AWS credential chain (env, profile, SSO).\n\
                 type = \"ecr\"\n\
                 repository = \"{}\"\n\
                 # create_repository = true   # create it on first push\n",
                t.repository
            ),
        ),
        RegistryChoice::Oci => (
            "registry",
            format!(
                "[registries.registry]\n\
                 # Credentials: docker's config.json and credential helpers (`docker login`).\n\
                 type = \"oci\"\n\
                 repository = \"{}\"\n",
                t.repository
            ),
        ),
    };
    let env_block = match t.target {
        TargetChoice::Ecs => format!(
            "[environments.{env}]\n\
             target = \"ecs\"\n\
             registry = \"{reg_name}\"\n\
             cluster = \"{env}\"\n\
             service = \"{name}\"\n\
             container = \"{name}\"          # the container in the task definition to update\n\
             approval = \"manual\"           # ask before deploying; `--yes` in CI\n\
             timeout = \"10m\"\n\
             auto_rollback = true\n",
            env = t.environment,
            name = t.name
        ),
        TargetChoice::Kubernetes => format!(
            "[environments.{env}]\n\
             target = \"kubernetes\"\n\
             registry = \"{reg_name}\"\n\
             # context = \"my-cluster\"       # default: the kubeconfig's current context\n\
             namespace = \"{env}\"\n\
             deployment = \"{name}\"\n\
             containers = [\"{name}\"]\n\
             approval = \"manual\"\n\
             timeout = \"10m\"\n\
             auto_rollback = true\n",
            env = t.environment,
            name = t.name
        ),
        TargetChoice::Docker => format!(
            "[environments.{env}]\n\
             target = \"docker\"\n\
             registry = \"{reg_name}\"\n\
             container_name = \"{name}-{env}\"\n\
             # host = \"unix:///var/run/docker.sock\"   # default: DOCKER_HOST\n\
             # ports = [\"8080:8080\"]\n\
             approval = \"none\"\n\
             timeout = \"2m\"\n",
            env = t.environment,
            name = t.name
        ),
    };
    let github = match &t.github {
        Some(slug) => format!(
            "\n# GitHub checks on the commit (check-runs and statuses must be green).\n\
             [check.github]\n\
             repository = \"{slug}\"\n\
             # required = [\"ci / test\"]       # default: every check must pass\n\
             # require_approval = true         # the commit's PR must be approved or merged\n"
        ),
        None => String::new(),
    };
    format!(
        "\
         # shipit configuration — reference: docs/configuration.md.\n\
         # Editor completion: `shipit config schema > ship.schema.json`, then add `#:schema ./ship.schema.json`.\n\
         # Values may use ${{VAR}} or ${{VAR:-default}} from the environment.\n\
         \n\
         [app]\n\
         name = \"{name}\"\n\
         \n\
         [build]\n\
         context = \".\"\n\
         dockerfile = \"{dockerfile}\"\n\
         # Tags pushed; deploys always use the digest. {{sha}}, {{short_sha}}, {{branch}}, {{version}}.\n\
         tags = [\"{{sha}}\", \"{{short_sha}}\"]\n\
         # target = \"runtime\"\n\
         # platform = \"linux/amd64\"\n\
         # args = {{ APP_VERSION = \"${{APP_VERSION:-dev}}\" }}\n\
         \n\
         [check]\n\
         # branches = [\"main\", \"release/*\"]\n\
         require_clean = true\n\
         require_pushed = true\n\
         {github}\
         \n\
         [scan]\n\
         fail_on = \"high\"            # critical | high | medium | low\n\
         ignore_unfixed = false\n\
         # [[scan.exceptions]]\n\
         # id = \"CVE-2019-18224\"\n\
         # reason = \"not reachable: we never parse IDNs\"\n\
         # expires = \"2027-01-31\"\n\
         \n\
         {reg_block}\
         \n\
         {env_block}",
        name = t.name,
        dockerfile = t.dockerfile,
    )
}

/// The file `shipit init` writes for the given answers (tests check every combination validates).
#[cfg(test)]
pub fn example(registry: RegistryChoice, target: TargetChoice) -> String {
    render(&Template {
        name: "api",
        dockerfile: "Dockerfile",
        registry,
        repository: match registry {
            RegistryChoice::Ghcr => "ghcr.io/acme/api",
            RegistryChoice::Ecr => "123456789012.dkr.ecr.us-east-1.amazonaws.com/api",
            RegistryChoice::Oci => "registry.acme.dev/team/api",
        },
        target,
        environment: "staging",
        github: Some("acme/api".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn every_generated_combination_is_valid() {
        for r in [RegistryChoice::Ghcr, RegistryChoice::Ecr, RegistryChoice::Oci] {
            for t in [TargetChoice::Ecs, TargetChoice::Kubernetes, TargetChoice::Docker] {
                let text = example(r, t);
                if let Err(e) = config::parse_bytes(&PathBuf::from("ship.toml"), text.as_bytes()) {
                    panic!("{r:?}/{t:?} invalid: {:?}\n{text}", CliError::from(e));
                }
            }
        }
    }

    #[test]
    fn sanitizes_names() {
        assert_eq!(sanitize("My App!"), "my-app");
        assert_eq!(sanitize("--"), "app");
    }
}
