//! Zstandard (RFC 8878).
mod zstd_decoder;
mod zstd_encoder;
pub(crate) mod zstd_impl;

pub use self::zstd_decoder::{ZstdDecoder, ZstdDecoderBuilder};
pub use self::zstd_encoder::{ZstdEncoder, ZstdEncoderBuilder};
