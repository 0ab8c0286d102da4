//! DESIGN §2 property 5: end, abort, writer dropped without end, reader
//! dropped: four distinct, clear outcomes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

mod support;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use weir_core::{BufferConfig, Error, Limit, buffer};

#[tokio::test]
async fn end_delivers_everything_buffered_then_none() {
    let (mut tx, mut rx) = buffer::<u8>(Limit::items(8));
    for i in 0..5 {
        let _ = tx.write(i).unwrap();
    }
    tx.end();
    let got: Vec<u8> = (&mut rx).map(|r| r.unwrap()).collect().await;
    assert_eq!(got, [0, 1, 2, 3, 4]);
    assert!(rx.next().await.is_none(), "fused after the end");
    assert!(tx.write(9).unwrap_err().error().is_ended());
}

#[tokio::test]
async fn abort_reaches_the_reader_at_once() {
    let (mut tx, mut rx) = BufferConfig::new(Limit::<u8>::items(8))
        .name("upload")
        .build();
    for i in 0..5 {
        let _ = tx.write(i).unwrap();
    }
    tx.abort(Error::aborted("client went away"));
    let e = rx.next().await.unwrap().unwrap_err();
    assert!(e.is_aborted());
    assert_eq!(e.to_string(), "upload: aborted: client went away");
    assert!(rx.next().await.is_none());
    assert_eq!(rx.stats().dropped, 5);
    assert_eq!(rx.available(), 0);
}

#[tokio::test]
async fn a_dropped_writer_is_not_a_clean_end() {
    let (mut tx, mut rx) = buffer::<u8>(Limit::items(8));
    let _ = tx.write(1).unwrap();
    drop(tx);
    // What was written arrives, then the error says the stream is incomplete.
    assert_eq!(rx.next().await.unwrap().unwrap(), 1);
    let e = rx.next().await.unwrap().unwrap_err();
    assert!(e.is_writer_dropped());
    assert!(!e.is_aborted());
    assert!(rx.next().await.is_none());
}

#[tokio::test]
async fn a_dropped_writer_is_an_unexpected_eof_for_async_read() {
    let (mut tx, mut rx) = buffer::<Bytes>(Limit::bytes(64));
    let _ = tx.write(Bytes::from_static(b"partial")).unwrap();
    drop(tx);
    let mut s = String::new();
    let e = rx.read_to_string(&mut s).await.unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    assert!(Error::from(e).is_writer_dropped());
}

#[tokio::test]
async fn a_dropped_reader_fails_writes_and_frees_memory() {
    let (mut tx, rx) = buffer::<Bytes>(Limit::bytes(100));
    let big = Bytes::from(vec![0u8; 90]);
    let _ = tx.write(big.clone()).unwrap();
    drop(rx);
    assert_eq!(tx.buffered(), 0);
    let e = tx.write(Bytes::from_static(b"more")).unwrap_err();
    assert!(e.error().is_reader_gone());
    assert_eq!(e.into_inner(), "more");
    assert!(
        tx.send(Bytes::new())
            .await
            .unwrap_err()
            .error()
            .is_reader_gone()
    );
    assert!(tx.drained().await.unwrap_err().is_reader_gone());
    assert!(tx.is_reader_gone());
}

#[tokio::test]
async fn reader_drop_wakes_a_waiting_sender() {
    let (mut tx, rx) = buffer::<u8>(Limit::items(1));
    let _ = tx.write(0).unwrap();
    let sender = tokio::spawn(async move { tx.send(1).await });
    tokio::task::yield_now().await; // the sender now waits for room
    drop(rx);
    let e = support::within(5, sender).await.unwrap().unwrap_err();
    assert!(e.error().is_reader_gone());
}

#[tokio::test]
async fn sink_close_is_end() {
    let (mut tx, rx) = buffer::<u8>(Limit::items(4));
    tx.send(1).await.unwrap();
    SinkExt::close(&mut tx).await.unwrap();
    let got: Vec<_> = rx.collect().await;
    assert_eq!(got.len(), 1);
    assert!(
        futures::SinkExt::send(&mut tx, 2)
            .await
            .unwrap_err()
            .is_ended()
    );
}
