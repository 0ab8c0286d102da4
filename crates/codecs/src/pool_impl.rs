//! The worker threads under the parallel codecs (parallel gzip/zlib/deflate
//! compression, parallel BGZF decoding), and the bookkeeping that hands their
//! results on in order.
//!
//! A [`WorkerPool`] owns `threads` persistent threads, each with its own
//! state (a compressor, an inflater). Job `seq` goes to worker `seq mod
//! threads` (round-robin, so which worker did a job never depends on
//! timing); results come back on one channel, tagged with `seq`, and
//! [`InOrder`] puts them back in order. Every channel is bounded by the
//! caller's most jobs in flight (submitted, result not yet taken), which
//! the caller never exceeds, so a send never waits.
//!
//! Each worker adds the time it spends on jobs to its own counter, so a
//! caller can show how busy the pool was ([`WorkerPool::busy`]).

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;
use std::time::Instant;

use weir_core::{Error, WorkerBusy};

/// What a worker does with a job; one value per worker thread.
pub(crate) trait Work: Send + 'static {
    /// A unit of work.
    type Job: Send + 'static;
    /// Its result.
    type Out: Send + 'static;

    /// Does one job.
    ///
    /// # Errors
    /// The job's failure (corrupt input, a codec error); the pool hands it
    /// on as that job's result.
    fn run(&mut self, job: Self::Job) -> Result<Self::Out, Error>;

    /// Called after a job failed or panicked: the state may be anything.
    fn recover(&mut self);
}

/// A job's result, tagged with its sequence number.
type Outcome<R> = (u64, Result<R, Error>);

/// How the pool's threads and errors are named.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolNames {
    /// The threads' name (what `/proc/*/task/*/comm` shows).
    pub(crate) thread: &'static str,
    /// Error messages start with it ("gzip").
    pub(crate) format: &'static str,
    /// What the threads do ("compression", "decompression").
    pub(crate) role: &'static str,
}

/// Persistent worker threads and their channels.
pub(crate) struct WorkerPool<J, R> {
    /// One job channel per worker; empty once stopped.
    jobs: Vec<SyncSender<(u64, J)>>,
    done: Receiver<Outcome<R>>,
    workers: Vec<JoinHandle<()>>,
    names: PoolNames,
}

impl<J, R> std::fmt::Debug for WorkerPool<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool")
            .field("threads", &self.workers.len())
            .field("names", &self.names)
            .finish()
    }
}

impl<J: Send + 'static, R: Send + 'static> WorkerPool<J, R> {
    /// Starts up to `threads` workers, worker `i` with the state `make(i)`;
    /// an error only if none could start. `busy` gets one counter per
    /// worker started (it must have at least `threads`). `capacity` is the
    /// most jobs the caller keeps in flight: the size of every channel.
    pub(crate) fn start<W>(
        threads: usize,
        capacity: usize,
        names: PoolNames,
        busy: WorkerBusy,
        mut make: impl FnMut() -> W,
    ) -> Result<Self, Error>
    where
        W: Work<Job = J, Out = R>,
    {
        let capacity = capacity.max(1);
        let (done_tx, done_rx) = sync_channel::<Outcome<R>>(capacity);
        let mut workers = Vec::with_capacity(threads);
        let mut jobs = Vec::with_capacity(threads);
        let mut failure = None;
        for _ in 0..threads.min(busy.workers()) {
            let (job_tx, job_rx) = sync_channel::<(u64, J)>(capacity);
            let done = done_tx.clone();
            let state = make();
            let meters = busy.clone();
            let index = workers.len();
            let spawned = std::thread::Builder::new()
                .name(names.thread.into())
                .spawn(move || worker(state, job_rx, done, names, &meters, index));
            match spawned {
                Ok(h) => {
                    workers.push(h);
                    jobs.push(job_tx);
                }
                Err(e) => failure = Some(e),
            }
        }
        if workers.is_empty() {
            let e = failure.map_or_else(|| "no threads".to_owned(), |e| e.to_string());
            return Err(Error::msg(format!(
                "{}: could not start a {} thread: {e}",
                names.format, names.role
            )));
        }
        Ok(WorkerPool {
            jobs,
            done: done_rx,
            workers,
            names,
        })
    }

    /// Hands job `seq` to worker `seq mod threads`.
    pub(crate) fn send(&self, seq: u64, job: J) -> Result<(), Error> {
        let sent = match self.jobs.len() {
            0 => false,
            n => self.jobs[(seq % n as u64) as usize]
                .send((seq, job))
                .is_ok(),
        };
        if sent { Ok(()) } else { Err(self.lost()) }
    }

    /// The next result: waits for one with `wait`, else `None` if none is
    /// there yet.
    pub(crate) fn recv(&self, wait: bool) -> Result<Option<Outcome<R>>, Error> {
        if wait {
            return self.done.recv().map(Some).map_err(|_| self.lost());
        }
        match self.done.try_recv() {
            Ok(got) => Ok(Some(got)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(self.lost()),
        }
    }

    /// Closes the job channels and joins the workers (each finishes the
    /// job it is on, if any).
    pub(crate) fn stop(&mut self) {
        self.jobs.clear();
        for h in self.workers.drain(..) {
            // A panic was already reported as an error (or the result was
            // not wanted any more).
            let _ = h.join();
        }
    }

    fn lost(&self) -> Error {
        Error::msg(format!(
            "{}: a {} thread stopped without its result",
            self.names.format, self.names.role
        ))
    }
}

impl<J, R> Drop for WorkerPool<J, R> {
    fn drop(&mut self) {
        self.jobs.clear();
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

/// A worker: does jobs until its job channel closes. A panic in a job is
/// reported as that job's error, never lost.
fn worker<W: Work>(
    mut state: W,
    jobs: Receiver<(u64, W::Job)>,
    done: SyncSender<Outcome<W::Out>>,
    names: PoolNames,
    busy: &WorkerBusy,
    index: usize,
) {
    while let Ok((seq, job)) = jobs.recv() {
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| state.run(job))).unwrap_or_else(|_| {
            Err(Error::msg(format!(
                "{}: a {} thread panicked",
                names.format, names.role
            )))
        });
        busy.add(index, started.elapsed());
        if result.is_err() {
            state.recover();
        }
        if done.send((seq, result)).is_err() {
            return;
        }
    }
}

/// Results that come back in any order, handed on in sequence order.
#[derive(Debug)]
pub(crate) struct InOrder<R> {
    /// The next sequence number to hand out, and the next to hand on.
    next_seq: u64,
    next_out: u64,
    /// Finished results not yet handed on, indexed by `seq - next_out`.
    ready: VecDeque<Option<R>>,
}

impl<R> InOrder<R> {
    pub(crate) fn new() -> Self {
        InOrder {
            next_seq: 0,
            next_out: 0,
            ready: VecDeque::new(),
        }
    }

    /// Jobs handed out whose result has not been handed on.
    pub(crate) fn in_flight(&self) -> usize {
        (self.next_seq - self.next_out) as usize
    }

    /// Results held (finished, but waiting for an older one).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.ready.len()
    }

    /// A sequence number for a new job.
    pub(crate) fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Files the result of job `seq`; `false` if no such job is in flight.
    pub(crate) fn put(&mut self, seq: u64, result: R) -> bool {
        if seq < self.next_out || seq >= self.next_seq {
            return false;
        }
        let slot = (seq - self.next_out) as usize;
        if self.ready.len() <= slot {
            self.ready.resize_with(slot + 1, || None);
        }
        self.ready[slot] = Some(result);
        true
    }

    /// The oldest result, if it is there, left in place.
    pub(crate) fn peek(&self) -> Option<&R> {
        self.ready.front().and_then(Option::as_ref)
    }

    /// The oldest result, if it is there.
    pub(crate) fn pop(&mut self) -> Option<R> {
        if let Some(Some(_)) = self.ready.front() {
            self.next_out += 1;
            return self.ready.pop_front().flatten();
        }
        None
    }
}
