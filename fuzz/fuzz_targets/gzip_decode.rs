//! Fuzzes [`weir_codecs::GzipDecoder`] with arbitrary input and chunking.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use weir_codecs::GzipDecoder;

fuzz_target!(|data: &[u8]| {
    let dec = GzipDecoder::builder().max_output(common::LIMIT).chunk_size(common::CHUNK).build();
    common::drive(dec, data);
});
