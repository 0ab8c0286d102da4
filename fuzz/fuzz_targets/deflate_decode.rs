//! Fuzzes [`weir_codecs::DeflateDecoder`] with arbitrary input and chunking.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use weir_codecs::DeflateDecoder;

fuzz_target!(|data: &[u8]| {
    let dec = DeflateDecoder::builder().max_output(common::LIMIT).chunk_size(common::CHUNK).build();
    common::drive(dec, data);
});
