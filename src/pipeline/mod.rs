//! The stages of a release, shared by the single-stage commands (`build`, `push`) and `ship`.

pub mod build;
pub mod push;
