//! LZ4 content checksums computed by weir beside liblz4 (the encoder marks
//! the frame header and appends the checksum; the decoder takes the check
//! over from liblz4, on the caller's thread or on one of its own): the
//! bytes written, and every way a check can fail, at any chunk boundary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::io::Write;

use bytes::Bytes;
use lz4::liblz4::{BlockChecksum, BlockMode, BlockSize, ContentChecksum};
use proptest::prelude::*;
use support::*;
use weir::Transform;
use weir::codecs::{Lz4Decoder, Lz4Encoder, Trailing};

/// A frame written by liblz4 itself (the `lz4` crate), with block
/// checksums when `level` is even.
fn liblz4_frame(data: &[u8], level: u32, block: BlockSize, sum: bool, size: bool) -> Vec<u8> {
    let mut b = lz4::EncoderBuilder::new();
    b.level(level)
        .block_checksum(if level.is_multiple_of(2) {
            BlockChecksum::BlockChecksumEnabled
        } else {
            BlockChecksum::NoBlockChecksum
        })
        .block_size(block)
        .block_mode(BlockMode::Linked)
        .checksum(if sum {
            ContentChecksum::ChecksumEnabled
        } else {
            ContentChecksum::NoChecksum
        });
    if size {
        b.content_size(data.len() as u64);
    }
    let mut e = b.build(Vec::new()).unwrap();
    e.write_all(data).unwrap();
    let (out, r) = e.finish();
    r.unwrap();
    out
}

/// A skippable frame holding `payload`.
fn skippable(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x53, 0x2a, 0x4d, 0x18];
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

fn decoder(threads: usize) -> Box<dyn Transform<In = Bytes, Out = Bytes>> {
    Box::new(Lz4Decoder::builder().threads(threads).build())
}

#[test]
fn the_encoder_writes_what_liblz4_writes_with_its_own_checksum() {
    let mut big = text(5 << 20, 3);
    big.extend(text(300_000, 4).iter().map(|b| b.wrapping_mul(31)));
    let inputs: [&[u8]; 4] = [b"", b"a", &text(100_000, 7), &big];
    for data in inputs {
        for level in [1, 9] {
            let want = liblz4_frame(data, level, BlockSize::Max4MB, true, false);
            for sizes in [&[usize::MAX][..], &[1, 4096, 70_000][..]] {
                let r = run_sync(Lz4Encoder::with_level(level), data, sizes);
                assert!(r.error.is_none(), "{:?}", r.error);
                assert!(
                    r.out == want,
                    "level {level}, {} bytes in {sizes:?}: not liblz4's bytes",
                    data.len()
                );
            }
        }
    }
}

/// One frame of a test input.
#[derive(Debug, Clone)]
enum Frame {
    /// Text of this length and seed; a content checksum; a content size.
    Data(usize, u64, bool, bool),
    Skippable(usize),
}

fn frames() -> impl Strategy<Value = Vec<Frame>> {
    let frame = prop_oneof![
        4 => (0usize..200_000, any::<u64>(), any::<bool>(), any::<bool>())
            .prop_map(|(n, s, c, z)| Frame::Data(n, s, c, z)),
        1 => (0usize..64).prop_map(Frame::Skippable),
    ];
    proptest::collection::vec(frame, 1..5)
}

/// The frames as one input (64 KiB blocks, so that frames have several),
/// and their content.
fn build(frames: &[Frame]) -> (Vec<u8>, Vec<u8>, Vec<u64>) {
    let (mut packed, mut plain, mut sums) = (Vec::new(), Vec::new(), Vec::new());
    for f in frames {
        match *f {
            Frame::Data(n, seed, sum, size) => {
                let data = text(n, seed);
                let level = 1 + (seed % 2) as u32;
                packed.extend(liblz4_frame(&data, level, BlockSize::Max64KB, sum, size));
                if sum {
                    sums.push(packed.len() as u64 - 4);
                }
                plain.extend(data);
            }
            Frame::Skippable(n) => packed.extend(skippable(&vec![7; n])),
        }
    }
    (packed, plain, sums)
}

fn split_sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(
        prop_oneof![1usize..8, 1usize..4096, 1usize..(1 << 20)],
        1..5,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn frames_decode_whole_at_any_split_on_one_or_two_threads(
        frames in frames(),
        sizes in split_sizes(),
        threads in 1usize..3,
    ) {
        let (packed, plain, _) = build(&frames);
        let r = run_sync(decoder(threads), &packed, &sizes);
        prop_assert!(r.error.is_none(), "{:?}", r.error);
        prop_assert!(r.out == plain, "wrong output");
    }

    #[test]
    fn a_wrong_content_checksum_fails_with_its_offset_at_any_split(
        frames in frames(),
        pick in any::<prop::sample::Index>(),
        sizes in split_sizes(),
        threads in 1usize..3,
    ) {
        let (mut packed, plain, sums) = build(&frames);
        prop_assume!(!sums.is_empty());
        let at = sums[pick.index(sums.len())];
        packed[at as usize + 1] ^= 0x10;
        let r = run_sync(decoder(threads), &packed, &sizes);
        let e = r.error.expect("no error for a wrong checksum");
        prop_assert!(e.is_corrupt(), "{e}");
        let msg = e.to_string();
        prop_assert!(
            msg.contains("content checksum mismatch") && msg.contains(&format!("byte offset {at}")),
            "{msg}"
        );
        // Never more than the content, and what came out is right.
        prop_assert!(plain.starts_with(&r.out));
    }
}

#[test]
fn an_empty_frame_with_a_wrong_checksum_fails() {
    let good = liblz4_frame(b"", 1, BlockSize::Max64KB, true, false);
    for threads in [1, 2] {
        assert_eq!(apply(decoder(threads), &good).unwrap(), b"");
        let mut twice = liblz4_frame(b"before", 1, BlockSize::Max64KB, true, false);
        let at = twice.len() + good.len() - 4;
        twice.extend_from_slice(&good);
        twice[at] ^= 1;
        let e = apply(decoder(threads), &twice).unwrap_err();
        assert!(e.is_corrupt(), "{e}");
        assert!(e.to_string().contains(&format!("byte offset {at}")), "{e}");
    }
}

#[test]
fn a_wrong_checksum_before_ignored_trailing_data_still_fails() {
    let mut packed = liblz4_frame(&text(50_000, 9), 1, BlockSize::Max64KB, true, false);
    let at = packed.len() - 4;
    packed[at] ^= 0x80;
    packed.extend_from_slice(b"trailing junk");
    for threads in [1, 2] {
        let dec = Lz4Decoder::builder()
            .threads(threads)
            .trailing(Trailing::Ignore)
            .build();
        for sizes in [&[usize::MAX][..], &[1][..], &[at, 3][..]] {
            let r = run_sync(
                Lz4Decoder::builder()
                    .threads(threads)
                    .trailing(Trailing::Ignore)
                    .build(),
                &packed,
                sizes,
            );
            let e = r.error.expect("no error");
            assert!(e.to_string().contains(&format!("byte offset {at}")), "{e}");
        }
        let e = apply(dec, &packed).unwrap_err();
        assert!(e.is_corrupt(), "{e}");
    }
}

#[test]
fn a_wrong_header_checksum_is_still_refused() {
    let mut packed = liblz4_frame(&text(10_000, 2), 1, BlockSize::Max64KB, true, false);
    packed[6] ^= 0x01;
    for threads in [1, 2] {
        for sizes in [&[usize::MAX][..], &[1][..]] {
            let r = run_sync(decoder(threads), &packed, sizes);
            let e = r.error.expect("no error for a bad header checksum");
            assert!(e.is_corrupt(), "{e}");
            assert!(r.out.is_empty());
        }
    }
}

#[test]
fn truncated_inside_the_descriptor_or_the_checksum_is_an_error() {
    let packed = liblz4_frame(&text(10_000, 5), 1, BlockSize::Max64KB, true, true);
    for cut in [5, 6, 12, packed.len() - 3, packed.len() - 1] {
        for threads in [1, 2] {
            let e = apply(decoder(threads), &packed[..cut]).unwrap_err();
            assert!(
                e.to_string()
                    .contains(&format!("unexpected end of file at byte offset {cut}")),
                "cut at {cut}: {e}"
            );
        }
    }
}

#[test]
fn the_checksum_thread_works_through_the_stream_adapter() {
    let (packed, plain, _) = build(&[
        Frame::Data(300_000, 1, true, false),
        Frame::Skippable(3),
        Frame::Data(0, 2, true, true),
        Frame::Data(70_000, 3, false, true),
    ]);
    for size in [1000, 1 << 20] {
        let out = through(Lz4Decoder::builder().threads(2).build(), &packed, size).unwrap();
        assert!(out == plain);
    }
}
