//! cargo fuzz target `peer`: see netmap_fuzz::peer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netmap_fuzz::peer(data));
