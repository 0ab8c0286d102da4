//! Fuzzes [`weir_codecs::Bzip2Decoder`] (libbz2-rs through
//! async-compression's codecs) with arbitrary input and chunking: streams
//! back to back and trailing bytes included.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use weir_codecs::Bzip2Decoder;

fuzz_target!(|data: &[u8]| {
    let dec = Bzip2Decoder::builder()
        .max_output(common::LIMIT)
        .chunk_size(common::CHUNK)
        .build();
    common::drive(dec, data);
});
