//! What a source and a sink count, and what the broker reports.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_nats::jetstream::consumer::PullConsumer;
use weir_core::Error;

/// The most terminated sequence numbers a source remembers (the count goes
/// on past it).
const KEEP_TERMINATED: usize = 1000;

/// A counter bumped with relaxed atomics.
#[derive(Debug, Default)]
pub(crate) struct Count(AtomicU64);

impl Count {
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters a source and its handles share.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) pulls: Count,
    pub(crate) received: Count,
    pub(crate) bytes: Count,
    pub(crate) redelivered: Count,
    pub(crate) acked: Count,
    pub(crate) naked: Count,
    pub(crate) terminated: Count,
    pub(crate) released: Count,
    terminated_sequences: Mutex<Vec<u64>>,
}

impl Counters {
    pub(crate) fn terminate(&self, sequence: u64) {
        self.terminated.add(1);
        if let Ok(mut kept) = self.terminated_sequences.lock()
            && kept.len() < KEEP_TERMINATED
        {
            kept.push(sequence);
        }
    }
}

/// A handle on a [`JetStreamSource`](crate::JetStreamSource)'s counters
/// (cheap to clone; it outlives the source), and on the broker's view of its
/// consumer.
#[derive(Debug, Clone)]
pub struct SourceStats {
    pub(crate) counters: Arc<Counters>,
    pub(crate) consumer: PullConsumer,
}

/// A snapshot of what a source did, from this process's side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceCounts {
    /// Pull requests sent.
    pub pulls: u64,
    /// Messages received.
    pub received: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Messages received that the broker had delivered before (to this
    /// worker or another).
    pub redelivered: u64,
    /// Messages acknowledged.
    pub acked: u64,
    /// Messages negatively acknowledged (delivered again later).
    pub naked: u64,
    /// Messages terminated after `max_deliver` deliveries.
    pub terminated: u64,
    /// Messages fetched but never read, negatively acknowledged when the
    /// source stopped so that the broker delivers them again at once (to
    /// another worker) instead of after `ack_wait`.
    pub released: u64,
}

/// The broker's figures for a consumer (from its consumer info).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerCounts {
    /// Messages in the stream not yet delivered to the consumer: 0 means
    /// the workers are starved (they take messages as fast as they come).
    pub pending: u64,
    /// Messages delivered and not yet acknowledged, by all the workers
    /// sharing the consumer.
    pub ack_pending: u64,
    /// The consumer's limit on those (`max_ack_pending`): at it, the
    /// workers are blocked on their sinks.
    pub max_ack_pending: i64,
    /// Messages delivered more than once and not yet acknowledged.
    pub redelivered: u64,
    /// Pull requests waiting at the broker.
    pub waiting: u64,
    /// The consumer's last delivered stream sequence.
    pub delivered_stream_sequence: u64,
    /// The stream sequence below which every message is acknowledged.
    pub ack_floor_stream_sequence: u64,
}

impl BrokerCounts {
    /// Whether acknowledgements pending are at the consumer's limit: the
    /// broker holds further deliveries until the sinks commit.
    pub fn blocked_on_sinks(&self) -> bool {
        self.max_ack_pending > 0 && self.ack_pending >= self.max_ack_pending as u64
    }

    /// Whether nothing waits in the stream for this consumer.
    pub fn starved(&self) -> bool {
        self.pending == 0
    }
}

impl SourceStats {
    /// What the source has done so far.
    pub fn counts(&self) -> SourceCounts {
        let c = &self.counters;
        SourceCounts {
            pulls: c.pulls.get(),
            received: c.received.get(),
            bytes: c.bytes.get(),
            redelivered: c.redelivered.get(),
            acked: c.acked.get(),
            naked: c.naked.get(),
            terminated: c.terminated.get(),
            released: c.released.get(),
        }
    }

    /// The stream sequence numbers of the messages terminated (the first
    /// 1000).
    pub fn terminated(&self) -> Vec<u64> {
        self.counters
            .terminated_sequences
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Asks the broker for the consumer's figures.
    ///
    /// # Cancel safety
    /// Cancel safe: dropping the future loses only the answer.
    ///
    /// # Errors
    /// The request failed or timed out (stage `consumer info`).
    pub async fn broker(&self) -> Result<BrokerCounts, Error> {
        let info = self
            .consumer
            .get_info()
            .await
            .map_err(|e| Error::other(e).with_stage("consumer info"))?;
        Ok(BrokerCounts {
            pending: info.num_pending,
            ack_pending: info.num_ack_pending as u64,
            max_ack_pending: info.config.max_ack_pending,
            redelivered: info.num_redelivered as u64,
            waiting: info.num_waiting as u64,
            delivered_stream_sequence: info.delivered.stream_sequence,
            ack_floor_stream_sequence: info.ack_floor.stream_sequence,
        })
    }
}
