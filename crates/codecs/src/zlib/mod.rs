//! zlib (RFC 1950).
mod zlib_decoder;
mod zlib_encoder;
mod zlib_impl;

pub use self::zlib_decoder::{ZlibDecoder, ZlibDecoderBuilder};
pub use self::zlib_encoder::{ZlibEncoder, ZlibEncoderBuilder};
