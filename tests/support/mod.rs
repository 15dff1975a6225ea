//! Shared helpers for the integration tests: the test environment's endpoints, fake servers.
#![allow(dead_code)]

pub mod cli;
pub mod env;
pub mod fake_ecs;
pub mod fake_kube;
pub mod fake_trivy;
pub mod fault_proxy;
pub mod git_repo;
pub mod hostile;
pub mod images;
pub mod tmux;
