//! The target half of an environment, typed. `[environments.<name>]` is one TOML table whose `target` decides
//! which keys apply; validation checks that the keys a target needs are there and that no other target's keys
//! are. Providers then take these types and re-check nothing.

use std::time::Duration;

use super::schema::{Environment, GitOpsFormat, GitOpsMode, HelmValue, TargetKind};

#[derive(Debug, Clone)]
pub enum TargetEnv {
    Ecs(EcsEnv),
    Kubernetes(KubeEnv),
    Docker(DockerEnv),
    GitOps(GitOpsEnv),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EcsEnv {
    pub cluster: String,
    pub service: String,
    /// The container whose image is replaced; `None`: the app's name.
    pub container: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub image_definitions: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeEnv {
    pub deployment: String,
    /// The containers whose image is replaced; `None`: the app's name.
    pub containers: Option<Vec<String>>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub kubeconfig: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DockerEnv {
    pub container_name: String,
    pub host: Option<String>,
    pub ports: Vec<String>,
    /// `KEY=value`, in key order.
    pub env: Vec<String>,
    pub network: Option<String>,
    pub stop_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GitOpsEnv {
    /// `OWNER/NAME` (GitHub), a git URL, or an absolute path.
    pub repository: String,
    pub branch: String,
    pub path: String,
    pub mode: GitOpsMode,
    pub file: GitOpsFile,
    /// Pull-request mode on GitHub: labels and reviewers of the pull request.
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    /// Pull-request mode on GitHub: auto-merge, by this method.
    pub auto_merge: Option<crate::config::AutoMerge>,
    /// Push mode: the Argo CD Application to wait for, `(url, application, token variable)`.
    pub argocd: Option<(String, String, String)>,
    /// Push mode: the Flux Kustomization to wait for, `(name, namespace, context)`.
    pub flux: Option<(String, String, Option<String>)>,
}

/// What to change in the file, by format.
#[derive(Debug, Clone, PartialEq)]
pub enum GitOpsFile {
    /// The `images:` entry with this name. `None`: the app's name.
    Kustomize {
        image_name: Option<String>,
    },
    Helm {
        value_path: Vec<String>,
        value: HelmValue,
    },
    /// The containers with this name. `None`: the app's name.
    Manifest {
        container: Option<String>,
    },
}

/// A key the target needs is missing. Validation reports it with the file and line first; this is what a
/// hand-made `Environment` (a test, a library user) gets.
#[derive(Debug, Clone, thiserror::Error)]
#[error("environment `{env}` (target = \"{target}\") is missing `{key}`")]
pub struct MissingKey {
    pub env: String,
    pub target: &'static str,
    pub key: &'static str,
}

impl Environment {
    pub fn target_env(&self, env_name: &str) -> Result<TargetEnv, MissingKey> {
        Ok(match self.target {
            TargetKind::Ecs => TargetEnv::Ecs(self.ecs(env_name)?),
            TargetKind::Kubernetes => TargetEnv::Kubernetes(self.kube(env_name)?),
            TargetKind::Docker => TargetEnv::Docker(self.docker(env_name)?),
            TargetKind::GitOps => TargetEnv::GitOps(self.gitops(env_name)?),
        })
    }

    fn required(
        &self,
        env_name: &str,
        key: &'static str,
        value: &Option<super::IString>,
    ) -> Result<String, MissingKey> {
        value.as_ref().map(|v| v.to_string()).filter(|v| !v.is_empty()).ok_or(MissingKey {
            env: env_name.to_string(),
            target: self.target.as_str(),
            key,
        })
    }

    pub fn ecs(&self, env_name: &str) -> Result<EcsEnv, MissingKey> {
        let s = |v: &Option<super::IString>| v.as_ref().map(|v| v.to_string());
        Ok(EcsEnv {
            cluster: self.required(env_name, "cluster", &self.cluster)?,
            service: self.required(env_name, "service", &self.service)?,
            container: s(&self.container),
            region: s(&self.region),
            endpoint_url: s(&self.endpoint_url),
            image_definitions: s(&self.image_definitions),
        })
    }

    pub fn kube(&self, env_name: &str) -> Result<KubeEnv, MissingKey> {
        let s = |v: &Option<super::IString>| v.as_ref().map(|v| v.to_string());
        Ok(KubeEnv {
            deployment: self.required(env_name, "deployment", &self.deployment)?,
            containers: self.containers.as_ref().map(|c| c.iter().map(|c| c.to_string()).collect()),
            context: s(&self.context),
            namespace: s(&self.namespace),
            kubeconfig: s(&self.kubeconfig),
        })
    }

    pub fn docker(&self, env_name: &str) -> Result<DockerEnv, MissingKey> {
        Ok(DockerEnv {
            container_name: self.required(env_name, "container_name", &self.container_name)?,
            host: self.host.as_ref().map(|v| v.to_string()),
            ports: self.ports.iter().map(|p| p.to_string()).collect(),
            env: self.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            network: self.network.as_ref().map(|v| v.to_string()),
            stop_timeout: self.stop_timeout.map_or(Duration::from_secs(10), |d| d.get()),
        })
    }
}

impl Environment {
    pub fn gitops(&self, env_name: &str) -> Result<GitOpsEnv, MissingKey> {
        let s = |v: &Option<super::IString>| v.as_ref().map(|v| v.to_string()).filter(|v| !v.is_empty());
        let missing = |key| MissingKey { env: env_name.to_string(), target: self.target.as_str(), key };
        let file = match self.format.ok_or_else(|| missing("format"))? {
            GitOpsFormat::Kustomize => GitOpsFile::Kustomize { image_name: s(&self.image_name) },
            GitOpsFormat::Helm => GitOpsFile::Helm {
                value_path: self
                    .required(env_name, "value_path", &self.value_path)?
                    .split('.')
                    .map(str::to_string)
                    .collect(),
                value: self.value.unwrap_or_default(),
            },
            GitOpsFormat::Manifest => GitOpsFile::Manifest { container: s(&self.container) },
        };
        Ok(GitOpsEnv {
            repository: self.required(env_name, "repository", &self.repository)?,
            branch: s(&self.branch).unwrap_or_else(|| "main".into()),
            path: self.required(env_name, "path", &self.path)?.trim_start_matches('/').to_string(),
            mode: self.mode.unwrap_or_default(),
            file,
            labels: self.labels.iter().map(|l| l.to_string()).collect(),
            reviewers: self.reviewers.iter().map(|r| r.to_string()).collect(),
            auto_merge: self.auto_merge,
            argocd: self.argocd.as_ref().map(|a| {
                (
                    a.url.to_string(),
                    a.application.to_string(),
                    a.token_env.as_ref().map_or_else(|| "ARGOCD_AUTH_TOKEN".to_string(), |t| t.to_string()),
                )
            }),
            flux: self.flux.as_ref().map(|f| {
                (
                    f.kustomization.to_string(),
                    f.namespace.as_ref().map_or_else(|| "flux-system".to_string(), |n| n.to_string()),
                    f.context.as_ref().map(|c| c.to_string()),
                )
            }),
        })
    }
}

/// `repository` of a gitops environment: `OWNER/NAME` (GitHub), a URL (`https://`, `ssh://`, `file://`, …),
/// scp-like `user@host:path`, or an absolute path. A relative path would depend on where shipit runs.
pub fn gitops_repository_ok(repo: &str) -> bool {
    let repo = repo.trim();
    let slug = gitops_github_slug(repo);
    let url = repo.split_once("://").is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty());
    let scp = !url
        && repo.split_once(':').is_some_and(|(host, path)| !host.is_empty() && !host.contains('/') && !path.is_empty());
    slug || url || scp || repo.starts_with('/')
}

/// `acme/deploy`: a GitHub repository (two parts, no scheme, not a path).
pub fn gitops_github_slug(repo: &str) -> bool {
    let parts: Vec<&str> = repo.trim().split('/').collect();
    parts.len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && *p != "."
                && *p != ".."
                && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
}

impl From<MissingKey> for crate::error::CliError {
    fn from(e: MissingKey) -> Self {
        let hint = format!("add `{} = \"…\"` to [environments.{}] in ship.toml", e.key, e.env);
        crate::error::CliError::usage(e.to_string()).hint(hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(toml: &str) -> Environment {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn each_target_gets_its_own_keys() {
        let e = env("target = \"ecs\"\ncluster = \"c\"\nservice = \"s\"\nregion = \"eu-west-1\"");
        let TargetEnv::Ecs(ecs) = e.target_env("prod").unwrap() else { panic!() };
        assert_eq!((ecs.cluster.as_str(), ecs.service.as_str(), ecs.region.as_deref()), ("c", "s", Some("eu-west-1")));
        let e = env("target = \"docker\"\ncontainer_name = \"web\"\nenv = { B = \"2\", A = \"1\" }");
        let TargetEnv::Docker(d) = e.target_env("dev").unwrap() else { panic!() };
        assert_eq!(d.env, ["A=1", "B=2"]);
        assert_eq!(d.stop_timeout, Duration::from_secs(10));
    }

    #[test]
    fn a_gitops_environment_is_typed() {
        let e = env(
            "target = \"gitops\"\nrepository = \"acme/deploy\"\npath = \"/apps/api/values.yaml\"\nformat = \"helm\"\n\
             value_path = \"image.tag\"\nvalue = \"tag@digest\"\nmode = \"push\"",
        );
        let TargetEnv::GitOps(g) = e.target_env("prod").unwrap() else { panic!() };
        assert_eq!((g.branch.as_str(), g.path.as_str(), g.mode), ("main", "apps/api/values.yaml", GitOpsMode::Push));
        assert_eq!(
            g.file,
            GitOpsFile::Helm { value_path: vec!["image".into(), "tag".into()], value: HelmValue::TagAtDigest }
        );
        let e = env("target = \"gitops\"\nrepository = \"r\"\npath = \"p\"\nformat = \"helm\"");
        assert_eq!(e.target_env("prod").unwrap_err().key, "value_path");
    }

    #[test]
    fn a_missing_key_is_named() {
        let err = env("target = \"kubernetes\"").target_env("prod").unwrap_err();
        assert_eq!(err.to_string(), "environment `prod` (target = \"kubernetes\") is missing `deployment`");
    }
}
