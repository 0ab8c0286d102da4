//! Acknowledgement handles that travel with the data.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::message::Acker;
use weir_core::Error;

use crate::stats::Counters;

/// What one JetStream delivery needs to be settled later: the reply subject
/// (inside the `Acker`) and the figures that decide between a negative
/// acknowledgement and a termination.
struct Delivery {
    acker: Acker,
    stream_sequence: u64,
    delivered: u64,
    /// The consumer's `max_deliver` (`None`: unlimited).
    max_deliver: Option<u64>,
    counters: Arc<Counters>,
    /// Some part was failed: the message has been settled negatively.
    failed: AtomicBool,
    /// Some part was dropped without being committed or failed.
    abandoned: AtomicBool,
}

impl Delivery {
    async fn send(&self, kind: AckKind) -> Result<(), Error> {
        self.acker
            .ack_with(kind)
            .await
            .map_err(|e| Error::other(e).with_stage("ack"))
    }
}

/// One part of a delivery: the delivery is acknowledged when its last part
/// is committed.
struct Part {
    delivery: Arc<Delivery>,
    /// Committed or failed: dropping it is not an abandonment.
    settled: bool,
}

impl Part {
    fn share(&self) -> Part {
        Part {
            delivery: self.delivery.clone(),
            settled: false,
        }
    }

    /// Settles this part; the delivery if this was its last part.
    fn take_last(mut self) -> Option<Arc<Delivery>> {
        self.settled = true;
        let delivery = self.delivery.clone();
        drop(self);
        // Of every clone that reaches this point, exactly one gets `Some`.
        Arc::into_inner(delivery).map(Arc::new)
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if !self.settled {
            self.delivery.abandoned.store(true, Ordering::Release);
        }
    }
}

/// The acknowledgement handle of an item read from JetStream: the sink
/// calls [`commit`](Ack::commit) once it has durably taken the item (a file
/// fsync'd, an HTTP 2xx, a publish acknowledged), or [`fail`](Ack::fail) if
/// it could not.
///
/// # Parts
/// A transform that splits one item into several gives each piece a
/// [`share`](Ack::share) of the handle: the message is acknowledged when the
/// last share is committed. One that merges several items into one
/// [`merge`](Ack::merge)s their handles: committing the result commits
/// each. A share dropped without being committed or failed (an item lost
/// to a cancelled run) keeps the message from being acknowledged, so the
/// broker delivers it again, to this worker or another, after the
/// consumer's `ack_wait` (or at once, if another share is committed later:
/// that commit sends a negative acknowledgement instead). A transform that
/// drops an item on purpose (a filter) commits its handle first.
///
/// Acknowledgements are explicit, one per message, never "everything up to
/// here": several workers may share one durable consumer.
pub struct Ack {
    parts: Parts,
}

enum Parts {
    One(Part),
    Many(Vec<Part>),
}

impl fmt::Debug for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sequences: Vec<u64> = self.parts().map(|p| p.delivery.stream_sequence).collect();
        f.debug_struct("Ack")
            .field("stream_sequences", &sequences)
            .finish()
    }
}

/// How a failed item was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Settled {
    /// Negatively acknowledged with a delay: the broker delivers it again.
    Redelivered,
    /// Delivered `max_deliver` times already: terminated, never delivered again.
    Terminated,
    /// Another share of the same message was settled first.
    AlreadySettled,
}

impl Ack {
    pub(crate) fn new(
        acker: Acker,
        stream_sequence: u64,
        delivered: u64,
        max_deliver: Option<u64>,
        counters: Arc<Counters>,
    ) -> Ack {
        Ack {
            parts: Parts::One(Part {
                delivery: Arc::new(Delivery {
                    acker,
                    stream_sequence,
                    delivered,
                    max_deliver,
                    counters,
                    failed: AtomicBool::new(false),
                    abandoned: AtomicBool::new(false),
                }),
                settled: false,
            }),
        }
    }

    fn parts(&self) -> impl Iterator<Item = &Part> {
        let (one, many) = match &self.parts {
            Parts::One(p) => (Some(p), &[][..]),
            Parts::Many(v) => (None, &v[..]),
        };
        one.into_iter().chain(many.iter())
    }

    fn into_parts(self) -> Vec<Part> {
        match self.parts {
            Parts::One(p) => vec![p],
            Parts::Many(v) => v,
        }
    }

    /// Another share of the same message(s), for one piece of an item
    /// that a transform splits.
    pub fn share(&self) -> Ack {
        Ack {
            parts: match &self.parts {
                Parts::One(p) => Parts::One(p.share()),
                Parts::Many(v) => Parts::Many(v.iter().map(Part::share).collect()),
            },
        }
    }

    /// One handle for several, for an item that a transform merges from
    /// several: committing it commits each.
    pub fn merge(acks: impl IntoIterator<Item = Ack>) -> Ack {
        let mut parts = Vec::new();
        for ack in acks {
            parts.extend(ack.into_parts());
        }
        Ack {
            parts: Parts::Many(parts),
        }
    }

    /// The stream sequence numbers of the messages this handle settles.
    pub fn stream_sequences(&self) -> Vec<u64> {
        self.parts().map(|p| p.delivery.stream_sequence).collect()
    }

    /// How many times the broker has delivered the message (the most, for
    /// a merged handle): 1 the first time.
    pub fn delivered(&self) -> u64 {
        self.parts()
            .map(|p| p.delivery.delivered)
            .max()
            .unwrap_or(0)
    }

    /// Commits this share: the message is acknowledged once every share
    /// of it has been committed (and none failed or was dropped).
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future may leave the acknowledgement
    /// unsent; the broker then delivers the message again after its
    /// `ack_wait` (at-least-once, never lost).
    ///
    /// # Errors
    /// The connection could not take the acknowledgement (stage `ack`).
    pub async fn commit(self) -> Result<(), Error> {
        for part in self.into_parts() {
            let Some(delivery) = part.take_last() else {
                continue;
            };
            if delivery.failed.load(Ordering::Acquire) {
                continue;
            }
            if delivery.abandoned.load(Ordering::Acquire) {
                // A piece was lost: let the broker deliver it again now.
                delivery.send(AckKind::Nak(None)).await?;
                delivery.counters.naked.add(1);
                continue;
            }
            delivery.send(AckKind::Ack).await?;
            delivery.counters.acked.add(1);
        }
        Ok(())
    }

    /// Fails the item: the message is negatively acknowledged with `delay`
    /// (the broker delivers it again after it), or, once the broker has
    /// delivered it the consumer's `max_deliver` times, terminated (never
    /// delivered again) and counted in the source's
    /// [`terminated`](crate::SourceStats::terminated). Other shares of the
    /// message then commit nothing.
    ///
    /// # Cancel safety
    /// Not cancel safe: dropping the future may leave the negative
    /// acknowledgement unsent; the broker delivers the message again after
    /// its `ack_wait` instead.
    ///
    /// # Errors
    /// The connection could not take the answer (stage `ack`).
    pub async fn fail(self, delay: Duration) -> Result<Settled, Error> {
        let mut outcome = Settled::AlreadySettled;
        for mut part in self.into_parts() {
            part.settled = true;
            let d = part.delivery.clone();
            drop(part);
            if d.failed.swap(true, Ordering::AcqRel) {
                continue;
            }
            if d.max_deliver.is_some_and(|max| d.delivered >= max) {
                d.send(AckKind::Term).await?;
                d.counters.terminate(d.stream_sequence);
                outcome = Settled::Terminated;
            } else {
                d.send(AckKind::Nak(Some(delay))).await?;
                d.counters.naked.add(1);
                if outcome == Settled::AlreadySettled {
                    outcome = Settled::Redelivered;
                }
            }
        }
        Ok(outcome)
    }
}

/// An item read from JetStream with its acknowledgement handle.
///
/// Transforms keep the handle: [`map`](Acked::map) for one item in, one
/// out; [`split`](Acked::split) for one in, several out (the message is
/// acknowledged when every piece is committed); [`merge`](Acked::merge)
/// for several in, one out.
///
/// # Examples
/// ```no_run
/// use futures::TryStreamExt;
/// use weir_nats::{Acked, JetStreamSource};
///
/// # #[allow(dead_code)]
/// # async fn demo(js: weir_nats::async_nats::jetstream::Context) -> Result<(), weir_core::Error> {
/// let mut source = JetStreamSource::builder(js, "EVENTS", "workers").open().await?;
/// while let Some(item) = source.try_next().await? {
///     let upper: Acked<String> = item.map(|b| String::from_utf8_lossy(&b).to_uppercase());
///     let (text, ack) = upper.into_parts();
///     println!("{text}"); // commit only after the output has taken it
///     ack.commit().await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Acked<T> {
    value: T,
    ack: Ack,
}

impl<T> Acked<T> {
    /// `value` with its handle.
    pub fn new(value: T, ack: Ack) -> Self {
        Acked { value, ack }
    }

    /// The value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The value, mutably.
    pub fn value_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// The handle.
    pub fn ack(&self) -> &Ack {
        &self.ack
    }

    /// The value and the handle.
    pub fn into_parts(self) -> (T, Ack) {
        (self.value, self.ack)
    }

    /// The value changed by `f`, with the same handle.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Acked<U> {
        Acked {
            value: f(self.value),
            ack: self.ack,
        }
    }

    /// The value split into pieces, each with a share of the handle (the
    /// message is acknowledged when every piece has been committed). No
    /// piece at all settles nothing: commit the returned handle instead.
    pub fn split<U>(self, pieces: impl IntoIterator<Item = U>) -> (Vec<Acked<U>>, Option<Ack>) {
        let mut out: Vec<Acked<U>> = Vec::new();
        for piece in pieces {
            out.push(Acked {
                value: piece,
                ack: self.ack.share(),
            });
        }
        if out.is_empty() {
            (out, Some(self.ack))
        } else {
            // The original share is not needed: settle it so it does not
            // count as lost.
            for part in self.ack.into_parts() {
                let mut part = part;
                part.settled = true;
            }
            (out, None)
        }
    }

    /// Several items merged into one by `f`, with one handle that settles
    /// them all.
    pub fn merge<U>(items: Vec<Acked<T>>, f: impl FnOnce(Vec<T>) -> U) -> Acked<U> {
        let mut values = Vec::with_capacity(items.len());
        let mut acks = Vec::with_capacity(items.len());
        for item in items {
            values.push(item.value);
            acks.push(item.ack);
        }
        Acked {
            value: f(values),
            ack: Ack::merge(acks),
        }
    }
}
