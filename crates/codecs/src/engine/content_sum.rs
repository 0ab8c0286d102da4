//! An LZ4 frame's content checksum (XXH32 of the decoded content), computed
//! apart from liblz4: on a thread of its own when one can be started, else
//! on the caller's thread.
//!
//! Hashing is about two thirds of liblz4's decoding time and a third of its
//! level-1 encoding time. With the checksum computed beside the codec, the
//! codec's task does the rest, and the whole runs on two cores.
//!
//! Memory is bounded by construction: the queue to the thread holds at most
//! [`QUEUE`] chunks (each kept alive by its reference count, not copied),
//! and a full queue makes the sender wait.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use xxhash_rust::xxh32::Xxh32;

/// The most chunks queued to the checksum thread.
const QUEUE: usize = 8;

/// A frame whose content checksum did not match: the byte offset of its
/// checksum field in the compressed input.
pub(crate) type Mismatch = u64;

/// Work for the checksum thread, done in order.
enum Job {
    /// More content of the current frame.
    Data(Bytes),
    /// The current frame ended with `expected` as its checksum, stored at
    /// input offset `at`: compare, then start afresh.
    Check { expected: u32, at: u64 },
    /// The current frame ended without a checksum: start afresh.
    Reset,
    /// Send the current frame's checksum, then start afresh.
    Digest(SyncSender<u32>),
    /// Answer once everything before has been done.
    Sync(SyncSender<()>),
}

/// What the checksum thread found: the first mismatch.
type Found = Arc<Mutex<Option<Mismatch>>>;

/// XXH32 over a frame's content, fed chunk by chunk.
pub(crate) struct ContentSum(Sum);

enum Sum {
    /// On this thread.
    Inline {
        hash: Xxh32,
        found: Option<Mismatch>,
    },
    /// On a thread of its own.
    Thread { jobs: SyncSender<Job>, found: Found },
}

impl std::fmt::Debug for ContentSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match &self.0 {
            Sum::Inline { .. } => "Sum::Inline",
            Sum::Thread { .. } => "Sum::Thread",
        })
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl ContentSum {
    /// A checksum on a thread of its own (`threaded`, see
    /// [`start`](Self::start)) or on this one.
    pub(crate) fn new(threaded: bool) -> ContentSum {
        if threaded {
            ContentSum::start()
        } else {
            ContentSum::inline()
        }
    }

    /// A checksum on a thread of its own, or on this one if no thread can
    /// be started.
    pub(crate) fn start() -> ContentSum {
        let (jobs, rx) = sync_channel(QUEUE);
        let found: Found = Arc::default();
        let theirs = Arc::clone(&found);
        let spawned = std::thread::Builder::new()
            .name("lz4-checksum".into())
            .spawn(move || work(&rx, &theirs));
        match spawned {
            Ok(_) => ContentSum(Sum::Thread { jobs, found }),
            Err(_) => ContentSum::inline(),
        }
    }

    /// A checksum on this thread.
    pub(crate) fn inline() -> ContentSum {
        ContentSum(Sum::Inline {
            hash: Xxh32::new(0),
            found: None,
        })
    }

    /// Adds `data` to the current frame's content.
    pub(crate) fn feed(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        match &mut self.0 {
            Sum::Inline { hash, .. } => hash.update(&data),
            Sum::Thread { .. } => self.send(Job::Data(data)),
        }
    }

    /// The current frame ended with checksum `expected` (at input offset
    /// `at`): a mismatch is reported by [`mismatch`](Self::mismatch) or
    /// [`settle`](Self::settle).
    pub(crate) fn check(&mut self, expected: u32, at: u64) {
        match &mut self.0 {
            Sum::Inline { hash, found } => {
                if hash.digest() != expected && found.is_none() {
                    *found = Some(at);
                }
                hash.reset(0);
            }
            Sum::Thread { .. } => self.send(Job::Check { expected, at }),
        }
    }

    /// The current frame ended without a checksum.
    pub(crate) fn reset(&mut self) {
        match &mut self.0 {
            Sum::Inline { hash, .. } => hash.reset(0),
            Sum::Thread { .. } => self.send(Job::Reset),
        }
    }

    /// The current frame's checksum (waiting for the thread), and a fresh
    /// start; `None` if the thread is gone (it cannot be, short of a panic
    /// in the hash).
    pub(crate) fn digest(&mut self) -> Option<u32> {
        match &mut self.0 {
            Sum::Inline { hash, .. } => {
                let sum = hash.digest();
                hash.reset(0);
                Some(sum)
            }
            Sum::Thread { jobs, .. } => {
                let (tx, rx) = sync_channel(1);
                jobs.send(Job::Digest(tx)).ok()?;
                rx.recv().ok()
            }
        }
    }

    /// The first mismatch found so far, without waiting.
    pub(crate) fn mismatch(&self) -> Option<Mismatch> {
        match &self.0 {
            Sum::Inline { found, .. } => *found,
            Sum::Thread { found, .. } => *found.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Waits until every frame given so far has been checked; the first
    /// mismatch, if any. `Err` if the thread is gone (it cannot be, short
    /// of a panic in the hash).
    pub(crate) fn settle(&mut self) -> Result<Option<Mismatch>, ()> {
        if let Sum::Thread { jobs, .. } = &mut self.0 {
            let (tx, rx) = sync_channel(1);
            if jobs.send(Job::Sync(tx)).is_err() || rx.recv().is_err() {
                return Err(());
            }
        }
        Ok(self.mismatch())
    }

    /// Sends `job` to the thread, waiting while the queue is full. If the
    /// thread is gone, the next [`settle`](Self::settle) or
    /// [`digest`](Self::digest) finds out.
    fn send(&mut self, job: Job) {
        if let Sum::Thread { jobs, .. } = &mut self.0 {
            let _ = jobs.send(job);
        }
    }
}

/// The checksum thread: does the jobs in order until the sender is dropped.
fn work(rx: &Receiver<Job>, found: &Found) {
    let mut hash = Xxh32::new(0);
    while let Ok(job) = rx.recv() {
        match job {
            Job::Data(data) => hash.update(&data),
            Job::Check { expected, at } => {
                if hash.digest() != expected {
                    let mut first = found.lock().unwrap_or_else(PoisonError::into_inner);
                    if first.is_none() {
                        *first = Some(at);
                    }
                }
                hash.reset(0);
            }
            Job::Reset => hash.reset(0),
            Job::Digest(reply) => {
                let _ = reply.send(hash.digest());
                hash.reset(0);
            }
            Job::Sync(reply) => {
                let _ = reply.send(());
            }
        }
    }
}
