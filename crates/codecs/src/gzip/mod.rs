//! gzip (RFC 1952).
mod gzip_decoder;
mod gzip_encoder;
mod gzip_header;
pub(crate) mod gzip_impl;
mod inflater;
mod parallel_decoder_impl;
pub(crate) mod parallel_impl;

pub use self::gzip_decoder::{GzipDecoder, GzipDecoderBuilder};
pub use self::gzip_encoder::{GzipEncoder, GzipEncoderBuilder};
pub use self::gzip_header::GzipHeader;
