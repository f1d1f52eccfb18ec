//! cargo fuzz target `input_csv`: see netmap_fuzz::input_csv.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netmap_fuzz::input_csv(data));
