#![no_main]
//! See shipit::fuzz_api::ecs_outcome and docs/security.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = shipit::fuzz_api::ecs_outcome(data);
});
