//! brotli (RFC 7932).
mod brotli_decoder;
mod brotli_encoder;
pub(crate) mod brotli_impl;

pub use self::brotli_decoder::{BrotliDecoder, BrotliDecoderBuilder};
pub use self::brotli_encoder::{BrotliEncoder, BrotliEncoderBuilder};
