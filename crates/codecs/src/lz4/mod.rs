//! LZ4 frames (`.lz4`).
mod lz4_decoder;
mod lz4_encoder;
mod lz4_impl;

pub use self::lz4_decoder::{Lz4Decoder, Lz4DecoderBuilder};
pub use self::lz4_encoder::{Lz4Encoder, Lz4EncoderBuilder};
