//! NATS JetStream sources and sinks for weir, with the broker's flow
//! control bridged to weir's marks and at-least-once delivery.
//!
//! - [`JetStreamSource`]: a durable pull consumer as a readable of
//!   [`Acked<Bytes>`](Acked): it pulls only when polled, at most two pull
//!   requests' worth ahead, so a slow sink slows the fetching from the
//!   cluster; the consumer's `max_ack_pending` bounds what is between the
//!   fetch and the commits.
//! - [`Ack`]: the acknowledgement handle each item carries through the
//!   transforms (kept on a map, shared on a split, merged on a batch). The
//!   sink commits it once the item is durably written; a failed item is
//!   negatively acknowledged with a delay, and terminated after the
//!   consumer's `max_deliver` deliveries.
//! - [`JetStreamSink`]: publishing as a writable, with a bounded window of
//!   unacknowledged publishes (full: [`Written::Full`](weir_core::Written);
//!   acknowledgements drain it) and a `Nats-Msg-Id` on every message so a
//!   retry after a failover is not stored twice.
//! - [`Batches`]: commit batches bounded in messages and in bytes, so that
//!   what a consumer holds between the fetch and the commit is bounded in
//!   bytes whatever the messages' sizes.
//! - [`SourceStats::broker`]: the broker's side (pending, acks pending,
//!   redeliveries).
//!
//! # Guarantees
//! At-least-once: a message is acknowledged only after every piece of it
//! has been committed by a sink, so a worker that dies loses nothing (its
//! unacknowledged messages are delivered again, to it or another worker,
//! after `ack_wait`), and may see a message twice. With an idempotent sink
//! (keyed by the stream sequence, or a publish with a message ID) that is
//! effectively once. See docs/scale-out.md.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod ack;
mod batches;
mod connect;
mod publisher;
mod source;
mod stats;

pub use self::ack::{Ack, Acked, Settled};
pub use self::batches::Batches;
pub use self::connect::{DEFAULT_RECONNECT_FOR, connect, connect_with};
pub use self::publisher::{
    DEFAULT_WINDOW, JetStreamSink, PublishCounters, PublishCounts, PublisherBuilder, check_subject,
};
pub use self::source::{DEFAULT_BATCH, DEFAULT_MAX_BYTES, JetStreamSource, SourceBuilder};
pub use self::stats::{BrokerCounts, SourceCounts, SourceStats};

/// The NATS client this crate is built on, for its connection options and
/// the JetStream management calls (streams, consumers).
pub use async_nats;
