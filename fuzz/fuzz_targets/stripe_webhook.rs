#![no_main]
//! `tenure_fuzz::stripe_webhook` under libFuzzer.

libfuzzer_sys::fuzz_target!(|data: &[u8]| tenure_fuzz::stripe_webhook(data));
