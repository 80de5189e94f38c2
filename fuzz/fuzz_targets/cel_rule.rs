#![no_main]
//! `tenure_fuzz::cel_rule` under libFuzzer.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_fuzz::cel_rule(data));
