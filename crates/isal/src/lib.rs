//! A safe, sans-IO raw DEFLATE (RFC 1951) decoder over the inflate of
//! Intel's ISA-L ("igzip"), for `weir-codecs`' gzip decoder.
//!
//! ISA-L's inflate decodes the same streams as zlib-rs (with its SIMD paths)
//! at about 1.25–1.35 times the speed on this project's x86-64 machine (see
//! `docs/benchmarks.md`).
//! This crate is the only place in weir that calls it: every `unsafe`
//! block is here, next to the argument for why it is sound, and the rest of
//! the workspace keeps `#![forbid(unsafe_code)]`.
//!
//! `Inflate` decodes one raw DEFLATE stream, given its input in pieces of
//! any size, into the spare capacity of a `Vec<u8>`. It never consumes a
//! byte past the end of the stream: bytes that ISA-L had already taken into
//! its bit buffer when the final block ended are handed back by
//! `Inflate::take_unused`, so a container format (gzip's trailer, the next
//! member) can go on reading exactly where the DEFLATE data stopped.
//!
//! The decoder is compiled only with this crate's `ffi` feature, which
//! builds ISA-L from source and so needs nasm, autoconf, automake, libtool
//! and make. Without it the crate is empty: `cargo test --workspace` on a
//! machine without those tools builds it in no time, and weir-codecs' `isal`
//! feature is what turns `ffi` on.
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(feature = "ffi")]
mod inflate;

#[cfg(feature = "ffi")]
pub use inflate::{Inflate, InflateError, Step, Unused};
