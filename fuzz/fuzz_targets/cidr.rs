//! cargo fuzz target `cidr`: see netmap_fuzz::cidr.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netmap_fuzz::cidr(data));
