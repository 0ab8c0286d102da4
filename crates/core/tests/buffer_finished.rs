//! `Writer::finished`: Node's `'finish'` (`finished(writable)`). It resolves
//! once the writer has ended and the reader has taken every chunk, and fails
//! if the reader went away first or the writer aborted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The loom build (`--cfg loom`) runs only the models in the library.
#![cfg(not(loom))]

mod support;

use bytes::Bytes;
use futures::StreamExt;
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};
use weir_core::{BufferConfig, Error, Limit, Written, buffer};

#[test]
fn finished_waits_for_the_reader_to_take_the_last_chunk() {
    let (mut tx, mut rx) = BufferConfig::new(Limit::<u8>::items(2)).build();
    assert_eq!(tx.write(1).unwrap(), Written::Ready);
    assert_eq!(tx.write(2).unwrap(), Written::Full);
    assert_eq!(tx.write(3).unwrap(), Written::Full);
    tx.end();
    let mut fin = spawn(tx.finished());
    assert_pending!(fin.poll());
    assert_eq!(rx.try_next(), Some(1));
    assert_eq!(rx.try_next(), Some(2));
    assert_pending!(fin.poll(), "one chunk is still buffered");
    // Taken from the reader's cache: the hand-out itself must wake us.
    assert_eq!(rx.try_next(), Some(3));
    assert!(fin.is_woken(), "the last hand-out did not wake finished()");
    assert_ready!(fin.poll()).unwrap();
}

#[test]
fn an_empty_chunk_still_has_to_be_taken() {
    let (mut tx, mut rx) = buffer::<Bytes>(Limit::bytes(16));
    let _ = tx.write(Bytes::from_static(b"ab")).unwrap();
    let _ = tx.write(Bytes::new()).unwrap();
    tx.end();
    let mut fin = spawn(tx.finished());
    assert_pending!(fin.poll());
    assert_eq!(rx.try_next().as_deref(), Some(&b"ab"[..]));
    assert_pending!(fin.poll(), "the empty chunk was not taken yet");
    assert_eq!(rx.try_next().as_deref(), Some(&b""[..]));
    assert!(fin.is_woken());
    assert_ready!(fin.poll()).unwrap();
}

#[tokio::test]
async fn finished_after_the_reader_saw_the_end() {
    let (mut tx, rx) = buffer::<u8>(Limit::items(4));
    let reader = tokio::spawn(rx.map(Result::unwrap).collect::<Vec<_>>());
    for i in 0..100 {
        tx.send(i).await.unwrap();
    }
    tx.end();
    support::within(5, tx.finished()).await.unwrap();
    assert_eq!(reader.await.unwrap().len(), 100);
    // Still finished, even with the reader gone since.
    tx.finished().await.unwrap();
}

#[test]
fn a_reader_gone_with_chunks_left_is_an_error() {
    let (mut tx, mut rx) = buffer::<u8>(Limit::items(4));
    let _ = tx.write(1).unwrap();
    let _ = tx.write(2).unwrap();
    tx.end();
    let mut fin = spawn(tx.finished());
    assert_pending!(fin.poll());
    assert_eq!(rx.try_next(), Some(1)); // 2 is in the reader's cache
    assert_pending!(fin.poll());
    drop(rx);
    assert!(fin.is_woken(), "the reader's drop did not wake finished()");
    let e = assert_ready!(fin.poll()).unwrap_err();
    assert!(e.is_reader_gone(), "{e}");
}

#[test]
fn an_aborted_writer_never_finishes() {
    let (mut tx, _rx) = BufferConfig::new(Limit::<u8>::items(4))
        .name("upload")
        .build();
    let _ = tx.write(1).unwrap();
    tx.abort(Error::msg("stop"));
    let e = futures::executor::block_on(tx.finished()).unwrap_err();
    assert!(e.is_aborted(), "{e}");
    assert_eq!(e.stage(), Some("upload"));
}

#[test]
fn finished_before_end_fails_at_once() {
    // Nothing could end the stream while finished() borrows the writer.
    let (mut tx, _rx) = buffer::<u8>(Limit::items(4));
    let _ = tx.write(1).unwrap();
    let e = futures::executor::block_on(tx.finished()).unwrap_err();
    assert!(!e.is_reader_gone() && !e.is_aborted(), "{e}");
    assert!(e.to_string().contains("end()"), "{e}");
}

/// Once finished, a late `abort()` changes nothing: `finished()` stays `Ok`.
#[tokio::test]
async fn finished_stays_finished_after_a_late_abort() {
    let (mut tx, mut rx) = buffer::<u32>(Limit::items(4));
    let _ = tx.write(1).unwrap();
    tx.end();
    assert_eq!(rx.next().await.unwrap().unwrap(), 1);
    assert!(rx.next().await.is_none());
    tx.finished().await.unwrap();
    tx.abort(Error::msg("late"));
    let again = tx.finished().await;
    assert!(again.is_ok(), "finished() after a late abort: {again:?}");
}
