//! The command line. Doc comments are the help text: write them for someone reading `shipit --help` at 2 a.m.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env_vars::EnvVars;

const EXAMPLES: &str = "\
Examples:
  shipit init                      Write a commented ship.toml for this repository
  shipit doctor                    Check Docker, Trivy, AWS, Kubernetes and GitHub access
  shipit plan production           What `ship` would do, without doing it
  shipit ship staging production   Check, build, scan, push, then deploy staging, then production
  shipit rollback production       Pick a previous release and put it back

Exit codes: 0 ok, 1 failed, 2 usage/config error, 3 a gate said no, 4 approval missing or declined,
5 deploy failed and was rolled back, 6 environment locked by another deploy, 130 interrupted.
See docs/exit-codes.md.";

/// Take one commit to production: check it, build it, scan it, push it, approve it, deploy it — and roll it
/// back when it goes wrong.
#[derive(Debug, Parser)]
#[command(name = "shipit", version, about, long_about = None, after_long_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path to ship.toml (default: search the current directory and its parents).
    #[arg(long, global = true, env = EnvVars::SHIPIT_CONFIG, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Answer yes to approvals and take defaults for questions (for CI).
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Output format for data on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human, env = EnvVars::SHIPIT_OUTPUT)]
    pub output: OutputFormat,

    /// When to use colors (NO_COLOR and CLICOLOR_FORCE are honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Only print errors and requested data.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Show more detail (full build output, API calls). Repeat for more.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Take HEAD to production: check, build, scan, push, approve and deploy, in that order.
    #[command(after_long_help = "\
Each stage must pass before the next starts; environments are deployed in the order given and a
failure stops the run. The digest read back from the registry is what every environment gets.

Examples:
  shipit ship staging                         The whole pipeline to one environment
  shipit ship staging production              Staging first, production only if staging succeeded
  shipit ship production --dry-run            Print the plan, change nothing (same as `shipit plan`)
  shipit ship production --yes --output json  In CI: no prompts, the release report on stdout
  shipit ship staging --skip-scan --reason \"INC-1234: trivy mirror down\"")]
    Ship(ShipArgs),

    /// Show what `shipit ship` would do, stage by stage, without changing anything.
    #[command(after_long_help = "\
Reads HEAD, asks the registry whether this commit is already pushed and each environment what it
runs now, then prints the stages `shipit ship` would run or skip, and why.

Examples:
  shipit plan production
  shipit plan staging production --output json")]
    Plan(PlanArgs),

    /// Check that HEAD may ship: git state, GitHub checks and approval, SonarQube.
    #[command(after_long_help = "\
One line per check; a failed one says what to do. Exit code 3 when a check says no,
1 when a check could not be done (GitHub or SonarQube unreachable, bad token).

Examples:
  shipit check                  Check HEAD against [check] in ship.toml
  shipit check production       Use production's `branches` instead of [check].branches
  shipit check --wait           Wait for pending GitHub checks ([check.github] wait_timeout) and
                                for SonarQube's analysis of HEAD ([check.sonarqube] wait_timeout)
  shipit check --output json    The full report on stdout (with the `error` object when it fails)")]
    Check(CheckArgs),

    /// Build HEAD's image locally, tagged with the commit.
    #[command(after_long_help = "\
Tags come from `build.tags` (default: the full and the 12-character commit SHA); OCI
labels (revision, source, created, version) are added. A working tree with uncommitted
changes is refused unless --allow-dirty, and its tags then end in -dirty. Prints the
first image reference on stdout.

Examples:
  shipit build                          Build HEAD, one status line per Dockerfile step
  shipit build -v                       ...and show the full build output
  shipit build --allow-dirty            Build uncommitted changes (tags end in -dirty)
  shipit build --registry ecr --output json")]
    Build(BuildArgs),

    /// Scan HEAD's image with Trivy and apply the scan gate.
    #[command(after_long_help = "\
Without IMAGE, scans HEAD's local image: <repository>:<full sha> of the registry in ship.toml.
The Trivy report is saved as .shipit/releases/<sha>.scan.json; the summary goes into the
release record. Exit code 3 when findings block the release.

Examples:
  shipit scan                         Scan HEAD's image
  shipit scan ghcr.io/acme/api:v1.2   Scan a given local image
  shipit scan --registry ecr          Pick the repository when ship.toml has several registries
  shipit scan --output json           The verdict on stdout (with the `error` object when it fails)
  shipit scan --skip-scan --reason \"INC-1234: hotfix, trivy mirror down\"
                                      Record a skipped scan (emergencies only)
  shipit scan --convert-trivyignore >> ship.toml
                                      Turn .trivyignore (which shipit never lets trivy read)
                                      into [[scan.exceptions]]; then write a reason for each")]
    Scan(ScanArgs),

    /// Push HEAD's image (building it unless the registry has it) and record its digest.
    #[command(after_long_help = "\
Before building, shipit checks that the registry answers and accepts the credentials, so
a bad token fails in seconds. If the registry already holds <repository>:<commit sha>,
the build and push are skipped and its digest is reported (--rebuild forces them). The
digest is read back from the registry and written to .shipit/releases/<sha>.json; stdout
gets repository@digest (--output json: the whole record). In GitHub Actions, `image` and
`digest` are set as step outputs and a summary is added.

Credentials: ecr from the AWS credential chain; ghcr from GITHUB_TOKEN, GH_TOKEN or
`gh auth token`; any registry from `username` + `password_env` in ship.toml, else
~/.docker/config.json (auths, credHelpers, credsStore).

Examples:
  shipit push                           Check the registry, build, push, print repo@sha256:…
  shipit push --rebuild                 Build and push even if the registry has this commit
  shipit push --registry ghcr -v        Pick one of several registries; full build and push output
  IMAGE=$(shipit push -q)               Just the pinned reference, for scripts")]
    Push(PushArgs),

    /// Deploy a pushed release (by digest) to an environment and wait for the rollout.
    #[command(after_long_help = "\
By default the release of the current commit (written by `shipit push`) is deployed.

Examples:
  shipit deploy staging
  shipit deploy production --yes
  shipit deploy staging --image ghcr.io/acme/api@sha256:9b1e…")]
    Deploy(DeployArgs),

    /// Show what runs in an environment now: digest, commit, revision, rollout state.
    #[command(after_long_help = "\
Examples:
  shipit status production
  shipit status production --output json")]
    Status(EnvArgs),

    /// List the releases an environment has run, newest first.
    #[command(after_long_help = "\
Examples:
  shipit history production
  shipit history production --limit 50 --output json")]
    History(HistoryArgs),

    /// Put a previous release back, without a rebuild.
    #[command(after_long_help = "\
Without --to or --previous, pick from a list (the previous release is preselected). The previous release is the
newest one before the live one with another image whose rollout did not fail (`✘ failed` in `shipit history`).

Examples:
  shipit rollback production
  shipit rollback production --previous --yes
  shipit rollback production --to 41            (a revision from `shipit history`)
  shipit rollback production --to sha256:77aa   (a digest prefix)")]
    Rollback(RollbackArgs),

    /// Deploy to <to> exactly the digest live in <from>, after checking its evidence.
    #[command(after_long_help = "\
No build and no local record: the digest comes from what <from> runs, so this works from a fresh CI
runner with only ship.toml and credentials. It must have rolled out successfully in <from> (for at least
<to>'s `promote_after`, when set) and pass <to>'s evidence gate (a passing scan under today's policy).
The approval prompt names both environments.

Examples:
  shipit promote staging production
  shipit promote staging production --yes --output json")]
    Promote(PromoteArgs),

    /// Show the evidence chain of a release: commit → build → scan → approvals → deploys.
    #[command(after_long_help = "\
Reads the evidence attached to the digest in the registry (docs/evidence.md) and judges the scan
under today's [scan] policy. Exit code 3 when a link the policy requires is missing or failing.

Examples:
  shipit verify production                       What production runs
  shipit verify 127.0.0.1:5000/api@sha256:9b1e…   One digest
  shipit verify staging --output json")]
    Verify(VerifyArgs),

    /// Write a commented ship.toml from what this repository looks like.
    #[command(after_long_help = "\
Examples:
  shipit init                                  Ask a few questions, then write ./ship.toml
  shipit init --yes                            Take every detected default (CI, scripts)
  shipit init --registry ecr --target ecs --repository 123456789012.dkr.ecr.us-east-1.amazonaws.com/api")]
    Init(InitArgs),

    /// Validate ship.toml or print its JSON Schema.
    #[command(subcommand)]
    Config(ConfigCommand),

    /// Make the cosign key pair that `[sign] key` signs releases with.
    #[command(subcommand)]
    Keys(KeysCommand),

    /// Check that everything shipit needs is installed, reachable and authorised.
    #[command(after_long_help = "\
Each line is one check with a hint when it fails. Exit code 1 when a check that ship.toml needs fails.

Examples:
  shipit doctor
  shipit doctor --output json")]
    Doctor,

    /// Print a shell completion script.
    #[command(after_long_help = "\
Examples:
  shipit completions bash > ~/.local/share/bash-completion/completions/shipit
  shipit completions zsh  > \"${fpath[1]}/_shipit\"
  shipit completions fish > ~/.config/fish/completions/shipit.fish")]
    Completions {
        /// The shell to generate completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Check against this environment's `branches` (default: [check].branches).
    #[arg(value_name = "ENV")]
    pub env: Option<String>,

    /// Wait for pending GitHub checks and for SonarQube's analysis of HEAD instead of failing, up to each
    /// table's wait_timeout.
    #[arg(long)]
    pub wait: bool,

    /// How often to poll GitHub and SonarQube while waiting.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::config::values::parse_duration, hide = true)]
    pub poll_interval: std::time::Duration,
}

#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Local image to scan (default: <repository>:<HEAD sha>).
    #[arg(value_name = "IMAGE")]
    pub image: Option<String>,

    /// Registry (a key of [registries]) whose repository names the default image.
    #[arg(long, value_name = "NAME")]
    pub registry: Option<String>,

    /// Do not scan; record that the scan was skipped, and why, in the release record. For emergencies.
    #[arg(long, requires = "reason")]
    pub skip_scan: bool,

    /// Why the scan is skipped (required with --skip-scan).
    #[arg(long, value_name = "TEXT", requires = "skip_scan")]
    pub reason: Option<String>,

    /// Do not scan: print the entries of .trivyignore as [[scan.exceptions]] (or [[exceptions]] for
    /// scan.exceptions_file) on stdout, to be completed with a reason each.
    #[arg(long, conflicts_with_all = ["image", "skip_scan", "registry"])]
    pub convert_trivyignore: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Build even with uncommitted changes; the tags then end in `-dirty`.
    #[arg(long)]
    pub allow_dirty: bool,

    /// Registry (a key of `[registries]`) to tag the image for; needed when ship.toml defines several.
    #[arg(long, value_name = "NAME")]
    pub registry: Option<String>,

    /// Build every step again instead of reusing the engine's cache.
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub build: BuildArgs,

    /// Build and push even when the registry already has an image for this commit.
    #[arg(long)]
    pub rebuild: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write cosign.key (encrypted with SHIPIT_SIGNING_PASSWORD or COSIGN_PASSWORD, mode 0600) and cosign.pub.
    #[command(after_long_help = "\
The files are cosign's formats: `cosign sign --key cosign.key` and `cosign verify --key cosign.pub` use
them as they are. Neither the key nor the password is ever printed. Then in ship.toml:
  [sign]
  key = \"cosign.key\"
  [environments.production]
  require_signature = true
  public_key = \"cosign.pub\"

Examples:
  SHIPIT_SIGNING_PASSWORD=… shipit keys generate
  SHIPIT_SIGNING_PASSWORD=… shipit keys generate --dir keys --force")]
    Generate {
        /// Where to write the files (default: the current directory).
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
        /// Replace existing cosign.key / cosign.pub.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check ship.toml; exit 0 when valid, 2 with the location of every problem otherwise.
    Validate,
    /// Print the JSON Schema of ship.toml (for Taplo / Even Better TOML and other editors).
    #[command(after_long_help = "\
Examples:
  shipit config schema > ship.schema.json
  # then, at the top of ship.toml:  #:schema ./ship.schema.json")]
    Schema,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Application name (default: the directory name).
    #[arg(long)]
    pub name: Option<String>,

    /// Registry type to push to.
    #[arg(long, value_enum)]
    pub registry: Option<RegistryChoice>,

    /// Image repository (default: ghcr.io/OWNER/REPO from the `origin` remote).
    #[arg(long, value_name = "REPO")]
    pub repository: Option<String>,

    /// Deploy target of the first environment.
    #[arg(long, value_enum)]
    pub target: Option<TargetChoice>,

    /// Name of the first environment.
    #[arg(long, default_value = "staging", value_name = "NAME")]
    pub environment: String,

    /// Dockerfile path, relative to the repository root (default: detected).
    #[arg(long, value_name = "PATH")]
    pub dockerfile: Option<String>,

    /// Overwrite an existing ship.toml.
    #[arg(long)]
    pub force: bool,

    /// Print the file instead of writing it.
    #[arg(long)]
    pub stdout: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegistryChoice {
    Ghcr,
    Ecr,
    Oci,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetChoice {
    Ecs,
    Kubernetes,
    Docker,
}

pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[derive(Debug, Clone, Args)]
pub struct EnvArgs {
    /// Environment name from ship.toml.
    pub environment: String,
}

#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// Environment name from ship.toml.
    pub environment: String,

    /// Deploy this image instead of the current commit's release (must be pinned: REPO@sha256:…).
    #[arg(long, value_name = "REPO@DIGEST", conflicts_with = "digest")]
    pub image: Option<String>,

    /// Deploy this digest from the environment's registry.
    #[arg(long, value_name = "sha256:…")]
    pub digest: Option<String>,

    /// Deploy even if another rollout is in progress, or the same digest already runs. With --reason, also
    /// a digest without a passing scan (recorded with the release and shown as a warning).
    #[arg(long)]
    pub force: bool,

    /// Why --force deploys a digest the evidence gate refuses (recorded with the release).
    #[arg(long, value_name = "TEXT", requires = "force")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub lock: LockArgs,
}

/// How a deploy waits: for the environment's deploy lock (see docs/deploy-locks.md) and, on a gitops
/// environment in pull-request mode, for the merge (docs/gitops.md).
#[derive(Debug, Clone, Default, Args)]
pub struct LockArgs {
    /// When another deploy holds the environment's lock, wait up to this long for it (e.g. `10m`) instead of
    /// failing with exit code 6.
    #[arg(long, value_name = "DURATION", value_parser = parse_wait)]
    pub wait_lock: Option<std::time::Duration>,

    /// Break the environment's lock even though its holder looks alive (it says whose it was). Only for a
    /// holder you know is gone: two deploys at once can interleave their changes.
    #[arg(long)]
    pub force_unlock: bool,

    /// gitops, `mode = "pull-request"`: after opening the pull request, wait (up to the environment's
    /// `timeout`) until it is merged, then for Argo CD or Flux to run it, instead of ending `proposed`.
    #[arg(long = "wait")]
    pub wait_merge: bool,
}

fn parse_wait(raw: &str) -> Result<std::time::Duration, String> {
    crate::config::values::parse_duration(raw)
}

#[derive(Debug, Clone, Args)]
pub struct PromoteArgs {
    /// The environment whose live digest is promoted.
    pub from: String,
    /// The environment it is deployed to.
    pub to: String,

    /// Deploy even if a rollout is in progress in <to>. With --reason, also without a passing scan.
    #[arg(long)]
    pub force: bool,

    /// Why --force deploys a digest the evidence gate refuses (recorded with the release).
    #[arg(long, value_name = "TEXT", requires = "force")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// An environment name, or an image pinned by digest (REPO@sha256:…).
    #[arg(value_name = "ENV|IMAGE@DIGEST")]
    pub what: String,
}

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Environment name from ship.toml.
    pub environment: String,

    /// How many releases to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Clone, Args)]
pub struct RollbackArgs {
    /// Environment name from ship.toml.
    pub environment: String,

    /// Roll back to this revision number or digest (prefix).
    #[arg(long, value_name = "REVISION|DIGEST", conflicts_with = "previous")]
    pub to: Option<String>,

    /// Roll back to the release before the one running now.
    #[arg(long)]
    pub previous: bool,

    /// Roll back even if a rollout is in progress. With --reason, also to a release without a passing scan
    /// under today's policy (recorded and shown as a warning).
    #[arg(long)]
    pub force: bool,

    /// Why --force rolls back to a release the evidence gate refuses (recorded with the release).
    #[arg(long, value_name = "TEXT", requires = "force")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ShipArgs {
    /// Environments to deploy to, in order.
    #[arg(required = true, value_name = "ENV")]
    pub environments: Vec<String>,

    /// Print the plan and stop; nothing is built, pushed or deployed.
    #[arg(long)]
    pub dry_run: bool,

    /// Build and push even if the registry already has an image for this commit.
    #[arg(long)]
    pub rebuild: bool,

    /// Wait for pending GitHub checks instead of failing on them ([check.github] wait_timeout).
    #[arg(long)]
    pub wait_checks: bool,

    /// Do not scan; the reason is recorded in the release record. For emergencies.
    #[arg(long, requires = "reason")]
    pub skip_scan: bool,

    /// Why the scan is skipped (required with --skip-scan), or why --force deploys a digest the evidence
    /// gate refuses. Recorded with the release either way.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Deploy even if a rollout is in progress, or the environment already runs this digest.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Environments, in the order `shipit ship` would deploy them.
    #[arg(required = true, value_name = "ENV")]
    pub environments: Vec<String>,
}
