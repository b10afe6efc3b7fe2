#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tipoff::fuzzing::multipart_body(data));
