//! TCP sockets as weir duplexes: a readable half and a writable half with
//! independent buffers.
//!
//! - [`TcpStream`]: a connected socket; [`into_split`](TcpStream::into_split)
//!   gives its [`TcpReader`] (a stream of `Bytes`) and its [`TcpWriter`] (a
//!   weir [`Writer`](weir_core::Writer) in front of the socket, with Node's
//!   `write()` → `false` and `'drain'`).
//! - [`TcpListener`], [`listen`] and [`connect`]: the helpers to get one.
//! - [`TcpStreamBuilder`]: the write high mark, the read chunk size and
//!   `TCP_NODELAY`.
//!
//! # Backpressure
//! Writing: chunks go into a bounded buffer (64 KiB high mark by default)
//! that a task of the writer drains into the socket. When the peer reads
//! slowly the kernel's send buffer fills, the task waits, the weir buffer
//! fills, and [`TcpWriter::write`] answers [`Written::Full`](weir_core::Written::Full)
//! (or [`TcpWriter::send`] waits) until it drains: Node's `socket.write()`
//! returning `false` and its `'drain'` event.
//!
//! Reading: the reader reads the socket only when it is polled, so a slow
//! consumer leaves data in the kernel's receive buffer, the TCP window
//! closes, and the sender's writes stop. weir adds no read-ahead of its own.
//!
//! # Closing
//! [`TcpWriter::end`] (or closing it as a `Sink`) writes what is buffered,
//! then shuts down the socket's write side (a FIN): the peer sees the end of
//! its stream while this side can go on reading (half-close).
//! [`TcpWriter::abort`] and dropping the writer without ending it discard
//! what is buffered and reset the connection once both halves are gone, so
//! the peer never mistakes a broken transfer for a complete one.
//!
//! # Memory use
//! A writer holds at most its high mark plus one chunk in its buffer, and
//! at most as much again in the batch its task is writing. A reader holds
//! one chunk.
mod tcp_listener;
mod tcp_reader;
mod tcp_stream;
mod tcp_stream_builder;
mod tcp_writer;

pub use self::tcp_listener::{TcpListener, listen};
pub use self::tcp_reader::TcpReader;
pub use self::tcp_stream::{TcpStream, connect};
pub use self::tcp_stream_builder::TcpStreamBuilder;
pub use self::tcp_writer::TcpWriter;
