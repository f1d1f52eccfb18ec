//! cargo fuzz target `input_detect`: see netmap_fuzz::input_detect.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netmap_fuzz::input_detect(data));
