//! Round trips under random chunk boundaries, for every format and level
//! range, against our own decoders and against reference implementations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::io::Read;

use proptest::prelude::*;
use support::*;
use weir::codecs::SyncFlush;

/// Input: compressible text, random bytes, or a mix, up to 96 KiB.
fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0usize..96 * 1024, any::<u64>()).prop_map(|(n, seed)| text(n, seed)),
        proptest::collection::vec(any::<u8>(), 0..8 * 1024),
        (
            0usize..48 * 1024,
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..2048)
        )
            .prop_map(|(n, seed, noise)| {
                let mut v = text(n, seed);
                let at = v.len() / 2;
                v.splice(at..at, noise);
                v
            }),
    ]
}

/// Chunk sizes from 1 byte to 1 MiB, small ones often.
fn sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(
        prop_oneof![1usize..16, 1usize..4096, 1usize..(1 << 20)],
        1..6,
    )
}

/// gzip through async-compression's sans-IO decoder (`compression-codecs`),
/// members back to back as its `multiple_members` mode reads them: a second
/// reference, independent of flate2's gzip framing.
fn async_compression_gunzip(packed: &[u8]) -> Vec<u8> {
    use compression_codecs::DecodeV2;
    use compression_codecs::core::util::{PartialBuffer, WriteBuffer};
    let mut dec = compression_codecs::GzipDecoder::new();
    let mut input = PartialBuffer::new(packed);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    let mut ended = false;
    loop {
        if ended {
            if input.unwritten().is_empty() {
                break;
            }
            dec.reinit().unwrap();
        }
        let mut w = WriteBuffer::new_initialized(&mut buf);
        let before = input.written_len();
        ended = dec.decode(&mut input, &mut w).unwrap();
        out.extend_from_slice(w.written());
        assert!(
            ended || input.written_len() > before || w.written_len() > 0,
            "gzip ends early (async-compression's decoder)"
        );
    }
    out
}

fn reference_decode(f: Format, packed: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match f {
        Format::Gzip => {
            flate2::read::MultiGzDecoder::new(packed)
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(
                async_compression_gunzip(packed),
                out,
                "the two reference gzip decoders disagree"
            );
        }
        Format::Deflate => {
            flate2::read::DeflateDecoder::new(packed)
                .read_to_end(&mut out)
                .unwrap();
        }
        Format::Zlib => {
            flate2::read::ZlibDecoder::new(packed)
                .read_to_end(&mut out)
                .unwrap();
        }
        Format::Zstd => out = zstd::decode_all(packed).unwrap(),
        Format::Brotli => {
            brotli::BrotliDecompress(&mut &packed[..], &mut out).unwrap();
        }
        Format::Xz => {
            liblzma::read::XzDecoder::new_multi_decoder(packed)
                .read_to_end(&mut out)
                .unwrap();
        }
        Format::Bzip2 => {
            bzip2::read::MultiBzDecoder::new(packed)
                .read_to_end(&mut out)
                .unwrap();
        }
        Format::Lz4 => {
            lz4::Decoder::new(packed)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
        }
    }
    out
}

fn reference_encode(f: Format, level: i32, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let l = flate2::Compression::new(level.clamp(0, 9) as u32);
    match f {
        Format::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), l);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Format::Deflate => {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), l);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Format::Zlib => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), l);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Format::Zstd => zstd::encode_all(data, level).unwrap(),
        Format::Brotli => {
            let mut out = Vec::new();
            {
                let mut w =
                    brotli::CompressorWriter::new(&mut out, 4096, level.clamp(0, 11) as u32, 22);
                w.write_all(data).unwrap();
            }
            out
        }
        Format::Xz => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), level.clamp(0, 9) as u32);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Format::Bzip2 => {
            let l = bzip2::Compression::new(level.clamp(1, 9) as u32);
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), l);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Format::Lz4 => {
            let mut e = lz4::EncoderBuilder::new()
                .level(level.clamp(1, 12) as u32)
                .build(Vec::new())
                .unwrap();
            e.write_all(data).unwrap();
            let (out, r) = e.finish();
            r.unwrap();
            out
        }
    }
}

/// Brotli's top qualities and zstd's top levels are slow in the dev
/// profile: sweep them on smaller inputs.
fn cap_for(f: Format, level: i32, data: &mut Vec<u8>) {
    let cap = match (f, level) {
        (Format::Brotli, 10..) => 8 * 1024,
        (Format::Brotli, 5..) => 32 * 1024,
        (Format::Zstd, 16..) => 32 * 1024,
        _ => usize::MAX,
    };
    data.truncate(cap);
}

fn check(
    f: Format,
    level: i32,
    mut data: Vec<u8>,
    enc_sizes: Vec<usize>,
    dec_sizes: Vec<usize>,
    out_chunk: usize,
    sync: SyncFlush,
) {
    cap_for(f, level, &mut data);
    let enc = run_sync(f.encoder_with(level, sync), &data, &enc_sizes);
    assert!(enc.error.is_none(), "{} encode: {:?}", f.name(), enc.error);
    // Our encoder against the reference decoder.
    assert_eq!(
        reference_decode(f, &enc.out),
        data,
        "{} level {level}: reference decode",
        f.name()
    );
    // Our decoder, with small output chunks so `resume` is exercised.
    let dec = run_sync(f.decoder_with(None, None, out_chunk), &enc.out, &dec_sizes);
    assert!(dec.error.is_none(), "{} decode: {:?}", f.name(), dec.error);
    assert_eq!(dec.out, data, "{} level {level}: our decode", f.name());
    assert!(
        dec.largest_chunk <= out_chunk,
        "{}: chunk {} > {out_chunk}",
        f.name(),
        dec.largest_chunk
    );
    assert!(
        dec.most_per_call <= out_chunk,
        "{}: {} bytes in one call",
        f.name(),
        dec.most_per_call
    );
    // The reference encoder against our decoder.
    let theirs = reference_encode(f, level, &data);
    let dec = run_sync(f.decoder(), &theirs, &dec_sizes);
    assert!(
        dec.error.is_none(),
        "{} decode of reference: {:?}",
        f.name(),
        dec.error
    );
    assert_eq!(
        dec.out,
        data,
        "{} level {level}: decode of reference",
        f.name()
    );
}

fn sync_mode() -> impl Strategy<Value = SyncFlush> {
    prop_oneof![
        3 => Just(SyncFlush::Never),
        1 => Just(SyncFlush::EveryChunk),
        1 => (1u64..20_000).prop_map(SyncFlush::EveryBytes),
    ]
}

macro_rules! roundtrip {
    ($name:ident, $fmt:expr, $cases:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: $cases, ..ProptestConfig::default() })]
            #[test]
            fn $name(
                level in $fmt.levels(),
                data in data(),
                enc_sizes in sizes(),
                dec_sizes in sizes(),
                out_chunk in prop_oneof![1usize..64, 1usize..(300 * 1024)],
                sync in sync_mode(),
            ) {
                check($fmt, level, data, enc_sizes, dec_sizes, out_chunk, sync);
            }
        }
    };
}

roundtrip!(gzip_round_trips, Format::Gzip, 24);
roundtrip!(deflate_round_trips, Format::Deflate, 20);
roundtrip!(zlib_round_trips, Format::Zlib, 20);
roundtrip!(zstd_round_trips, Format::Zstd, 24);
roundtrip!(brotli_round_trips, Format::Brotli, 16);
roundtrip!(xz_round_trips, Format::Xz, 16);
roundtrip!(bzip2_round_trips, Format::Bzip2, 12);
roundtrip!(lz4_round_trips, Format::Lz4, 20);

#[test]
fn every_level_of_every_format_round_trips() {
    let data = text(20_000, 7);
    for f in FORMATS {
        for level in f.levels() {
            let packed = encode(f, level, &data);
            assert_eq!(
                reference_decode(f, &packed),
                data,
                "{} level {level}",
                f.name()
            );
            let back = run_sync(f.decoder(), &packed, &[1, 7, 4096]);
            assert!(
                back.error.is_none(),
                "{} level {level}: {:?}",
                f.name(),
                back.error
            );
            assert_eq!(back.out, data, "{} level {level}", f.name());
        }
    }
}

#[test]
fn empty_input_encodes_to_a_valid_empty_stream() {
    for f in FORMATS {
        for level in [*f.levels().start(), *f.levels().end()] {
            let packed = encode(f, level, b"");
            assert!(
                !packed.is_empty(),
                "{}: an empty stream still has a header",
                f.name()
            );
            assert!(reference_decode(f, &packed).is_empty(), "{}", f.name());
            assert_eq!(apply(f.decoder(), &packed).unwrap(), b"", "{}", f.name());
        }
    }
}

#[test]
fn round_trips_through_the_stream_adapter() {
    let data = text(200_000, 3);
    for f in FORMATS {
        let packed = through(f.encoder(f.quick_level()), &data, 65_536).unwrap();
        for size in [1 << 20, 10_000, 777] {
            assert_eq!(
                through(f.decoder(), &packed, size).unwrap(),
                data,
                "{} {size}",
                f.name()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    /// Several gzip members back to back (empty ones, stored ones, compressed
    /// ones), cut anywhere, decoded into small or large chunks, then gzip's
    /// zero padding: every member's data comes out, in order, and nothing
    /// else. Each member boundary is where a decoder that reads ahead (ISA-L
    /// takes input 8 bytes at a time) must hand back what it took.
    #[test]
    fn gzip_members_back_to_back_in_any_split(
        members in proptest::collection::vec((0usize..40_000, any::<u64>(), 0u32..10), 1..5),
        sizes in sizes(),
        out_chunk in prop_oneof![1usize..64, 1usize..(300 * 1024)],
        padding in 0usize..20,
    ) {
        let mut file = Vec::new();
        let mut want = Vec::new();
        for (n, seed, level) in members {
            let data = text(n, seed);
            file.extend(apply(weir::codecs::GzipEncoder::with_level(level), &data).unwrap());
            want.extend(data);
        }
        file.resize(file.len() + padding, 0);
        let dec = weir::codecs::GzipDecoder::builder().chunk_size(out_chunk).build();
        let r = run_sync(dec, &file, &sizes);
        prop_assert!(r.error.is_none(), "{:?}", r.error);
        prop_assert!(r.out == want, "output differs: {} bytes vs {}", r.out.len(), want.len());
    }
}
