//! cargo fuzz target `input_hubble`: see netmap_fuzz::input_hubble.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netmap_fuzz::input_hubble(data));
