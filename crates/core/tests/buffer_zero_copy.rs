//! DESIGN §2 property 7 (the zero-copy half; speed is in the benches):
//! `Bytes` pass through the buffer, the readable adapters and the bytes
//! `AsyncBufRead` without being copied.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

use bytes::Bytes;
use futures::StreamExt;
use std::pin::Pin;
use tokio::io::AsyncBufRead;
use weir_core::{Limit, ReadableExt, buffer, transform::PassThrough};

#[tokio::test]
async fn a_chunk_comes_out_at_the_address_it_went_in() {
    let (mut tx, rx) = buffer::<Bytes>(Limit::bytes(1 << 20));
    let chunk = Bytes::from(vec![42u8; 100_000]);
    let addr = chunk.as_ptr();
    tx.send(chunk).await.unwrap();
    tx.end();
    // Through a transform stage as well.
    let mut out = rx.through(PassThrough::new());
    let got = out.next().await.unwrap().unwrap();
    assert_eq!(got.as_ptr(), addr, "the chunk was copied");
}

#[tokio::test]
async fn fill_buf_lends_the_chunk_itself() {
    let (mut tx, mut rx) = buffer::<Bytes>(Limit::bytes(1 << 20));
    let chunk = Bytes::from(vec![1u8; 4096]);
    let addr = chunk.as_ptr();
    tx.send(chunk).await.unwrap();
    tx.end();
    let lent = std::future::poll_fn(|cx| {
        Pin::new(&mut rx)
            .poll_fill_buf(cx)
            .map(|r| r.map(|b| (b.as_ptr(), b.len())))
    })
    .await
    .unwrap();
    assert_eq!(lent, (addr, 4096));
}
