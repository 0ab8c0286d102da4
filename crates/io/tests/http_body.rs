//! The body adapters on their own: ResponseBody from readables (through the
//! conformance kit's adversarial streams), BodyReader's limit, guards and
//! trailers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, StreamBody};
use support::{random, within};
use weir_core::testing::Chaos;
use weir_io::http::{BodyReader, ResponseBody};

#[tokio::test]
async fn response_body_passes_chunks_through_whatever_the_timing() {
    let data = random(11, 300_000);
    for seed in 0..8 {
        let chaos = Chaos::new(seed).max_chunk(5000).pending(0.4);
        let src = chaos.rechunk(weir_core::readable::from_iter([Bytes::from(data.clone())]));
        let body = ResponseBody::from_readable(src).with_len(data.len() as u64);
        assert_eq!(body.size_hint().exact(), Some(data.len() as u64));
        let got = within(10, body.collect()).await.unwrap().to_bytes();
        assert_eq!(got, data);
    }
}

#[tokio::test]
async fn response_body_ends_with_the_sources_error() {
    let src = futures::stream::iter([
        Ok(Bytes::from_static(b"abc")),
        Ok(Bytes::new()),
        Err(weir_core::Error::corrupt("bad block")),
        Ok(Bytes::from_static(b"never")),
    ]);
    let mut body = ResponseBody::from_readable(src);
    let first = body.frame().await.unwrap().unwrap();
    assert_eq!(first.into_data().unwrap(), "abc");
    let err = body.frame().await.unwrap().unwrap_err();
    assert!(err.is_corrupt());
    assert_eq!(err.stage(), Some("http.body"));
    assert!(body.frame().await.is_none(), "fused after the error");
    assert!(body.is_end_stream());
    assert!(ResponseBody::empty().is_end_stream());
    assert_eq!(
        ResponseBody::full("xyz")
            .collect()
            .await
            .unwrap()
            .to_bytes(),
        "xyz"
    );
}

#[tokio::test]
async fn body_reader_limit_counts_every_byte() {
    let chunks = (0..10)
        .map(|_| Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(vec![1u8; 100]))));
    let body = StreamBody::new(futures::stream::iter(chunks));
    let mut r = BodyReader::new(body).limit(950);
    let mut n = 0;
    let err = loop {
        match r.next().await {
            Some(Ok(c)) => n += c.len(),
            Some(Err(e)) => break e,
            None => panic!("passed the limit without an error"),
        }
    };
    assert_eq!(n, 900);
    assert!(err.is_limit(), "{err}");
    assert!(r.next().await.is_none(), "fused");
    // Exactly at the limit is fine.
    let chunks = (0..10)
        .map(|_| Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(vec![1u8; 100]))));
    let r = BodyReader::new(StreamBody::new(futures::stream::iter(chunks))).limit(1000);
    let all: Vec<Bytes> = r.try_collect().await.unwrap();
    assert_eq!(all.concat().len(), 1000);
}

#[tokio::test]
async fn body_reader_skips_trailers_and_empty_frames() {
    let mut trailers = http::HeaderMap::new();
    trailers.insert("x-sum", "1".parse().unwrap());
    let frames = vec![
        Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from_static(b"a"))),
        Ok(Frame::data(Bytes::new())),
        Ok(Frame::data(Bytes::from_static(b"b"))),
        Ok(Frame::trailers(trailers)),
    ];
    let r = BodyReader::new(StreamBody::new(futures::stream::iter(frames)));
    let all: Vec<Bytes> = r.try_collect().await.unwrap();
    assert_eq!(all, ["a", "b"]);
}

/// A body sending 100 bytes every 100 ms (1 kB/s).
fn dripping() -> impl Body<Data = Bytes, Error = std::convert::Infallible> {
    let s = futures::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((Ok(Frame::data(Bytes::from(vec![0u8; 100]))), ()))
    });
    StreamBody::new(s)
}

// On the paused clock (the guard and the drip both run on Tokio's timers):
// the times are exact, whatever the machine's load.
#[tokio::test(start_paused = true)]
async fn body_reader_cuts_a_peer_below_the_minimum_rate() {
    within(10, async {
        let t = tokio::time::Instant::now();
        let r = BodyReader::new(dripping()).min_rate(10_000, Duration::from_millis(300));
        let err = r.try_collect::<Vec<_>>().await.unwrap_err();
        assert!(err.is_timeout(), "{err}");
        // 1 kB/s against 10 kB/s: cut once the grace period is over (its
        // 100 bytes earn 10 ms at 10 kB/s), before the third chunk.
        assert!(
            t.elapsed() >= Duration::from_millis(300) && t.elapsed() < Duration::from_millis(400),
            "{:?}",
            t.elapsed()
        );
        // Above the rate, the same body is read on.
        let r = BodyReader::new(dripping()).min_rate(100, Duration::from_millis(300));
        let got: Vec<Bytes> = r.take(15).try_collect().await.unwrap();
        assert_eq!(got.len(), 15);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn body_reader_cuts_a_silent_peer_after_the_idle_timeout() {
    within(10, async {
        let silent = StreamBody::new(futures::stream::pending::<
            Result<Frame<Bytes>, std::convert::Infallible>,
        >());
        let t = tokio::time::Instant::now();
        let err = BodyReader::new(silent)
            .idle_timeout(Duration::from_millis(200))
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err}");
        // Exactly the idle timeout, on the paused clock.
        assert_eq!(t.elapsed(), Duration::from_millis(200));
    })
    .await;
}
