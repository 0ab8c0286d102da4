//! Fuzzes [`weir_codecs::LzmaDecoder`] (`.lzma`, liblzma through
//! async-compression's codecs) with arbitrary input and chunking.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use weir_codecs::LzmaDecoder;

fuzz_target!(|data: &[u8]| {
    // The header alone picks the dictionary size (up to 4 GiB): bounded as
    // for untrusted input.
    let dec = LzmaDecoder::builder()
        .max_memory(common::MEMORY)
        .max_output(common::LIMIT)
        .chunk_size(common::CHUNK)
        .build();
    common::drive(dec, data);
});
