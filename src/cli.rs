//! The command line. Doc comments are the help text: write them for someone reading `shipit --help` at 2 a.m.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  shipit init                      Write a commented ship.toml for this repository
  shipit config validate           Check ship.toml and point at any mistake
  shipit doctor                    Check Docker, Trivy, AWS, Kubernetes and GitHub access

Exit codes: 0 ok, 1 failed, 2 usage/config error, 3 a gate said no, 4 approval missing or declined,
5 deploy failed and was rolled back, 130 interrupted. See docs/exit-codes.md.";

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
    #[arg(long, global = true, env = "SHIPIT_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Answer yes to approvals and take defaults for questions (for CI).
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Output format for data on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human, env = "SHIPIT_OUTPUT")]
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

    /// Check that everything shipit needs is installed, reachable and authorised.
    #[command(after_long_help = "\
Each line is one check with a hint when it fails. Exit code 1 when a check that ship.toml needs fails.

Examples:
  shipit doctor
  shipit doctor --output json")]
    Doctor,

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
Without --to or --previous, pick from a list (the previous release is preselected).

Examples:
  shipit rollback production
  shipit rollback production --previous --yes
  shipit rollback production --to 41            (a revision from `shipit history`)
  shipit rollback production --to sha256:77aa   (a digest prefix)")]
    Rollback(RollbackArgs),

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

    /// Deploy even if another rollout is in progress, or the same digest already runs.
    #[arg(long)]
    pub force: bool,
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

    /// Roll back even if a rollout is in progress.
    #[arg(long)]
    pub force: bool,
}
