//! weir-io: files, standard streams, TCP sockets and HTTP bodies as weir
//! readables and writables.
//!
//! - [`net`]: a TCP socket as a duplex (Node's `net.Socket`): a readable
//!   half and a writable half with a write high mark, `write()`/`drained()`
//!   and half-close.
//! - [`http`]: HTTP/1.1 on hyper 1: response bodies pulled from readables,
//!   request and download bodies as readables with limits, a server guarded
//!   against slow clients, a static file server and a client.
//!
//! - [`FileSource`]: a file as a stream of `Bytes` chunks (64 KiB by
//!   default), read in large blocks on Tokio's blocking pool with one block
//!   of read-ahead (Node's `fs.createReadStream`).
//! - [`FileSink`]: a `Sink<Bytes>` writing a file in large batches with one
//!   batch in flight while the next fills, optionally *atomic* (a temporary
//!   file renamed over the target on success, removed on failure) and
//!   optionally `fsync`ed (Node's `fs.createWriteStream`, plus the atomic
//!   write every careful command-line tool wants).
//! - [`BlockingSource`] and [`BlockingSink`]: the same machinery over any
//!   `std::io::Read` or `std::io::Write`; [`stdin()`] and [`stdout()`] are
//!   the two most common.
//! - [`ByteCounter`]: how many bytes a source handed out or a sink wrote,
//!   readable from anywhere while it runs (for a progress bar or a report).
//!
//! # Why blocks and the blocking pool
//! Regular files have no readiness notifications, so every async file read
//! or write in Tokio is a plain blocking call run on the blocking pool. What
//! such a hop costs is paid per call, so the hop must move a lot of data: a
//! source reads one block (1 MiB by default) per hop and hands it out in
//! chunks split off without copying; a sink gathers chunks into a batch
//! (1 MiB by default) and writes the whole batch with vectored writes in one
//! hop. One block is read ahead and one batch is written behind, so the disk
//! works while the rest of the pipeline does.
//!
//! # Memory use
//! A source holds at most two blocks (the one being handed out and the one
//! being read); a sink at most two batches (the one filling and the one
//! being written) plus one chunk. Chunks handed downstream keep their block
//! alive until they are dropped, so what the rest of a pipeline buffers is
//! bounded by its own high marks.
//!
//! # Cancellation
//! Dropping a source or a sink never blocks and never panics. A blocking
//! read or write already running finishes on its own and its result is
//! thrown away. An atomic [`FileSink`] dropped before a successful close
//! removes its temporary file at once, leaving the target as it was.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod trace;

mod blocking;
mod context;
mod counter;
mod file;
mod gauge;
pub mod http;
pub mod net;
mod read_engine;
mod spawn;
mod write_engine;

pub use blocking::{
    BlockingSink, BlockingSinkBuilder, BlockingSource, BlockingSourceBuilder, stdin, stdout,
};
pub use counter::ByteCounter;
pub use file::{FileSink, FileSinkBuilder, FileSource, FileSourceBuilder};

/// The default block size: how much one blocking read or write moves
/// (1 MiB; not part of the semver contract).
pub const DEFAULT_BLOCK_SIZE: usize = 1024 * 1024;

/// The default chunk size a source hands out (64 KiB, Node's file
/// `highWaterMark`).
pub const DEFAULT_CHUNK_SIZE: usize = weir_core::DEFAULT_BYTES;
