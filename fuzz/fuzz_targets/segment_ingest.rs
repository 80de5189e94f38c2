#![no_main]
//! `tenure_fuzz::segment_ingest` under libFuzzer.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_fuzz::segment_ingest(data));
