//! The engine behind a buffer.
//!
//! # Shape
//! A lock guards the queue, the buffered amount, the *full* flag, the end
//! state and one waker slot per side. The reader takes chunks from the queue
//! in batches, into a cache of its own (`Reader::cache`), so that it locks
//! once per batch rather than once per chunk. Chunks in the reader's cache
//! still count as buffered until the reader hands them out: each hand-out adds
//! the chunk's size to the running total in `progress` (see below; only the
//! reader adds to it), and every lock holder first *folds* that progress into
//! the buffered amount. The
//! amount the writer sees is therefore exact whenever it decides anything.
//!
//! # Wake-ups
//! Every decision to wait (register a waker, return `Pending`) and every
//! change that could end a wait (push, end, abort, drop, a fold that reaches
//! the low mark) is made under the lock; wakers are taken under it and woken
//! after it is released. One handshake happens outside the lock: a reader
//! handing out cached chunks must notice a writer that is waiting for the low
//! mark. Both facts live in one atomic word, `progress`: the reader's running
//! total of what it handed out, and a top bit the writer sets when it waits.
//! The reader adds to it and the writer sets the bit with read-modify-writes,
//! which the word orders one after the other: either the writer's update sees
//! the reader's progress (and folds it), or the reader's update sees the bit
//! (and settles under the lock). A writer waiting in `finished()` for the
//! last hand-out uses the same bit (see `poll_finished`). The loom models in
//! `tests/` check this over every interleaving.

use std::collections::VecDeque;
use std::sync::Arc as StdArc;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::config::{BufferConfig, Overflow};
use crate::error::{Error, SendError};
use crate::limit::Limit;
use crate::stats::{StatsCell, StatsHandle, bump};
use crate::sync::atomic::{AtomicBool, AtomicUsize};

/// The top bit of `Shared::progress`: the writer waits for the low mark.
const WAITING: usize = 1 << (usize::BITS - 1);
/// The other bits of `Shared::progress`: the amount handed out, modulo 2^63
/// (or 2^31 on 32-bit targets), compared by wrapping difference.
use crate::sync::{Arc, Mutex, MutexGuard, lock};
use crate::trace::{bp_debug, bp_trace, bp_warn};

/// Whether a write left room (`Ready`) or reached the high mark (`Full`).
///
/// This is the answer of Node's `write()`: `Ready` is `true`, `Full` is
/// `false`. A `Full` chunk *was* accepted; it means "stop now and wait for
/// [`Writer::drained`](crate::Writer::drained)".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a Full answer means the producer should wait for drained()"]
pub enum Written {
    /// Accepted, and the buffer is below its high mark: keep writing.
    Ready,
    /// Accepted (or, under a lossy policy, dropped), and the buffer is at or
    /// over its high mark: wait for `drained()` before writing more.
    Full,
}

enum End {
    Open,
    Ended,
    Aborted(Option<Error>),
    WriterDropped,
}

struct State<T> {
    queue: VecDeque<T>,
    /// Queue plus the reader's cache, as of the last fold.
    buffered: usize,
    /// The amount handed out (`Shared::progress` without its top bit) at the
    /// last fold.
    folded: usize,
    /// In a Full episode: set when `buffered` reaches `high`, cleared when it
    /// is brought to `low` (or the buffer is emptied by abort/drop).
    /// Invariant: `!full` implies `buffered < high`.
    full: bool,
    end: End,
    reader_gone: bool,
    /// The reader went away before it had taken every chunk of an ended
    /// stream (chunks were discarded, or the stream had not ended yet).
    gone_early: bool,
    /// Chunks moved from the queue into the reader's cache, in all. Every one
    /// has been handed out once `stats.reads` (the reader's count of
    /// hand-outs) equals it.
    moved: u64,
    reader_waker: Option<Waker>,
    writer_waker: Option<Waker>,
    /// The writer waits in `finished()` (see `poll_finished`).
    finish_waker: Option<Waker>,
    /// The backpressure episode under way, if any (see `Episode`).
    episode: Option<Episode>,
}

/// A backpressure episode, for tracing: it starts when the buffer turns
/// full with none under way and lasts through any number of Full/drain
/// turns, until the reader finds the buffer empty (the consumer caught up,
/// or the stream is over) or goes away. A writer steadily faster than its
/// reader therefore makes one episode, however many bytes go through.
struct Episode {
    start: Instant,
    /// `stats.full_events` before the turn that started it.
    fulls_before: u64,
    /// `stats.writer_wait_ns` when it started.
    wait_before: u64,
}

/// A finished episode to trace once the lock is released.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
struct EpisodeEnd {
    why: &'static str,
    elapsed: std::time::Duration,
    fulls: u64,
    blocked: std::time::Duration,
}

pub(crate) struct Shared<T> {
    state: Mutex<State<T>>,
    /// The amount the reader has handed out from its cache (low bits, added
    /// to by the reader only) and whether the writer waits (`WAITING`, set and
    /// cleared under the lock).
    progress: AtomicUsize,
    /// The writer aborted: the reader drops its cache instead of handing it out.
    aborted: AtomicBool,
    pub(crate) limit: Limit<T>,
    pub(crate) low: usize,
    pub(crate) cap: usize,
    pub(crate) overflow: Overflow,
    /// How many chunks the reader may take into its cache at once.
    pub(crate) batch: usize,
    /// The writer's `Sink` side gathers chunks and hands them over in one
    /// batch once this much would be buffered (or on flush, or at the high
    /// mark), so a waiting reader is woken once per batch.
    pub(crate) wake_mark: usize,
    pub(crate) name: Option<StdArc<str>>,
    pub(crate) stats: StdArc<StatsCell>,
}

/// What a send attempt did.
pub(crate) enum SendPoll<T> {
    Sent,
    Pending(T),
    Failed(T, Error),
}

/// What a refill of the reader's cache found.
pub(crate) enum Refill {
    /// Chunks were moved into the cache.
    Filled,
    End,
    Failed(Error),
    Empty,
}

/// Releases the lock, then wakes `waker` (if any): the woken task, which may
/// run at once on another thread, then finds the lock free. Wakers are taken
/// under the lock and woken through here (or through `Shared::deliver`, for a
/// drain found by a fold).
fn wake_unlocked<T>(st: MutexGuard<'_, State<T>>, waker: Option<Waker>) {
    drop(st);
    if let Some(w) = waker {
        w.wake();
    }
}

/// How much the reader handed out between two readings of its progress.
#[inline]
fn progress_since(now: usize, then: usize) -> usize {
    now.wrapping_sub(then) & !WAITING
}

/// One chunk, or a batch of them, to append to the queue.
trait ChunksIn<T> {
    /// Moves the chunks to the back of `queue`; returns how many.
    fn append_to(self, queue: &mut VecDeque<T>) -> usize;
}

impl<T> ChunksIn<T> for T {
    fn append_to(self, queue: &mut VecDeque<T>) -> usize {
        queue.push_back(self);
        1
    }
}

impl<T> ChunksIn<T> for &mut VecDeque<T> {
    fn append_to(self, queue: &mut VecDeque<T>) -> usize {
        let n = self.len();
        queue.append(self);
        n
    }
}

fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

/// A wake-up to deliver once the lock is released, and whether a Full
/// episode just ended (for tracing).
#[derive(Default)]
struct Wake {
    waker: Option<Waker>,
    drained_at: Option<usize>,
}

impl<T> Shared<T> {
    pub(crate) fn new(cfg: &BufferConfig<T>) -> Arc<Self> {
        let high = cfg.limit.high_water_mark();
        let queue = VecDeque::with_capacity(match cfg.limit.unit() {
            crate::Unit::Items => high.min(1024),
            _ => 8,
        });
        // Lossy policies evict from the queue; chunks in the reader's cache
        // could not be evicted, so those buffers hand out one chunk at a time.
        let batch = match cfg.overflow {
            Overflow::DropOldest | Overflow::DropNewest => 1,
            _ => 64,
        };
        Arc::new(Shared {
            state: Mutex::new(State {
                queue,
                buffered: 0,
                folded: 0,
                full: false,
                end: End::Open,
                reader_gone: false,
                gone_early: false,
                moved: 0,
                reader_waker: None,
                writer_waker: None,
                finish_waker: None,
                episode: None,
            }),
            progress: AtomicUsize::new(0),
            aborted: AtomicBool::new(false),
            limit: cfg.limit,
            low: cfg.low_mark(),
            cap: cfg.cap_mark(),
            overflow: cfg.overflow,
            batch,
            wake_mark: (high / 2).max(1),
            name: cfg.name.clone(),
            stats: StdArc::new(StatsCell::default()),
        })
    }

    #[inline]
    pub(crate) fn high(&self) -> usize {
        self.limit.high_water_mark()
    }

    pub(crate) fn handle(&self) -> StatsHandle {
        StatsHandle {
            cell: self.stats.clone(),
            name: self.name.clone(),
            unit: self.limit.unit(),
            high: self.high(),
            low: self.low,
        }
    }

    fn named(&self, e: Error) -> Error {
        match &self.name {
            Some(n) => e.with_stage(n.clone()),
            None => e,
        }
    }

    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    fn name_str(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// Folds the reader's progress into `st.buffered` (lock held); ends a Full
    /// episode at the low mark and returns the writer's waker to wake.
    fn fold(&self, st: &mut State<T>) -> Wake {
        let consumed = self.progress.load(Acquire) & !WAITING;
        let delta = progress_since(consumed, st.folded);
        st.folded = consumed;
        st.buffered = st.buffered.saturating_sub(delta);
        if st.full && st.buffered <= self.low {
            st.full = false;
            // The bit stays up while `finished()` waits: it needs every
            // hand-out reported, not only the one reaching the low mark.
            if st.finish_waker.is_none() {
                self.progress.fetch_and(!WAITING, AcqRel);
            }
            // Node emits no 'drain' after `end()`: an ended (or aborted, or
            // dropped) writer has nothing to resume, so the episode ends
            // without counting or tracing a drain.
            let open = matches!(st.end, End::Open);
            if open {
                bump(&self.stats.drains, 1);
            }
            return Wake {
                waker: st.writer_waker.take(),
                drained_at: open.then_some(st.buffered),
            };
        }
        Wake::default()
    }

    /// Delivers a wake-up (lock released).
    fn deliver(&self, wake: Wake) {
        if let Some(w) = wake.waker {
            w.wake();
        }
        if let Some(buffered) = wake.drained_at {
            let _ = buffered;
            bp_trace!(
                buffer = self.name_str(),
                buffered = buffered,
                low = self.low,
                "buffer drained: writer may resume"
            );
        }
    }

    /// Why a chunk cannot be written now, if the buffer is closed to writes.
    fn closed_error(&self, st: &State<T>) -> Option<Error> {
        if st.reader_gone {
            return Some(self.named(Error::reader_gone()));
        }
        match st.end {
            End::Open => None,
            End::Aborted(_) => Some(self.named(Error::aborted("write after abort"))),
            End::Ended | End::WriterDropped => Some(self.named(Error::ended())),
        }
    }

    /// Appends chunks of `size` in all (lock held, progress folded), updates
    /// the counters, and wakes a waiting reader after releasing the lock.
    fn push_locked(
        &self,
        mut st: MutexGuard<'_, State<T>>,
        chunks: impl ChunksIn<T>,
        size: usize,
    ) -> Written {
        let high = self.high();
        let n = chunks.append_to(&mut st.queue);
        st.buffered = st.buffered.saturating_add(size);
        let buffered = st.buffered;
        bump(&self.stats.writes, n as u64);
        bump(&self.stats.written, size as u64);
        self.stats.note_peak(buffered);
        let became_full = !st.full && buffered >= high;
        let mut started = false;
        if became_full {
            st.full = true;
            let fulls_before = self.stats.full_events.load(Relaxed);
            bump(&self.stats.full_events, 1);
            if st.episode.is_none() {
                started = true;
                st.episode = Some(Episode {
                    start: Instant::now(),
                    fulls_before,
                    wait_before: self.stats.writer_wait_ns.load(Relaxed),
                });
            }
        }
        let answer = if st.full {
            Written::Full
        } else {
            Written::Ready
        };
        let waker = st.reader_waker.take();
        wake_unlocked(st, waker);
        if started {
            bp_debug!(
                buffer = self.name_str(),
                buffered = buffered,
                high = high,
                "backpressure started: buffer full, write() returned Full"
            );
        }
        if became_full {
            bp_trace!(
                buffer = self.name_str(),
                buffered = buffered,
                high = high,
                "buffer full: write() returned Full"
            );
        }
        let _ = started;
        answer
    }

    /// Accepts `chunk` without waiting (Node's `write()`); `Full` once the
    /// buffer is at or over its high mark. Past the hard cap, the overflow
    /// policy decides.
    pub(crate) fn push(&self, chunk: T) -> Result<Written, SendError<T>> {
        let size = self.limit.measure(&chunk);
        let mut st = lock(&self.state);
        if let Some(e) = self.closed_error(&st) {
            drop(st);
            return Err(SendError::new(chunk, e));
        }
        // The writer itself is the only one who could wait for this fold.
        let _ = self.fold(&mut st);
        let mut evicted = VecDeque::new();
        if st.buffered >= self.high() && st.buffered.saturating_add(size) > self.cap {
            match self.overflow {
                Overflow::Unbounded => {}
                Overflow::Error => {
                    let msg = format!(
                        "{} {} buffered + {} more would pass the hard cap of {}",
                        st.buffered,
                        self.limit.unit(),
                        size,
                        self.cap
                    );
                    drop(st);
                    return Err(SendError::new(chunk, self.named(Error::overflow(msg))));
                }
                Overflow::DropNewest => {
                    self.stats.dropped.fetch_add(1, Relaxed);
                    drop(st);
                    bp_warn!(
                        buffer = self.name_str(),
                        "buffer over its hard cap: dropped the newest chunk"
                    );
                    drop(chunk);
                    return Ok(Written::Full);
                }
                Overflow::DropOldest => {
                    let mut units = 0usize;
                    while st.buffered.saturating_add(size) > self.cap {
                        let Some(old) = st.queue.pop_front() else {
                            break;
                        };
                        let n = self.limit.measure(&old);
                        units = units.saturating_add(n);
                        st.buffered = st.buffered.saturating_sub(n);
                        evicted.push_back(old);
                    }
                    self.stats.discard(evicted.len(), units);
                }
            }
        }
        let answer = self.push_locked(st, chunk, size);
        if !evicted.is_empty() {
            bp_warn!(
                buffer = self.name_str(),
                dropped = evicted.len(),
                "buffer over its hard cap: dropped the oldest chunks"
            );
            drop(evicted);
        }
        Ok(answer)
    }

    /// Registers the writer as waiting for the low mark, or finds that the
    /// reader got there meanwhile (lock held). Returns whether it must wait.
    fn wait_for_low(&self, st: &mut State<T>, cx: &mut Context<'_>) -> bool {
        if !st.full {
            return false;
        }
        // Publish that we wait, then look at the reader's progress again: one
        // of this update and the reader's next one sees the other.
        self.progress.fetch_or(WAITING, AcqRel);
        let _ = self.fold(st);
        if !st.full {
            return false;
        }
        register(&mut st.writer_waker, cx);
        true
    }

    /// Writes `chunk` if there is room, in one lock: `send`'s fast path. When
    /// the buffer is full the chunk comes back and the writer's waker is
    /// registered.
    pub(crate) fn poll_send(&self, cx: &mut Context<'_>, chunk: T) -> SendPoll<T> {
        let mut st = lock(&self.state);
        if let Some(e) = self.closed_error(&st) {
            drop(st);
            return SendPoll::Failed(chunk, e);
        }
        let _ = self.fold(&mut st);
        if self.wait_for_low(&mut st, cx) {
            return SendPoll::Pending(chunk);
        }
        let size = self.limit.measure(&chunk);
        let _ = self.push_locked(st, chunk, size);
        SendPoll::Sent
    }

    /// Hands over a batch the writer gathered (`size` in all), in one lock,
    /// without the overflow policy (the writer only gathers while the buffer
    /// is below its high mark). Returns the answer and the exact buffered
    /// amount right after.
    pub(crate) fn push_batch(
        &self,
        batch: &mut VecDeque<T>,
        size: usize,
    ) -> Result<(Written, usize), Error> {
        let mut st = lock(&self.state);
        if let Some(e) = self.closed_error(&st) {
            return Err(e);
        }
        let _ = self.fold(&mut st);
        let before = st.buffered;
        let answer = self.push_locked(st, batch, size);
        Ok((answer, before.saturating_add(size)))
    }

    /// Ready once the buffer is not in a Full episode (there is room, or it has
    /// drained to the low mark). Registers the writer's waker otherwise.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut st = lock(&self.state);
        if st.reader_gone {
            drop(st);
            return Poll::Ready(Err(self.named(Error::reader_gone())));
        }
        let _ = self.fold(&mut st);
        if self.wait_for_low(&mut st, cx) {
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }

    /// Whether the buffer is in a Full episode right now.
    pub(crate) fn is_full(&self) -> bool {
        let mut st = lock(&self.state);
        let wake = self.fold(&mut st);
        let full = st.full;
        drop(st);
        self.deliver(wake);
        full
    }

    /// Records that the reader handed out a chunk of `size` from its cache
    /// (after counting it in `stats.reads`). Wakes a writer waiting for the
    /// low mark if this reached it, or waiting in `finished()` if this was
    /// the last chunk.
    #[inline]
    pub(crate) fn consumed(&self, size: usize) {
        let before = self.progress.fetch_add(size & !WAITING, AcqRel);
        if before & WAITING != 0 {
            let mut st = lock(&self.state);
            let wake = self.fold(&mut st);
            let finished = self.finish_reached(&mut st);
            drop(st);
            self.deliver(wake);
            if let Some(w) = finished {
                w.wake();
            }
        }
    }

    /// Whether the writer ended and the reader took every chunk (lock held).
    ///
    /// `stats.reads` is the reader's own count of hand-outs, bumped before
    /// the `progress` update that reports the hand-out: a lock holder that
    /// saw that update (the reader itself, or the writer after its
    /// `fetch_or`) sees the count too.
    fn all_taken(&self, st: &State<T>) -> bool {
        matches!(st.end, End::Ended)
            && !st.gone_early
            && st.queue.is_empty()
            && self.stats.reads.load(Acquire) == st.moved
    }

    /// Takes the waker of a `finished()` waiting for the last hand-out, if
    /// that has happened (lock held, progress folded).
    fn finish_reached(&self, st: &mut State<T>) -> Option<Waker> {
        if st.finish_waker.is_some() && self.all_taken(st) {
            // Nobody waits for progress any more: all taken means nothing
            // buffered, so no Full episode either.
            if !st.full {
                self.progress.fetch_and(!WAITING, AcqRel);
            }
            return st.finish_waker.take();
        }
        None
    }

    /// Ready once the writer has ended and the reader has taken every chunk
    /// (`Ok`), or once that cannot happen: the writer aborted, or the reader
    /// went away first. Registers the writer's finish waker otherwise, and
    /// asks the reader to report each hand-out (the `WAITING` bit).
    pub(crate) fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut st = lock(&self.state);
        let wake = self.fold(&mut st);
        let out = if matches!(st.end, End::Aborted(_)) {
            Poll::Ready(Err(self.named(Error::aborted(
                "the writer aborted before the reader took everything",
            ))))
        } else if self.all_taken(&st) {
            Poll::Ready(Ok(()))
        } else if st.reader_gone {
            Poll::Ready(Err(self.named(Error::reader_gone())))
        } else {
            register(&mut st.finish_waker, cx);
            // Publish that we wait, then look again: one of this update and
            // the reader's next hand-out sees the other.
            self.progress.fetch_or(WAITING, AcqRel);
            if self.all_taken(&st) {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        };
        if out.is_ready() {
            st.finish_waker = None;
            if !st.full {
                self.progress.fetch_and(!WAITING, AcqRel);
            }
        }
        drop(st);
        self.deliver(wake);
        out
    }

    /// Whether the writer aborted (the reader must drop its cache).
    #[inline]
    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Acquire)
    }

    /// Moves up to `batch` chunks into the reader's (empty) `cache`, or says
    /// why there are none. On `Empty` the reader's waker is registered (when
    /// `cx` is given).
    pub(crate) fn refill(&self, cache: &mut VecDeque<T>, cx: Option<&mut Context<'_>>) -> Refill {
        let mut st = lock(&self.state);
        let wake = self.fold(&mut st);
        let mut ended = None;
        let out = if !st.queue.is_empty() {
            let n = st.queue.len().min(self.batch);
            if st.queue.len() <= self.batch {
                std::mem::swap(&mut st.queue, cache);
            } else {
                cache.extend(st.queue.drain(..self.batch));
            }
            st.moved = st.moved.wrapping_add(n as u64);
            Refill::Filled
        } else {
            // The reader caught up (or the stream is over): any episode ends.
            let why = if matches!(st.end, End::Open) {
                "the reader caught up"
            } else {
                "the stream is over"
            };
            ended = self.end_episode(&mut st, why);
            match &mut st.end {
                End::Open => {
                    if let Some(cx) = cx {
                        register(&mut st.reader_waker, cx);
                    }
                    Refill::Empty
                }
                End::Ended => Refill::End,
                End::Aborted(e) => {
                    let e = e.take().unwrap_or_else(|| Error::aborted("aborted"));
                    Refill::Failed(self.named(e))
                }
                End::WriterDropped => Refill::Failed(self.named(Error::writer_dropped())),
            }
        };
        drop(st);
        self.deliver(wake);
        self.trace_episode_end(ended);
        out
    }

    /// Ends the episode under way, if any (lock held).
    fn end_episode(&self, st: &mut State<T>, why: &'static str) -> Option<EpisodeEnd> {
        let ep = st.episode.take()?;
        let fulls = self.stats.full_events.load(Relaxed);
        let wait = self.stats.writer_wait_ns.load(Relaxed);
        Some(EpisodeEnd {
            why,
            elapsed: ep.start.elapsed(),
            fulls: fulls.wrapping_sub(ep.fulls_before),
            blocked: std::time::Duration::from_nanos(wait.saturating_sub(ep.wait_before)),
        })
    }

    /// Traces the end of an episode (lock released).
    fn trace_episode_end(&self, ended: Option<EpisodeEnd>) {
        if let Some(end) = ended {
            let _ = &end;
            bp_debug!(
                buffer = self.name_str(),
                elapsed.ms = end.elapsed.as_secs_f64() * 1e3,
                full.count = end.fulls,
                blocked.ms = end.blocked.as_secs_f64() * 1e3,
                "backpressure ended: {}",
                end.why
            );
        }
    }

    /// `end()`: the reader drains what is buffered, then sees the end.
    pub(crate) fn end(&self) {
        let mut st = lock(&self.state);
        if !matches!(st.end, End::Open) {
            return;
        }
        st.end = End::Ended;
        let waker = st.reader_waker.take();
        wake_unlocked(st, waker);
        bp_debug!(buffer = self.name_str(), "buffer ended");
    }

    /// `abort(err)`: discards what is buffered; the reader sees `err` next.
    pub(crate) fn abort(&self, err: Error) {
        let mut st = lock(&self.state);
        if matches!(st.end, End::Aborted(_)) || st.reader_gone {
            return;
        }
        let _ = self.fold(&mut st);
        // Ended and every chunk handed out: the stream is finished, and
        // stays so (the reader sees its end, `finished()` stays `Ok`).
        if matches!(st.end, End::Ended) && st.queue.is_empty() && st.buffered == 0 {
            return;
        }
        st.end = End::Aborted(Some(err));
        self.aborted
            .store(true, std::sync::atomic::Ordering::Release);
        let discarded = std::mem::take(&mut st.queue);
        let units: usize = discarded.iter().map(|c| self.limit.measure(c)).sum();
        // What stays counted is the reader's cache, which it drops on seeing
        // the abort.
        st.buffered = st.buffered.saturating_sub(units);
        st.full = false;
        self.progress.fetch_and(!WAITING, AcqRel);
        self.stats.discard(discarded.len(), units);
        let waker = st.reader_waker.take();
        wake_unlocked(st, waker);
        bp_debug!(
            buffer = self.name_str(),
            discarded = discarded.len(),
            "buffer aborted"
        );
        drop(discarded);
    }

    /// The writer went away: a clean end if it ended, an error otherwise.
    pub(crate) fn writer_dropped(&self) {
        let mut st = lock(&self.state);
        if !matches!(st.end, End::Open) {
            return;
        }
        st.end = End::WriterDropped;
        let waker = st.reader_waker.take();
        wake_unlocked(st, waker);
        bp_debug!(buffer = self.name_str(), "writer dropped before end");
    }

    /// The reader went away (its cache is already dropped and counted):
    /// buffered chunks are freed, writes fail.
    pub(crate) fn reader_dropped(&self) {
        let mut st = lock(&self.state);
        // Its cache is gone uncounted: the hand-outs fall short of `moved`
        // if it held any chunk.
        st.gone_early = !self.all_taken(&st);
        st.reader_gone = true;
        let ended = self.end_episode(&mut st, "the reader went away");
        let discarded = std::mem::take(&mut st.queue);
        let units: usize = discarded.iter().map(|c| self.limit.measure(c)).sum();
        st.buffered = 0;
        st.full = false;
        self.progress.fetch_and(!WAITING, AcqRel);
        self.stats.discard(discarded.len(), units);
        let waker = st.writer_waker.take();
        let finish = st.finish_waker.take();
        wake_unlocked(st, waker);
        if let Some(w) = finish {
            w.wake();
        }
        self.trace_episode_end(ended);
        drop(discarded);
    }

    /// Whether the reader is gone.
    pub(crate) fn is_reader_gone(&self) -> bool {
        lock(&self.state).reader_gone
    }

    /// Whether the writer has ended, aborted or gone (no more chunks will come
    /// beyond those buffered).
    pub(crate) fn is_closed(&self) -> bool {
        !matches!(lock(&self.state).end, End::Open)
    }

    /// Number of chunks in the queue (not counting the reader's cache).
    pub(crate) fn queued(&self) -> usize {
        lock(&self.state).queue.len()
    }
}
