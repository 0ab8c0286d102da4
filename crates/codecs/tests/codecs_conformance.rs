//! Every codec and text transform through weir-core's conformance kit:
//! the same output under whole, one-byte and random deliveries with random
//! `Pending`, no hang, and backpressure respected behind a stalled reader.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use support::*;
use weir::codecs::*;
use weir::testing::Check;

fn check() -> Check {
    Check::new().rounds(6).max_chunk(8192)
}

#[tokio::test]
async fn decoders_conform() {
    let data = text(40_000, 60);
    for f in FORMATS {
        let packed = encode(f, f.quick_level(), &data);
        // Small output chunks, so `resume` runs under the kit too.
        let out = check()
            .bytes(|| f.decoder_with(None, None, 4096), &packed)
            .await
            .unwrap();
        assert_eq!(out, data, "{}", f.name());
    }
}

/// Encoders: zlib-rs's output at some levels depends a little on how the
/// input is cut (and flushes depend on timing by design), so the kit checks
/// each encoder fused with its decoder: the round trip must give the input
/// back under every delivery, with backpressure respected through both.
#[tokio::test]
async fn encoders_conform_through_a_round_trip() {
    use weir::TransformExt;
    let data = text(30_000, 61);
    for f in FORMATS {
        let out = check()
            .bytes(|| f.encoder(f.quick_level()).then(f.decoder()), &data)
            .await
            .unwrap();
        assert_eq!(out, data, "{}", f.name());
        let out = check()
            .bytes(
                || {
                    f.encoder_with(f.quick_level(), SyncFlush::EveryChunk)
                        .then(f.decoder())
                },
                &data,
            )
            .await
            .unwrap();
        assert_eq!(out, data, "{} with sync flushes", f.name());
    }
    let out = check()
        .bytes(
            || {
                GzipEncoder::builder()
                    .threads(2)
                    .block_size(32 * 1024)
                    .build()
                    .then(GzipDecoder::new())
            },
            &data,
        )
        .await
        .unwrap();
    assert_eq!(out, data);
    // The pipelined parallel encoder's bytes do not depend on delivery or
    // on timing (blocks go to the workers round-robin): the kit checks them
    // directly, over enough blocks that the in-flight bound is reached.
    let many = text(400_000, 62);
    for threads in [2, 3] {
        let gz = check()
            .bytes(
                || {
                    GzipEncoder::builder()
                        .threads(threads)
                        .block_size(32 * 1024)
                        .build()
                },
                &many,
            )
            .await
            .unwrap();
        assert_eq!(apply(GzipDecoder::new(), &gz).unwrap(), many);
    }
    // At the levels where zlib-rs is chunking-independent, the compressed
    // bytes themselves are the same under every delivery.
    for f in [Format::Gzip, Format::Deflate, Format::Zlib] {
        check().bytes(|| f.encoder(9), &data).await.unwrap();
    }
    for f in [
        Format::Zstd,
        Format::Brotli,
        Format::Xz,
        Format::Bzip2,
        Format::Lz4,
    ] {
        check()
            .bytes(|| f.encoder(f.quick_level()), &data)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn bad_input_fails_alike_under_every_delivery() {
    let data = text(20_000, 62);
    for f in FORMATS {
        let packed = encode(f, f.quick_level(), &data);
        let cut = &packed[..packed.len() - 5];
        let e = check().bytes(|| f.decoder(), cut).await.unwrap_err();
        assert!(e.is_corrupt(), "{}: {e}", f.name());
        let e = check()
            .bytes(|| f.decoder_with(Some(5000), None, 4096), &packed)
            .await
            .unwrap_err();
        assert!(e.is_limit(), "{}: {e}", f.name());
    }
}

#[tokio::test]
async fn multi_member_gzip_conforms() {
    let a = text(10_000, 63);
    let b = text(5_000, 64);
    let file = [encode(Format::Gzip, 9, &a), encode(Format::Gzip, 1, &b)].concat();
    let out = check().bytes(GzipDecoder::new, &file).await.unwrap();
    assert_eq!(out, [a, b].concat());
}

#[tokio::test]
async fn text_and_framing_transforms_conform() {
    let log = text(20_000, 65);
    // Lines emit items, so compare their concatenation with newlines restored.
    let joined = check()
        .bytes(
            || {
                use weir::TransformExt;
                Lines::new().then(weir::transform::map(|l: Bytes| {
                    Bytes::from([&l[..], b"\n"].concat())
                }))
            },
            &log,
        )
        .await
        .unwrap();
    // The last line had no newline; the map gave it one.
    assert_eq!(joined, [&log[..], b"\n"].concat());

    let wire = run_sync(FrameEncoder::new(), &log, &[777]).out;
    let frames = check().bytes(FrameDecoder::new, &wire).await.unwrap();
    assert_eq!(frames, log);

    // UTF-8 across arbitrary chunk boundaries: the kit re-chunks items only
    // as given, so hand it 1..7-byte pieces of multi-byte text.
    let s = "naïve café ☃ 𝄞 ".repeat(200);
    let pieces: Vec<Bytes> = s.as_bytes().chunks(3).map(Bytes::copy_from_slice).collect();
    let out = check().items(Utf8Decoder::new, pieces).await.unwrap();
    assert_eq!(out.concat(), s);
}
