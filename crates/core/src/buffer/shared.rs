//! The engine behind a buffer: one lock around the queue, the buffered amount,
//! the end state and one waker slot per side.
//!
//! Every decision to wait (register a waker, return `Pending`) and every change
//! that could end a wait (push, pop past the low mark, end, abort, drop) is made
//! under the same lock, and the waker is taken under it and woken right after
//! it is released. So a wake-up cannot be lost: either the waiter registered
//! before the change (and the change takes its waker), or the change happened
//! first (and the waiter sees it when it checks, under the lock). The loom
//! models in `tests/` check this over every interleaving.

use std::collections::VecDeque;
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Waker};

use super::config::{BufferConfig, Overflow};
use crate::error::{Error, SendError};
use crate::limit::Limit;
use crate::stats::{StatsCell, StatsHandle, bump};
use crate::sync::{Arc, Mutex, lock};
use crate::trace::{bp_debug, bp_warn};

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
    buffered: usize,
    /// In a Full episode: set when `buffered` reaches `high`, cleared when the
    /// reader brings it to `low` (or the buffer is emptied by abort/drop).
    /// Invariant: `!full` implies `buffered < high`.
    full: bool,
    end: End,
    reader_gone: bool,
    reader_waker: Option<Waker>,
    writer_waker: Option<Waker>,
}

pub(crate) struct Shared<T> {
    state: Mutex<State<T>>,
    pub(crate) limit: Limit<T>,
    pub(crate) low: usize,
    pub(crate) cap: usize,
    pub(crate) overflow: Overflow,
    pub(crate) name: Option<StdArc<str>>,
    pub(crate) stats: StdArc<StatsCell>,
}

/// What a pop found.
pub(crate) enum Popped<T> {
    Item(T),
    End,
    Failed(Error),
    Empty,
}

fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl<T> Shared<T> {
    pub(crate) fn new(cfg: &BufferConfig<T>) -> Arc<Self> {
        let high = cfg.limit.high();
        let queue = VecDeque::with_capacity(match cfg.limit.unit() {
            crate::Unit::Items => high.min(1024),
            _ => 8,
        });
        Arc::new(Shared {
            state: Mutex::new(State {
                queue,
                buffered: 0,
                full: false,
                end: End::Open,
                reader_gone: false,
                reader_waker: None,
                writer_waker: None,
            }),
            limit: cfg.limit,
            low: cfg.low_mark(),
            cap: cfg.cap_mark(),
            overflow: cfg.overflow,
            name: cfg.name.clone(),
            stats: StdArc::new(StatsCell::default()),
        })
    }

    #[inline]
    pub(crate) fn high(&self) -> usize {
        self.limit.high()
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

    fn name_str(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    /// Accepts `chunk` without waiting (Node's `write()`); `Full` once the
    /// buffer is at or over its high mark. Past the hard cap, the overflow
    /// policy decides.
    pub(crate) fn push(&self, chunk: T) -> Result<Written, SendError<T>> {
        let size = self.limit.measure(&chunk);
        let high = self.high();
        let mut st = lock(&self.state);
        if st.reader_gone {
            drop(st);
            return Err(SendError::new(chunk, self.named(Error::reader_gone())));
        }
        match st.end {
            End::Open => {}
            End::Aborted(_) => {
                drop(st);
                return Err(SendError::new(
                    chunk,
                    self.named(Error::aborted("write after abort")),
                ));
            }
            End::Ended | End::WriterDropped => {
                drop(st);
                return Err(SendError::new(chunk, self.named(Error::ended())));
            }
        }
        let mut evicted = VecDeque::new();
        if st.buffered >= high && st.buffered.saturating_add(size) > self.cap {
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
                    bump(&self.stats.dropped, 1);
                    drop(st);
                    bp_warn!(
                        buffer = self.name_str(),
                        "buffer over its hard cap: dropped the newest chunk"
                    );
                    drop(chunk);
                    return Ok(Written::Full);
                }
                Overflow::DropOldest => {
                    while st.buffered.saturating_add(size) > self.cap {
                        let Some(old) = st.queue.pop_front() else {
                            break;
                        };
                        st.buffered = st.buffered.saturating_sub(self.limit.measure(&old));
                        evicted.push_back(old);
                    }
                    bump(&self.stats.dropped, evicted.len() as u64);
                }
            }
        }
        st.queue.push_back(chunk);
        st.buffered = st.buffered.saturating_add(size);
        let buffered = st.buffered;
        bump(&self.stats.writes, 1);
        bump(&self.stats.written, size as u64);
        self.stats.set_buffered(buffered);
        let became_full = !st.full && buffered >= high;
        if became_full {
            st.full = true;
            bump(&self.stats.full_events, 1);
        }
        let answer = if st.full {
            Written::Full
        } else {
            Written::Ready
        };
        let waker = st.reader_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        if !evicted.is_empty() {
            bp_warn!(
                buffer = self.name_str(),
                dropped = evicted.len(),
                "buffer over its hard cap: dropped the oldest chunks"
            );
            drop(evicted);
        }
        if became_full {
            bp_debug!(
                buffer = self.name_str(),
                buffered = buffered,
                high = high,
                "buffer full: write() returned Full"
            );
        }
        Ok(answer)
    }

    /// Ready once the buffer is not in a Full episode (there is room, or it has
    /// drained to the low mark). Registers the writer's waker otherwise.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let mut st = lock(&self.state);
        if st.reader_gone {
            drop(st);
            return Poll::Ready(Err(self.named(Error::reader_gone())));
        }
        if !st.full {
            return Poll::Ready(Ok(()));
        }
        register(&mut st.writer_waker, cx);
        Poll::Pending
    }

    /// Whether the buffer is in a Full episode right now.
    pub(crate) fn is_full(&self) -> bool {
        lock(&self.state).full
    }

    /// Takes the oldest chunk, or says why there is none. On `Empty` the
    /// reader's waker is registered (when `cx` is given).
    pub(crate) fn pop(&self, cx: Option<&mut Context<'_>>) -> Popped<T> {
        let mut st = lock(&self.state);
        if let Some(item) = st.queue.pop_front() {
            let size = self.limit.measure(&item);
            st.buffered = st.buffered.saturating_sub(size);
            let buffered = st.buffered;
            bump(&self.stats.reads, 1);
            bump(&self.stats.read, size as u64);
            self.stats.set_buffered(buffered);
            let drained = st.full && buffered <= self.low;
            let waker = if drained {
                st.full = false;
                bump(&self.stats.drains, 1);
                st.writer_waker.take()
            } else {
                None
            };
            drop(st);
            if let Some(w) = waker {
                w.wake();
            }
            if drained {
                bp_debug!(
                    buffer = self.name_str(),
                    buffered = buffered,
                    low = self.low,
                    "buffer drained: writer may resume"
                );
            }
            return Popped::Item(item);
        }
        match &mut st.end {
            End::Open => {
                if let Some(cx) = cx {
                    register(&mut st.reader_waker, cx);
                }
                Popped::Empty
            }
            End::Ended => Popped::End,
            End::Aborted(e) => {
                let e = e.take().unwrap_or_else(|| Error::aborted("aborted"));
                drop(st);
                Popped::Failed(self.named(e))
            }
            End::WriterDropped => {
                drop(st);
                Popped::Failed(self.named(Error::writer_dropped()))
            }
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
        drop(st);
        bp_debug!(buffer = self.name_str(), "buffer ended");
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// `abort(err)`: discards what is buffered; the reader sees `err` next.
    pub(crate) fn abort(&self, err: Error) {
        let mut st = lock(&self.state);
        if matches!(st.end, End::Aborted(_)) || st.reader_gone {
            return;
        }
        st.end = End::Aborted(Some(err));
        let discarded = std::mem::take(&mut st.queue);
        st.buffered = 0;
        st.full = false;
        bump(&self.stats.dropped, discarded.len() as u64);
        self.stats.set_buffered(0);
        let waker = st.reader_waker.take();
        drop(st);
        bp_debug!(
            buffer = self.name_str(),
            discarded = discarded.len(),
            "buffer aborted"
        );
        if let Some(w) = waker {
            w.wake();
        }
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
        drop(st);
        bp_debug!(buffer = self.name_str(), "writer dropped before end");
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The reader went away: buffered chunks are freed, writes fail.
    pub(crate) fn reader_dropped(&self) {
        let mut st = lock(&self.state);
        st.reader_gone = true;
        let discarded = std::mem::take(&mut st.queue);
        st.buffered = 0;
        st.full = false;
        self.stats.set_buffered(0);
        let waker = st.writer_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
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

    /// Number of chunks buffered now.
    pub(crate) fn len(&self) -> usize {
        lock(&self.state).queue.len()
    }
}
