//! Fuzzes [`weir_codecs::BrotliDecoder`] with arbitrary input and chunking.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use weir_codecs::BrotliDecoder;

fuzz_target!(|data: &[u8]| {
    let dec = BrotliDecoder::builder().max_output(common::LIMIT).chunk_size(common::CHUNK).build();
    common::drive(dec, data);
});
