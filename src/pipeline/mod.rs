//! The release pipeline: each stage is a module with a plain function; `commands::ship` strings them together.

pub mod approve;
pub mod deploy;
