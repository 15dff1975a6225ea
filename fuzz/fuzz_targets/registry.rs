#![no_main]
//! See shipit::fuzz_api::registry and docs/security.md.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| shipit::fuzz_api::registry(data));
