//! The conformance kit: adversarial wrappers and checkers that every weir
//! adapter and transform is tested with (feature `testing`).
//!
//! Real I/O is rarely as tidy as a test's `&[u8]`: sockets return one byte at
//! a time, files return short reads, peers answer `Pending` at awkward moments.
//! [`Chaos`] wraps any `AsyncRead`, `AsyncWrite`, `Stream` or `Sink` so that it
//! behaves like that, reproducibly (seeded). [`Check`] runs an adapter or a
//! transform under many such deliveries and asserts that:
//!
//! - the output is the same whatever the chunking and timing (or every run
//!   fails with the same kind of error);
//! - nothing hangs (each run has a timeout);
//! - backpressure holds: behind a small bounded buffer whose reader stalls,
//!   the stage stops pulling its input, and the buffer never holds more than
//!   its high mark plus one chunk.
//!
//! # Panics
//! The checkers panic with a description of the first violation, like
//! `assert!`; they are meant for tests.
//!
//! # Examples
//! ```
//! use bytes::Bytes;
//! use weir::testing::Check;
//! use weir::{Output, Transform};
//!
//! struct Upper;
//! impl Transform for Upper {
//!     type In = Bytes;
//!     type Out = Bytes;
//!     fn transform(&mut self, c: Bytes, out: &mut Output<Bytes>) -> Result<(), weir::Error> {
//!         out.push(Bytes::from(c.to_ascii_uppercase()));
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let out = Check::new().bytes(|| Upper, b"some text to shout").await.unwrap();
//! assert_eq!(out, "SOME TEXT TO SHOUT");
//! # }
//! ```
#![allow(clippy::panic)]

mod chaos;
mod check;
mod rng;

pub use self::chaos::{Chaos, ChaosRead, ChaosSink, ChaosStream, ChaosWrite, Rechunk};
pub use self::check::{Check, SharedVec};
pub use self::rng::Rng;
