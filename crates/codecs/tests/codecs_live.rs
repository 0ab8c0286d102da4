//! Live streams: decoders hand on what they can decode without waiting for
//! more input (multi-member gzip included); encoders flush on request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use support::*;
use tokio::sync::mpsc;
use weir::codecs::*;
use weir::{ReadableExt, readable};

fn channel() -> (
    mpsc::Sender<Bytes>,
    impl Stream<Item = Result<Bytes, weir::Error>>,
) {
    let (tx, mut rx) = mpsc::channel::<Bytes>(8);
    (
        tx,
        readable::from_stream(futures::stream::poll_fn(move |cx| rx.poll_recv(cx))),
    )
}

async fn next_within<S: Stream<Item = Result<Bytes, weir::Error>> + Unpin>(s: &mut S) -> Bytes {
    // Without more input the output would never come: 30 s only bounds
    // the wait on a loaded machine.
    tokio::time::timeout(Duration::from_secs(30), s.next())
        .await
        .expect("output must come without more input")
        .expect("stream ended early")
        .expect("no error")
}

async fn collect_for<S: Stream<Item = Result<Bytes, weir::Error>> + Unpin>(
    s: &mut S,
    want: usize,
) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < want {
        got.extend_from_slice(&next_within(s).await);
    }
    got
}

#[tokio::test]
async fn gzip_members_are_decoded_as_they_arrive() {
    let (tx, src) = channel();
    let mut out = Box::pin(src.through(GzipDecoder::new()));
    for (i, msg) in ["first member\n", "second member\n", "third\n"]
        .iter()
        .enumerate()
    {
        let gz = apply(GzipEncoder::new(), msg.as_bytes()).unwrap();
        tx.send(Bytes::from(gz)).await.unwrap();
        // The member's output arrives while the upstream stays open.
        assert_eq!(
            collect_for(&mut out, msg.len()).await,
            msg.as_bytes(),
            "member {i}"
        );
    }
    drop(tx);
    assert!(
        out.next().await.is_none(),
        "clean end after complete members"
    );
}

#[tokio::test]
async fn a_member_split_anywhere_still_flows() {
    let gz = apply(GzipEncoder::new(), b"split across many sends").unwrap();
    let (tx, src) = channel();
    let mut out = Box::pin(src.through(GzipDecoder::new()));
    let (a, b) = gz.split_at(gz.len() - 3);
    tx.send(Bytes::copy_from_slice(a)).await.unwrap();
    // All of the data is decodable before the trailer arrives.
    assert_eq!(collect_for(&mut out, 23).await, b"split across many sends");
    tx.send(Bytes::copy_from_slice(b)).await.unwrap();
    drop(tx);
    assert!(out.next().await.is_none());
}

#[tokio::test]
async fn a_stream_cut_after_a_partial_member_is_an_error() {
    let gz = apply(GzipEncoder::new(), b"abc").unwrap();
    let (tx, src) = channel();
    let mut out = Box::pin(src.through(GzipDecoder::new()));
    tx.send(Bytes::from(gz.clone())).await.unwrap();
    assert_eq!(collect_for(&mut out, 3).await, b"abc");
    tx.send(Bytes::copy_from_slice(&gz[..5])).await.unwrap();
    drop(tx);
    let e = out.next().await.unwrap().unwrap_err();
    assert!(e.is_corrupt() && e.to_string().contains("truncated"), "{e}");
}

#[tokio::test]
async fn sync_flush_every_chunk_makes_each_chunk_decodable_at_once() {
    for f in FORMATS {
        let (tx, src) = channel();
        let enc = f.encoder_with(f.quick_level(), SyncFlush::EveryChunk);
        let mut out = Box::pin(src.through(enc).through(f.decoder()));
        for msg in ["event one\n", "event two\n"] {
            tx.send(Bytes::from_static(msg.as_bytes())).await.unwrap();
            assert_eq!(
                collect_for(&mut out, msg.len()).await,
                msg.as_bytes(),
                "{}",
                f.name()
            );
        }
        drop(tx);
        assert!(
            out.next().await.is_none(),
            "{}: the trailer ends it cleanly",
            f.name()
        );
    }
}

#[tokio::test]
async fn an_empty_chunk_is_a_flush_request() {
    for f in FORMATS {
        let (tx, src) = channel();
        let mut out = Box::pin(src.through(f.encoder_flush_on_empty()).through(f.decoder()));
        tx.send(Bytes::from_static(b"held back? ")).await.unwrap();
        tx.send(Bytes::new()).await.unwrap();
        assert_eq!(
            collect_for(&mut out, 11).await,
            b"held back? ",
            "{}",
            f.name()
        );
        drop(tx);
        assert!(out.next().await.is_none());
    }
}

#[tokio::test]
async fn flush_when_idle_flushes_when_the_upstream_waits() {
    for f in FORMATS {
        let (tx, src) = channel();
        let mut out = Box::pin(
            flush_when_idle(src)
                .through(f.encoder_flush_on_empty())
                .through(f.decoder()),
        );
        for msg in ["tick\n", "tock\n"] {
            tx.send(Bytes::from_static(msg.as_bytes())).await.unwrap();
            assert_eq!(
                collect_for(&mut out, msg.len()).await,
                msg.as_bytes(),
                "{}",
                f.name()
            );
        }
        drop(tx);
        assert!(out.next().await.is_none());
    }
}

#[test]
fn without_flushes_a_busy_stream_is_not_inflated() {
    // Flushes only when idle: a stream that never idles is identical to
    // one compressed without flushes.
    let data = text(200_000, 21);
    let plain = run_sync(GzipEncoder::new(), &data, &[4096]).out;
    let idle = futures::executor::block_on(async {
        let chunks: Vec<Bytes> = data.chunks(4096).map(Bytes::copy_from_slice).collect();
        let out: Vec<Bytes> = futures::TryStreamExt::try_collect(
            flush_when_idle(readable::from_iter(chunks))
                .through(GzipEncoder::builder().flush_on_empty(true).build()),
        )
        .await
        .unwrap();
        out.concat()
    });
    assert_eq!(plain, idle);
}

#[test]
fn every_bytes_flushes_at_least_that_often() {
    let data = text(100_000, 22);
    let enc = GzipEncoder::builder()
        .sync_flush(SyncFlush::EveryBytes(10_000))
        .build();
    let packed = run_sync(enc, &data, &[1000]).out;
    // Each sync flush ends with the empty stored block 00 00 ff ff.
    let marks = packed
        .windows(4)
        .filter(|w| w == &[0, 0, 0xff, 0xff])
        .count();
    assert!(marks >= 9, "{marks} flushes");
    assert_eq!(apply(GzipDecoder::new(), &packed).unwrap(), data);
}

#[test]
fn empty_chunks_change_nothing_by_default() {
    use weir::{Output, Transform};
    for f in FORMATS {
        let mut plain = Vec::new();
        let mut with_empty = Vec::new();
        for (sink, empties) in [(&mut plain, false), (&mut with_empty, true)] {
            let mut e = f.encoder(f.quick_level());
            let mut out = Output::new();
            for piece in text(20_000, 23).chunks(1000) {
                e.transform(Bytes::copy_from_slice(piece), &mut out)
                    .unwrap();
                if empties {
                    e.transform(Bytes::new(), &mut out).unwrap();
                }
            }
            e.flush(&mut out).unwrap();
            for c in out.drain() {
                sink.extend_from_slice(&c);
            }
        }
        assert_eq!(plain, with_empty, "{}", f.name());
    }
}
