//! Shared test helpers and fake servers.
#![allow(dead_code)]

pub mod fake_ecs;
