//! Streams with real backpressure on Tokio.
//!
//! weir maps the stream model of Node.js — readable, writable, duplex and
//! transform streams, a `highWaterMark`, `write()` returning `false`, the
//! `'drain'` event, `pipe()` and `pipeline()` — onto Rust's own async traits
//! (`Stream`, `Sink`, `AsyncRead`, `AsyncWrite`). Every stage is joined by a
//! bounded buffer, so a producer never runs further ahead of a slow consumer
//! than the buffers allow, and each buffer counts what it did, so a run can
//! say which stage held it back.
//!
//! # A tour
//!
//! This crate is a facade over a few small crates; everything is reachable
//! from here.
//!
//! - **The buffer and the stream kinds** (the crate root, from `weir-core`):
//!   [`buffer()`] joins a [`Writer`] (Node's `Writable`: [`Writer::write`]
//!   returns [`Written::Full`] where Node's `write()` returns `false`, and
//!   [`Writer::drained`] is `'drain'`) to a [`Reader`] (a `Stream`, and an
//!   `AsyncRead` for bytes), bounded by a [`Limit`] in bytes or items.
//!   [`readable`] and [`writable`] adapt any `AsyncRead`, iterator, `Stream`
//!   or `AsyncWrite`; [`duplex()`] gives two independent halves; a
//!   [`Transform`] is a synchronous chunk-to-chunks step, run over a stream by
//!   [`ReadableExt::through`] so backpressure crosses it. [`Error`] tells a
//!   clean end, an abort, a dropped writer, corrupt data and a limit apart;
//!   [`Stats`] counts every buffer's Full episodes, drains and peak.
//! - **Pipelines** ([`pipe`](mod@pipe), from `weir-pipe`): [`pipe::pipe`]
//!   moves one readable into one writable, [`pipe::Pipeline`] chains a source,
//!   named transforms and a sink on their own tasks, and its run returns a
//!   [`pipe::Report`] that names the bottleneck. [`pipe::Throttle`] makes a
//!   slow consumer on demand. Async operators — `map_async` with bounded
//!   concurrency, `filter_async`, `batch`, `take`, `inspect` — are
//!   `Pipeline` stages, and [`pipe::ReadableOps`] methods on any readable;
//!   [`writable::from_fn`] makes a writable of an async function.
//! - **Codecs** ([`codecs`], from `weir-codecs`): gzip, raw DEFLATE, zlib,
//!   zstd and brotli encoders and decoders (and, with the `xz`, `bzip2` and
//!   `lz4` features, xz, `.lzma` decoding, bzip2 and LZ4 frames, through
//!   async-compression's codecs), with decompression limits, and lines,
//!   UTF-8 and length-delimited framing, all as [`Transform`]s; any
//!   `tokio-util` codec as one (`codecs::CodecDecoder`,
//!   `codecs::CodecEncoder`).
//! - **I/O** ([`io`], from `weir-io`): files (an atomic, optionally
//!   `fsync`ed sink), standard streams, TCP sockets as duplexes ([`io::net`])
//!   and HTTP/1.1 on hyper 1 ([`io::http`]: bodies, pipelines as bodies, a
//!   guarded server for weir handlers and tower services such as an axum
//!   `Router`, content-coding negotiation, a static file server, a client).
//! - **Testing** (`weir::testing`, feature `testing`): the conformance kit
//!   weir checks its own adapters and transforms with — adversarial I/O
//!   wrappers and a checker for your own.
//!
//! [`prelude`] holds the names most programs need.
//!
//! # Features
//!
//! - `testing`: the conformance kit, `weir::testing`.
//! - `xz`, `bzip2`, `lz4`: those formats in [`codecs`] (weir-codecs'
//!   features of the same names, over async-compression's codecs). liblzma
//!   and liblz4 build from the C sources their crates bundle, with the C
//!   compiler alone; bzip2 is Rust (libbz2-rs).
//! - `isal`: decode gzip with Intel ISA-L's inflate instead of zlib-rs
//!   (1.09–1.14 times as fast for a whole `weir gunzip` here). Its build
//!   compiles ISA-L from source and needs nasm, autoconf, automake, libtool
//!   and make; the default build needs only Cargo and a C compiler.
//! - `metrics`: every pipeline run publishes its stages' figures to the
//!   `metrics` facade, labelled by stage (`weir::pipe::metrics`: the
//!   series, `BufferMetrics` for a lone buffer, `TextRecorder` to render
//!   Prometheus text).
//! - `svg`: draw a run's timeline as an SVG chart
//!   (`weir::pipe::Timeline::to_svg`; plotters' SVG backend, pure Rust, no
//!   font files). Timelines themselves, their JSON and the stall watchdog
//!   need no feature.
//!
//! # Example
//!
//! A producer that honours `write()`'s answer and waits for `'drain'`:
//!
//! ```
//! use bytes::Bytes;
//! use futures::StreamExt;
//! use weir::{Limit, Written, buffer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), weir::Error> {
//! let (mut tx, mut rx) = buffer::<Bytes>(Limit::bytes(16 * 1024)); // highWaterMark
//! let consumer = tokio::spawn(async move {
//!     let mut total = 0;
//!     while let Some(chunk) = rx.next().await {
//!         total += chunk?.len();
//!     }
//!     Ok::<_, weir::Error>(total)
//! });
//! for _ in 0..1000 {
//!     if tx.write(Bytes::from_static(&[0; 1024]))? == Written::Full {
//!         tx.drained().await?; // once('drain')
//!     }
//! }
//! tx.end();
//! assert_eq!(consumer.await.expect("consumer task")?, 1000 * 1024);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use weir_core::*;

/// Pipelines, `pipe()`, throttling and run reports: the `weir-pipe` crate.
///
/// Start with [`Pipeline`](weir_pipe::Pipeline) for a chain of named stages
/// whose run reports its bottleneck, or [`pipe()`](weir_pipe::pipe) for one
/// readable into one writable.
pub use weir_pipe as pipe;

/// Compression (gzip, deflate, zlib, zstd, brotli) with decompression
/// limits, and text and framing transforms: the `weir-codecs` crate.
pub use weir_codecs as codecs;

/// Files, standard streams, TCP and HTTP as readables and writables: the
/// `weir-io` crate.
pub use weir_io as io;

/// NATS JetStream sources and sinks with end-to-end backpressure and
/// at-least-once delivery: the `weir-nats` crate (feature `nats`).
#[cfg(feature = "nats")]
#[cfg_attr(docsrs, doc(cfg(feature = "nats")))]
pub use weir_nats as nats;

/// The names most programs need, for a glob import.
pub mod prelude {
    pub use weir_core::{
        Error, Limit, Readable, ReadableExt, Transform, TransformExt, Writable, Written, buffer,
    };
    pub use weir_pipe::{Pipeline, ReadableOps, pipe};
}

// The README's Rust examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
