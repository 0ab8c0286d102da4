//! Raw DEFLATE (RFC 1951).
mod deflate_decoder;
mod deflate_encoder;
pub(crate) mod flate_impl;

pub use self::deflate_decoder::{DeflateDecoder, DeflateDecoderBuilder};
pub use self::deflate_encoder::{DeflateEncoder, DeflateEncoderBuilder};
