//! weir-core: streams with real backpressure on Tokio.
//!
//! This crate holds the pieces every other weir crate stands on:
//!
//! - [`buffer()`]: the bounded buffer joining a [`Writer`] and a [`Reader`],
//!   measured against a [`Limit`] (Node's `highWaterMark`), with Node's
//!   `write()` → `false` ([`Written::Full`]) and `'drain'`
//!   ([`Writer::drained`]).
//! - Readable adapters ([`readable`]): from an `AsyncRead` in chunks, from an
//!   iterator, from any `Stream`; and back to `AsyncRead`.
//! - Writable adapters ([`writable`]): a `Sink` over any `AsyncWrite` with a
//!   high mark and vectored writes.
//! - [`duplex()`]: two independent buffered halves.
//! - [`Transform`]: synchronous chunk-to-chunks transforms, run by a
//!   pull-driven adapter so backpressure crosses any chain of them.
//! - [`Error`], [`Stats`] and `tracing` events (target `weir::backpressure`).
//! - `testing` (feature `testing`): the conformance kit every adapter and
//!   transform in weir is checked with.
//!
//! Most users reach these through the `weir` facade crate.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod sync;
mod trace;

pub mod buffer;
mod duplex;
mod error;
mod limit;
pub mod readable;
mod stats;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod transform;
mod worker_busy;
pub mod writable;

pub use buffer::{BufferConfig, Overflow, Reader, Writer, Written, buffer};
pub use duplex::{Duplex, duplex};
pub use error::{BoxError, Error, SendError};
pub use limit::{DEFAULT_BYTES, DEFAULT_ITEMS, Limit, Unit};
pub use readable::{Readable, ReadableExt};
pub use stats::{Stats, StatsHandle};
pub use transform::{Output, Transform, TransformExt};
pub use worker_busy::WorkerBusy;
pub use writable::Writable;
