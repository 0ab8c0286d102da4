//! weir-codecs: compression and framing as weir [`Transform`](weir_core::Transform)s.
//!
//! # Compression
//! Each format has an encoder and a decoder, all `Transform<In = Bytes, Out
//! = Bytes>`, run over a stream with [`ReadableExt::through`](weir_core::ReadableExt::through)
//! or as a pipeline stage:
//!
//! | format | encoder | decoder | library |
//! |---|---|---|---|
//! | gzip (RFC 1952) | [`GzipEncoder`] (levels 0–9) | [`GzipDecoder`] (multi-member) | flate2 on zlib-rs (decoding on ISA-L with the `isal` feature), gzip framing here |
//! | raw DEFLATE (RFC 1951) | [`DeflateEncoder`] (0–9) | [`DeflateDecoder`] | flate2 on zlib-rs |
//! | zlib (RFC 1950) | [`ZlibEncoder`] (0–9) | [`ZlibDecoder`] | flate2 on zlib-rs |
//! | Zstandard (RFC 8878) | [`ZstdEncoder`] (1–22) | [`ZstdDecoder`] (multi-frame) | libzstd via `zstd` |
//! | brotli (RFC 7932) | [`BrotliEncoder`] (0–11) | [`BrotliDecoder`] | `brotli` (pure Rust) |
//! | xz (feature `xz`) | `XzEncoder` (0–9) | `XzDecoder` (multi-stream) | liblzma, through async-compression's codecs |
//! | lzma, `.lzma` (feature `xz`) | — | `LzmaDecoder` | liblzma, through async-compression's codecs |
//! | bzip2 (feature `bzip2`) | `Bzip2Encoder` (1–9) | `Bzip2Decoder` (multi-stream) | libbz2-rs (pure Rust), through async-compression's codecs |
//! | LZ4 frames (feature `lz4`) | `Lz4Encoder` (1–12) | `Lz4Decoder` (multi-frame) | liblz4, through async-compression's codecs |
//!
//! xz, bzip2 and LZ4 are off by default (liblzma and liblz4 are C, built
//! from the sources their crates bundle with the C compiler alone); the
//! `weir` command has them, and the `weir` facade forwards the features.
//!
//! The codecs are sans-IO: synchronous state machines over input and output
//! buffers, driven by weir's pull-driven transform adapter, so backpressure
//! crosses them like any other stage.
//!
//! ## Bad input
//! A decoder never returns a silently short output: truncated input (at any
//! byte, including empty input), bad magic numbers, corrupt compressed data,
//! checksum and length mismatches and trailing garbage each end the stream
//! with an error for which `Error::is_corrupt` is true, whose message names
//! the format and, where it is known, the byte offset. Output decoded before
//! the bad bytes is emitted first, as `gunzip` writes it before failing
//! (gzip on ISA-L, the `isal` feature, drops the output of the one decoder
//! call that found the bad bytes: at most one output chunk).
//! No input makes a codec panic or loop; the fuzz targets in `fuzz/` and the
//! arbitrary-input property tests check that.
//!
//! ## Memory and decompression limits
//! A decoder emits at most one output chunk (256 KiB by default) per call and
//! keeps the rest of its input for [`Transform::resume`](weir_core::Transform::resume):
//! a 64 KiB chunk of a decompression bomb never becomes gigabytes in memory.
//! What it may emit *in total* is bounded by its builder's `max_output`
//! (bytes) and `max_ratio` (output per compressed byte); going past either
//! fails with an error for which `Error::is_limit` is true, after exactly the
//! allowed output. There are no limits by default, as with `gunzip`.
//!
//! ## Live streams
//! Decoders hand on output as soon as it is decoded (for gzip, a finished
//! member's data and end are never held back waiting for the next member).
//! Encoders can sync-flush ([`SyncFlush`] per chunk or per so many bytes,
//! or, with `flush_on_empty(true)`, whenever [`flush_when_idle`] sees the
//! upstream has nothing ready), and always end the stream with its complete
//! trailer when the input ends.
//!
//! # Text and framing
//! - [`Lines`]: split bytes into lines on `\n` (and `\r\n`), with a maximum
//!   line length.
//! - [`Utf8Decoder`]: bytes to `String` chunks, never splitting a character,
//!   with invalid sequences an error or replaced (Node's `setEncoding`).
//! - [`FrameDecoder`] / [`FrameEncoder`]: length-delimited frames, over
//!   `tokio-util`'s `LengthDelimitedCodec`.
//! - [`CodecDecoder`] / [`CodecEncoder`]: any `tokio-util` `Decoder` as a
//!   transform from bytes to frames, any `Encoder` as one from items to
//!   bytes (`LinesCodec`, `AnyDelimiterCodec`, your own), with a bound on
//!   the frame being read.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod brotli;
#[cfg(feature = "bzip2")]
mod bzip2;
mod codec;
mod deflate;
mod engine;
mod flush_when_idle;
mod frame;
pub(crate) mod gzip;
#[cfg(feature = "lz4")]
mod lz4;
mod pool_impl;
mod sync_flush;
mod text;
mod trailing;
#[cfg(feature = "xz")]
mod xz;
mod zlib;
mod zstd;

pub use self::brotli::{BrotliDecoder, BrotliDecoderBuilder, BrotliEncoder, BrotliEncoderBuilder};
#[cfg(feature = "bzip2")]
#[cfg_attr(docsrs, doc(cfg(feature = "bzip2")))]
pub use self::bzip2::{Bzip2Decoder, Bzip2DecoderBuilder, Bzip2Encoder, Bzip2EncoderBuilder};
pub use self::codec::{CodecDecoder, CodecEncoder, DEFAULT_MAX_FRAME};
pub use self::deflate::{
    DeflateDecoder, DeflateDecoderBuilder, DeflateEncoder, DeflateEncoderBuilder,
};
pub use self::flush_when_idle::{FlushWhenIdle, flush_when_idle};
pub use self::frame::{FrameDecoder, FrameEncoder};
pub use self::gzip::{
    GzipDecoder, GzipDecoderBuilder, GzipEncoder, GzipEncoderBuilder, GzipHeader,
};
#[cfg(feature = "lz4")]
#[cfg_attr(docsrs, doc(cfg(feature = "lz4")))]
pub use self::lz4::{Lz4Decoder, Lz4DecoderBuilder, Lz4Encoder, Lz4EncoderBuilder};
pub use self::sync_flush::SyncFlush;
pub use self::text::{Invalid, Lines, LinesBuilder, Utf8Decoder};
pub use self::trailing::Trailing;
#[cfg(feature = "xz")]
#[cfg_attr(docsrs, doc(cfg(feature = "xz")))]
pub use self::xz::{
    LzmaDecoder, LzmaDecoderBuilder, XzDecoder, XzDecoderBuilder, XzEncoder, XzEncoderBuilder,
};
pub use self::zlib::{ZlibDecoder, ZlibDecoderBuilder, ZlibEncoder, ZlibEncoderBuilder};
pub use self::zstd::{ZstdDecoder, ZstdDecoderBuilder, ZstdEncoder, ZstdEncoderBuilder};

/// The DEFLATE decoder under [`GzipDecoder`] in this build: `"isa-l"` with
/// the `isal` feature (Intel ISA-L's inflate, through `weir-isal`), else
/// `"zlib-rs"` (through flate2). Raw DEFLATE and zlib always decode on
/// zlib-rs.
pub const GZIP_INFLATE_LIBRARY: &str = if cfg!(feature = "isal") {
    "isa-l"
} else {
    "zlib-rs"
};
