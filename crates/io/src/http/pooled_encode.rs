//! Compression of responses off Tokio's workers: each slice of input is
//! compressed on the blocking pool, and only while holding one of a fixed
//! number of permits, which waiting responses get in turn.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

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
/// Pull-driven like [`Through`](weir_core::transform::Through): a slice is
/// taken from the source only when the output of the last one has been
/// handed out, so it holds at most one slice of input and its output.
pub(crate) struct PooledEncode<S> {
    source: S,
    /// `None` while a job has it.
    encoder: Option<BoxEncoder>,
    out: Output<Bytes>,
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
    /// The trailer has been emitted, or an error: nothing more but `out`.
    finished: bool,
}

impl<S> PooledEncode<S> {
    pub(crate) fn new(source: S, encoder: BoxEncoder, permits: &CompressPermits) -> Self {
        PooledEncode {
            source,
            encoder: Some(encoder),
            out: Output::new(),
            pending: Bytes::new(),
            next: None,
            source_done: false,
            flushed: false,
            permits: permits.0.clone(),
            acquire: None,
            job: None,
            spawner: Spawner::new(),
            finished: false,
        }
    }

    fn fail(&mut self, e: Error) -> Poll<Option<Result<Bytes, Error>>> {
        self.finished = true;
        self.out.clear();
        self.next = None;
        self.acquire = None;
        Poll::Ready(Some(Err(e.with_stage("gzip"))))
    }
}

impl<S> Stream for PooledEncode<S>
where
    S: Stream<Item = Result<Bytes, Error>> + Unpin,
{
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(chunk) = this.out.pop() {
                return Poll::Ready(Some(Ok(chunk)));
            }
            if let Some(job) = this.job.as_mut() {
                let done = ready!(Pin::new(job).poll(cx));
                this.job = None;
                let done = match done {
                    Ok(d) => d,
                    Err(e) => return this.fail(join_error(e)),
                };
                this.encoder = Some(done.encoder);
                this.out = done.out;
                match done.result {
                    Ok(true) => this.next = Some(Work::Resume),
                    Ok(false) if this.flushed => this.finished = true,
                    Ok(false) => {}
                    Err(e) => return this.fail(e),
                }
                continue;
            }
            if this.finished {
                return Poll::Ready(None);
            }
            if this.next.is_none() {
                if !this.pending.is_empty() {
                    let n = this.pending.len().min(SLICE);
                    this.next = Some(Work::Slice(this.pending.split_to(n)));
                } else if this.source_done {
                    this.next = Some(Work::Flush);
                } else {
                    match ready!(Pin::new(&mut this.source).poll_next(cx)) {
                        Some(Ok(chunk)) => this.pending = chunk,
                        Some(Err(e)) => return this.fail(e),
                        None => this.source_done = true,
                    }
                    continue;
                }
            }
            // A job is ready to run: wait for a permit, then start it.
            let acquire = this
                .acquire
                .get_or_insert_with(|| Box::pin(this.permits.clone().acquire_owned()));
            let permit = match ready!(acquire.as_mut().poll(cx)) {
                Ok(p) => p,
                Err(_) => return this.fail(Error::msg("the compression permits are gone")),
            };
            this.acquire = None;
            let (Some(work), Some(mut encoder)) = (this.next.take(), this.encoder.take()) else {
                return this.fail(Error::msg("compression job without its encoder"));
            };
            this.flushed |= matches!(work, Work::Flush);
            let mut out = std::mem::take(&mut this.out);
            let job = this.spawner.spawn(move || {
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
            });
            match job {
                Ok(j) => this.job = Some(j),
                Err(e) => return this.fail(e),
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
