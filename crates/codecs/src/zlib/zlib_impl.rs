//! zlib (RFC 1950) on flate2, which writes and checks the header and the
//! Adler-32: a [`Framing`] of the DEFLATE codec.

use crate::deflate::flate_impl::Framing;

/// zlib: a two-byte header, DEFLATE data, an Adler-32.
#[derive(Debug)]
pub(crate) struct Zlib;

impl Framing for Zlib {
    const FORMAT: &'static str = "zlib";
    const DATA: &'static str = "zlib stream";
    const ZLIB: bool = true;
}
