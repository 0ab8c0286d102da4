//! Fuzzes [`weir_codecs::XzDecoder`] (liblzma through async-compression's
//! codecs) with arbitrary input and chunking: streams back to back, stream
//! padding and trailing bytes included.
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use weir_codecs::XzDecoder;

fuzz_target!(|data: &[u8]| {
    // A header may ask for a dictionary of up to 1.5 GiB: bounded as for
    // untrusted input, so the limit's error path is fuzzed too.
    let dec = XzDecoder::builder()
        .max_memory(common::MEMORY)
        .max_output(common::LIMIT)
        .chunk_size(common::CHUNK)
        .build();
    common::drive(dec, data);
});
