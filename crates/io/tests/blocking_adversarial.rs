//! `BlockingSource` and `BlockingSink` against awkward readers and writers:
//! short and interrupted writes, writers that lie or panic, readers that
//! fail, no runtime; plus read-ahead and backpressure bounds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{self, IoSlice, Read, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, Sink, SinkExt, StreamExt};
use support::{chunks, random, within};
use weir_core::testing::Rng;
use weir_io::{BlockingSink, BlockingSource};

/// Takes a random 1..=max bytes per call (of the first slice only, as the
/// default `write_vectored` does), and answers `Interrupted` now and then.
struct Stingy {
    out: Arc<Mutex<Vec<u8>>>,
    rng: Rng,
    max: usize,
}

impl Write for Stingy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.rng.chance(0.2) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(self.rng.between(1, self.max));
        self.out.lock().unwrap().extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Takes bytes across several slices at once, stopping at a random point
/// inside one (a short vectored write).
struct StingyVectored {
    out: Arc<Mutex<Vec<u8>>>,
    rng: Rng,
}

impl Write for StingyVectored {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let mut n = self.rng.between(1, total.max(1)).min(total);
        let taken = n;
        let mut out = self.out.lock().unwrap();
        for b in bufs {
            let k = b.len().min(n);
            out.extend_from_slice(&b[..k]);
            n -= k;
            if n == 0 {
                break;
            }
        }
        Ok(taken)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn pieces(data: &[u8], seed: u64) -> Vec<Bytes> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let mut rest = Bytes::copy_from_slice(data);
    while !rest.is_empty() {
        // Mixed sizes: tiny ones get coalesced, large ones go as they are.
        let max = if rng.chance(0.5) { 100 } else { 20_000 };
        let n = rest.len().min(rng.between(1, max));
        out.push(rest.split_to(n));
    }
    out
}

async fn send_all<W: Write + Send + 'static>(sink: &mut BlockingSink<W>, parts: Vec<Bytes>) {
    for p in parts {
        sink.feed(p).await.unwrap();
    }
    sink.close().await.unwrap();
}

#[tokio::test]
async fn short_and_interrupted_writes_lose_nothing() {
    within(20, async {
        let data = random(1, 200_000);
        for (seed, max) in [(1, 1), (2, 7), (3, 5000)] {
            let out = Arc::new(Mutex::new(Vec::new()));
            let w = Stingy {
                out: out.clone(),
                rng: Rng::new(seed),
                max,
            };
            let len = if max == 1 { 20_000 } else { data.len() };
            let mut sink = BlockingSink::builder().block_size(16_384).build(w);
            send_all(&mut sink, pieces(&data[..len], seed)).await;
            assert_eq!(*out.lock().unwrap(), &data[..len]);
            assert_eq!(sink.bytes_written(), len as u64);
        }
    })
    .await;
}

#[tokio::test]
async fn short_vectored_writes_lose_nothing() {
    within(20, async {
        let data = random(2, 300_000);
        for seed in 0..4 {
            let out = Arc::new(Mutex::new(Vec::new()));
            let w = StingyVectored {
                out: out.clone(),
                rng: Rng::new(seed),
            };
            let mut sink = BlockingSink::builder().block_size(50_000).build(w);
            send_all(&mut sink, pieces(&data, seed + 10)).await;
            assert_eq!(*out.lock().unwrap(), data);
        }
    })
    .await;
}

struct Zero;
impl Write for Zero {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Ok(0)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_writer_taking_nothing_is_write_zero_and_the_error_sticks() {
    within(10, async {
        let mut sink = BlockingSink::builder().name("zero").build(Zero);
        sink.feed(Bytes::from_static(b"abc")).await.unwrap();
        let err = sink.flush().await.unwrap_err();
        assert_eq!(err.io_kind(), io::ErrorKind::WriteZero);
        assert_eq!(err.stage(), Some("zero"));
        // Every later call fails the same way.
        let again = sink.send(Bytes::from_static(b"d")).await.unwrap_err();
        assert_eq!(again.io_kind(), io::ErrorKind::WriteZero);
        let closing = sink.close().await.unwrap_err();
        assert_eq!(closing.io_kind(), io::ErrorKind::WriteZero);
    })
    .await;
}

struct Liar;
impl Write for Liar {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len() + 10)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_writer_claiming_too_much_is_an_error_not_a_panic() {
    within(10, async {
        let mut sink = BlockingSink::new(Liar);
        sink.feed(Bytes::from_static(b"abc")).await.unwrap();
        let err = sink.close().await.unwrap_err();
        assert_eq!(err.io_kind(), io::ErrorKind::InvalidData, "{err}");
    })
    .await;
}

struct Panicky;
impl Write for Panicky {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        panic!("the writer broke");
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
impl Read for Panicky {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        panic!("the reader broke");
    }
}

#[tokio::test]
async fn panics_in_the_writer_or_reader_become_errors() {
    within(10, async {
        let mut sink = BlockingSink::new(Panicky);
        sink.feed(Bytes::from_static(b"abc")).await.unwrap();
        let err = sink.flush().await.unwrap_err();
        assert!(err.is_panic(), "{err}");
        assert!(err.to_string().contains("the writer broke"), "{err}");

        let mut src = BlockingSource::new(Panicky);
        let err = src.next().await.unwrap().unwrap_err();
        assert!(err.is_panic(), "{err}");
        assert!(src.next().await.is_none());
    })
    .await;
}

/// Gives `good` bytes, then fails.
struct FailsAfter {
    good: usize,
}
impl Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.good == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.good);
        buf[..n].fill(b'g');
        self.good -= n;
        Ok(n)
    }
}

#[tokio::test]
async fn a_read_error_ends_the_stream_after_the_good_blocks() {
    within(10, async {
        for fill in [true, false] {
            let mut src = BlockingSource::builder()
                .chunk_size(100)
                .block_size(1000)
                .fill(fill)
                .name("flaky")
                .build(FailsAfter { good: 2500 });
            let mut got = 0;
            let err = loop {
                match src.next().await {
                    Some(Ok(c)) => got += c.len(),
                    Some(Err(e)) => break e,
                    None => panic!("ended without the error"),
                }
            };
            // Fill mode: the two full blocks come; the third block (500 good
            // bytes, then the error) is replaced by the error. Read-once mode:
            // every successful read comes.
            assert_eq!(got, if fill { 2000 } else { 2500 });
            assert_eq!(err.stage(), Some("flaky"));
            assert!(err.to_string().contains("disk on fire"), "{err}");
            assert!(src.next().await.is_none());
        }
    })
    .await;
}

#[test]
fn without_a_runtime_the_first_poll_is_an_error() {
    let mut src = BlockingSource::new(io::Cursor::new(vec![1u8; 10]));
    let first = futures::executor::block_on(src.next());
    let err = first.unwrap().unwrap_err();
    assert!(err.to_string().contains("no tokio runtime"), "{err}");
    assert!(futures::executor::block_on(src.next()).is_none());

    let mut sink = BlockingSink::new(Vec::new());
    let err = futures::executor::block_on(sink.send(Bytes::from_static(b"x"))).unwrap_err();
    assert!(err.to_string().contains("no tokio runtime"), "{err}");
}

/// Counts the bytes taken from it.
struct Counted {
    inner: io::Cursor<Vec<u8>>,
    taken: Arc<AtomicUsize>,
}
impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.taken.fetch_add(n, Ordering::SeqCst);
        Ok(n)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_source_reads_one_block_ahead_and_no_more() {
    within(10, async {
        let taken = Arc::new(AtomicUsize::new(0));
        let mut src = BlockingSource::builder()
            .chunk_size(1000)
            .block_size(10_000)
            .fill(true)
            .build(Counted {
                inner: io::Cursor::new(random(3, 100_000)),
                taken: taken.clone(),
            });
        assert_eq!(
            taken.load(Ordering::SeqCst),
            0,
            "nothing is read before the first poll"
        );
        let first = src.next().await.unwrap().unwrap();
        assert_eq!(first.len(), 1000);
        // The second block is read ahead, without being asked for...
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while taken.load(Ordering::SeqCst) < 20_000 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(taken.load(Ordering::SeqCst), 20_000);
        // ...and a consumer that stops pulling stops the reading there.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(taken.load(Ordering::SeqCst), 20_000);
        // The rest comes in order.
        let rest = chunks(src).await.unwrap();
        assert_eq!(1000 + rest.iter().map(Bytes::len).sum::<usize>(), 100_000);
    })
    .await;
}

/// Blocks each (vectored) write until the test lets it go, then takes all.
struct Gated {
    gate: mpsc::Receiver<()>,
    out: Arc<Mutex<Vec<u8>>>,
}
impl Write for Gated {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.gate
            .recv()
            .map_err(|_| io::Error::other("gate closed"))?;
        let mut out = self.out.lock().unwrap();
        for b in bufs {
            out.extend_from_slice(b);
        }
        Ok(bufs.iter().map(|b| b.len()).sum())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn ready_now<W: Write + Send + 'static>(sink: &mut BlockingSink<W>) -> bool {
    futures::future::poll_fn(|cx| Pin::new(&mut *sink).poll_ready(cx))
        .now_or_never()
        .map(|r| r.unwrap())
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sink_waits_only_when_a_full_batch_meets_one_in_flight() {
    within(10, async {
        let (open, gate) = mpsc::channel();
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut sink = BlockingSink::builder().block_size(10_000).build(Gated {
            gate,
            out: out.clone(),
        });
        let chunk = || Bytes::from(vec![b'x'; 5000]);
        // Batch 1 fills and goes to the writer, which is stuck.
        sink.feed(chunk()).await.unwrap();
        sink.feed(chunk()).await.unwrap();
        // Batch 2 fills while batch 1 is in flight: still accepted.
        assert!(ready_now(&mut sink));
        Pin::new(&mut sink).start_send(chunk()).unwrap();
        assert!(ready_now(&mut sink));
        Pin::new(&mut sink).start_send(chunk()).unwrap();
        // Now a full batch waits for the one in flight.
        assert!(!ready_now(&mut sink));
        assert_eq!(sink.buffered(), 20_000);
        // Let batch 1 out: batch 2 goes, and there is room again.
        open.send(()).unwrap();
        sink.feed(chunk()).await.unwrap();
        assert_eq!(sink.bytes_written(), 10_000);
        // Let everything else out.
        for _ in 0..10 {
            let _ = open.send(());
        }
        sink.close().await.unwrap();
        assert_eq!(out.lock().unwrap().len(), 25_000);
    })
    .await;
}

#[tokio::test]
async fn a_block_too_large_to_allocate_is_an_error() {
    within(10, async {
        for fill in [true, false] {
            let mut src = BlockingSource::builder()
                .block_size(usize::MAX)
                .fill(fill)
                .build(io::Cursor::new(vec![1u8; 10]));
            let err = src.next().await.unwrap().unwrap_err();
            assert_eq!(err.io_kind(), io::ErrorKind::OutOfMemory, "{err}");
            assert!(src.next().await.is_none());
        }
    })
    .await;
}
