//! One integration-test binary (links once, runs everything). Service tests read the endpoints that
//! `scripts/test-env` wrote; see tests/support/env.rs.

#[path = "../support/mod.rs"]
mod support;

mod action;
mod announce;
mod approval;
mod architecture;
mod build_push;
mod buildkit;
mod cli_basics;
mod config_errors;
mod docker_target;
mod ecs;
mod ecs_cli;
mod env_docs;
mod evidence;
mod fuzz_regressions;
mod gates_git;
mod gates_github;
mod gates_scan;
mod gates_sonar;
mod gitops;
mod hostile_servers;
mod kube;
mod rollout_bounds;
mod rollout_docker;
mod services;
mod ship;
mod signing;
mod standalone;
