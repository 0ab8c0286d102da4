//! Compression of responses off Tokio's workers: each slice of input is
//! compressed on the blocking pool, and only while holding one of a fixed
//! number of permits, which waiting responses get in turn.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use weir_core::{Error, Output};

use super::BoxEncoder;
use crate::spawn::{Spawner, join_error};

/// The most input one compression job takes: a job is a slice of work of
/// about a millisecond, after which the permit goes to the next response.
pub(crate) const SLICE: usize = 64 * 1024;

/// The permits compressions share: at most this many run at once, and a
/// response waiting for one gets it before any response that asked later
/// (Tokio's semaphore is first come, first served).
#[derive(Clone)]
pub(crate) struct CompressPermits(Arc<Semaphore>);

impl CompressPermits {
    pub(crate) fn new(n: usize) -> Self {
        CompressPermits(Arc::new(Semaphore::new(n.clamp(1, Semaphore::MAX_PERMITS))))
    }
}

impl fmt::Debug for CompressPermits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompressPermits")
            .field("available", &self.0.available_permits())
            .finish()
    }
}

/// What a job does with the encoder.
enum Work {
    /// Compress this slice of input.
    Slice(Bytes),
    /// The input has ended: emit the trailer.
    Flush,
    /// Go on with output held back (a transform's `resume`).
    Resume,
}

/// What a job gives back: the encoder, its output, and whether it holds
/// more back.
struct Done {
    encoder: BoxEncoder,
    out: Output<Bytes>,
    result: Result<bool, Error>,
}

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// `source` compressed by `encoder`, a slice at a time on the blocking
/// pool under a permit: a readable of the compressed bytes.
///
/// Pull-driven like [`Through`](weir_core::transform::Through), with one
/// slice of overlap: the next slice is compressed while the output of the
/// last one is handed out, and no further while more than a slice's worth
/// of output waits. So it holds at most one slice of input, the output of
/// about two, and one job in flight.
pub(crate) struct PooledEncode<S> {
    source: S,
    /// `None` while a job has it.
    encoder: Option<BoxEncoder>,
    out: Output<Bytes>,
    /// Bytes waiting in `out`.
    queued: usize,
    /// Input taken from the source and not yet given to a job.
    pending: Bytes,
    /// The next job to run, once a permit is held.
    next: Option<Work>,
    /// The source has ended.
    source_done: bool,
    /// The flush job has been started.
    flushed: bool,
    permits: Arc<Semaphore>,
    acquire: Option<Acquire>,
    job: Option<JoinHandle<Done>>,
    spawner: Spawner,
    /// The trailer has been emitted: nothing more but `out`.
    finished: bool,
    /// An error ended the stream (and was returned).
    failed: bool,
}

impl<S> PooledEncode<S> {
    pub(crate) fn new(source: S, encoder: BoxEncoder, permits: &CompressPermits) -> Self {
        PooledEncode {
            source,
            encoder: Some(encoder),
            out: Output::new(),
            queued: 0,
            pending: Bytes::new(),
            next: None,
            source_done: false,
            flushed: false,
            permits: permits.0.clone(),
            acquire: None,
            job: None,
            spawner: Spawner::new(),
            finished: false,
            failed: false,
        }
    }

    fn fail(&mut self, e: Error) -> Poll<Option<Result<Bytes, Error>>> {
        self.failed = true;
        self.out.clear();
        self.queued = 0;
        self.next = None;
        self.acquire = None;
        self.job = None;
        Poll::Ready(Some(Err(e.with_stage("gzip"))))
    }
}

impl<S> PooledEncode<S>
where
    S: Stream<Item = Result<Bytes, Error>> + Unpin,
{
    /// Takes the result of a finished job, if one has finished. `Ok(true)`:
    /// it had.
    fn collect(&mut self, cx: &mut Context<'_>) -> Result<bool, Error> {
        let Some(job) = self.job.as_mut() else {
            return Ok(false);
        };
        let Poll::Ready(done) = Pin::new(job).poll(cx) else {
            return Ok(false);
        };
        self.job = None;
        let mut done = done.map_err(join_error)?;
        self.encoder = Some(done.encoder);
        while let Some(chunk) = done.out.pop() {
            self.queued += chunk.len();
            self.out.push(chunk);
        }
        match done.result? {
            true => self.next = Some(Work::Resume),
            false if self.flushed => self.finished = true,
            false => {}
        }
        Ok(true)
    }

    /// Moves towards the next job: takes input, waits for a permit, starts
    /// it. `Ok(true)`: something changed.
    fn advance(&mut self, cx: &mut Context<'_>) -> Result<bool, Error> {
        if self.job.is_some() || self.finished || self.queued > SLICE {
            return Ok(false);
        }
        if self.next.is_none() {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(SLICE);
                self.next = Some(Work::Slice(self.pending.split_to(n)));
            } else if self.source_done {
                if self.flushed {
                    return Ok(false);
                }
                self.next = Some(Work::Flush);
            } else {
                return match Pin::new(&mut self.source).poll_next(cx) {
                    Poll::Ready(Some(Ok(chunk))) => {
                        self.pending = chunk;
                        Ok(true)
                    }
                    Poll::Ready(Some(Err(e))) => Err(e),
                    Poll::Ready(None) => {
                        self.source_done = true;
                        Ok(true)
                    }
                    Poll::Pending => Ok(false),
                };
            }
        }
        let permits = &self.permits;
        let acquire = self
            .acquire
            .get_or_insert_with(|| Box::pin(permits.clone().acquire_owned()));
        let permit = match acquire.as_mut().poll(cx) {
            Poll::Pending => return Ok(false),
            Poll::Ready(Ok(p)) => p,
            Poll::Ready(Err(_)) => return Err(Error::msg("the compression permits are gone")),
        };
        self.acquire = None;
        let (Some(work), Some(mut encoder)) = (self.next.take(), self.encoder.take()) else {
            return Err(Error::msg("compression job without its encoder"));
        };
        self.flushed |= matches!(work, Work::Flush);
        let job = self.spawner.spawn(move || {
            let mut out = Output::new();
            let step = match work {
                Work::Slice(slice) => encoder.transform(slice, &mut out),
                Work::Flush => encoder.flush(&mut out),
                Work::Resume => Ok(()),
            };
            let result = step.and_then(|()| encoder.resume(&mut out));
            drop(permit);
            Done {
                encoder,
                out,
                result,
            }
        })?;
        self.job = Some(job);
        Ok(true)
    }
}

impl<S> Stream for PooledEncode<S>
where
    S: Stream<Item = Result<Bytes, Error>> + Unpin,
{
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        loop {
            let collected = match this.collect(cx) {
                Ok(c) => c,
                Err(e) => return this.fail(e),
            };
            // Start the next slice before handing out this one's output.
            let advanced = match this.advance(cx) {
                Ok(a) => a,
                Err(e) => return this.fail(e),
            };
            if let Some(chunk) = this.out.pop() {
                this.queued -= chunk.len();
                return Poll::Ready(Some(Ok(chunk)));
            }
            if this.finished && this.job.is_none() {
                return Poll::Ready(None);
            }
            if !collected && !advanced {
                return Poll::Pending;
            }
        }
    }
}

impl<S> fmt::Debug for PooledEncode<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledEncode")
            .field("pending", &self.pending.len())
            .field("queued", &self.out.len())
            .field("running", &self.job.is_some())
            .finish_non_exhaustive()
    }
}
