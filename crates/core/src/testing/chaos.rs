use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sizes {
    Whole,
    OneByte,
    Random(usize),
}

/// How an adversarial peer behaves: how it cuts data into chunks and how
/// often it answers `Pending`. Seeded, so a failure can be replayed.
///
/// A `Pending` answer always wakes the task at once, so chaos slows a test
/// down but can never hang it by itself.
///
/// # Examples
/// ```
/// use futures::TryStreamExt;
/// use weir::readable::ChunkReader;
/// use weir::testing::Chaos;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let data = b"a socket that hands over one byte at a time".to_vec();
/// let reader = Chaos::one_byte(1).read(&data[..]);
/// let chunks: Vec<_> = ChunkReader::new(reader).try_collect().await?;
/// assert!(chunks.iter().all(|c| c.len() == 1));
/// assert_eq!(chunks.concat(), data);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Chaos {
    seed: u64,
    pending: f64,
    sizes: Sizes,
}

impl Chaos {
    /// Random chunk sizes from 1 to 4096 bytes, and `Pending` one time in four.
    pub fn new(seed: u64) -> Self {
        Chaos {
            seed,
            pending: 0.25,
            sizes: Sizes::Random(4096),
        }
    }

    /// One byte per read or write, and `Pending` one time in four.
    pub fn one_byte(seed: u64) -> Self {
        Chaos {
            sizes: Sizes::OneByte,
            ..Chaos::new(seed)
        }
    }

    /// Whole chunks and no `Pending`: the well-behaved reference.
    pub fn calm() -> Self {
        Chaos {
            seed: 0,
            pending: 0.0,
            sizes: Sizes::Whole,
        }
    }

    /// Sets how often (0.0 to 1.0) a poll answers `Pending`.
    #[must_use]
    pub fn pending(mut self, probability: f64) -> Self {
        self.pending = probability.clamp(0.0, 1.0);
        self
    }

    /// Random chunk sizes from 1 to `max` bytes.
    #[must_use]
    pub fn max_chunk(mut self, max: usize) -> Self {
        self.sizes = Sizes::Random(max.max(1));
        self
    }

    fn rng(&self, salt: u64) -> Rng {
        Rng::new(self.seed.wrapping_mul(31).wrapping_add(salt))
    }

    fn size(sizes: Sizes, rng: &mut Rng, available: usize) -> usize {
        match sizes {
            Sizes::Whole => available,
            Sizes::OneByte => available.min(1),
            Sizes::Random(max) => available.min(rng.between(1, max)),
        }
    }

    /// Wraps an `AsyncRead`: each read returns at most a chunk of the chosen
    /// size, and some reads answer `Pending`.
    pub fn read<R>(&self, inner: R) -> ChaosRead<R> {
        ChaosRead {
            inner,
            rng: self.rng(1),
            pending: self.pending,
            sizes: self.sizes,
        }
    }

    /// Wraps an `AsyncWrite`: each write takes at most a chunk of the chosen
    /// size, and some writes, flushes and shutdowns answer `Pending`.
    pub fn write<W>(&self, inner: W) -> ChaosWrite<W> {
        ChaosWrite {
            inner,
            rng: self.rng(2),
            pending: self.pending,
            sizes: self.sizes,
        }
    }

    /// Wraps a `Stream`: some polls answer `Pending`; items pass unchanged.
    pub fn stream<S>(&self, inner: S) -> ChaosStream<S> {
        ChaosStream {
            inner,
            rng: self.rng(3),
            pending: self.pending,
        }
    }

    /// Wraps a stream of `Result<Bytes, E>`: chunks are re-cut to the chosen
    /// sizes (with an occasional empty chunk), and some polls answer `Pending`.
    pub fn rechunk<S>(&self, inner: S) -> Rechunk<S> {
        Rechunk {
            inner,
            current: Bytes::new(),
            rng: self.rng(4),
            pending: self.pending,
            sizes: self.sizes,
        }
    }

    /// Wraps a `Sink`: some `poll_ready`/`poll_flush`/`poll_close` calls
    /// answer `Pending`.
    pub fn sink<S>(&self, inner: S) -> ChaosSink<S> {
        ChaosSink {
            inner,
            rng: self.rng(5),
            pending: self.pending,
        }
    }
}

fn stall(rng: &mut Rng, p: f64, cx: &mut Context<'_>) -> bool {
    if rng.chance(p) {
        cx.waker().wake_by_ref();
        true
    } else {
        false
    }
}

pin_project! {
    /// An `AsyncRead` behaving as its [`Chaos`] says.
    #[derive(Debug)]
    pub struct ChaosRead<R> {
        #[pin]
        inner: R,
        rng: Rng,
        pending: f64,
        sizes: Sizes,
    }
}

impl<R: AsyncRead> AsyncRead for ChaosRead<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if buf.remaining() == 0 {
            return this.inner.poll_read(cx, buf);
        }
        if stall(this.rng, *this.pending, cx) {
            return Poll::Pending;
        }
        let n = Chaos::size(*this.sizes, this.rng, buf.remaining());
        let mut part = ReadBuf::new(buf.initialize_unfilled_to(n));
        match this.inner.poll_read(cx, &mut part) {
            Poll::Ready(Ok(())) => {
                let got = part.filled().len();
                buf.advance(got);
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

pin_project! {
    /// An `AsyncWrite` behaving as its [`Chaos`] says.
    #[derive(Debug)]
    pub struct ChaosWrite<W> {
        #[pin]
        inner: W,
        rng: Rng,
        pending: f64,
        sizes: Sizes,
    }
}

impl<W> ChaosWrite<W> {
    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: AsyncWrite> AsyncWrite for ChaosWrite<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        if buf.is_empty() {
            return this.inner.poll_write(cx, buf);
        }
        if stall(this.rng, *this.pending, cx) {
            return Poll::Pending;
        }
        let n = Chaos::size(*this.sizes, this.rng, buf.len());
        this.inner.poll_write(cx, &buf[..n])
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        if stall(this.rng, *this.pending, cx) {
            return Poll::Pending;
        }
        this.inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        if stall(this.rng, *this.pending, cx) {
            return Poll::Pending;
        }
        this.inner.poll_shutdown(cx)
    }
}

pin_project! {
    /// A `Stream` behaving as its [`Chaos`] says.
    #[derive(Debug)]
    pub struct ChaosStream<S> {
        #[pin]
        inner: S,
        rng: Rng,
        pending: f64,
    }
}

impl<S: Stream> Stream for ChaosStream<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        if stall(this.rng, *this.pending, cx) {
            return Poll::Pending;
        }
        this.inner.poll_next(cx)
    }
}

pin_project! {
    /// A stream of byte chunks re-cut as its [`Chaos`] says.
    #[derive(Debug)]
    pub struct Rechunk<S> {
        #[pin]
        inner: S,
        current: Bytes,
        rng: Rng,
        pending: f64,
        sizes: Sizes,
    }
}

impl<S, E> Stream for Rechunk<S>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Bytes, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if stall(this.rng, *this.pending, cx) {
            return Poll::Pending;
        }
        loop {
            if !this.current.is_empty() {
                if *this.sizes != Sizes::Whole && this.rng.chance(0.02) {
                    return Poll::Ready(Some(Ok(Bytes::new())));
                }
                let n = Chaos::size(*this.sizes, this.rng, this.current.len());
                return Poll::Ready(Some(Ok(this.current.split_to(n))));
            }
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => *this.current = chunk,
                other => return other,
            }
        }
    }
}

pin_project! {
    /// A `Sink` behaving as its [`Chaos`] says.
    #[derive(Debug)]
    pub struct ChaosSink<S> {
        #[pin]
        inner: S,
        rng: Rng,
        pending: f64,
    }
}

impl<S> ChaosSink<S> {
    /// The wrapped sink.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: Sink<T>, T> Sink<T> for ChaosSink<S> {
    type Error = S::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        let this = self.project();
        if stall(this.rng, *this.pending, cx) {
            return Poll::Pending;
        }
        this.inner.poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), S::Error> {
        self.project().inner.start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        let this = self.project();
        if stall(this.rng, *this.pending, cx) {
            return Poll::Pending;
        }
        this.inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        let this = self.project();
        if stall(this.rng, *this.pending, cx) {
            return Poll::Pending;
        }
        this.inner.poll_close(cx)
    }
}
