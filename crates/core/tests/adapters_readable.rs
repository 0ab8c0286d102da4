//! Readable adapters, each checked with the conformance kit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

mod support;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use weir_core::readable::{ChunkReader, from_iter, from_stream, from_try_stream};
use weir_core::testing::{Chaos, Check};
use weir_core::{Error, ReadableExt};

fn data(n: usize) -> Vec<u8> {
    support::rng(3).bytes(n)
}

#[tokio::test]
async fn chunk_reader_passes_the_conformance_kit() {
    let input = data(20_000);
    for size in [1, 7, 4096, 65536] {
        Check::new()
            .reader(&input, |r| ChunkReader::with_chunk_size(r, size))
            .await;
    }
}

#[tokio::test]
async fn chunk_reader_never_exceeds_its_chunk_size() {
    let input = data(100_000);
    let chunks: Vec<Bytes> = ChunkReader::with_chunk_size(&input[..], 1000)
        .try_collect()
        .await
        .unwrap();
    assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= 1000));
    assert_eq!(chunks.len(), 100);
    assert_eq!(chunks.concat(), input);
}

#[tokio::test]
async fn chunk_reader_reports_read_errors_and_then_ends() {
    let failing = tokio_test::io::Builder::new()
        .read(b"good ")
        .read_error(std::io::Error::other("disk gone"))
        .build();
    let mut s = ChunkReader::new(failing);
    assert_eq!(s.next().await.unwrap().unwrap(), "good ");
    let e = s.next().await.unwrap().unwrap_err();
    assert!(e.is_io());
    assert_eq!(e.to_string(), "disk gone");
    assert!(s.next().await.is_none());
}

#[tokio::test]
async fn from_iter_and_from_stream_yield_every_item() {
    let a: Vec<u32> = from_iter(0..100).try_collect().await.unwrap();
    let b: Vec<u32> = from_stream(futures::stream::iter(0..100))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 100);
    let pending = Chaos::new(4).stream(from_iter(0..100u32));
    let c: Vec<u32> = pending.try_collect().await.unwrap();
    assert_eq!(c, a);
}

#[tokio::test]
async fn from_try_stream_stops_at_the_first_error() {
    let src = futures::stream::iter([Ok(1), Err(Error::corrupt("x")), Ok(3)]);
    let mut s = from_try_stream(src);
    assert_eq!(s.next().await.unwrap().unwrap(), 1);
    assert!(s.next().await.unwrap().unwrap_err().is_corrupt());
    assert!(s.next().await.is_none());
}

#[tokio::test]
async fn from_try_stream_takes_any_boxable_error_without_map_err() {
    use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};
    // A FramedRead's errors are the codec's own (`LinesCodecError`).
    let input = &b"ok\nmuch too long\n"[..];
    let mut s = from_try_stream(FramedRead::new(input, LinesCodec::new_with_max_length(5)));
    assert_eq!(s.next().await.unwrap().unwrap(), "ok");
    let e = s.next().await.unwrap().unwrap_err();
    assert_eq!(e.to_string(), "max line length exceeded");
    assert!(!e.is_io() && !e.is_corrupt() && !e.is_limit());
    assert_eq!(
        e.to_string(),
        LinesCodecError::MaxLineLengthExceeded.to_string()
    );
    assert!(s.next().await.is_none());

    // An io::Error keeps its kind; a weir Error keeps its kind and stage.
    let io = futures::stream::iter([Err::<u8, _>(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "reset",
    ))]);
    let e = from_try_stream(io).next().await.unwrap().unwrap_err();
    assert!(e.is_io());
    assert_eq!(e.io_kind(), std::io::ErrorKind::ConnectionReset);
    let ours = futures::stream::iter([Err::<u8, _>(Error::limit("big").with_stage("s"))]);
    let e = from_try_stream(ours).next().await.unwrap().unwrap_err();
    assert!(e.is_limit());
    assert_eq!(e.stage(), Some("s"));
}

#[tokio::test]
async fn into_byte_reader_round_trips_through_chaos() {
    let input = data(50_000);
    for seed in 0..4 {
        let chunks = Chaos::new(seed).rechunk(from_iter([Bytes::from(input.clone())]));
        let mut r = chunks.into_byte_reader();
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, input);
    }
}

#[tokio::test]
async fn into_byte_reader_carries_our_error() {
    let src = futures::stream::iter([Ok(Bytes::from_static(b"a\n")), Err(Error::limit("too big"))]);
    let mut lines = from_try_stream(src).into_byte_reader().lines();
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("a"));
    let e = lines.next_line().await.unwrap_err();
    assert!(Error::from(e).is_limit());
}
