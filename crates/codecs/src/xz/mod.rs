//! xz (`.xz`, the XZ Utils container around LZMA2) and lzma (`.lzma`, the
//! older "LZMA alone" format, decoding only).
mod lzma_decoder;
mod xz_decoder;
mod xz_encoder;
mod xz_impl;

pub use self::lzma_decoder::{LzmaDecoder, LzmaDecoderBuilder};
pub use self::xz_decoder::{XzDecoder, XzDecoderBuilder};
pub use self::xz_encoder::{XzEncoder, XzEncoderBuilder};
