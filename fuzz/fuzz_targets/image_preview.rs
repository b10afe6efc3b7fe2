#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tipoff::fuzzing::image_preview(data));
