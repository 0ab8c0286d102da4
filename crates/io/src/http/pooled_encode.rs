//! Compression of file responses off Tokio's workers: each slice of a file
//! is read and compressed in one job on the blocking pool, and only while
//! holding one of a fixed number of permits, which waiting responses get
//! in turn.

use std::fmt;
use std::future::Future;
use std::io::Read;
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

/// What a job gives back: the reader and the encoder, the output, and
/// whether the input has ended (and the trailer is in the output).
struct Done<R> {
    reader: R,
    encoder: BoxEncoder,
    out: Output<Bytes>,
    result: Result<bool, Error>,
}

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// A file compressed by `encoder`: a readable of the compressed bytes.
///
/// Each job, on the blocking pool and holding a permit, reads the next
/// slice of the file and compresses it (and, at the end of the file,
/// writes the trailer): one hop per slice, not one to read and one to
/// compress. The next job starts as soon as the last one is collected,
/// while its output is handed out, unless more than a slice's worth of
/// output waits: at most one slice of input (in the job), the output of
/// about two, and one job in flight. The encoder's `resume` is called
/// until it returns `false` within a job, which suits encoders, whose
/// output is bounded by their input.
pub(crate) struct PooledEncode<R> {
    /// `None` while a job has them.
    parts: Option<(R, BoxEncoder)>,
    out: Output<Bytes>,
    /// Bytes waiting in `out`.
    queued: usize,
    permits: Arc<Semaphore>,
    acquire: Option<Acquire>,
    job: Option<JoinHandle<Done<R>>>,
    spawner: Spawner,
    /// The input has ended and the trailer has been emitted.
    finished: bool,
    /// An error ended the stream (and was returned).
    failed: bool,
}

// Nothing is ever pinned: the reader lives in an `Option` or in a job.
impl<R> Unpin for PooledEncode<R> {}

impl<R> PooledEncode<R> {
    pub(crate) fn new(reader: R, encoder: BoxEncoder, permits: &CompressPermits) -> Self {
        PooledEncode {
            parts: Some((reader, encoder)),
            out: Output::new(),
            queued: 0,
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
        self.acquire = None;
        self.job = None;
        self.parts = None;
        Poll::Ready(Some(Err(e)))
    }
}

/// One job: reads up to a slice of `reader` into `buf` and compresses it;
/// at the end of the input, emits the trailer. `Ok(true)`: the input has
/// ended.
fn compress_slice<R: Read>(
    reader: &mut R,
    encoder: &mut BoxEncoder,
    mut buf: Vec<u8>,
    out: &mut Output<Bytes>,
) -> Result<bool, Error> {
    let n = reader
        .take(SLICE as u64)
        .read_to_end(&mut buf)
        .map_err(|e| Error::from(e).with_stage("file"))?;
    let gzip = |e: Error| e.with_stage("gzip");
    if n > 0 {
        encoder.transform(Bytes::from(buf), out).map_err(gzip)?;
        while encoder.resume(out).map_err(gzip)? {}
    }
    let ended = n < SLICE;
    if ended {
        encoder.flush(out).map_err(gzip)?;
        while encoder.resume(out).map_err(gzip)? {}
    }
    Ok(ended)
}

impl<R: Read + Send + 'static> PooledEncode<R> {
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
        let mut done = done.map_err(|e| join_error(e).with_stage("gzip"))?;
        self.parts = Some((done.reader, done.encoder));
        while let Some(chunk) = done.out.pop() {
            self.queued += chunk.len();
            self.out.push(chunk);
        }
        self.finished = done.result?;
        Ok(true)
    }

    /// Waits for a permit and starts the next job, unless one runs, the
    /// input has ended or enough output waits. `Ok(true)`: it started one.
    fn advance(&mut self, cx: &mut Context<'_>) -> Result<bool, Error> {
        if self.job.is_some() || self.finished || self.queued > SLICE || self.parts.is_none() {
            return Ok(false);
        }
        let permits = &self.permits;
        let acquire = self
            .acquire
            .get_or_insert_with(|| Box::pin(permits.clone().acquire_owned()));
        let permit = match acquire.as_mut().poll(cx) {
            Poll::Pending => return Ok(false),
            Poll::Ready(Ok(p)) => p,
            Poll::Ready(Err(_)) => {
                return Err(Error::msg("the compression permits are gone").with_stage("gzip"));
            }
        };
        self.acquire = None;
        let Some((mut reader, mut encoder)) = self.parts.take() else {
            return Ok(false);
        };
        // The buffer is allocated here, on the runtime's thread (see
        // `read_engine`: allocations on many blocking-pool threads make the
        // allocator keep more arenas).
        let mut buf = Vec::new();
        buf.try_reserve_exact(SLICE).map_err(|e| {
            Error::from(std::io::Error::new(std::io::ErrorKind::OutOfMemory, e)).with_stage("gzip")
        })?;
        let job = self.spawner.spawn(move || {
            let mut out = Output::new();
            let result = compress_slice(&mut reader, &mut encoder, buf, &mut out);
            drop(permit);
            Done {
                reader,
                encoder,
                out,
                result,
            }
        })?;
        self.job = Some(job);
        Ok(true)
    }
}

impl<R: Read + Send + 'static> Stream for PooledEncode<R> {
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

impl<R> fmt::Debug for PooledEncode<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledEncode")
            .field("queued", &self.queued)
            .field("running", &self.job.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use weir_core::transform::PassThrough;

    use super::*;

    /// Counts the trailers it writes.
    struct Marked(PassThrough<Bytes>);

    impl weir_core::Transform for Marked {
        type In = Bytes;
        type Out = Bytes;
        fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), Error> {
            self.0.transform(chunk, out)
        }
        fn flush(&mut self, out: &mut Output<Bytes>) -> Result<(), Error> {
            out.push(Bytes::from_static(b"<end>"));
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_byte_in_order_then_one_trailer() -> Result<(), Error> {
        let permits = CompressPermits::new(1);
        for len in [0, 1, SLICE - 1, SLICE, 3 * SLICE + 5] {
            let input: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let enc: BoxEncoder = Box::new(Marked(PassThrough::new()));
            let mut s = PooledEncode::new(std::io::Cursor::new(input.clone()), enc, &permits);
            let mut got = Vec::new();
            while let Some(chunk) = s.next().await {
                got.extend_from_slice(&chunk?);
            }
            let mut want = input;
            want.extend_from_slice(b"<end>");
            assert_eq!(got, want, "length {len}");
            assert!(s.next().await.is_none());
        }
        Ok(())
    }
}
