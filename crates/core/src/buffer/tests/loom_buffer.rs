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

/// `finished()` racing the reads of a stream that ended while full: the
/// read reaching the low mark ends the Full episode (without a drain: the
/// writer ended) but must leave the reader reporting hand-outs, so the last
/// one still wakes the waiting writer.
#[test]
fn loom_finished_races_the_last_reads() {
    loom::model(|| {
        let (mut tx, mut rx) = BufferConfig::new(Limit::<u32>::items(2)).build();
        assert_eq!(tx.write(1).map_err(|_| ()).unwrap(), Written::Ready);
        assert_eq!(tx.write(2).map_err(|_| ()).unwrap(), Written::Full);
        tx.end();
        let reader = thread::spawn(move || {
            let a = rx.try_next();
            let b = rx.try_next();
            (a, b, rx)
        });
        block_on(tx.finished()).unwrap();
        let (a, b, rx) = reader.join().unwrap();
        assert_eq!((a, b), (Some(1), Some(2)));
        assert_eq!(rx.stats().drains, 0);
    });
}

/// `finished()` while the reader takes one chunk and goes away: woken with
/// the reader-gone error, never a hang and never a false finish.
#[test]
fn loom_finished_races_reader_drop() {
    loom::model(|| {
        let (mut tx, mut rx) = BufferConfig::new(Limit::<u32>::items(4)).build();
        assert_eq!(tx.write(1).map_err(|_| ()).unwrap(), Written::Ready);
        assert_eq!(tx.write(2).map_err(|_| ()).unwrap(), Written::Ready);
        tx.end();
        let reader = thread::spawn(move || {
            let a = rx.try_next();
            drop(rx);
            a
        });
        let res = block_on(tx.finished());
        assert_eq!(reader.join().unwrap(), Some(1));
        assert!(res.unwrap_err().is_reader_gone());
    });
}

/// `finished()` racing a reader that takes the last chunk through its
/// `Stream` side and then sees the end: resolves with `Ok`, woken by the
/// hand-out (the reader stays alive, so its drop cannot be what wakes it).
#[test]
fn loom_finished_races_a_reader_reaching_the_end() {
    loom::model(|| {
        let (mut tx, mut rx) = BufferConfig::new(Limit::<u32>::items(1)).build();
        assert_eq!(tx.write(7).map_err(|_| ()).unwrap(), Written::Full);
        tx.end();
        let reader = thread::spawn(move || {
            block_on(async {
                let first = poll_fn(|cx| rx.poll_recv(cx)).await;
                let second = poll_fn(|cx| rx.poll_recv(cx)).await;
                (first.map(|r| r.unwrap()), second.is_none(), rx)
            })
        });
        block_on(tx.finished()).unwrap();
        let (first, end, _rx) = reader.join().unwrap();
        assert_eq!((first, end), (Some(7), true));
    });
}
