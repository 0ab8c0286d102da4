use std::fmt::Debug;
use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::AsyncWrite;

use super::chaos::{Chaos, ChaosRead, ChaosWrite};
use super::rng::Rng;
use crate::buffer::BufferConfig;
use crate::error::Error;
use crate::limit::Limit;
use crate::readable;
use crate::transform::{Through, Transform};

/// Runs adapters and transforms under many adversarial deliveries and checks
/// that they behave (see the [module docs](super)).
///
/// Every check runs: one *whole* delivery (the reference: input in one
/// piece, no `Pending`), one *one-byte* delivery, and [`rounds`](Check::rounds)
/// *random* deliveries (random chunk sizes up to
/// [`max_chunk`](Check::max_chunk), random `Pending` on both sides). Keep
/// inputs to a few tens of KiB: the one-byte run polls once per byte.
#[derive(Debug, Clone)]
pub struct Check {
    rounds: u64,
    seed: u64,
    timeout: Duration,
    max_chunk: usize,
    pending: f64,
    buffer_high: usize,
}

impl Default for Check {
    fn default() -> Self {
        Check::new()
    }
}

/// Output of one run: the bytes/items, or the error it ended with.
type Outcome<T> = Result<T, Error>;

impl Check {
    /// Eight random rounds from seed 0, chunks up to 4 KiB, `Pending` one poll
    /// in four, a 60 s timeout per run, a 1 KiB buffer for the backpressure run.
    pub fn new() -> Self {
        Check {
            rounds: 8,
            seed: 0,
            timeout: Duration::from_secs(60),
            max_chunk: 4096,
            pending: 0.25,
            buffer_high: 1024,
        }
    }

    /// Sets the number of random deliveries.
    #[must_use]
    pub fn rounds(mut self, n: u64) -> Self {
        self.rounds = n;
        self
    }

    /// Sets the first seed (runs use `seed`, `seed + 1`, …).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the time one run may take before it counts as a hang.
    #[must_use]
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Sets the largest random chunk.
    #[must_use]
    pub fn max_chunk(mut self, n: usize) -> Self {
        self.max_chunk = n.max(1);
        self
    }

    /// Sets how often a poll answers `Pending` in random deliveries.
    #[must_use]
    pub fn pending(mut self, p: f64) -> Self {
        self.pending = p;
        self
    }

    fn deliveries(&self) -> Vec<(String, Chaos)> {
        let mut v = vec![
            ("whole".to_string(), Chaos::calm()),
            (
                format!("one byte, seed {}", self.seed),
                Chaos::one_byte(self.seed).pending(self.pending),
            ),
        ];
        for i in 0..self.rounds {
            let seed = self.seed.wrapping_add(i);
            v.push((
                format!("random, seed {seed}"),
                Chaos::new(seed)
                    .max_chunk(self.max_chunk)
                    .pending(self.pending),
            ));
        }
        v
    }

    async fn timed<F: std::future::Future>(&self, what: &str, label: &str, f: F) -> F::Output {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(v) => v,
            Err(_) => panic!(
                "{what}: the {label} run did not finish within {:?} (hang?)",
                self.timeout
            ),
        }
    }

    /// Checks a byte transform: whatever the chunking and timing, it gives
    /// the same output (or fails with the same kind of error), finishes, and
    /// respects backpressure. `make` builds a fresh transform for each run.
    ///
    /// Returns the output of the reference run, or the error every run ended
    /// with, so the caller can also check *what* it produced.
    ///
    /// # Cancel safety
    /// Cancel safe: the runs happen inside the future (nothing is spawned),
    /// so dropping it stops the check and leaves nothing behind.
    ///
    /// # Errors
    /// The error the transform failed with (on every delivery alike).
    ///
    /// # Panics
    /// If deliveries disagree, a run hangs, or backpressure is not respected.
    pub async fn bytes<T, F>(&self, mut make: F, input: &[u8]) -> Result<Bytes, Error>
    where
        F: FnMut() -> T,
        T: Transform<In = Bytes, Out = Bytes>,
    {
        let mut reference: Option<(String, Outcome<Bytes>)> = None;
        for (label, chaos) in self.deliveries() {
            let src = chaos.rechunk(readable::from_iter([Bytes::copy_from_slice(input)]));
            let out = chaos.stream(Through::new(src, make()));
            let got = self
                .timed("byte transform", &label, collect_bytes(out))
                .await;
            agree(&mut reference, label, got, |a, b| {
                (a != b).then(|| first_difference(a, b))
            });
        }
        let (_, reference) = reference.unwrap_or_else(|| unreachable!("at least one run"));
        if let Ok(expected) = &reference {
            let stalled = self.stall_run(make(), input, expected.len()).await;
            if stalled != expected {
                panic!(
                    "byte transform: the backpressure run gave other output ({})",
                    first_difference(expected, &stalled)
                );
            }
        }
        reference
    }

    /// Checks an object transform: with random `Pending` on both sides it
    /// gives the same items (or the same kind of error) as a calm run, and
    /// finishes. `make` builds a fresh transform for each run.
    ///
    /// # Cancel safety
    /// Cancel safe: the runs happen inside the future (nothing is spawned),
    /// so dropping it stops the check and leaves nothing behind.
    ///
    /// # Errors
    /// The error the transform failed with (on every delivery alike).
    ///
    /// # Panics
    /// If deliveries disagree or a run hangs.
    pub async fn items<T, F>(&self, mut make: F, input: Vec<T::In>) -> Result<Vec<T::Out>, Error>
    where
        F: FnMut() -> T,
        T: Transform,
        T::In: Clone,
        T::Out: PartialEq + Debug,
    {
        let mut reference: Option<(String, Outcome<Vec<T::Out>>)> = None;
        for (label, chaos) in self.deliveries() {
            let src = chaos.stream(readable::from_iter(input.clone()));
            let out = chaos.stream(Through::new(src, make()));
            let got = self.timed("transform", &label, collect_items(out)).await;
            agree(&mut reference, label, got, |a, b| {
                (a != b).then(|| format!("{a:?} vs {b:?}"))
            });
        }
        reference
            .map(|(_, r)| r)
            .unwrap_or_else(|| unreachable!("at least one run"))
    }

    /// Checks a readable adapter over `AsyncRead`: `make` wraps a reader of
    /// `input` (which delivers it adversarially); the stream must yield
    /// exactly `input`, whatever the chunking and timing.
    ///
    /// # Cancel safety
    /// Cancel safe: the runs happen inside the future (nothing is spawned),
    /// so dropping it stops the check and leaves nothing behind.
    ///
    /// # Panics
    /// If a run yields other bytes or an error, or hangs.
    pub async fn reader<S, F>(&self, input: &[u8], mut make: F)
    where
        F: FnMut(ChaosRead<io::Cursor<Vec<u8>>>) -> S,
        S: Stream<Item = Result<Bytes, Error>>,
    {
        for (label, chaos) in self.deliveries() {
            let r = chaos.read(io::Cursor::new(input.to_vec()));
            let out = chaos.stream(make(r));
            match self
                .timed("reader adapter", &label, collect_bytes(out))
                .await
            {
                Ok(got) if got == input => {}
                Ok(got) => panic!(
                    "reader adapter, {label} run: {}",
                    first_difference(input, &got)
                ),
                Err(e) => panic!("reader adapter, {label} run: unexpected error: {e}"),
            }
        }
    }

    /// Checks a writable adapter over `AsyncWrite`: `make` wraps a writer
    /// (which accepts bytes adversarially) into a `Sink<Bytes>`; `input` is
    /// sent through it in random chunks and closed, and the writer must end
    /// up holding exactly `input`.
    ///
    /// # Cancel safety
    /// Cancel safe: the runs happen inside the future (nothing is spawned),
    /// so dropping it stops the check and leaves nothing behind.
    ///
    /// # Panics
    /// If a run writes other bytes, fails, or hangs.
    pub async fn writer<K, F>(&self, input: &[u8], mut make: F)
    where
        F: FnMut(ChaosWrite<SharedVec>) -> K,
        K: Sink<Bytes, Error = Error>,
    {
        for (label, chaos) in self.deliveries() {
            let store = SharedVec::default();
            let sink = chaos.sink(make(chaos.write(store.clone())));
            let mut rng = Rng::new(self.seed ^ 0xC0FFEE);
            let pieces = split(input, &mut rng, self.max_chunk);
            let res = self
                .timed("writer adapter", &label, send_all(sink, pieces))
                .await;
            if let Err(e) = res {
                panic!("writer adapter, {label} run: unexpected error: {e}");
            }
            let got = store.contents();
            if got != input {
                panic!(
                    "writer adapter, {label} run: {}",
                    first_difference(input, &got)
                );
            }
        }
    }

    /// Runs `transform` into a small bounded buffer whose reader stalls
    /// halfway, and checks that the stage stops pulling input while stalled
    /// and that the buffer stays within its bound; returns the full output.
    async fn stall_run<T>(&self, transform: T, input: &[u8], expected_len: usize) -> Bytes
    where
        T: Transform<In = Bytes, Out = Bytes>,
    {
        let pulled = Arc::new(AtomicUsize::new(0));
        let chaos = Chaos::new(self.seed ^ 0x5EED)
            .max_chunk(self.max_chunk)
            .pending(self.pending);
        let src = Counting {
            inner: chaos.rechunk(readable::from_iter([Bytes::copy_from_slice(input)])),
            pulled: pulled.clone(),
        };
        let high = self.buffer_high;
        let (mut tx, mut rx) = BufferConfig::new(Limit::<Bytes>::bytes(high))
            .name("check")
            .build();
        let stats = rx.stats_handle();
        let max_out = Arc::new(AtomicUsize::new(0));
        let producer = {
            let max_out = max_out.clone();
            async move {
                let mut stage = pin!(Through::new(src, transform));
                while let Some(item) = poll_next(stage.as_mut()).await {
                    match item {
                        Ok(chunk) => {
                            max_out.fetch_max(chunk.len(), Ordering::Relaxed);
                            if tx.send(chunk).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tx.abort(e);
                            return;
                        }
                    }
                }
                tx.end();
            }
        };
        let consumer = async move {
            let mut out = BytesMut::new();
            let mut stalled_once = false;
            loop {
                // A quarter of the way through, stop reading: the buffer fills,
                // and the stage must then stop pulling its input.
                if !stalled_once && out.len() >= expected_len / 4 && expected_len >= 4 * high {
                    stalled_once = true;
                    let mut spins = 0u32;
                    while stats.buffered() < high && !rx.is_closed() && spins < 1_000_000 {
                        tokio::task::yield_now().await;
                        spins += 1;
                    }
                    if stats.buffered() >= high {
                        // Let the stage settle, then watch it stay still.
                        let mut last = pulled.load(Ordering::SeqCst);
                        let mut still = 0;
                        let mut spins = 0u32;
                        while still < 64 && spins < 200_000 {
                            tokio::task::yield_now().await;
                            let now = pulled.load(Ordering::SeqCst);
                            if now == last {
                                still += 1;
                            } else {
                                still = 0;
                                last = now;
                            }
                            spins += 1;
                        }
                        if still < 64 {
                            panic!(
                                "backpressure run: with the reader stalled, the stage kept pulling input ({last} bytes pulled so far)"
                            );
                        }
                        for _ in 0..256 {
                            tokio::task::yield_now().await;
                        }
                        let after = pulled.load(Ordering::SeqCst);
                        if after != last {
                            panic!(
                                "backpressure run: with the reader stalled, the stage pulled input ({last} -> {after} bytes)"
                            );
                        }
                    }
                }
                match poll_next(Pin::new(&mut rx)).await {
                    Some(Ok(chunk)) => out.extend_from_slice(&chunk),
                    Some(Err(e)) => panic!("backpressure run: unexpected error: {e}"),
                    None => break,
                }
            }
            let peak = rx.stats().peak_buffered;
            (out.freeze(), peak)
        };
        let ((), (out, peak)) = self
            .timed("byte transform", "backpressure", async {
                tokio::join!(producer, consumer)
            })
            .await;
        let bound = high + max_out.load(Ordering::Relaxed);
        if peak > bound {
            panic!("backpressure run: {peak} bytes were buffered, over the bound of {bound}");
        }
        out
    }
}

/// A `Vec<u8>` shared between a test and the writer it hands out: an
/// `AsyncWrite` that appends to it.
#[derive(Debug, Clone, Default)]
pub struct SharedVec(Arc<Mutex<Vec<u8>>>);

impl SharedVec {
    /// A copy of what has been written so far.
    pub fn contents(&self) -> Vec<u8> {
        match self.0.lock() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

impl AsyncWrite for SharedVec {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.0.lock() {
            Ok(mut v) => v.extend_from_slice(buf),
            Err(p) => p.into_inner().extend_from_slice(buf),
        }
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

struct Counting<S> {
    inner: S,
    pulled: Arc<AtomicUsize>,
}

impl<S> Stream for Counting<S>
where
    S: Stream<Item = Result<Bytes, Error>> + Unpin,
{
    type Item = Result<Bytes, Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let r = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(c))) = &r {
            self.pulled.fetch_add(c.len(), Ordering::SeqCst);
        }
        r
    }
}

async fn poll_next<S: Stream + ?Sized>(mut s: Pin<&mut S>) -> Option<S::Item> {
    std::future::poll_fn(|cx| s.as_mut().poll_next(cx)).await
}

async fn collect_bytes<S>(s: S) -> Outcome<Bytes>
where
    S: Stream<Item = Result<Bytes, Error>>,
{
    let mut s = pin!(s);
    let mut out = BytesMut::new();
    while let Some(item) = poll_next(s.as_mut()).await {
        out.extend_from_slice(&item?);
    }
    // After the end, a fused stream stays ended.
    if poll_next(s.as_mut()).await.is_some() {
        return Err(Error::msg("the stream yielded an item after its end"));
    }
    Ok(out.freeze())
}

async fn collect_items<S, T>(s: S) -> Outcome<Vec<T>>
where
    S: Stream<Item = Result<T, Error>>,
{
    let mut s = pin!(s);
    let mut out = Vec::new();
    while let Some(item) = poll_next(s.as_mut()).await {
        out.push(item?);
    }
    Ok(out)
}

fn agree<T>(
    reference: &mut Option<(String, Outcome<T>)>,
    label: String,
    got: Outcome<T>,
    differ: impl Fn(&T, &T) -> Option<String>,
) {
    let Some((ref_label, expected)) = reference else {
        *reference = Some((label, got));
        return;
    };
    match (&*expected, &got) {
        (Ok(a), Ok(b)) => {
            if let Some(d) = differ(a, b) {
                panic!("the {label} run gave other output than the {ref_label} run: {d}");
            }
        }
        (Err(a), Err(b)) => {
            if !a.same_kind(b) {
                panic!(
                    "the {label} run failed with another kind of error than the {ref_label} run: {b} vs {a}"
                );
            }
        }
        (Ok(_), Err(e)) => {
            panic!("the {label} run failed ({e}) where the {ref_label} run succeeded")
        }
        (Err(e), Ok(_)) => {
            panic!("the {label} run succeeded where the {ref_label} run failed ({e})")
        }
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!(
            "first difference at byte {i} (lengths {} and {})",
            a.len(),
            b.len()
        ),
        None => format!("lengths differ: {} and {}", a.len(), b.len()),
    }
}

fn split(input: &[u8], rng: &mut Rng, max: usize) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut rest = Bytes::copy_from_slice(input);
    while !rest.is_empty() {
        let n = rest.len().min(rng.between(1, max));
        out.push(rest.split_to(n));
    }
    out
}

async fn send_all<K>(sink: K, pieces: Vec<Bytes>) -> Result<(), Error>
where
    K: Sink<Bytes, Error = Error>,
{
    let mut sink = pin!(sink);
    for piece in pieces {
        std::future::poll_fn(|cx| sink.as_mut().poll_ready(cx)).await?;
        sink.as_mut().start_send(piece)?;
    }
    std::future::poll_fn(|cx| sink.as_mut().poll_close(cx)).await
}
