//! One integration-test binary (links once, runs everything). Service tests read the endpoints that
//! `scripts/test-env` wrote; see tests/support/env.rs.

#[path = "../support/mod.rs"]
mod support;

mod build_push;
mod cli_basics;
mod config_errors;
mod docker_target;
mod ecs;
mod ecs_cli;
mod evidence;
mod gates_git;
mod gates_github;
mod gates_scan;
mod gates_sonar;
mod kube;
mod services;
mod ship;
