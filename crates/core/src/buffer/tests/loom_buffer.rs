use std::future::poll_fn;
use std::task::Poll;

use loom::future::block_on;
use loom::thread;

use crate::buffer::{BufferConfig, Written};
use crate::limit::Limit;

/// A writer sending more than the buffer holds, waiting for room while the
/// reader takes: every item arrives, in order, and neither side sleeps
/// forever (loom reports a deadlock if a wake-up is lost).
#[test]
fn loom_writer_waits_for_room_while_reader_takes() {
    loom::model(|| {
        let (mut tx, mut rx) = BufferConfig::new(Limit::<u32>::items(1)).build();
        let writer = thread::spawn(move || {
            block_on(async {
                for i in 0..3 {
                    tx.send(i).await.map_err(|_| ()).unwrap();
                }
                tx.end();
            });
        });
        let got = block_on(async {
            let mut got = Vec::new();
            while let Some(item) = poll_fn(|cx| rx.poll_recv(cx)).await {
                got.push(item.unwrap());
            }
            got
        });
        writer.join().unwrap();
        assert_eq!(got, [0, 1, 2]);
    });
}

/// A reader waiting on an empty buffer while the writer writes and ends:
/// it sees the item, then the end.
#[test]
fn loom_reader_waits_while_writer_ends() {
    loom::model(|| {
        let (mut tx, mut rx) = BufferConfig::new(Limit::<u32>::items(4)).build();
        let writer = thread::spawn(move || {
            assert_eq!(tx.write(7).map_err(|_| ()).unwrap(), Written::Ready);
            tx.end();
        });
        let got = block_on(async {
            let first = poll_fn(|cx| rx.poll_recv(cx)).await;
            let second = poll_fn(|cx| rx.poll_recv(cx)).await;
            (first.map(|r| r.unwrap()), second.is_none())
        });
        writer.join().unwrap();
        assert_eq!(got, (Some(7), true));
    });
}

/// A reader waiting while the writer is dropped without `end()`: it is
/// woken and sees the writer-dropped error, not a hang and not a clean end.
#[test]
fn loom_reader_waits_while_writer_drops() {
    loom::model(|| {
        let (tx, mut rx) = BufferConfig::new(Limit::<u32>::items(2)).build();
        let writer = thread::spawn(move || drop(tx));
        let res = block_on(poll_fn(|cx| rx.poll_recv(cx)));
        writer.join().unwrap();
        assert!(res.unwrap().unwrap_err().is_writer_dropped());
    });
}

/// `drained()` racing the reads that drain the buffer: the writer is woken
/// exactly when the reader reaches the low mark.
#[test]
fn loom_drained_races_a_read() {
    loom::model(|| {
        let (mut tx, mut rx) = BufferConfig::new(Limit::<u32>::items(2))
            .low_water_mark(0)
            .build();
        assert_eq!(tx.write(1).map_err(|_| ()).unwrap(), Written::Ready);
        assert_eq!(tx.write(2).map_err(|_| ()).unwrap(), Written::Full);
        let reader = thread::spawn(move || {
            let a = rx.try_next();
            let b = rx.try_next();
            (a, b, rx)
        });
        block_on(tx.drained()).unwrap();
        let (a, b, rx) = reader.join().unwrap();
        assert_eq!((a, b), (Some(1), Some(2)));
        assert_eq!(rx.stats().drains, 1);
        assert!(!tx.is_full());
    });
}

/// `drained()` waiting while the reader is dropped: woken with the
/// reader-gone error.
#[test]
fn loom_drained_races_reader_drop() {
    loom::model(|| {
        let (mut tx, rx) = BufferConfig::new(Limit::<u32>::items(1)).build();
        assert_eq!(tx.write(1).map_err(|_| ()).unwrap(), Written::Full);
        let reader = thread::spawn(move || drop(rx));
        let res = block_on(tx.drained());
        reader.join().unwrap();
        assert!(res.unwrap_err().is_reader_gone());
    });
}

/// `abort` while the reader waits: the reader sees the abort error at once.
#[test]
fn loom_abort_wakes_waiting_reader() {
    loom::model(|| {
        let (mut tx, mut rx) = BufferConfig::new(Limit::<u32>::items(2)).build();
        let writer = thread::spawn(move || {
            tx.abort(crate::Error::aborted("stop"));
            tx
        });
        let res = block_on(poll_fn(|cx| match rx.poll_recv(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => Poll::Pending,
        }));
        let _tx = writer.join().unwrap();
        assert!(res.unwrap().unwrap_err().is_aborted());
    });
}
