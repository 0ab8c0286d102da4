//! A server connection's socket with its write guard (idle timeout and
//! minimum rate) and its byte counts.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::conn_table::FlushHook;
use super::rate_guard::{RateGuard, Trip};

pin_project! {
    /// Counts what goes through and gives up on a peer that stops taking
    /// data (or takes it too slowly) with a `TimedOut` error, which ends
    /// the connection.
    #[derive(Debug)]
    pub(crate) struct GuardedIo<T> {
        #[pin]
        io: T,
        write_guard: RateGuard,
        sent: Arc<AtomicU64>,
        received: Arc<AtomicU64>,
        tripped: Arc<AtomicU64>,
        trips: Option<TripCounters>,
        on_flush: Option<FlushHook>,
    }
}

/// Counters of the guard's cuts, by guard.
#[derive(Debug, Clone)]
pub(crate) struct TripCounters {
    /// Cut by the idle write timeout.
    pub(crate) idle: Arc<AtomicU64>,
    /// Cut by the minimum data rate.
    pub(crate) slow: Arc<AtomicU64>,
}

impl<T> GuardedIo<T> {
    pub(crate) fn new(
        io: T,
        write_guard: RateGuard,
        sent: Arc<AtomicU64>,
        received: Arc<AtomicU64>,
        tripped: Arc<AtomicU64>,
    ) -> Self {
        GuardedIo {
            io,
            write_guard,
            sent,
            received,
            tripped,
            trips: None,
            on_flush: None,
        }
    }

    /// Counts each cut in `trips` too, by the guard that made it.
    pub(crate) fn with_trip_counters(mut self, trips: TripCounters) -> Self {
        self.trips = Some(trips);
        self
    }

    /// Calls `hook` after every completed flush (the connection table learns
    /// that a finished response has reached the kernel).
    pub(crate) fn with_flush_hook(mut self, hook: FlushHook) -> Self {
        self.on_flush = Some(hook);
        self
    }
}

impl<T: AsyncRead> AsyncRead for GuardedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let res = this.io.poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            this.received
                .fetch_add((buf.filled().len() - before) as u64, Relaxed);
        }
        res
    }
}

impl<T: AsyncWrite> GuardedIo<T> {
    fn after_write(
        guard: &mut RateGuard,
        sent: &AtomicU64,
        tripped: &AtomicU64,
        trips: Option<&TripCounters>,
        cx: &mut Context<'_>,
        res: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match res {
            Poll::Ready(Ok(n)) => {
                guard.progress(n);
                sent.fetch_add(n as u64, Relaxed);
                Poll::Ready(Ok(n))
            }
            Poll::Pending => match guard.poll_pending(cx) {
                Ok(()) => Poll::Pending,
                Err(trip) => {
                    tripped.fetch_add(1, Relaxed);
                    if let Some(t) = trips {
                        let by = match trip {
                            Trip::Idle(_) => &t.idle,
                            Trip::Slow(_) => &t.slow,
                        };
                        by.fetch_add(1, Relaxed);
                    }
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("client too slow: {trip}"),
                    )))
                }
            },
            other => other,
        }
    }
}

impl<T: AsyncWrite> AsyncWrite for GuardedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let res = this.io.poll_write(cx, buf);
        Self::after_write(
            this.write_guard,
            this.sent,
            this.tripped,
            this.trips.as_ref(),
            cx,
            res,
        )
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let res = this.io.poll_write_vectored(cx, bufs);
        Self::after_write(
            this.write_guard,
            this.sent,
            this.tripped,
            this.trips.as_ref(),
            cx,
            res,
        )
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let res = this.io.poll_flush(cx);
        if let (Poll::Ready(Ok(())), Some(hook)) = (&res, this.on_flush.as_ref()) {
            hook.flushed();
        }
        res
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}
