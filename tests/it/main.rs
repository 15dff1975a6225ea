//! One integration-test binary (links once, runs everything). Service tests read the endpoints that
//! `scripts/test-env` wrote; see tests/support/env.rs.

#[path = "../support/mod.rs"]
mod support;

mod build_push;
mod buildkit;
mod cli_basics;
mod config_errors;
mod docker_target;
mod ecs;
mod ecs_cli;
mod gates_git;
mod gates_github;
mod gates_scan;
mod kube;
mod services;
mod ship;
