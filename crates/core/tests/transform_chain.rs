//! Transforms: the pull-driven adapter, map/filter/pass-through, fusing,
//! bounded expansion through `resume`, errors named after their stage, and
//! backpressure across a chain of three transforms.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use weir_core::testing::Check;
use weir_core::transform::{PassThrough, filter, map, try_map};
use weir_core::{Error, Limit, Output, ReadableExt, Transform, TransformExt, buffer, readable};

/// Upper-cases ASCII (the seed's custom transform).
struct Upper;
impl Transform for Upper {
    type In = Bytes;
    type Out = Bytes;
    fn transform(&mut self, c: Bytes, out: &mut Output<Bytes>) -> Result<(), Error> {
        out.push(Bytes::from(c.to_ascii_uppercase()));
        Ok(())
    }
}

/// Repeats each input byte `factor` times, emitting at most `step` bytes per
/// call: a transform with bounded expansion, like a decompressor.
struct Expand {
    factor: usize,
    step: usize,
    held: Vec<u8>,
    pos: usize,
}
impl Expand {
    fn new(factor: usize, step: usize) -> Self {
        Expand {
            factor,
            step,
            held: Vec::new(),
            pos: 0,
        }
    }
    fn emit(&mut self, out: &mut Output<Bytes>) -> bool {
        let total = self.held.len() * self.factor;
        if self.pos >= total {
            return false;
        }
        let end = (self.pos + self.step).min(total);
        let chunk: Vec<u8> = (self.pos..end)
            .map(|i| self.held[i / self.factor])
            .collect();
        self.pos = end;
        out.push(Bytes::from(chunk));
        self.pos < total
    }
}
impl Transform for Expand {
    type In = Bytes;
    type Out = Bytes;
    fn transform(&mut self, c: Bytes, out: &mut Output<Bytes>) -> Result<(), Error> {
        assert_eq!(
            self.pos,
            self.held.len() * self.factor,
            "given input while holding work back"
        );
        self.held = c.to_vec();
        self.pos = 0;
        self.emit(out);
        Ok(())
    }
    fn resume(&mut self, out: &mut Output<Bytes>) -> Result<bool, Error> {
        Ok(self.emit(out))
    }
}

/// Emits its input once more at the end, to test `flush`.
struct Echo(Vec<u8>);
impl Transform for Echo {
    type In = Bytes;
    type Out = Bytes;
    fn transform(&mut self, c: Bytes, out: &mut Output<Bytes>) -> Result<(), Error> {
        self.0.extend_from_slice(&c);
        out.push(c);
        Ok(())
    }
    fn flush(&mut self, out: &mut Output<Bytes>) -> Result<(), Error> {
        out.push(Bytes::from(std::mem::take(&mut self.0)));
        Ok(())
    }
}

#[tokio::test]
async fn the_seed_upper_case_transform_passes_the_kit() {
    let out = Check::new()
        .bytes(|| Upper, b"hello, streams and backpressure")
        .await
        .unwrap();
    assert_eq!(out, "HELLO, STREAMS AND BACKPRESSURE");
}

#[tokio::test]
async fn pass_through_and_flush_pass_the_kit() {
    let input = support::rng(1).bytes(10_000);
    let out = Check::new().bytes(PassThrough::new, &input).await.unwrap();
    assert_eq!(out, input);
    let out = Check::new()
        .bytes(|| Echo(Vec::new()), &input)
        .await
        .unwrap();
    assert_eq!(out, [input.clone(), input].concat());
}

#[tokio::test]
async fn bounded_expansion_passes_the_kit_and_holds_its_step() {
    let input = support::rng(2).bytes(3000);
    let out = Check::new()
        .bytes(|| Expand::new(50, 4096), &input)
        .await
        .unwrap();
    assert_eq!(out.len(), 150_000);
    // Each output chunk is at most one step, and nothing arrives out of order.
    let chunks: Vec<Bytes> = readable::from_iter([Bytes::from(input.clone())])
        .through(Expand::new(50, 4096))
        .try_collect()
        .await
        .unwrap();
    assert!(chunks.iter().all(|c| c.len() <= 4096));
    assert_eq!(chunks.concat(), out);
}

#[tokio::test]
async fn fused_chains_keep_the_resume_protocol() {
    let input = support::rng(3).bytes(2000);
    // Expansion on both sides of a fused pair, and a flush at the end.
    let make = || {
        Expand::new(3, 100)
            .then(Upper)
            .then(Expand::new(2, 7))
            .then(Echo(Vec::new()))
    };
    let out = Check::new().bytes(make, &input).await.unwrap();
    let once: Vec<u8> = input
        .iter()
        .flat_map(|&b| std::iter::repeat_n(b.to_ascii_uppercase(), 6))
        .collect();
    assert_eq!(out, [once.clone(), once].concat());
}

#[tokio::test]
async fn map_filter_try_map_pass_the_kit() {
    let input: Vec<u32> = (0..500).collect();
    let out = Check::new()
        .items(|| map(|n: u32| n * 2), input.clone())
        .await
        .unwrap();
    assert_eq!(out, input.iter().map(|n| n * 2).collect::<Vec<_>>());
    let out = Check::new()
        .items(|| filter(|n: &u32| n.is_multiple_of(3)), input.clone())
        .await
        .unwrap();
    assert_eq!(out.len(), 167);
    let err = Check::new()
        .items(
            || {
                try_map(|n: u32| {
                    if n < 400 {
                        Ok(n)
                    } else {
                        Err(Error::corrupt(format!("item {n}")))
                    }
                })
            },
            input,
        )
        .await
        .unwrap_err();
    assert!(err.is_corrupt());
    assert_eq!(err.stage(), Some("try_map"));
}

#[tokio::test]
async fn errors_name_the_failing_stage() {
    struct Boom;
    impl Transform for Boom {
        type In = u8;
        type Out = u8;
        fn transform(&mut self, c: u8, out: &mut Output<u8>) -> Result<(), Error> {
            if c == 3 {
                return Err(Error::corrupt("three is not allowed"));
            }
            out.push(c);
            Ok(())
        }
    }
    let res: Result<Vec<u8>, Error> = readable::from_iter(0..10u8)
        .through(Boom)
        .try_collect()
        .await;
    let e = res.unwrap_err();
    assert_eq!(e.stage(), Some("Boom"));
    assert_eq!(e.to_string(), "Boom: corrupt input: three is not allowed");

    // Inside a fused chain, the inner transform is named.
    let chain = map(|c: u8| c).then(Boom).then(PassThrough::new());
    let res: Result<Vec<u8>, Error> = readable::from_iter(0..10u8)
        .through(chain)
        .try_collect()
        .await;
    assert_eq!(res.unwrap_err().stage(), Some("Boom"));

    // A stage name given to the adapter wins over the type name.
    let mut s = readable::from_iter(0..10u8).through(Boom.named("validator"));
    while let Some(r) = s.next().await {
        if let Err(e) = r {
            assert_eq!(e.stage(), Some("validator"));
        }
    }
}

#[tokio::test]
async fn upstream_errors_pass_through_unchanged() {
    let src = readable::from_try_stream(futures::stream::iter([
        Ok(Bytes::from_static(b"a")),
        Err(Error::io(std::io::Error::other("read failed")).with_stage("file")),
    ]));
    let mut s = src.through(Upper);
    assert_eq!(s.next().await.unwrap().unwrap(), "A");
    let e = s.next().await.unwrap().unwrap_err();
    assert_eq!(e.stage(), Some("file"));
    assert!(s.next().await.is_none());
}

/// A source that counts how many chunks were pulled from it.
fn counted_source(
    n: usize,
    pulled: Arc<AtomicUsize>,
) -> impl futures::Stream<Item = Result<Bytes, Error>> {
    futures::stream::iter(0..n).map(move |_| {
        pulled.fetch_add(1, Ordering::SeqCst);
        Ok(Bytes::from_static(b"0123456789abcdef"))
    })
}

#[tokio::test]
async fn backpressure_crosses_three_transforms() {
    // source -> upper -> pass-through -> map -> bounded buffer -> slow sink.
    let pulled = Arc::new(AtomicUsize::new(0));
    let chain = counted_source(100_000, pulled.clone())
        .through(Upper)
        .through(PassThrough::new())
        .through(map(|c: Bytes| c.slice(..8)));
    let (mut tx, mut rx) = buffer::<Bytes>(Limit::bytes(64));
    let pump = tokio::spawn(async move {
        let mut chain = std::pin::pin!(chain);
        while let Some(c) = chain.next().await {
            if tx.send(c.unwrap()).await.is_err() {
                break;
            }
        }
        tx.end();
    });
    // The sink reads slowly: 50 chunks, one at a time.
    for taken in 1..=50usize {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        rx.next().await.unwrap().unwrap();
        // The chain's buffers: 64 B of 8-byte chunks = 8 in the buffer, one
        // chunk in the pump's hand, and no more than one chunk in each of the
        // three transform adapters.
        let ahead = pulled.load(Ordering::SeqCst) - taken;
        assert!(
            ahead <= 8 + 1 + 3,
            "the source ran {ahead} chunks ahead of the sink"
        );
    }
    drop(rx);
    pump.await.unwrap();
    assert!(
        pulled.load(Ordering::SeqCst) < 100,
        "the source was drained anyway"
    );
}
