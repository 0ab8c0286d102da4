//! Any `tokio-util` codec as a weir transform: `CodecDecoder` and
//! `CodecEncoder`, under any split of the input, with weir's limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use bytes::{Buf, Bytes, BytesMut};
use futures::executor::block_on;
use futures::{StreamExt, TryStreamExt};
use proptest::prelude::*;
use tokio_util::codec::{
    AnyDelimiterCodec, Decoder, Encoder, FramedRead, LengthDelimitedCodec, LinesCodec,
};
use weir::codecs::{CodecDecoder, CodecEncoder};
use weir::{ReadableExt, Transform, readable};

/// Cuts `input` into chunks of the given sizes (cycled; at least 1 byte).
fn split(input: &[u8], sizes: &[usize]) -> Vec<Bytes> {
    let mut chunks = Vec::new();
    let mut pos = 0;
    let mut k = 0;
    while pos < input.len() {
        let n = sizes[k % sizes.len()].max(1).min(input.len() - pos);
        k += 1;
        chunks.push(Bytes::copy_from_slice(&input[pos..pos + n]));
        pos += n;
    }
    chunks
}

/// Runs `t` over `chunks` with weir's own driver (`Through`).
fn run<X>(t: X, chunks: Vec<Bytes>) -> Result<Vec<X::Out>, weir::Error>
where
    X: Transform<In = Bytes>,
{
    block_on(readable::from_iter(chunks).through(t).try_collect())
}

/// What `tokio-util`'s own `FramedRead` makes of the whole input at once.
fn reference<D>(codec: D, input: &[u8]) -> Result<Vec<D::Item>, D::Error>
where
    D: Decoder,
{
    block_on(FramedRead::new(input, codec).try_collect())
}

fn text_of(lines: &[&str]) -> Vec<u8> {
    lines.join("\n").into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn lines_match_framed_read_under_any_split(
        lines in proptest::collection::vec("[a-z ]{0,40}", 0..60),
        trailing_newline in any::<bool>(),
        sizes in proptest::collection::vec(1usize..64, 1..5),
    ) {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let mut input = text_of(&lines);
        if trailing_newline { input.push(b'\n'); }
        let want = reference(LinesCodec::new(), &input).unwrap();
        let got = run(CodecDecoder::new(LinesCodec::new()), split(&input, &sizes)).unwrap();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn any_delimiter_matches_framed_read_under_any_split(
        input in proptest::collection::vec(prop_oneof![Just(b','), Just(b';'), Just(b'x'), Just(b'y')], 0..500),
        sizes in proptest::collection::vec(1usize..64, 1..5),
    ) {
        let codec = || AnyDelimiterCodec::new(b",;".to_vec(), b",".to_vec());
        let want = reference(codec(), &input).unwrap();
        let got = run(CodecDecoder::new(codec()), split(&input, &sizes)).unwrap();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn length_delimited_round_trips_under_any_split(
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..30),
        sizes in proptest::collection::vec(1usize..80, 1..5),
    ) {
        let items: Vec<Bytes> = msgs.iter().map(|m| Bytes::copy_from_slice(m)).collect();
        let wire = run(CodecEncoder::new(LengthDelimitedCodec::new()), items.clone()).unwrap();
        let wire: Vec<u8> = wire.concat();
        let want = reference(LengthDelimitedCodec::new(), &wire).unwrap();
        prop_assert_eq!(want.len(), msgs.len());
        let got = run(CodecDecoder::new(LengthDelimitedCodec::new()), split(&wire, &sizes)).unwrap();
        let got: Vec<Vec<u8>> = got.iter().map(|b| b.to_vec()).collect();
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn a_custom_decoder_sees_the_same_frames_under_any_split(
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..40),
        sizes in proptest::collection::vec(1usize..20, 1..5),
    ) {
        let mut wire = Vec::new();
        for m in &msgs {
            wire.push(m.len() as u8);
            wire.extend_from_slice(m);
        }
        let got = run(CodecDecoder::new(ByteLen), split(&wire, &sizes)).unwrap();
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn a_cut_anywhere_inside_a_frame_is_an_error_naming_its_offset(
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 1..10),
        cut_back in 1usize..40,
        sizes in proptest::collection::vec(1usize..20, 1..5),
    ) {
        let mut wire = Vec::new();
        let mut last_start = 0;
        for m in &msgs {
            last_start = wire.len();
            wire.push(m.len() as u8);
            wire.extend_from_slice(m);
        }
        let last_len = wire.len() - last_start;
        let cut = cut_back.min(last_len - 1).max(1);
        wire.truncate(wire.len() - cut);
        let err = run(CodecDecoder::new(ByteLen), split(&wire, &sizes)).unwrap_err();
        prop_assert!(err.is_corrupt(), "{err}");
        prop_assert_eq!(err.stage(), Some("ByteLen"));
        let at = format!("byte offset {last_start} ");
        prop_assert!(err.to_string().contains(&at), "{err}");
    }
}

/// A decoder of its own: one length byte, then that many bytes. Its error
/// type is weir's, so what it says reaches the stream unchanged.
#[derive(Debug)]
struct ByteLen;

impl Decoder for ByteLen {
    type Item = Vec<u8>;
    type Error = weir::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Vec<u8>>, weir::Error> {
        let Some(&n) = src.first() else {
            return Ok(None);
        };
        if n == 0xff {
            return Err(weir::Error::corrupt("length 255 is reserved"));
        }
        let n = usize::from(n);
        if src.len() < 1 + n {
            return Ok(None);
        }
        src.advance(1);
        Ok(Some(src.split_to(n).to_vec()))
    }
}

#[test]
fn a_custom_decoders_own_error_keeps_its_kind() {
    let err = run(
        CodecDecoder::new(ByteLen),
        vec![Bytes::from_static(b"\x01a\xff")],
    )
    .unwrap_err();
    assert!(err.is_corrupt());
    assert_eq!(err.stage(), Some("ByteLen"));
    assert!(err.to_string().contains("length 255 is reserved"), "{err}");
}

#[test]
fn a_line_without_end_past_the_bound_is_a_limit_before_the_buffer_grows() {
    // LinesCodec::new() has no maximum of its own; the adapter's bound
    // stops it, after at most the bound plus one chunk was read.
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let endless = futures::stream::repeat(Bytes::from(vec![b'a'; 1024])).map(move |c| {
        counter.fetch_add(c.len(), Relaxed);
        Ok::<_, weir::Error>(c)
    });
    let decoder = CodecDecoder::new(LinesCodec::new()).max_frame(64 * 1024);
    let err = block_on(endless.through(decoder).try_collect::<Vec<String>>()).unwrap_err();
    assert!(err.is_limit(), "{err}");
    assert_eq!(err.stage(), Some("LinesCodec"));
    assert!(err.to_string().contains("byte offset 0"), "{err}");
    let read = pulled.load(Relaxed);
    assert!(read <= 64 * 1024 + 1024, "read {read} bytes before failing");
}

#[test]
fn the_bound_counts_from_the_frame_being_read() {
    // Many frames, each under the bound, add up to far more than it.
    let input = "0123456789\n".repeat(10_000);
    let decoder = CodecDecoder::new(LinesCodec::new()).max_frame(16);
    let got = run(decoder, split(input.as_bytes(), &[4096])).unwrap();
    assert_eq!(got.len(), 10_000);
    // The 2nd line is over the bound: it fails at its own offset.
    let input = "short\nthis line is far too long\n";
    let decoder = CodecDecoder::new(LinesCodec::new()).max_frame(16);
    let err = run(decoder, split(input.as_bytes(), &[4])).unwrap_err();
    assert!(err.is_limit(), "{err}");
    assert!(err.to_string().contains("byte offset 6 "), "{err}");
}

#[test]
fn the_codecs_own_maximum_is_a_limit_too() {
    let err = run(
        CodecDecoder::new(LinesCodec::new_with_max_length(5)),
        vec![Bytes::from_static(b"ok\nmuch too long\n")],
    )
    .unwrap_err();
    assert!(err.is_limit(), "{err}");
    assert!(err.to_string().contains("byte offset 3 "), "{err}");

    let codec = AnyDelimiterCodec::new_with_max_length(b",".to_vec(), b",".to_vec(), 3);
    let err = run(
        CodecDecoder::new(codec),
        vec![Bytes::from_static(b"ab,abcdef,")],
    )
    .unwrap_err();
    assert!(err.is_limit(), "{err}");

    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(4)
        .new_codec();
    let err = run(
        CodecDecoder::new(codec),
        vec![Bytes::from_static(b"\0\0\0\x09123456789")],
    )
    .unwrap_err();
    assert!(err.is_limit(), "{err}");
}

#[test]
fn input_ending_inside_a_length_delimited_frame_names_the_stage() {
    // LengthDelimitedCodec keeps decode_eof's default: "bytes remaining".
    let wire = b"\0\0\0\x02hi\0\0\0\x05the".to_vec();
    let err = run(
        CodecDecoder::new(LengthDelimitedCodec::new()).named("frames"),
        split(&wire, &[3]),
    )
    .unwrap_err();
    assert!(err.is_corrupt(), "{err}");
    assert_eq!(err.stage(), Some("frames"));
    assert_eq!(
        err.to_string(),
        "frames: corrupt input: input ends inside the frame at byte offset 6 (7 bytes of it received)"
    );
}

#[test]
fn lines_keep_the_last_line_without_newline_as_framed_read_does() {
    let got = run(
        CodecDecoder::new(LinesCodec::new()),
        split(b"a\r\nb\nlast", &[2]),
    )
    .unwrap();
    assert_eq!(got, ["a", "b", "last"]);
}

#[test]
fn a_chunk_of_many_frames_is_handed_on_in_parts() {
    // 1000 frames in one chunk: the adapter decodes 64 per call and the
    // rest in `resume`, and every one arrives, in order.
    let input: String = (0..1000).map(|i| format!("{i}\n")).collect();
    let mut t = CodecDecoder::new(LinesCodec::new());
    let mut out = weir::Output::new();
    t.transform(Bytes::from(input.clone()), &mut out).unwrap();
    assert_eq!(out.len(), 64);
    let mut got: Vec<String> = out.drain().collect();
    while t.resume(&mut out).unwrap() {
        assert!(out.len() <= 64);
        got.extend(out.drain());
    }
    got.extend(out.drain());
    t.flush(&mut out).unwrap();
    assert!(!t.resume(&mut out).unwrap());
    got.extend(out.drain());
    let want: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
}

#[test]
fn encoders_write_one_chunk_per_item() {
    let items = ["one", "two"].map(String::from);
    let wire = block_on(
        readable::from_iter(items)
            .through(CodecEncoder::new(LinesCodec::new()))
            .try_collect::<Vec<Bytes>>(),
    )
    .unwrap();
    assert_eq!(wire, ["one\n", "two\n"]);

    let codec = AnyDelimiterCodec::new(b",".to_vec(), b";".to_vec());
    let wire = block_on(
        readable::from_iter(["a", "b"])
            .through(CodecEncoder::new(codec))
            .try_collect::<Vec<Bytes>>(),
    )
    .unwrap();
    assert_eq!(wire.concat(), b"a;b;");
}

#[test]
fn an_item_over_the_encoders_maximum_is_a_limit() {
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(4)
        .new_codec();
    let items = vec![Bytes::from_static(b"ok"), Bytes::from_static(b"too long")];
    let err = run(CodecEncoder::new(codec), items).unwrap_err();
    assert!(err.is_limit(), "{err}");
    assert_eq!(err.stage(), Some("LengthDelimitedCodec"));
    assert!(err.to_string().contains("byte offset 6 "), "{err}");
}

/// An encoder of its own, failing on empty items with an I/O error of
/// kind `InvalidData`: corrupt input, named after the stage.
struct NoEmpty;

impl Encoder<Bytes> for NoEmpty {
    type Error = std::io::Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        if item.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "empty item",
            ));
        }
        dst.extend_from_slice(&item);
        Ok(())
    }
}

#[test]
fn a_custom_encoders_error_names_the_stage() {
    let items = vec![Bytes::from_static(b"ab"), Bytes::new()];
    let err = run(CodecEncoder::new(NoEmpty).named("no-empty"), items).unwrap_err();
    assert!(err.is_corrupt(), "{err}");
    assert_eq!(err.stage(), Some("no-empty"));
    assert!(err.to_string().contains("empty item"), "{err}");
}

#[tokio::test]
async fn codecs_run_as_pipeline_stages() {
    use weir::pipe::Pipeline;
    let input: String = (0..5000).map(|i| format!("line {i}\n")).collect();
    let (sink, mut rx) = weir::buffer::<Bytes>(weir::Limit::bytes(1 << 20));
    let report = Pipeline::from(readable::from_iter(split(input.as_bytes(), &[1000, 7])))
        .through("lines", CodecDecoder::new(LinesCodec::new()))
        .map("upper", |l: String| l.to_uppercase())
        .through("encode", CodecEncoder::new(LinesCodec::new()))
        .into(sink)
        .run()
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Some(c) = rx.next().await {
        out.extend_from_slice(&c.unwrap());
    }
    assert_eq!(out, input.to_uppercase().into_bytes());
    assert_eq!(report.bytes_in, input.len() as u64);
}
