//! Every environment variable shipit reads (and the few it sets for commands it runs), defined once. Code uses these names (`EnvVars::SHIPIT_APPROVE`), never a
//! string literal, so this file is the complete list; docs/environment.md is generated from the doc comments here
//! and a test (tests/it/env_docs.rs) fails when the two differ. Run `scripts/gen-env-docs` after editing.
//!
//! Layout the generator relies on: a `// ## Title` comment starts a section; `///` lines document the constant that
//! follows them; each constant's value is its own name.

/// Declares every environment variable shipit reads.
pub struct EnvVars;

impl EnvVars {
    // ## shipit's own

    /// Path to ship.toml; the same as `--config`. Default: search the current directory and its parents.
    pub const SHIPIT_CONFIG: &'static str = "SHIPIT_CONFIG";

    /// Output format for data on stdout, `human` or `json`; the same as `--output`.
    pub const SHIPIT_OUTPUT: &'static str = "SHIPIT_OUTPUT";

    /// Environments approved without a prompt: a comma-separated list of names (`staging,production`), or `*` for
    /// all. Meant for a CI job that itself sits behind an approval (a GitHub environment with required reviewers).
    /// Covers `ship`, `deploy` and `rollback`.
    pub const SHIPIT_APPROVE: &'static str = "SHIPIT_APPROVE";

    /// Who is deploying, as recorded on the target and shown by `shipit history`. Default: in GitHub Actions
    /// `$GITHUB_ACTOR (run $GITHUB_RUN_ID)`, else git's `user.name`, else `$USER`.
    pub const SHIPIT_DEPLOYER: &'static str = "SHIPIT_DEPLOYER";

    /// The password of the `[sign] key` (cosign's encrypted key format) and of the key `shipit keys generate` writes.
    /// Never printed. `COSIGN_PASSWORD` is read when this is unset.
    pub const SHIPIT_SIGNING_PASSWORD: &'static str = "SHIPIT_SIGNING_PASSWORD";

    /// cosign's name for the key password, read when `SHIPIT_SIGNING_PASSWORD` is unset.
    pub const COSIGN_PASSWORD: &'static str = "COSIGN_PASSWORD";

    /// Path to the trivy binary. Default: `trivy` on `PATH`.
    pub const SHIPIT_TRIVY: &'static str = "SHIPIT_TRIVY";

    /// `1` or `true`: scan without network access (`--skip-db-update --skip-java-db-update --offline-scan`), against
    /// the vulnerability DB already in trivy's cache directory.
    pub const SHIPIT_TRIVY_OFFLINE: &'static str = "SHIPIT_TRIVY_OFFLINE";

    // ## Terminal and output

    /// Set (to anything but empty, `0` or `false`) in CI: no prompts, no live progress, one plain line per change.
    /// GitHub Actions, GitLab CI and most others set it.
    pub const CI: &'static str = "CI";

    /// Any non-empty value turns colours off under `--color auto` (<https://no-color.org>).
    pub const NO_COLOR: &'static str = "NO_COLOR";

    /// Any value but empty or `0` turns colours on under `--color auto`, also when the output is not a terminal.
    pub const CLICOLOR_FORCE: &'static str = "CLICOLOR_FORCE";

    /// `0` turns colours off under `--color auto`.
    pub const CLICOLOR: &'static str = "CLICOLOR";

    // ## GitHub and GitHub Actions

    /// A GitHub token for the commit check (check-runs, statuses, pull request reviews) and for pushing to ghcr.io.
    /// Read before `GH_TOKEN` and `gh auth token`.
    pub const GITHUB_TOKEN: &'static str = "GITHUB_TOKEN";

    /// A GitHub token, as the gh CLI names it; read when `GITHUB_TOKEN` is unset.
    pub const GH_TOKEN: &'static str = "GH_TOKEN";

    /// Set by GitHub Actions: the user name for ghcr.io when the registry has no `username`, and part of the
    /// default deployer.
    pub const GITHUB_ACTOR: &'static str = "GITHUB_ACTOR";

    /// The GitHub API, when `[check.github] api_url` is not set (GitHub Actions sets it; on GitHub Enterprise Server
    /// it is the server's `/api/v3`). Default: `https://api.github.com`.
    pub const GITHUB_API_URL: &'static str = "GITHUB_API_URL";

    /// The GitHub web address for links in messages (GitHub Actions sets it). Default: the one that belongs to the
    /// API address.
    pub const GITHUB_SERVER_URL: &'static str = "GITHUB_SERVER_URL";

    /// Set by GitHub Actions: the workflow run, shown with the deployer as `actor (run ID)`.
    pub const GITHUB_RUN_ID: &'static str = "GITHUB_RUN_ID";

    /// Set to `true` by GitHub Actions. Then the log is structured with workflow commands: `::group::` around each
    /// stage's lines, `::error::` for the failure with its hints, `::warning::` and `::notice::`.
    pub const GITHUB_ACTIONS: &'static str = "GITHUB_ACTIONS";

    /// Set by GitHub Actions: the file step outputs go to. `push` and `ship` write `image` and `digest` there.
    pub const GITHUB_OUTPUT: &'static str = "GITHUB_OUTPUT";

    /// Set by GitHub Actions: the job summary file. `push` and `ship` append a markdown table there (image, commit,
    /// verdicts, each deploy's outcome).
    pub const GITHUB_STEP_SUMMARY: &'static str = "GITHUB_STEP_SUMMARY";

    // ## Docker, registries and Trivy

    /// The Docker engine address when an environment has no `host` (for example `unix:///var/run/docker.sock` or
    /// `tcp://10.0.0.5:2376`). Default: `unix:///var/run/docker.sock`.
    pub const DOCKER_HOST: &'static str = "DOCKER_HOST";

    /// The directory holding docker's `config.json` (registry credentials and credential helpers). Default:
    /// `~/.docker`.
    pub const DOCKER_CONFIG: &'static str = "DOCKER_CONFIG";

    /// The ssh-agent socket forwarded to BuildKit builds when `[build] ssh = true` (`RUN --mount=type=ssh`).
    pub const SSH_AUTH_SOCK: &'static str = "SSH_AUTH_SOCK";

    /// Trivy's cache directory (its vulnerability DB), passed to trivy as `--cache-dir`. Default: trivy's own.
    pub const TRIVY_CACHE_DIR: &'static str = "TRIVY_CACHE_DIR";

    /// Not passed on to trivy: it would make trivy leave findings out of its report, and what is left out is
    /// decided by ship.toml's scan policy (`[scan]`, its exceptions and `.trivyignore`). The same holds for the five
    /// below.
    pub const TRIVY_IGNOREFILE: &'static str = "TRIVY_IGNOREFILE";

    /// Not passed on to trivy (see `TRIVY_IGNOREFILE`).
    pub const TRIVY_IGNORE_POLICY: &'static str = "TRIVY_IGNORE_POLICY";

    /// Not passed on to trivy (see `TRIVY_IGNOREFILE`); ship.toml's `ignore_unfixed` decides.
    pub const TRIVY_IGNORE_UNFIXED: &'static str = "TRIVY_IGNORE_UNFIXED";

    /// Not passed on to trivy (see `TRIVY_IGNOREFILE`).
    pub const TRIVY_IGNORE_STATUS: &'static str = "TRIVY_IGNORE_STATUS";

    /// Not passed on to trivy (see `TRIVY_IGNOREFILE`).
    pub const TRIVY_VEX: &'static str = "TRIVY_VEX";

    /// Not passed on to trivy (see `TRIVY_IGNOREFILE`): a trivy.yaml could filter findings too.
    pub const TRIVY_CONFIG: &'static str = "TRIVY_CONFIG";

    /// Seconds since the epoch for the image's `org.opencontainers.image.created` label (reproducible builds).
    /// Default: the commit's time.
    pub const SOURCE_DATE_EPOCH: &'static str = "SOURCE_DATE_EPOCH";

    // ## Kubernetes

    /// The kubeconfig file(s), separated like `PATH`; files that do not exist are skipped, as kubectl does.
    /// Default: `~/.kube/config`, else the in-cluster service account.
    pub const KUBECONFIG: &'static str = "KUBECONFIG";

    // ## System

    /// The home directory: `~/.docker/config.json`, `~/.kube/config`, and `~/` in paths shown or given.
    pub const HOME: &'static str = "HOME";

    /// Where `docker-credential-*` helpers (and trivy, without `SHIPIT_TRIVY`) are looked up.
    pub const PATH: &'static str = "PATH";

    /// The last fallback for the deployer's name.
    pub const USER: &'static str = "USER";

    /// Names this machine in a deploy lock's holder when `/proc/sys/kernel/hostname` cannot be read.
    pub const HOSTNAME: &'static str = "HOSTNAME";

    // ## Set by shipit for a verify command

    /// Set for an environment's `verify.command`: the environment being deployed.
    pub const SHIPIT_ENVIRONMENT: &'static str = "SHIPIT_ENVIRONMENT";

    /// Set for `verify.command`: the image just rolled out, `repository@sha256:…`.
    pub const SHIPIT_IMAGE: &'static str = "SHIPIT_IMAGE";

    /// Set for `verify.command`: the digest just rolled out, `sha256:…` (empty when the target does not know it).
    pub const SHIPIT_DIGEST: &'static str = "SHIPIT_DIGEST";

    /// Set for `verify.command`: the target's revision of the rollout (task-definition revision, ReplicaSet
    /// revision, container revision).
    pub const SHIPIT_REVISION: &'static str = "SHIPIT_REVISION";
}
