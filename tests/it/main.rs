//! The one integration-test binary: each module tests one area against real or faithfully faked systems.

#[path = "../support/mod.rs"]
mod support;

mod ecs;
