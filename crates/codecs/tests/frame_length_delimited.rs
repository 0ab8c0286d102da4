//! Length-delimited frames over `tokio-util`'s `LengthDelimitedCodec`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use proptest::prelude::*;
use support::*;
use tokio_util::codec::LengthDelimitedCodec;
use weir::codecs::{FrameDecoder, FrameEncoder};
use weir::{Output, Transform};

fn frames_of(
    t: impl Transform<In = bytes::Bytes, Out = bytes::Bytes>,
    input: &[u8],
    sizes: &[usize],
) -> Result<Vec<bytes::Bytes>, weir::Error> {
    let mut t = t;
    let mut out = Output::new();
    let mut got = Vec::new();
    let mut pos = 0;
    let mut k = 0;
    while pos < input.len() {
        let n = sizes[k % sizes.len()].max(1).min(input.len() - pos);
        k += 1;
        t.transform(
            bytes::Bytes::copy_from_slice(&input[pos..pos + n]),
            &mut out,
        )?;
        pos += n;
        got.extend(out.drain());
    }
    t.flush(&mut out)?;
    got.extend(out.drain());
    Ok(got)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]
    #[test]
    fn frames_round_trip_under_any_chunking(
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
        sizes in proptest::collection::vec(1usize..50, 1..4),
    ) {
        let mut wire = Vec::new();
        for m in &msgs {
            let r = run_sync(FrameEncoder::new(), m, &[usize::MAX]);
            prop_assert!(r.error.is_none());
            if m.is_empty() {
                wire.extend_from_slice(&[0, 0, 0, 0]);
            } else {
                wire.extend(r.out);
            }
        }
        let got = frames_of(FrameDecoder::new(), &wire, &sizes).unwrap();
        let got: Vec<Vec<u8>> = got.iter().map(|b| b.to_vec()).collect();
        prop_assert_eq!(got, msgs);
    }
}

#[test]
fn a_frame_cut_short_is_an_error() {
    let e = frames_of(FrameDecoder::new(), b"\0\0\0\x05abc", &[2]).unwrap_err();
    assert!(e.is_corrupt() && e.to_string().contains("offset 0"), "{e}");
    let e = frames_of(FrameDecoder::new(), b"\0\0\0\x01a\0\0", &[100]).unwrap_err();
    assert!(e.is_corrupt() && e.to_string().contains("offset 5"), "{e}");
}

#[test]
fn oversized_frames_are_a_limit() {
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(16)
        .new_codec();
    let e = frames_of(FrameDecoder::with_codec(codec), b"\0\0\0\x20", &[100]).unwrap_err();
    assert!(e.is_limit(), "{e}");
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(4)
        .new_codec();
    let e = frames_of(FrameEncoder::with_codec(codec), b"too long", &[100]).unwrap_err();
    assert!(e.is_limit(), "{e}");
}

#[test]
fn other_layouts_come_from_the_codec_builder() {
    let codec = || {
        LengthDelimitedCodec::builder()
            .length_field_length(2)
            .little_endian()
            .new_codec()
    };
    let wire = run_sync(FrameEncoder::with_codec(codec()), b"hey", &[usize::MAX]).out;
    assert_eq!(wire, b"\x03\0hey");
    assert_eq!(
        frames_of(FrameDecoder::with_codec(codec()), &wire, &[1]).unwrap(),
        ["hey"]
    );
}
