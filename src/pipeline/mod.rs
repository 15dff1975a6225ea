//! The stages of a release. Each is callable alone (`shipit check`, `shipit scan`) and from `shipit ship`.

pub mod check;
pub mod scan;
