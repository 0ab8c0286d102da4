//! A clock for publishing that needs no Tokio timer: pipelines run on any
//! runtime, including one built without `enable_time`, and publishing must
//! not change that.
//!
//! One thread per process (started by the first run that publishes) counts
//! intervals and wakes every registered run at each one. A run registers
//! its waker before it reads the count, so an interval that ends in
//! between is seen either by the read or by the wake-up. At most one waker
//! per live run is held; a run that ends takes its own out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::task::Waker;
use std::time::Duration;

pub(crate) struct Ticker {
    ticks: AtomicU64,
    next_id: AtomicU64,
    wakers: Mutex<HashMap<u64, Waker>>,
}

impl Ticker {
    /// The process's ticker, started on first use. If its thread cannot be
    /// started, it never ticks: runs then publish only when they end.
    pub(crate) fn get(interval: Duration) -> &'static Ticker {
        static TICKER: OnceLock<Ticker> = OnceLock::new();
        TICKER.get_or_init(|| {
            let _ = std::thread::Builder::new()
                .name("weir-metrics".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(interval);
                        let t = Ticker::get(interval);
                        t.ticks.fetch_add(1, Relaxed);
                        let wakers: Vec<Waker> = t
                            .wakers
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .drain()
                            .map(|(_, w)| w)
                            .collect();
                        for w in wakers {
                            w.wake();
                        }
                    }
                });
            Ticker {
                ticks: AtomicU64::new(0),
                next_id: AtomicU64::new(0),
                wakers: Mutex::new(HashMap::new()),
            }
        })
    }

    /// A new registration id.
    pub(crate) fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Relaxed)
    }

    /// Intervals ended so far.
    #[inline]
    pub(crate) fn ticks(&self) -> u64 {
        self.ticks.load(Relaxed)
    }

    /// Wakes `waker` at the end of the current interval.
    pub(crate) fn register(&self, id: u64, waker: &Waker) {
        let mut w = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        match w.get_mut(&id) {
            Some(old) if old.will_wake(waker) => {}
            Some(old) => old.clone_from(waker),
            None => {
                w.insert(id, waker.clone());
            }
        }
    }

    /// Forgets `id`'s waker.
    pub(crate) fn unregister(&self, id: u64) {
        self.wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }
}
