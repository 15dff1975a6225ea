//! One module per real system. Providers never print; they report progress through `report::Reporter` and
//! return typed errors that the command layer turns into messages with hints.

pub mod aws;
pub mod buildkit;
pub mod credentials;
pub mod docker;
pub mod docker_host;
pub mod ecr;
pub mod ecs;
pub mod git;
pub mod github;
pub mod gitops;
pub mod kube;
pub mod limits;
pub mod process;
pub mod registry;
pub mod sonarqube;
pub mod trivy;
pub mod webhook;
