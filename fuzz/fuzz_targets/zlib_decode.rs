//! Fuzzes [`weir_codecs::ZlibDecoder`] with arbitrary input and chunking.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use weir_codecs::ZlibDecoder;

fuzz_target!(|data: &[u8]| {
    let dec = ZlibDecoder::builder().max_output(common::LIMIT).chunk_size(common::CHUNK).build();
    common::drive(dec, data);
});
