//! cargo fuzz target `input_otlp`: see netmap_fuzz::input_otlp.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netmap_fuzz::input_otlp(data));
