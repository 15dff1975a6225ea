//! The ship.toml schema. Doc comments here become the descriptions in `shipit config schema`, which editors
//! (Taplo / Even Better TOML) show on hover, so write them for the person editing the file.
//!
//! Every table denies unknown keys: a typo must fail loudly rather than silently fall back to a default.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::values::{Date, DurationStr, IString, Severity};

/// shipit's configuration file, `ship.toml`, at the root of the repository.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The application being shipped.
    pub app: App,
    /// How the image is built.
    #[serde(default)]
    pub build: Build,
    /// Checks on the commit before anything is built.
    #[serde(default)]
    pub check: Check,
    /// The vulnerability and secret scan of the built image.
    #[serde(default)]
    pub scan: Scan,
    /// Where images are pushed, by name. Environments refer to these names.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Registry>")]
    pub registries: BTreeMap<String, Spanned<Registry>>,
    /// Where the image runs, by environment name (`staging`, `production`, …).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Environment>")]
    pub environments: BTreeMap<String, Spanned<Environment>>,
    /// The GitHub repository beyond the commit check: Deployments on its Environments page.
    #[serde(default)]
    pub github: GitHub,
    /// Who hears about approvals and deploys: `[[notify]]` entries, each a webhook or a Slack incoming webhook.
    #[serde(default)]
    pub notify: Vec<Notify>,
    /// Signing the pushed digest and its evidence with a cosign key (docs/signing.md).
    #[serde(default)]
    pub sign: Sign,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sign {
    /// A cosign private key (`shipit keys generate` or `cosign generate-key-pair`), relative to ship.toml. When set,
    /// `push` and `ship` sign the pushed digest in cosign's format and every evidence attestation (DSSE), with the
    /// password from `SHIPIT_SIGNING_PASSWORD` or `COSIGN_PASSWORD`.
    pub key: Option<IString>,
    /// Keyless signing (Fulcio certificate from the CI's OIDC token, Rekor entry). Not built yet: `true` is refused.
    #[serde(default)]
    pub keyless: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitHub {
    /// Create a GitHub Deployment for each deploy (ref = the commit, payload = the digest) and mark it
    /// `in_progress`, then `success` or `failure`, so the repository's Environments page shows what runs
    /// where. Needs a token with `deployments: write` (GITHUB_TOKEN in Actions).
    #[serde(default)]
    pub deployments: bool,
    /// `owner/name`. Default: `[check.github] repository`, else the `origin` remote.
    pub repository: Option<IString>,
    /// API base URL for GitHub Enterprise Server. Default: `[check.github] api_url`, else `GITHUB_API_URL`, else
    /// `https://api.github.com`.
    pub api_url: Option<IString>,
}

/// `[[notify]]`: `webhook = "https://…"` (a JSON body per event) or `slack = "${SLACK_WEBHOOK}"` (Slack's
/// incoming-webhook message). A notification that fails is a warning, never a failed deploy.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// An https URL that receives `POST` with a JSON body: event, app, environment, image, digest, commit,
    /// actor, result, url.
    pub webhook: Option<IString>,
    /// A Slack incoming-webhook URL (keep it in an environment variable: `"${SLACK_WEBHOOK}"`).
    pub slack: Option<IString>,
    /// Which events: `approval_pending`, `deployed`, `failed`, `rolled_back`. Default: all.
    #[serde(default = "all_events")]
    pub events: Vec<NotifyEvent>,
    /// Only these environments. Default: all.
    pub environments: Option<Vec<IString>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    ApprovalPending,
    Deployed,
    Failed,
    RolledBack,
}

impl NotifyEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEvent::ApprovalPending => "approval_pending",
            NotifyEvent::Deployed => "deployed",
            NotifyEvent::Failed => "failed",
            NotifyEvent::RolledBack => "rolled_back",
        }
    }
}

fn all_events() -> Vec<NotifyEvent> {
    vec![NotifyEvent::ApprovalPending, NotifyEvent::Deployed, NotifyEvent::Failed, NotifyEvent::RolledBack]
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Application name, used in messages, labels and the default ECR repository name.
    pub name: IString,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Build {
    /// Build context directory, relative to ship.toml. `.dockerignore` in it is honoured.
    pub context: IString,
    /// Dockerfile path, relative to the context.
    pub dockerfile: IString,
    /// Build stage to stop at (`docker build --target`).
    pub target: Option<IString>,
    /// Target platform, e.g. `linux/amd64`.
    pub platform: Option<IString>,
    /// Tag templates. Placeholders: `{sha}` (full commit), `{short_sha}` (12 chars), `{branch}`, `{version}`
    /// (the tag on HEAD, if any). `latest` is refused unless `allow_latest = true`.
    pub tags: Vec<IString>,
    /// Allow a `latest` tag. Deploys still use the digest, never a tag.
    pub allow_latest: bool,
    /// Build arguments (`--build-arg`). Values may use `${VAR}`.
    pub args: BTreeMap<String, IString>,
    /// Extra image labels. The OCI labels (revision, source, created, version) are added automatically.
    pub labels: BTreeMap<String, IString>,
    /// Which of the engine's builders runs the Dockerfile: `buildkit` (`RUN --mount`, `COPY --chmod`, secrets,
    /// cache mounts), `classic` (the legacy builder), or `auto` (BuildKit when the engine offers it).
    pub builder: Builder,
    /// Build secrets by id, for `RUN --mount=type=secret,id=<id>`: `{ env = "NPM_TOKEN" }` or
    /// `{ file = "certs/ca.pem" }` (relative to ship.toml). Never stored in a layer, label or log. BuildKit only.
    pub secrets: BTreeMap<String, BuildSecret>,
    /// Forward the SSH agent (`SSH_AUTH_SOCK`) for `RUN --mount=type=ssh`. BuildKit only.
    pub ssh: bool,
    /// Network of `RUN` steps (`docker build --network`): `default` (the engine's bridge), `host` or `none`.
    pub network: Option<BuildNetwork>,
    /// Caches to start from: `type=registry,ref=REPO:TAG` (or just `REPO:TAG`), an image pushed with an inline
    /// cache or a registry cache. BuildKit only.
    pub cache_from: Vec<IString>,
    /// Caches to write: `type=inline` (cache metadata inside the pushed image, so `cache_from` on a fresh CI
    /// runner can reuse its layers) or `type=registry,ref=REPO:TAG,mode=max`. BuildKit only.
    pub cache_to: Vec<IString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    /// BuildKit when the engine offers it, else the classic builder (one line says which and why).
    #[default]
    Auto,
    /// Always BuildKit; an engine without it is an error.
    Buildkit,
    /// The legacy builder (`DOCKER_BUILDKIT=0`): no `RUN --mount`, `COPY --chmod`, secrets or cache mounts.
    Classic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BuildNetwork {
    /// The engine's default network (its `bridge`).
    Default,
    /// The engine host's network.
    Host,
    /// No network at all.
    None,
}

impl BuildNetwork {
    pub fn as_str(self) -> &'static str {
        match self {
            BuildNetwork::Default => "default",
            BuildNetwork::Host => "host",
            BuildNetwork::None => "none",
        }
    }
}

/// Where a build secret's value comes from: exactly one of `env` or `file`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildSecret {
    /// Name of the environment variable holding the value (read when the build starts).
    pub env: Option<String>,
    /// File holding the value, relative to ship.toml.
    pub file: Option<String>,
}

impl Default for Build {
    fn default() -> Self {
        Build {
            context: IString(".".into()),
            dockerfile: IString("Dockerfile".into()),
            target: None,
            platform: None,
            tags: vec![IString("{sha}".into()), IString("{short_sha}".into())],
            allow_latest: false,
            args: BTreeMap::new(),
            labels: BTreeMap::new(),
            builder: Builder::Auto,
            secrets: BTreeMap::new(),
            ssh: false,
            network: None,
            cache_from: Vec::new(),
            cache_to: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Check {
    /// Branches allowed to ship (globs, e.g. `release/*`). Empty: any branch.
    pub branches: Vec<IString>,
    /// Refuse a working tree with uncommitted or untracked changes.
    pub require_clean: bool,
    /// Refuse a HEAD that its upstream branch does not contain.
    pub require_pushed: bool,
    /// Refuse a HEAD without a tag.
    pub require_tag: bool,
    /// GitHub checks and pull-request approval for the commit.
    pub github: Option<GitHubCheck>,
    /// SonarQube quality gate for the commit.
    pub sonarqube: Option<SonarQube>,
}

impl Default for Check {
    fn default() -> Self {
        Check {
            branches: Vec::new(),
            require_clean: true,
            require_pushed: true,
            require_tag: false,
            github: None,
            sonarqube: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitHubCheck {
    /// `owner/name`. Default: taken from the `origin` remote.
    pub repository: Option<IString>,
    /// API base URL, for GitHub Enterprise Server (e.g. `https://github.acme.dev/api/v3`). Default:
    /// `GITHUB_API_URL` (set by GitHub Actions, also on Enterprise Server), else `https://api.github.com`.
    pub api_url: Option<IString>,
    /// Check-runs and statuses that must succeed, by name. Empty: all of them.
    #[serde(default)]
    pub required: Vec<IString>,
    /// Require the commit to belong to a merged pull request, or an open one with an approving review.
    #[serde(default)]
    pub require_approval: bool,
    /// How long `--wait` waits for pending checks.
    #[serde(default = "default_github_wait")]
    pub wait_timeout: DurationStr,
}

fn default_github_wait() -> DurationStr {
    DurationStr(std::time::Duration::from_secs(15 * 60))
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SonarQube {
    /// Server URL, e.g. `https://sonar.acme.dev`.
    pub url: IString,
    /// Project key.
    pub project_key: IString,
    /// Token; use `${SONAR_TOKEN}` rather than writing it here.
    pub token: Option<IString>,
    /// The SonarQube branch whose analyses are searched for HEAD's. Default: HEAD's branch (the main branch
    /// when HEAD is detached). Empty means the main branch.
    pub branch: Option<IString>,
    /// The pull request (its number) whose analyses are searched, e.g. `"${PR_NUMBER:-}"`; empty means none.
    /// Replaces `branch`.
    pub pull_request: Option<IString>,
    /// How long `--wait` waits for SonarQube's analysis of HEAD to appear.
    #[serde(default = "default_sonar_wait")]
    pub wait_timeout: DurationStr,
}

fn default_sonar_wait() -> DurationStr {
    DurationStr(std::time::Duration::from_secs(10 * 60))
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Scan {
    /// Run the Trivy scan at all. Turning it off is recorded in every release.
    pub enabled: bool,
    /// The lowest severity that blocks a release.
    pub fail_on: Severity,
    /// Ignore findings with no fixed version available.
    pub ignore_unfixed: bool,
    /// Findings without a severity rating (UNKNOWN): `"allow"` or `"block"`. Default: rated like LOW, the
    /// lowest known severity, so they block only when `fail_on = "low"`.
    pub unknown: Option<UnknownSeverity>,
    /// Also scan for secrets (keys, tokens) baked into the image.
    pub secrets: bool,
    /// How long the scan may take.
    pub timeout: DurationStr,
    /// A TOML file with more `[[exceptions]]`, relative to ship.toml (e.g. a security-owned register).
    pub exceptions_file: Option<IString>,
    /// Accepted findings. Each needs a reason and an expiry date; expired exceptions stop applying.
    pub exceptions: Vec<Exception>,
    /// Also write a CycloneDX SBOM of the image (a second, bounded `trivy image --format cyclonedx` run against
    /// the same local image), attached to the pushed digest as an attestation (`https://cyclonedx.org/bom`).
    pub sbom: bool,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            enabled: true,
            fail_on: Severity::High,
            ignore_unfixed: false,
            unknown: None,
            secrets: true,
            timeout: DurationStr(std::time::Duration::from_secs(10 * 60)),
            exceptions_file: None,
            exceptions: Vec::new(),
            sbom: false,
        }
    }
}

/// What the scan gate does with a finding that has no severity rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UnknownSeverity {
    /// UNKNOWN findings never block (they are still counted and listed).
    Allow,
    /// UNKNOWN findings block, unless an exception covers them.
    Block,
}

impl UnknownSeverity {
    /// `unknown` when set; else UNKNOWN is rated like LOW, the lowest known severity, so it blocks exactly
    /// when `fail_on` blocks LOW.
    pub fn resolve(unknown: Option<UnknownSeverity>, fail_on: Severity) -> UnknownSeverity {
        match unknown {
            Some(u) => u,
            None if fail_on <= Severity::Low => UnknownSeverity::Block,
            None => UnknownSeverity::Allow,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UnknownSeverity::Allow => "allow",
            UnknownSeverity::Block => "block",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// Vulnerability or secret rule id, e.g. `CVE-2019-18224`.
    pub id: IString,
    /// Only for this package (optional).
    pub package: Option<IString>,
    /// Why this finding is accepted. Shown in every scan verdict that uses it.
    pub reason: IString,
    /// Last day the exception applies (YYYY-MM-DD).
    pub expires: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegistryKind {
    /// Amazon ECR; credentials from the AWS credential chain.
    Ecr,
    /// GitHub Container Registry; `GITHUB_TOKEN`, `GH_TOKEN` or `gh auth token`.
    Ghcr,
    /// Any OCI registry; credentials from docker's config.json and credential helpers.
    Oci,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// `ecr`, `ghcr` or `oci`.
    #[serde(rename = "type")]
    pub kind: RegistryKind,
    /// Image repository without tag: `123456789012.dkr.ecr.us-east-1.amazonaws.com/api`, `ghcr.io/acme/api`,
    /// `registry.acme.dev/team/api`.
    #[schemars(with = "String")]
    pub repository: Spanned<IString>,
    /// ECR: create the repository when it does not exist.
    #[serde(default)]
    pub create_repository: bool,
    /// ECR: AWS region. Default: the one in the repository host.
    pub region: Option<IString>,
    /// ECR: AWS API endpoint override (LocalStack, moto, VPC endpoints).
    pub endpoint_url: Option<IString>,
    /// Host that images are actually pushed to, when it differs from the repository's host (a pull-through
    /// proxy, a test registry). Deploys still reference `repository`.
    pub push_host: Option<IString>,
    /// Talk plain HTTP to this registry (only for localhost registries).
    #[serde(default)]
    pub insecure: bool,
    /// Username for `oci` registries when not using docker's config (`password_env` holds the secret).
    pub username: Option<IString>,
    /// Name of the environment variable holding the password or token.
    pub password_env: Option<IString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// An Amazon ECS service (new task-definition revision pinned by digest).
    Ecs,
    /// A Kubernetes Deployment (patched to image@digest).
    Kubernetes,
    /// A container on a plain Docker host.
    Docker,
    /// A file in a config repository that Argo CD or Flux reconciles: shipit commits the new digest there.
    GitOps,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Ecs => "ecs",
            TargetKind::Kubernetes => "kubernetes",
            TargetKind::Docker => "docker",
            TargetKind::GitOps => "gitops",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// Deploy without asking.
    None,
    /// Ask on a terminal; in CI require `--yes` or `SHIPIT_APPROVE=<env>`.
    #[default]
    Manual,
}

/// How an auto-merged pull request is merged (GitHub's `PullRequestMergeMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoMerge {
    Squash,
    Merge,
    Rebase,
}

impl AutoMerge {
    /// GitHub's GraphQL name.
    pub fn graphql(self) -> &'static str {
        match self {
            AutoMerge::Squash => "SQUASH",
            AutoMerge::Merge => "MERGE",
            AutoMerge::Rebase => "REBASE",
        }
    }
}

/// How a gitops environment's change reaches the branch Argo CD or Flux reconciles from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum GitOpsMode {
    /// One commit on a branch `shipit/<environment>` (made from `branch`, replaced on the next deploy) and, on
    /// GitHub, a pull request into `branch` (an open one is updated rather than a second opened). Merging it
    /// is the deploy.
    #[default]
    PullRequest,
    /// One commit straight onto `branch` (for branches without required reviews), retried on top of the
    /// branch when someone pushed first.
    Push,
}

/// `argocd = { url = "https://argocd.acme.dev", application = "api-production" }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgoCdWait {
    /// Argo CD's address (the API is under `/api/v1`).
    pub url: IString,
    /// The Application that deploys `path`.
    pub application: IString,
    /// The environment variable holding an Argo CD API token (a project role or account token with
    /// `applications, get`). Default: `ARGOCD_AUTH_TOKEN`, as the argocd CLI.
    pub token_env: Option<IString>,
}

/// `flux = { kustomization = "apps", namespace = "flux-system", context = "prod-eu" }`
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FluxWait {
    /// The Kustomization (`kustomize.toolkit.fluxcd.io/v1`) that applies `path`.
    pub kustomization: IString,
    /// Its namespace. Default: `flux-system`.
    pub namespace: Option<IString>,
    /// The kubeconfig context of the cluster Flux runs in. Default: the current context (`KUBECONFIG`, then
    /// ~/.kube/config).
    pub context: Option<IString>,
}

/// What kind of file a gitops environment changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GitOpsFormat {
    /// A kustomization.yaml: the `images:` entry named `image_name` gets `newName` and `digest`.
    Kustomize,
    /// A Helm values file: the value at `value_path` (e.g. `image.digest`).
    Helm,
    /// Plain Kubernetes manifests (one or more documents): every container named `container` gets
    /// `image: repository@sha256:…`.
    Manifest,
}

/// How a gitops environment writes the digest at a Helm `value_path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
pub enum HelmValue {
    /// `sha256:…` (charts with an `image.digest` value).
    #[default]
    #[serde(rename = "digest")]
    Digest,
    /// `repository@sha256:…` (charts that take the whole image reference).
    #[serde(rename = "image")]
    Image,
    /// `<tag>@sha256:…`: the tag already there is kept and the digest pinned after it (charts that render
    /// `repository:tag`; a runtime pulls such a reference by its digest).
    #[serde(rename = "tag@digest")]
    TagAtDigest,
}

/// An environment. `target` decides which of the other keys are required:
/// ecs: `cluster`, `service`; kubernetes: `deployment`; docker: `container_name`;
/// gitops: `repository`, `path`, `format`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// `ecs`, `kubernetes`, `docker` or `gitops`.
    pub target: TargetKind,
    /// Registry (a key of `[registries]`) whose image this environment runs. Optional with one registry.
    #[schemars(with = "Option<String>")]
    pub registry: Option<Spanned<IString>>,
    /// Ask before deploying: `manual` (default) or `none`.
    #[serde(default)]
    pub approval: Approval,
    /// How long to wait for the rollout.
    #[serde(default = "default_deploy_timeout")]
    pub timeout: DurationStr,
    /// Put the previous release back when the rollout fails (exit code 5).
    #[serde(default)]
    pub auto_rollback: bool,
    /// Branches allowed to deploy here (globs); overrides `[check].branches`.
    pub branches: Option<Vec<IString>>,
    /// Checks after the platform reports the rollout done: an HTTP endpoint and/or a command. A failure is a
    /// failed deploy (with `auto_rollback`, the previous release is put back).
    pub verify: Option<Verify>,
    /// Refuse a digest without a passing scan under today's `[scan]` policy, read from the registry (exit 3).
    /// `false` lets unscanned images through (still recorded); `--force --reason` overrides once.
    #[serde(default = "default_true")]
    pub require_scan: bool,
    /// Refuse (exit 3) a digest without a cosign signature that verifies with `public_key`, and evidence whose DSSE
    /// signature does not (docs/signing.md).
    #[serde(default)]
    pub require_signature: bool,
    /// The cosign public key (`cosign.pub`, relative to ship.toml) that signatures must verify with.
    pub public_key: Option<IString>,
    /// `shipit promote <from> <this>`: the digest must have been live in <from> at least this long.
    pub promote_after: Option<DurationStr>,
    /// Where the environment is reached (`https://staging.example.com`): the link on GitHub's Environments
    /// page and in notifications.
    pub url: Option<IString>,

    // --- ecs ---
    /// ecs: cluster name or ARN.
    pub cluster: Option<IString>,
    /// ecs: service name.
    pub service: Option<IString>,
    /// ecs: the container (in the task definition) whose image is replaced. Default: `app.name`.
    pub container: Option<IString>,
    /// ecs: AWS region. Default: the AWS chain's region.
    pub region: Option<IString>,
    /// ecs: AWS API endpoint override.
    pub endpoint_url: Option<IString>,
    /// ecs: where to write imagedefinitions.json (CodePipeline), relative to ship.toml.
    pub image_definitions: Option<IString>,

    // --- kubernetes ---
    /// kubernetes: kubeconfig context. Default: the current context.
    pub context: Option<IString>,
    /// kubernetes: namespace. Default: the context's namespace, else `default`.
    pub namespace: Option<IString>,
    /// kubernetes: Deployment name.
    pub deployment: Option<IString>,
    /// kubernetes: containers (init containers included) whose image is replaced. Default: `[app.name]`.
    pub containers: Option<Vec<IString>>,
    /// kubernetes: kubeconfig path. Default: `KUBECONFIG`, then ~/.kube/config.
    pub kubeconfig: Option<IString>,

    // --- docker ---
    /// docker: engine address, e.g. `unix:///var/run/docker.sock` or `tcp://127.0.0.1:2375`. Default: `DOCKER_HOST`.
    pub host: Option<IString>,
    /// docker: name of the container to replace.
    pub container_name: Option<IString>,
    /// docker: published ports, `HOST:CONTAINER`.
    #[serde(default)]
    pub ports: Vec<IString>,
    /// docker: environment variables for the container.
    #[serde(default)]
    pub env: BTreeMap<String, IString>,
    /// docker: network mode (`host`, `none`, or a network name).
    pub network: Option<IString>,
    /// docker: how long the old container gets after its stop signal before it is killed. Default: 10s.
    pub stop_timeout: Option<DurationStr>,

    // --- gitops ---
    /// gitops: the config repository: `OWNER/NAME` on GitHub, or any git URL (`https://…`, `ssh://…`,
    /// `git@host:path`) or absolute path. Fetched and pushed with the `git` program and its credentials.
    pub repository: Option<IString>,
    /// gitops: the branch Argo CD or Flux reconciles from. Default: `main`.
    pub branch: Option<IString>,
    /// gitops: the file to change, relative to the repository's root (e.g. `apps/api/prod/kustomization.yaml`).
    pub path: Option<IString>,
    /// gitops: what the file is: `kustomize`, `helm` or `manifest`.
    pub format: Option<GitOpsFormat>,
    /// gitops: how the change reaches `branch`: `pull-request` (default: a branch `shipit/<environment>` and,
    /// on GitHub, a pull request) or `push` (a commit on `branch` itself).
    pub mode: Option<GitOpsMode>,
    /// gitops, mode = "pull-request" on GitHub: labels put on the pull request.
    #[serde(default)]
    pub labels: Vec<IString>,
    /// gitops, mode = "pull-request" on GitHub: logins asked to review the pull request.
    #[serde(default)]
    pub reviewers: Vec<IString>,
    /// gitops, mode = "pull-request" on GitHub: turn on auto-merge for the pull request (`squash`, `merge` or
    /// `rebase`), so it merges itself once its required reviews and checks pass. The repository must allow
    /// auto-merge.
    pub auto_merge: Option<AutoMerge>,
    /// gitops, mode = "push": after the commit is on `branch`, wait (up to `timeout`) for this Argo CD
    /// Application to be Synced at that commit and Healthy; Degraded or a failed sync is a failed deploy.
    pub argocd: Option<ArgoCdWait>,
    /// gitops, mode = "push": after the commit is on `branch`, wait (up to `timeout`) for this Flux
    /// Kustomization to report Ready with `lastAppliedRevision` at that commit (through the Kubernetes API).
    pub flux: Option<FluxWait>,
    /// gitops, format = "kustomize": the `name` of the `images:` entry to change. Default: `app.name`.
    pub image_name: Option<IString>,
    /// gitops, format = "helm": the dotted path of the value to change, e.g. `image.digest`.
    pub value_path: Option<IString>,
    /// gitops, format = "helm": how the digest is written there: `digest` (default), `image` or `tag@digest`.
    pub value: Option<HelmValue>,
}

/// `verify = { http = "https://…/healthz", expect = 200, for = "60s", interval = "5s" }` and/or
/// `verify = { command = ["./smoke.sh"] }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    /// URL to GET (http or https); every answer within `for` must have status `expect`.
    pub http: Option<IString>,
    /// The HTTP status every probe must answer with.
    #[serde(default = "default_expect")]
    pub expect: u16,
    /// How long to keep probing the URL.
    #[serde(rename = "for", default = "default_verify_for")]
    pub for_: DurationStr,
    /// Time between two probes.
    #[serde(default = "default_verify_interval")]
    pub interval: DurationStr,
    /// A command run once (argv, no shell), from ship.toml's directory, with SHIPIT_ENVIRONMENT, SHIPIT_IMAGE,
    /// SHIPIT_DIGEST and SHIPIT_REVISION set; exit code 0 passes.
    pub command: Option<Vec<IString>>,
    /// How long the command may run before it counts as failed.
    #[serde(default = "default_verify_timeout")]
    pub timeout: DurationStr,
}

fn default_expect() -> u16 {
    200
}
fn default_verify_for() -> DurationStr {
    DurationStr(std::time::Duration::from_secs(30))
}
fn default_verify_interval() -> DurationStr {
    DurationStr(std::time::Duration::from_secs(5))
}
fn default_verify_timeout() -> DurationStr {
    DurationStr(std::time::Duration::from_secs(5 * 60))
}

fn default_true() -> bool {
    true
}

fn default_deploy_timeout() -> DurationStr {
    DurationStr(std::time::Duration::from_secs(10 * 60))
}

impl Environment {
    /// The keys each target requires and the keys that only make sense for one target.
    pub fn target_keys(target: TargetKind) -> (&'static [&'static str], &'static [&'static str]) {
        match target {
            TargetKind::Ecs => (
                &["cluster", "service"],
                &["cluster", "service", "container", "region", "endpoint_url", "image_definitions"],
            ),
            TargetKind::Kubernetes => {
                (&["deployment"], &["context", "namespace", "deployment", "containers", "kubeconfig"])
            }
            TargetKind::Docker => (
                &["container_name"],
                &["host", "container_name", "container", "ports", "env", "network", "stop_timeout"],
            ),
            TargetKind::GitOps => (
                &["repository", "path", "format"],
                &[
                    "repository",
                    "branch",
                    "path",
                    "format",
                    "mode",
                    "image_name",
                    "value_path",
                    "value",
                    "container",
                    "labels",
                    "reviewers",
                    "auto_merge",
                    "argocd",
                    "flux",
                ],
            ),
        }
    }
}
