//! xz, lzma, bzip2 and LZ4 specifics: interop with the system's `xz`,
//! `bzip2` and `lz4` both ways, streams back to back cut anywhere (xz's
//! stream padding, LZ4's skippable frames), truncation and corruption with
//! their offsets, trailing data, memory limits, and partial streams decoded
//! as they arrive.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::io::Read;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use proptest::prelude::*;
use support::*;
use weir::codecs::*;
use weir::{ReadableExt, readable};

const NEW: [Format; 3] = [Format::Xz, Format::Bzip2, Format::Lz4];

/// The system command of a format.
fn tool(f: Format) -> &'static str {
    match f {
        Format::Xz => "xz",
        Format::Bzip2 => "bzip2",
        Format::Lz4 => "lz4",
        _ => unreachable!(),
    }
}

/// The system command's options for a level, and some variants of what it
/// can write.
fn system_variants(f: Format) -> Vec<Vec<&'static str>> {
    match f {
        Format::Xz => vec![
            vec!["-0"],
            vec!["-6"],
            vec!["-9e"],
            vec!["-3", "--check=sha256"],
            vec!["-1", "--check=none"],
            vec!["-2", "--check=crc32", "--block-size=20000"],
        ],
        Format::Bzip2 => vec![vec!["-1"], vec!["-5"], vec!["-9"]],
        Format::Lz4 => vec![
            vec!["-1"],
            vec!["-9"],
            vec!["-12"],
            vec!["-1", "-BD", "-B4"],
            vec!["-1", "-BX", "--no-frame-crc"],
            vec!["-1", "--content-size"],
            vec!["--fast=3"],
        ],
        _ => unreachable!(),
    }
}

#[test]
fn the_system_tools_are_there() {
    // The fresh machine has them; interop below must not pass vacuously.
    for f in NEW {
        assert!(have(tool(f)), "{} is missing", tool(f));
    }
}

#[test]
fn we_decode_what_the_system_tools_write() {
    let data = [text(300_000, 80), vec![0u8; 70_000], text(1000, 81)].concat();
    for f in NEW {
        for opts in system_variants(f) {
            let mut args = vec!["-c"];
            args.extend(&opts);
            let (ok, packed) = pipe_through(tool(f), &args, &data);
            assert!(ok, "{} {opts:?}", tool(f));
            for sizes in [&[usize::MAX][..], &[1, 4093, 65_536][..]] {
                let r = run_sync(f.decoder(), &packed, sizes);
                assert!(r.error.is_none(), "{} {opts:?}: {:?}", tool(f), r.error);
                assert!(r.out == data, "{} {opts:?}: wrong output", tool(f));
            }
        }
    }
}

#[test]
fn the_system_tools_decode_what_we_write() {
    let data = [text(300_000, 82), vec![7u8; 50_000]].concat();
    for f in NEW {
        for level in [*f.levels().start(), f.quick_level(), *f.levels().end()] {
            let packed = run_sync(f.encoder(level), &data, &[65_536, 3, 10_000]).out;
            let (ok, back) = pipe_through(tool(f), &["-dc"], &packed);
            assert!(ok, "{} -d of our level {level}", tool(f));
            assert!(back == data, "{} level {level}: wrong output", tool(f));
            let (ok, _) = pipe_through(tool(f), &["-t"], &packed);
            assert!(ok, "{} -t of our level {level}", tool(f));
        }
        // Sync flushes too: the system tool reads them as one file.
        let enc = f.encoder_with(f.quick_level(), SyncFlush::EveryBytes(20_000));
        let packed = run_sync(enc, &data, &[7000]).out;
        let (ok, back) = pipe_through(tool(f), &["-dc"], &packed);
        assert!(ok && back == data, "{} -d of our flushed stream", tool(f));
    }
}

#[test]
fn the_system_tools_and_we_agree_on_concatenated_files() {
    let parts = [text(50_000, 83), Vec::new(), text(3000, 84)];
    for f in NEW {
        let mut file = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            if i % 2 == 0 {
                file.extend(pipe_through(tool(f), &["-c"], p).1);
            } else {
                file.extend(encode(f, f.quick_level(), p));
            }
        }
        let want = parts.concat();
        let (ok, theirs) = pipe_through(tool(f), &["-dc"], &file);
        assert!(ok && theirs == want, "{}: the system tool", tool(f));
        let r = run_sync(f.decoder(), &file, &[1, 2, 3, 5000]);
        assert!(r.error.is_none(), "{}: {:?}", f.name(), r.error);
        assert!(r.out == want, "{}: concatenation", f.name());
    }
}

/// Streams back to back, each made by our encoder or the reference one,
/// with xz's padding after some: the decoder gives all their data, in order,
/// under any cut.
fn multi_stream_file(f: Format, parts: &[(usize, u64, bool)]) -> (Vec<u8>, Vec<u8>) {
    let mut file = Vec::new();
    let mut want = Vec::new();
    for &(n, seed, pad) in parts {
        let data = text(n, seed);
        file.extend(encode(f, f.quick_level(), &data));
        if pad && f == Format::Xz {
            file.extend([0u8; 8]);
        }
        if pad && f == Format::Lz4 {
            // A skippable frame: magic 0x184D2A5A, length 5, payload.
            file.extend([0x5a, 0x2a, 0x4d, 0x18, 5, 0, 0, 0, 1, 2, 3, 4, 5]);
        }
        want.extend(data);
    }
    (file, want)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn streams_back_to_back_in_any_split(
        which in 0usize..3,
        parts in proptest::collection::vec((0usize..30_000, any::<u64>(), any::<bool>()), 1..4),
        sizes in proptest::collection::vec(prop_oneof![1usize..9, 1usize..70_000], 1..5),
        out_chunk in prop_oneof![1usize..100, 100usize..300_000],
    ) {
        let f = NEW[which];
        let (file, want) = multi_stream_file(f, &parts);
        let r = run_sync(f.decoder_with(None, None, out_chunk), &file, &sizes);
        prop_assert!(r.error.is_none(), "{}: {:?}", f.name(), r.error);
        prop_assert!(r.out == want, "{}: wrong output", f.name());
        prop_assert!(r.largest_chunk <= out_chunk);
    }
}

#[test]
fn truncation_at_every_byte_is_an_error_with_its_offset() {
    let data = text(3000, 85);
    for f in NEW {
        let one = encode(f, f.quick_level(), &data);
        // In the first stream, and in a second one after a complete first.
        let two = [one.clone(), one.clone()].concat();
        for (file, from) in [(&one, 0), (&two, one.len() + 1)] {
            for cut in from..file.len() {
                for sizes in [&[usize::MAX][..], &[1][..]] {
                    let r = run_sync(f.decoder(), &file[..cut], sizes);
                    let e = r
                        .error
                        .unwrap_or_else(|| panic!("{} cut at {cut}: no error", f.name()));
                    assert!(e.is_corrupt(), "{} cut at {cut}: {e}", f.name());
                    let msg = e.to_string();
                    assert!(msg.contains(f.name()), "{msg}");
                    if cut > 0 {
                        assert!(
                            msg.contains(&format!(
                                "truncated input (unexpected end of file at byte offset {cut})"
                            )),
                            "{} cut at {cut}: {msg}",
                            f.name()
                        );
                    } else {
                        assert!(msg.contains("empty input"), "{msg}");
                    }
                }
            }
        }
    }
}

#[test]
fn corrupt_input_is_an_error_after_the_good_output() {
    let data = text(400_000, 86);
    for f in NEW {
        let mut packed = encode(f, f.quick_level(), &data);
        let at = packed.len() * 3 / 4;
        for b in &mut packed[at..at + 16] {
            *b ^= 0x5a;
        }
        let r = run_sync(f.decoder(), &packed, &[4096]);
        let e = r.error.unwrap_or_else(|| panic!("{}: no error", f.name()));
        assert!(e.is_corrupt(), "{}: {e}", f.name());
        let msg = e.to_string();
        assert!(msg.contains("offset"), "{msg}");
        // xz and bzip2 check each block as it ends: what came out here is
        // a prefix of the data. (An LZ4 frame has no block checksums unless
        // asked, so damaged blocks decode to wrong bytes until the content
        // checksum at the end fails, as with `lz4 -d`.)
        if f != Format::Lz4 {
            assert!(r.out.len() < data.len(), "{}", f.name());
            assert!(
                data.starts_with(&r.out),
                "{}: output is not a prefix",
                f.name()
            );
        }
    }
}

#[test]
fn input_in_another_format_is_refused_at_once() {
    for f in NEW {
        for junk in [&b"hello world"[..], &[0x1f, 0x8b, 8, 0], &[0u8; 16]] {
            let e = apply(f.decoder(), junk).unwrap_err();
            assert!(e.is_corrupt(), "{}: {e}", f.name());
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("not in {} format", f.name())) && msg.contains("offset 0"),
                "{}: {msg}",
                f.name()
            );
        }
    }
}

#[test]
fn trailing_data_is_an_error_at_its_offset_or_ignored_on_request() {
    for f in NEW {
        let mut packed = encode(f, f.quick_level(), b"content");
        let end = packed.len();
        packed.extend_from_slice(b"junk after it");
        for sizes in [&[usize::MAX][..], &[1][..], &[end - 1, 2][..]] {
            let r = run_sync(f.decoder(), &packed, sizes);
            assert_eq!(r.out, b"content", "{}", f.name());
            let msg = r.error.unwrap().to_string();
            assert!(
                msg.contains("trailing garbage") && msg.contains(&format!("offset {end}")),
                "{}: {msg}",
                f.name()
            );
        }
        let dec: Box<dyn weir::Transform<In = Bytes, Out = Bytes>> = match f {
            Format::Xz => Box::new(XzDecoder::builder().trailing(Trailing::Ignore).build()),
            Format::Bzip2 => Box::new(Bzip2Decoder::builder().trailing(Trailing::Ignore).build()),
            _ => Box::new(Lz4Decoder::builder().trailing(Trailing::Ignore).build()),
        };
        assert_eq!(apply(dec, &packed).unwrap(), b"content", "{}", f.name());
    }
}

#[test]
fn xz_stream_padding_must_come_in_fours() {
    let packed = encode(Format::Xz, 1, b"padded");
    for zeros in 0..=9usize {
        let file = [packed.clone(), vec![0; zeros]].concat();
        let r = run_sync(XzDecoder::new(), &file, &[1]);
        let (ok, _) = pipe_through("xz", &["-dc"], &file);
        assert_eq!(r.out, b"padded");
        assert_eq!(
            r.error.is_none(),
            zeros % 4 == 0,
            "{zeros} zeros: {:?}",
            r.error
        );
        assert_eq!(ok, zeros % 4 == 0, "xz itself, {zeros} zeros");
        // Padding between streams too.
        let file = [packed.clone(), vec![0; zeros], packed.clone()].concat();
        let r = run_sync(XzDecoder::new(), &file, &[3]);
        assert_eq!(r.error.is_none(), zeros % 4 == 0, "{zeros} zeros between");
    }
}

#[test]
fn lzma_files_decode_and_are_one_stream() {
    let data = text(200_000, 87);
    for level in ["-0", "-6"] {
        let (ok, lzma) = pipe_through("xz", &["--format=lzma", "-c", level], &data);
        assert!(ok);
        for sizes in [&[usize::MAX][..], &[1, 999][..]] {
            let r = run_sync(LzmaDecoder::new(), &lzma, sizes);
            assert!(r.error.is_none(), "{:?}", r.error);
            assert!(r.out == data);
        }
        // Truncated anywhere: an error with the offset.
        for cut in [0, 5, 13, lzma.len() / 2, lzma.len() - 1] {
            let e = apply(LzmaDecoder::new(), &lzma[..cut]).unwrap_err();
            assert!(e.is_corrupt() && e.to_string().contains("lzma"), "{e}");
        }
        // Two back to back: unlzma refuses them, and so do we.
        let two = [lzma.clone(), lzma.clone()].concat();
        let (ok, _) = pipe_through("xz", &["--format=lzma", "-dc"], &two);
        assert!(!ok);
        let e = apply(LzmaDecoder::new(), &two).unwrap_err();
        assert!(
            e.to_string().contains(&format!("offset {}", lzma.len())),
            "{e}"
        );
        let out = apply(
            LzmaDecoder::builder().trailing(Trailing::Ignore).build(),
            &two,
        )
        .unwrap();
        assert!(out == data);
    }
    // An xz file is not a .lzma file, nor the reverse.
    let xz = encode(Format::Xz, 1, b"x");
    assert!(apply(LzmaDecoder::new(), &xz).unwrap_err().is_corrupt());
    let (_, lzma) = pipe_through("xz", &["--format=lzma", "-c"], b"x");
    assert!(apply(XzDecoder::new(), &lzma).unwrap_err().is_corrupt());
}

#[test]
fn limits_stop_every_new_decoder_after_exactly_the_allowed_output() {
    let data = text(300_000, 88);
    for f in NEW {
        let packed = encode(f, f.quick_level(), &data);
        let r = run_sync(f.decoder_with(Some(123_456), None, 10_000), &packed, &[777]);
        assert!(r.error.unwrap().is_limit(), "{}", f.name());
        assert_eq!(r.out, &data[..123_456], "{}", f.name());
    }
    let packed = encode(Format::Xz, 6, &data);
    let e = apply(XzDecoder::builder().max_memory(1 << 20).build(), &packed).unwrap_err();
    assert!(e.is_limit() && e.to_string().contains("memory"), "{e}");
    assert_eq!(
        apply(XzDecoder::builder().max_memory(64 << 20).build(), &packed).unwrap(),
        data
    );
}

#[test]
fn lz4_block_sizes_are_what_the_builder_asks() {
    let data = text(600_000, 89);
    for (bytes, code) in [
        (1, 4),
        (65_536, 4),
        (65_537, 5),
        (1 << 20, 6),
        (usize::MAX, 7),
    ] {
        let enc = Lz4Encoder::builder().block_size(bytes).build();
        let packed = apply(enc, &data).unwrap();
        // The frame descriptor's BD byte holds the block size code.
        assert_eq!(packed[5] >> 4 & 7, code, "{bytes}");
        assert_eq!(apply(Lz4Decoder::new(), &packed).unwrap(), data);
    }
}

/// `XzEncoderBuilder::threads`: liblzma's threaded encoder writes 1 MiB
/// blocks at level 0, in order, whatever the chunking and the sync flushes;
/// weir, liblzma's own decoder and the system's `xz` read them back.
#[test]
fn xz_on_several_threads_round_trips_at_any_split_and_flush() {
    let data = text(3_300_000, 91);
    for threads in [2, 3, 64, 1000] {
        for (sizes, sync) in [
            (vec![1 << 16], SyncFlush::Never),
            (vec![777_777], SyncFlush::Never),
            (vec![100_000, 1, 900_000], SyncFlush::EveryBytes(1 << 20)),
        ] {
            let enc = XzEncoder::builder()
                .level(0)
                .threads(threads)
                .sync_flush(sync)
                .build();
            let run = run_sync(enc, &data, &sizes);
            assert!(run.error.is_none(), "{threads}: {:?}", run.error);
            let packed = run.out;
            assert_eq!(&packed[..6], b"\xfd7zXZ\0", "{threads}");
            assert_eq!(
                apply(XzDecoder::new(), &packed).unwrap(),
                data,
                "{threads} {sizes:?}"
            );
            let mut back = Vec::new();
            liblzma::read::XzDecoder::new(&packed[..])
                .read_to_end(&mut back)
                .unwrap();
            assert!(back == data, "liblzma: {threads} {sizes:?}");
            if have("xz") {
                let (ok, out) = pipe_through("xz", &["-dc"], &packed);
                assert!(ok && out == data, "xz -d: {threads} {sizes:?}");
            }
        }
    }
    // The extreme flag (`xz -0e`) searches harder: other bytes, read back
    // by weir and by `xz -d`, on one thread or two.
    for threads in [1, 2] {
        let e = XzEncoder::builder()
            .level(0)
            .extreme(true)
            .threads(threads)
            .build();
        let packed = apply(e, &data).unwrap();
        let plain = apply(
            XzEncoder::builder().level(0).threads(threads).build(),
            &data,
        )
        .unwrap();
        assert_ne!(packed, plain, "-0e on {threads} threads");
        assert_eq!(apply(XzDecoder::new(), &packed).unwrap(), data);
        if have("xz") {
            let (ok, out) = pipe_through("xz", &["-dc"], &packed);
            assert!(ok && out == data, "xz -d of -0e on {threads} threads");
        }
    }
    // One thread is the single-threaded encoder: what `xz -0` writes.
    let one = apply(XzEncoder::builder().level(0).threads(1).build(), &data).unwrap();
    assert_eq!(one, apply(XzEncoder::with_level(0), &data).unwrap());
    let two = apply(XzEncoder::builder().level(0).threads(2).build(), &data).unwrap();
    assert_ne!(one, two, "two threads write blocks with their sizes");
}

/// A partial stream's output comes out as soon as it can be decoded: with
/// no flush at all, and the rest of the stream still to come.
#[tokio::test]
async fn a_partial_stream_is_decoded_as_it_arrives() {
    let data = text(3 << 20, 90);
    for f in NEW {
        let packed: Vec<u8> = match f {
            Format::Lz4 => apply(Lz4Encoder::builder().block_size(65_536).build(), &data),
            _ => apply(f.encoder(1), &data),
        }
        .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        let src = readable::from_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)));
        let mut out = Box::pin(src.through(f.decoder()));
        let half = packed.len() / 2;
        tx.send(Bytes::copy_from_slice(&packed[..half]))
            .await
            .unwrap();
        let mut got = 0;
        // Half the input holds well over a block's worth: most of its data
        // must come out while the upstream stays open.
        while got < data.len() / 4 {
            let c = tokio::time::timeout(Duration::from_secs(30), out.next())
                .await
                .unwrap_or_else(|_| panic!("{}: stalled at {got} bytes", f.name()))
                .unwrap()
                .unwrap();
            got += c.len();
        }
        tx.send(Bytes::copy_from_slice(&packed[half..]))
            .await
            .unwrap();
        drop(tx);
        while let Some(c) = out.next().await {
            got += c.unwrap().len();
        }
        assert_eq!(got, data.len(), "{}", f.name());
    }
}

/// Input in a format the system tool reads and weir does not, or no format
/// at all, is named for what it is, each cause said once.
#[test]
fn other_formats_are_named_and_messages_say_the_format_once() {
    let data = text(100_000, 89);
    // `lz4 -l` writes the legacy format: named, cut anywhere in its magic.
    let (ok, legacy) = pipe_through("lz4", &["-l", "-c"], &data);
    assert!(ok);
    for sizes in [&[usize::MAX][..], &[2, 99][..]] {
        let r = run_sync(Lz4Decoder::new(), &legacy, sizes);
        let msg = r.error.unwrap().to_string();
        assert!(
            msg.contains("not in lz4 format") && msg.contains("legacy LZ4 format of `lz4 -l`"),
            "{msg}"
        );
        assert!(r.out.is_empty());
    }
    // A .lzma decoder given text: not in lzma format, whatever the chunks.
    for sizes in [&[usize::MAX][..], &[1][..], &[5, 7][..]] {
        let r = run_sync(LzmaDecoder::new(), b"plain text, not a .lzma file", sizes);
        let e = r.error.unwrap();
        assert!(e.is_corrupt(), "{e}");
        assert!(
            e.to_string()
                .contains("lzma: not in lzma format (no valid header at byte offset 0)"),
            "{e}"
        );
    }
    // A .lzma file given to the xz decoder: named, with where to go.
    let (ok, lzma) = pipe_through("xz", &["--format=lzma", "-c"], &data);
    assert!(ok);
    for sizes in [&[usize::MAX][..], &[1][..]] {
        let msg = run_sync(XzDecoder::new(), &lzma, sizes)
            .error
            .unwrap()
            .to_string();
        assert!(
            msg.contains("not in xz format (byte offset 0 starts what looks like a .lzma file"),
            "{msg}"
        );
    }
    // A damaged bzip2 block: "bzip2: " once, at the start.
    let mut packed = encode(Format::Bzip2, 9, &data);
    let at = packed.len() / 2;
    packed[at] ^= 0xff;
    let msg = apply(Bzip2Decoder::new(), &packed).unwrap_err().to_string();
    assert!(msg.contains("bzip2: corrupt input at or after"), "{msg}");
    assert_eq!(msg.matches("bzip2").count(), 1, "{msg}");
}
