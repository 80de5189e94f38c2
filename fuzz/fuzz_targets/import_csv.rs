#![no_main]
//! `tenure_fuzz::import_csv` under libFuzzer.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_fuzz::import_csv(data));
