//! bzip2 (`.bz2`).
mod bzip2_decoder;
mod bzip2_encoder;
mod bzip2_impl;

pub use self::bzip2_decoder::{Bzip2Decoder, Bzip2DecoderBuilder};
pub use self::bzip2_encoder::{Bzip2Encoder, Bzip2EncoderBuilder};
