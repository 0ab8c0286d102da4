//! The worker threads under the parallel codecs (parallel gzip/zlib/deflate
//! compression, parallel BGZF decoding), and the bookkeeping that hands their
//! results on in order.
//!
//! A [`WorkerPool`] owns `threads` persistent threads, each with its own
//! state (a compressor, an inflater). Jobs are queued in one of two ways
//! ([`Queue`]): round-robin, job `seq` to worker `seq mod threads`, so that
//! which worker did a job never depends on timing (the compressors: their
//! output must be the same bytes on every run, and a compressor's output
//! may depend on what it did before); or on one shared queue that the
//! first idle worker takes from (the BGZF decoder, whose inflater is reset
//! for every block). Sharing matters on a machine with as many busy
//! threads as cores: a worker the scheduler holds back then delays only
//! the job it is on, where round-robin would hold the jobs queued behind it
//! too while the other workers ran dry, and in-order output would stall on
//! them. Results come back on one channel, tagged with `seq`, and
//! [`InOrder`] puts them back in order. Every channel is bounded by the
//! caller's most jobs in flight (submitted, result not yet taken), which
//! the caller never exceeds, so a send never waits.
//!
//! Each worker adds the time it spends on jobs to its own counter, so a
//! caller can show how busy the pool was ([`WorkerPool::busy`]).

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
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

/// How jobs reach the workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queue {
    /// Job `seq` to worker `seq mod threads`: which worker did a job never
    /// depends on timing.
    RoundRobin,
    /// One queue, taken from by the first idle worker.
    Shared,
}

/// A job queue's receiving end, shared by the workers that take from it.
type JobQueue<J> = Arc<Mutex<Receiver<(u64, J)>>>;

/// Persistent worker threads and their channels.
pub(crate) struct WorkerPool<J, R> {
    /// The job queues (one per worker, or one in all); empty once stopped.
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
        queue: Queue,
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
        let shared = match queue {
            Queue::Shared => {
                let (job_tx, job_rx) = sync_channel::<(u64, J)>(capacity);
                jobs.push(job_tx);
                Some(Arc::new(Mutex::new(job_rx)))
            }
            Queue::RoundRobin => None,
        };
        for _ in 0..threads.min(busy.workers()) {
            let (job_rx, own_tx) = match &shared {
                Some(rx) => (Arc::clone(rx), None),
                None => {
                    let (job_tx, job_rx) = sync_channel::<(u64, J)>(capacity);
                    (Arc::new(Mutex::new(job_rx)), Some(job_tx))
                }
            };
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
                    jobs.extend(own_tx);
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

    /// The worker threads that started (at least one; fewer than asked for
    /// if the system refused some).
    pub(crate) fn threads(&self) -> usize {
        self.workers.len()
    }

    /// Queues job `seq`: for worker `seq mod threads`, or for the first
    /// idle worker ([`Queue`]).
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
    /// jobs already queued for it, if any).
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
    jobs: JobQueue<W::Job>,
    done: SyncSender<Outcome<W::Out>>,
    names: PoolNames,
    busy: &WorkerBusy,
    index: usize,
) {
    loop {
        // On a shared queue one idle worker waits in `recv` holding the
        // lock and the others wait for the lock: the next job goes to the
        // first. Nothing panics while it is held, so poisoning is moot.
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok((seq, job)) = next else { break };
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A job: its number, and, for a job that must wait, the channel it
    /// waits on until the test lets it go.
    struct Job {
        n: u64,
        hold: Option<Receiver<()>>,
    }

    /// Says which worker did each job.
    struct Tagger {
        id: usize,
    }

    impl Work for Tagger {
        type Job = Job;
        type Out = (u64, usize);

        fn run(&mut self, job: Job) -> Result<(u64, usize), Error> {
            if let Some(hold) = job.hold {
                hold.recv().expect("released");
            }
            Ok((job.n, self.id))
        }

        fn recover(&mut self) {}
    }

    fn pool(queue: Queue, threads: usize, capacity: usize) -> WorkerPool<Job, (u64, usize)> {
        let names = PoolNames {
            thread: "weir-test",
            format: "test",
            role: "test",
        };
        let mut next = 0;
        WorkerPool::start(
            threads,
            capacity,
            queue,
            names,
            WorkerBusy::new(threads),
            || {
                next += 1;
                Tagger { id: next - 1 }
            },
        )
        .unwrap()
    }

    #[test]
    fn a_held_back_worker_delays_only_its_own_job_on_a_shared_queue() {
        let p = pool(Queue::Shared, 2, 8);
        let (release, hold) = sync_channel(1);
        p.send(
            0,
            Job {
                n: 0,
                hold: Some(hold),
            },
        )
        .unwrap();
        for n in 1..8 {
            p.send(n, Job { n, hold: None }).unwrap();
        }
        // Job 0 holds one worker: the other does every other job.
        let mut done = Vec::new();
        for _ in 1..8 {
            let (seq, out) = p.recv(true).unwrap().unwrap();
            let (n, _) = out.unwrap();
            assert_eq!(seq, n);
            done.push(n);
        }
        done.sort_unstable();
        assert_eq!(done, (1..8).collect::<Vec<_>>());
        release.send(()).unwrap();
        let (seq, out) = p.recv(true).unwrap().unwrap();
        assert_eq!((seq, out.unwrap().0), (0, 0));
    }

    #[test]
    fn round_robin_gives_job_seq_to_worker_seq_mod_threads() {
        let p = pool(Queue::RoundRobin, 3, 12);
        for n in 0..12 {
            p.send(n, Job { n, hold: None }).unwrap();
        }
        for _ in 0..12 {
            let (seq, out) = p.recv(true).unwrap().unwrap();
            let (n, worker) = out.unwrap();
            assert_eq!(seq, n);
            assert_eq!(worker as u64, n % 3, "job {n}");
        }
    }

    #[test]
    fn a_stopped_pool_refuses_jobs_with_an_error() {
        for queue in [Queue::Shared, Queue::RoundRobin] {
            let mut p = pool(queue, 2, 2);
            p.stop();
            let e = p.send(0, Job { n: 0, hold: None }).unwrap_err();
            assert!(e.to_string().contains("thread stopped"), "{e}");
        }
    }
}
