//! cargo fuzz target `input_jsonl`: see netmap_fuzz::input_jsonl.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netmap_fuzz::input_jsonl(data));
