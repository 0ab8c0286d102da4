//! The sans-IO machinery every codec in this crate shares.
//!
//! A codec implements [`RawDecoder`] or [`RawEncoder`]: a synchronous state
//! machine over an input slice and the spare capacity of an output `Vec`.
//! [`DecodeEngine`] and [`EncodeEngine`] drive it for the
//! [`Transform`](weir_core::Transform) protocol: input chunk bookkeeping,
//! bounded output per call, byte offsets for errors, decompression limits,
//! trailing data and sync flushes.

use weir_core::Error;

#[cfg(any(feature = "xz", feature = "bzip2", feature = "lz4"))]
pub(crate) mod codecs_impl;
#[cfg(any(feature = "xz", feature = "bzip2", feature = "lz4"))]
#[cfg_attr(not(feature = "lz4"), allow(dead_code))]
pub(crate) mod content_sum;
mod decode_impl;
mod encode_impl;
mod macros;

pub(crate) use self::decode_impl::{DecodeEngine, DecodeSettings, Progress, RawDecoder};
pub(crate) use self::encode_impl::{EncodeEngine, EncodeOp, RawEncoder};
pub(crate) use self::macros::{decoder_common, encoder_common};

/// Makes sure `out` has at least `want` bytes of spare capacity.
pub(crate) fn reserve_spare(out: &mut Vec<u8>, want: usize) {
    let spare = out.capacity() - out.len();
    if spare < want {
        out.reserve(want);
    }
}

/// A zero-initialized buffer, made once, for codec libraries that write only
/// into `&mut [u8]`: output goes there, then is appended to the output
/// `Vec`. (Zeroing the `Vec`'s spare capacity instead would cost a memset
/// of a whole output chunk per call, ruinous for 1-byte input chunks.)
#[derive(Debug, Default)]
pub(crate) struct Scratch(Vec<u8>);

/// The scratch buffer's size.
const SCRATCH: usize = 64 * 1024;

impl Scratch {
    /// Runs `f` over up to `min(spare capacity of out, 64 KiB)` bytes and
    /// appends the `written` bytes it reports to `out`.
    pub(crate) fn run<R>(
        &mut self,
        out: &mut Vec<u8>,
        f: impl FnOnce(&mut [u8]) -> (usize, R),
    ) -> R {
        if self.0.is_empty() {
            self.0 = vec![0; SCRATCH];
        }
        let room = (out.capacity() - out.len()).min(SCRATCH);
        let (written, r) = f(&mut self.0[..room]);
        out.extend_from_slice(&self.0[..written.min(room)]);
        r
    }
}

/// The error for input that ends inside a stream.
pub(crate) fn truncated(format: &str, offset: u64) -> Error {
    if offset == 0 {
        Error::corrupt(format!("{format}: empty input (unexpected end of file)"))
    } else {
        Error::corrupt(format!(
            "{format}: truncated input (unexpected end of file at byte offset {offset})"
        ))
    }
}
