//! The machinery behind every sink: chunks gathered into batches, each
//! batch written with vectored writes in one hop to the blocking pool, one
//! batch in flight while the next fills.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice, Write};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use tokio::task::JoinHandle;
use weir_core::Error;

use crate::context::IoContext;
use crate::counter::ByteCounter;
use crate::spawn::{Spawner, join_error};
use crate::trace::io_debug;

/// Chunks smaller than this are copied together into one piece, so a batch
/// of tiny chunks is still written with few slices (and bounded overhead).
const SMALL_CHUNK: usize = 4096;

/// What a sink does with its writer after the last batch: flush is already
/// done; this may `fsync`, rename, … and gets the writer by value.
pub(crate) type Finisher<W> = Box<dyn FnOnce(W) -> io::Result<()> + Send>;

/// Why a blocking job failed.
enum JobError {
    /// Writing or flushing: the engine adds "cannot write PATH".
    Write(io::Error),
    /// The finisher: its errors already say what they were about.
    Finish(io::Error),
}

struct WriteDone<W> {
    /// Given back unless the job closed it.
    writer: Option<W>,
    /// The batch's vector, emptied, for reuse.
    spare: Vec<Bytes>,
    result: Result<(), JobError>,
}

#[derive(Debug)]
enum State {
    Open,
    /// The close job has been started (or has finished: see `closed`).
    Closing,
    Closed,
    Failed,
}

/// A writer as a sink of chunks (see the crate docs, "Memory use").
pub(crate) struct WriteEngine<W> {
    /// `Some` when no job is in flight (and the sink is not closed).
    writer: Option<W>,
    job: Option<JoinHandle<WriteDone<W>>>,
    batch: Vec<Bytes>,
    small: BytesMut,
    batch_len: usize,
    in_flight: usize,
    spare: Vec<Bytes>,
    block: usize,
    finisher: Option<Finisher<W>>,
    state: State,
    error: Option<Error>,
    ctx: IoContext,
    counter: ByteCounter,
    spawner: Spawner,
}

// Nothing in the engine is ever pinned.
impl<W> Unpin for WriteEngine<W> {}

impl<W: Write + Send + 'static> WriteEngine<W> {
    pub(crate) fn new(writer: W, block: usize, finisher: Finisher<W>, ctx: IoContext) -> Self {
        WriteEngine {
            writer: Some(writer),
            job: None,
            batch: Vec::new(),
            small: BytesMut::new(),
            batch_len: 0,
            in_flight: 0,
            spare: Vec::new(),
            block: block.max(1),
            finisher: Some(finisher),
            state: State::Open,
            error: None,
            ctx,
            counter: ByteCounter::new(),
            spawner: Spawner::new(),
        }
    }

    pub(crate) fn block_size(&self) -> usize {
        self.block
    }

    pub(crate) fn counter(&self) -> &ByteCounter {
        &self.counter
    }

    /// Bytes accepted and not yet written (the filling batch plus the one in
    /// flight).
    pub(crate) fn buffered(&self) -> usize {
        self.batch_len + self.in_flight
    }

    pub(crate) fn is_failed(&self) -> bool {
        matches!(self.state, State::Failed)
    }

    /// The error to give once the sink is unusable.
    fn unusable(&self) -> Error {
        match (&self.state, &self.error) {
            (State::Failed, Some(e)) => e.duplicate(),
            (State::Closing | State::Closed, _) => self.ctx.error(Error::ended()),
            _ => self.ctx.error(Error::msg("the sink failed earlier")),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        io_debug!(stage = %self.ctx.stage(), error = %e, "io.sink failed");
        self.state = State::Failed;
        self.error = Some(e.duplicate());
        self.writer = None;
        self.job = None;
        self.batch.clear();
        self.small = BytesMut::new();
        self.batch_len = 0;
        self.in_flight = 0;
        e
    }

    /// Waits for the job in flight, if any, and takes the writer back.
    fn poll_job(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let Some(job) = self.job.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let done = ready!(Pin::new(job).poll(cx));
        self.job = None;
        self.in_flight = 0;
        match done {
            Ok(done) => {
                self.writer = done.writer;
                self.spare = done.spare;
                match done.result {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(JobError::Write(e)) => {
                        let e = self.ctx.io_error("cannot write", e);
                        Poll::Ready(Err(self.fail(e)))
                    }
                    Err(JobError::Finish(e)) => {
                        let e = self.ctx.error(e);
                        Poll::Ready(Err(self.fail(e)))
                    }
                }
            }
            Err(e) => {
                let e = self.ctx.error(join_error(e));
                Poll::Ready(Err(self.fail(e)))
            }
        }
    }

    /// Starts a job writing the current batch (and closing the writer when
    /// `close`). The writer must be here (no job in flight).
    fn submit(&mut self, close: bool) -> Result<(), Error> {
        let Some(mut writer) = self.writer.take() else {
            let e = self.ctx.error(Error::msg("the writer is gone"));
            return Err(self.fail(e));
        };
        if !self.small.is_empty() {
            self.batch.push(self.small.split().freeze());
        }
        let batch = std::mem::replace(&mut self.batch, std::mem::take(&mut self.spare));
        let finisher = if close { self.finisher.take() } else { None };
        let counter = self.counter.clone();
        let spawned = self.spawner.spawn(move || {
            let mut batch = batch;
            let mut result = write_all_vectored(&mut writer, &batch, &counter)
                .and_then(|()| writer.flush())
                .map_err(JobError::Write);
            batch.clear();
            let writer = match (result.is_ok(), finisher) {
                (true, Some(finish)) => {
                    result = finish(writer).map_err(JobError::Finish);
                    None
                }
                (_, Some(_)) => None,
                (_, None) => Some(writer),
            };
            WriteDone {
                writer,
                spare: batch,
                result,
            }
        });
        match spawned {
            Ok(job) => {
                self.job = Some(job);
                self.in_flight = self.batch_len;
                self.batch_len = 0;
                Ok(())
            }
            Err(e) => {
                let e = self.ctx.error(e);
                Err(self.fail(e))
            }
        }
    }

    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if !matches!(self.state, State::Open) {
            return Poll::Ready(Err(self.unusable()));
        }
        if self.batch_len < self.block {
            return Poll::Ready(Ok(()));
        }
        // The batch is full: it goes as soon as the previous one is written.
        ready!(self.poll_job(cx))?;
        self.submit(false)?;
        Poll::Ready(Ok(()))
    }

    pub(crate) fn start_send(&mut self, chunk: Bytes) -> Result<(), Error> {
        if !matches!(self.state, State::Open) {
            return Err(self.unusable());
        }
        if chunk.is_empty() {
            return Ok(());
        }
        self.batch_len += chunk.len();
        if chunk.len() < SMALL_CHUNK {
            self.small.extend_from_slice(&chunk);
        } else {
            if !self.small.is_empty() {
                self.batch.push(self.small.split().freeze());
            }
            self.batch.push(chunk);
        }
        if self.batch_len >= self.block && self.job.is_none() {
            // The writer is idle: start at once rather than at the next
            // `poll_ready`, so the write overlaps the caller's work.
            self.submit(false)?;
        }
        Ok(())
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.state {
            State::Open => {}
            State::Closed => return Poll::Ready(Ok(())),
            State::Closing | State::Failed => return self.poll_close(cx),
        }
        loop {
            ready!(self.poll_job(cx))?;
            if self.batch_len == 0 {
                return Poll::Ready(Ok(()));
            }
            self.submit(false)?;
        }
    }

    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            match self.state {
                State::Closed => return Poll::Ready(Ok(())),
                State::Failed => return Poll::Ready(Err(self.unusable())),
                State::Open => {
                    ready!(self.poll_job(cx))?;
                    self.submit(true)?;
                    self.state = State::Closing;
                }
                State::Closing => {
                    ready!(self.poll_job(cx))?;
                    self.state = State::Closed;
                    io_debug!(stage = %self.ctx.stage(), written.bytes = self.counter.get(), "io.sink closed");
                }
            }
        }
    }
}

/// Writes every byte of `bufs` with vectored writes, however little each
/// call takes; retries `Interrupted`; a call taking 0 bytes is `WriteZero`.
pub(crate) fn write_all_vectored<W: Write + ?Sized>(
    writer: &mut W,
    bufs: &[Bytes],
    counter: &ByteCounter,
) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = bufs
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| IoSlice::new(b))
        .collect();
    let mut left: usize = slices.iter().map(|s| s.len()).sum();
    let mut rest = &mut slices[..];
    while left > 0 {
        match writer.write_vectored(rest) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the writer accepted 0 bytes",
                ));
            }
            Ok(n) if n > left => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the writer reported {n} bytes written of {left} given"),
                ));
            }
            Ok(n) => {
                counter.add(n);
                left -= n;
                IoSlice::advance_slices(&mut rest, n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl<W> fmt::Debug for WriteEngine<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteEngine")
            .field("state", &self.state)
            .field("block", &self.block)
            .field("batched", &self.batch_len)
            .field("in_flight", &self.in_flight)
            .field("written", &self.counter.get())
            .finish()
    }
}
