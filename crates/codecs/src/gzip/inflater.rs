//! The DEFLATE decoder under gzip members: zlib-rs through flate2, or, with
//! the `isal` feature, ISA-L's inflate (about 1.25–1.35 times as fast on
//! x86-64; see `docs/benchmarks.md`). Both decode the same streams; errors read
//! alike.

use weir_core::Error;

#[cfg(not(feature = "isal"))]
use crate::deflate::flate_impl::FlateDecoder;

/// One member's DEFLATE data.
#[derive(Debug)]
pub(crate) struct Inflater {
    #[cfg(not(feature = "isal"))]
    flate: FlateDecoder,
    #[cfg(feature = "isal")]
    isal: weir_isal::Inflate,
}

impl Inflater {
    pub(crate) fn new() -> Self {
        Inflater {
            #[cfg(not(feature = "isal"))]
            flate: FlateDecoder::new(false),
            #[cfg(feature = "isal")]
            isal: weir_isal::Inflate::new(),
        }
    }

    /// Starts the next member's data.
    pub(crate) fn reset(&mut self) {
        #[cfg(not(feature = "isal"))]
        self.flate.reset();
        #[cfg(feature = "isal")]
        self.isal.reset();
    }

    /// Decodes from `input` (at stream offset `offset`) into `out`'s spare
    /// capacity: returns (consumed, the DEFLATE data ended). After the end,
    /// [`take_unused`](Self::take_unused) gives back bytes past it that an
    /// earlier call counted as consumed.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        offset: u64,
    ) -> Result<(usize, bool), Error> {
        #[cfg(not(feature = "isal"))]
        {
            self.flate
                .decode_with("gzip", "deflate data", input, out, offset)
        }
        #[cfg(feature = "isal")]
        {
            let before = self.isal.total_in();
            match self.isal.inflate(input, out) {
                Ok(step) => Ok((step.consumed, step.ended)),
                Err(e) => {
                    let at = offset + self.isal.total_in().saturating_sub(before);
                    Err(Error::corrupt(format!(
                        "gzip: corrupt deflate data near byte offset {at}: {e}"
                    )))
                }
            }
        }
    }

    /// Bytes after the DEFLATE data that earlier calls counted as consumed
    /// (at most 8: they are the start of the member's trailer). Copies them
    /// to the front of `to`; returns how many.
    pub(crate) fn take_unused(&mut self, to: &mut [u8]) -> usize {
        #[cfg(not(feature = "isal"))]
        {
            let _ = to;
            0
        }
        #[cfg(feature = "isal")]
        {
            let unused = self.isal.take_unused();
            let bytes = unused.as_slice();
            to[..bytes.len()].copy_from_slice(bytes);
            bytes.len()
        }
    }
}
