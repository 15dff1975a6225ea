//! The rollout engine, once for every target: lock → read live state → apply → watch → verify → restore on
//! failure → mark outcome → record → unlock. Targets (in `providers/`) expose primitives only; the policy lives
//! here. `Target` dispatches to the target an environment names.

pub mod announce;
pub mod engine;
pub mod lock;
pub mod meta;
pub mod target;
pub mod verify;
