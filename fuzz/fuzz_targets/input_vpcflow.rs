//! cargo fuzz target `input_vpcflow`: see netmap_fuzz::input_vpcflow.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netmap_fuzz::input_vpcflow(data));
