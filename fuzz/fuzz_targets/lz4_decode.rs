//! Fuzzes [`weir_codecs::Lz4Decoder`] (liblz4's frame decoder through
//! async-compression's codecs) with arbitrary input and chunking: frames
//! back to back, skippable frames and trailing bytes included.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use weir_codecs::Lz4Decoder;

fuzz_target!(|data: &[u8]| {
    let dec = Lz4Decoder::builder()
        .max_output(common::LIMIT)
        .chunk_size(common::CHUNK)
        .build();
    common::drive(dec, data);
});
