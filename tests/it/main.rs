//! One integration-test binary (links once, runs everything). Service tests read the endpoints that
//! `scripts/test-env` wrote; see tests/support/env.rs.

#[path = "../support/mod.rs"]
mod support;

mod cli_basics;
mod config_errors;
mod kube;
mod services;
