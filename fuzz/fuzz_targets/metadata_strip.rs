#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tipoff::fuzzing::metadata_strip(data));
