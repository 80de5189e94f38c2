#![no_main]
//! `tenure_fuzz::config` under libFuzzer.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_fuzz::config(data));
