//! The release pipeline: each stage is a module with a plain function; `commands::ship` strings them together.

pub mod approve;
pub mod build;
pub mod check;
pub mod journal;
pub mod plan;
pub mod push;
pub mod scan;
pub mod screen;
mod sonar;
