//! The server's open connections and which of them wait for a request's
//! headers, so that at the connection cap the one that has waited longest
//! can be shed for a newcomer (a slowloris defence).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Waiting for a request's headers (a new or an idle kept-alive connection).
const HEAD: u8 = 0;
/// A request is being answered.
const BUSY: u8 = 1;
/// Chosen to be shed.
const SHED: u8 = 2;
/// The response's body has been taken, but hyper may still hold its end in
/// its write buffer: not sheddable until the connection's writes have been
/// flushed.
const DRAINING: u8 = 3;

/// One connection's entry.
#[derive(Debug)]
pub(crate) struct Slot {
    phase: AtomicU8,
    /// When it began waiting for headers, in nanoseconds from the table's
    /// start.
    since: AtomicU64,
    shed: Notify,
}

/// The open connections (at most the connection cap: each holds a permit).
#[derive(Debug)]
pub(crate) struct ConnTable {
    start: Instant,
    next: AtomicU64,
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
}

impl Default for ConnTable {
    fn default() -> Self {
        ConnTable {
            start: Instant::now(),
            next: AtomicU64::new(0),
            slots: Mutex::default(),
        }
    }
}

/// A connection's place in the table, removed on drop.
#[derive(Debug)]
pub(crate) struct Entry {
    table: Arc<ConnTable>,
    id: u64,
    slot: Arc<Slot>,
}

impl ConnTable {
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Adds a new connection, waiting for its first request's headers.
    pub(crate) fn register(self: &Arc<Self>) -> Entry {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(self.now()),
            shed: Notify::new(),
        });
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, slot.clone());
        Entry {
            table: self.clone(),
            id,
            slot,
        }
    }

    /// Tells the connection that has waited longest for a request's headers
    /// to close. `false` if every connection is answering a request.
    pub(crate) fn shed_oldest(&self) -> bool {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let mut candidates: Vec<&Arc<Slot>> = slots
            .values()
            .filter(|s| s.phase.load(Ordering::Acquire) == HEAD)
            .collect();
        candidates.sort_by_key(|s| s.since.load(Ordering::Relaxed));
        for slot in candidates {
            if slot
                .phase
                .compare_exchange(HEAD, SHED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                slot.shed.notify_one();
                return true;
            }
        }
        false
    }
}

impl Entry {
    /// The hook its I/O calls once everything written has been flushed.
    pub(crate) fn on_flush(&self) -> FlushHook {
        FlushHook {
            table: self.table.clone(),
            slot: self.slot.clone(),
        }
    }

    /// The connection's headers are in: it is answering a request until the
    /// returned guard (carried by the response body) is dropped.
    pub(crate) fn busy(&self) -> Busy {
        let _ = self
            .slot
            .phase
            .compare_exchange(HEAD, BUSY, Ordering::AcqRel, Ordering::Acquire);
        Busy {
            table: self.table.clone(),
            slot: self.slot.clone(),
        }
    }

    /// Completes once the connection has been chosen to be shed.
    ///
    /// # Cancel safety
    /// Cancel safe: a shed decided while nobody waits is kept for the next
    /// call.
    pub(crate) async fn shed(&self) {
        self.slot.shed.notified().await;
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.table
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

/// Tells the table that a connection's writes have all been flushed: a
/// response whose body has ended is then fully handed to the kernel, and
/// the connection waits for its next request's headers.
#[derive(Debug)]
pub(crate) struct FlushHook {
    table: Arc<ConnTable>,
    slot: Arc<Slot>,
}

impl FlushHook {
    /// Called after a flush of the connection's I/O completed.
    pub(crate) fn flushed(&self) {
        if self.slot.phase.load(Ordering::Acquire) == DRAINING {
            self.slot.since.store(self.table.now(), Ordering::Relaxed);
            let _ = self.slot.phase.compare_exchange(
                DRAINING,
                HEAD,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }
}

/// Held while a request is answered; dropping it (hyper drops the body once
/// it has taken its end) marks the connection as draining: it waits for its
/// next request's headers, and may be shed, only once hyper has flushed
/// what it still holds ([`FlushHook`]).
#[derive(Debug)]
pub(crate) struct Busy {
    table: Arc<ConnTable>,
    slot: Arc<Slot>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.slot.since.store(self.table.now(), Ordering::Relaxed);
        let _ =
            self.slot
                .phase
                .compare_exchange(BUSY, DRAINING, Ordering::AcqRel, Ordering::Acquire);
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its connection marked busy until hyper has
    /// pulled all of it (hyper drops a body once it has ended).
    #[derive(Debug)]
    pub(crate) struct TrackedBody<B> {
        #[pin]
        body: B,
        _busy: Busy,
    }
}

impl<B> TrackedBody<B> {
    pub(crate) fn new(body: B, busy: Busy) -> Self {
        TrackedBody { body, _busy: busy }
    }
}

impl<B: Body> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
