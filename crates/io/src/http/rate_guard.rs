//! The slow-peer guard shared by the server's connections and
//! [`BodyReader`](super::BodyReader): an idle timeout and a minimum data
//! rate, measured over the time spent waiting on the peer.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// A minimum data rate: the bytes moved must be at least `bytes_per_sec`
/// times the time spent waiting on the peer, once that time passes `grace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MinRate {
    pub(crate) bytes_per_sec: u64,
    pub(crate) grace: Duration,
}

/// Why a guard gave up on its peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trip {
    /// No progress for the idle timeout.
    Idle(Duration),
    /// Slower than the minimum rate.
    Slow(u64),
}

impl fmt::Display for Trip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trip::Idle(d) => write!(f, "no progress for {:.1}s", d.as_secs_f64()),
            Trip::Slow(rate) => write!(f, "slower than the minimum data rate of {rate} bytes/s"),
        }
    }
}

/// Watches one direction of a peer. `progress` is called with what each
/// ready operation moved, `poll_pending` whenever the operation was
/// `Pending`; the guard then keeps a timer armed for the moment it would
/// trip, so it trips even if nothing else wakes the task.
pub(crate) struct RateGuard {
    idle: Option<Duration>,
    rate: Option<MinRate>,
    /// Bytes moved so far.
    moved: u64,
    /// Time spent waiting, not counting the current wait.
    waited: Duration,
    pending_since: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl fmt::Debug for RateGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateGuard")
            .field("idle", &self.idle)
            .field("rate", &self.rate)
            .field("moved", &self.moved)
            .field("waited", &self.waited)
            .finish()
    }
}

impl RateGuard {
    pub(crate) fn new(idle: Option<Duration>, rate: Option<MinRate>) -> Self {
        RateGuard {
            idle,
            rate: rate.filter(|r| r.bytes_per_sec > 0),
            moved: 0,
            waited: Duration::ZERO,
            pending_since: None,
            sleep: None,
        }
    }

    pub(crate) fn is_off(&self) -> bool {
        self.idle.is_none() && self.rate.is_none()
    }

    /// An operation moved `n` bytes.
    pub(crate) fn progress(&mut self, n: usize) {
        if let Some(since) = self.pending_since.take() {
            self.waited += since.elapsed();
        }
        self.moved += n as u64;
    }

    /// An operation is waiting on the peer: trips, or arms the timer.
    pub(crate) fn poll_pending(&mut self, cx: &mut Context<'_>) -> Result<(), Trip> {
        if self.is_off() {
            return Ok(());
        }
        loop {
            let now = Instant::now();
            let since = *self.pending_since.get_or_insert(now);
            let this_wait = now.saturating_duration_since(since);
            let mut deadline: Option<Instant> = None;
            if let Some(idle) = self.idle {
                if this_wait >= idle {
                    return Err(Trip::Idle(idle));
                }
                deadline = Some(since + idle);
            }
            if let Some(rate) = self.rate {
                // Trips once the waiting time passes both the grace period
                // and the time the bytes moved so far would take at the
                // minimum rate.
                let earned = Duration::from_secs_f64(self.moved as f64 / rate.bytes_per_sec as f64);
                let allowed = earned.max(rate.grace);
                let total = self.waited + this_wait;
                if total >= allowed {
                    return Err(Trip::Slow(rate.bytes_per_sec));
                }
                let at = now + (allowed - total);
                deadline = Some(deadline.map_or(at, |d| d.min(at)));
            }
            let Some(deadline) = deadline else {
                return Ok(());
            };
            let sleep = match self.sleep.as_mut() {
                Some(s) => {
                    if s.deadline() != deadline {
                        s.as_mut().reset(deadline);
                    }
                    s
                }
                None => self
                    .sleep
                    .insert(Box::pin(tokio::time::sleep_until(deadline))),
            };
            match sleep.as_mut().poll(cx) {
                Poll::Pending => return Ok(()),
                // The deadline has passed: check again (it trips now).
                Poll::Ready(()) => continue,
            }
        }
    }
}
