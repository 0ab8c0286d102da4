//! The sans-IO machinery every codec in this crate shares.
//!
//! A codec implements [`RawDecoder`] or [`RawEncoder`]: a synchronous state
//! machine over an input slice and the spare capacity of an output `Vec`.
//! [`DecodeEngine`] and [`EncodeEngine`] drive it for the
//! [`Transform`](weir_core::Transform) protocol: input chunk bookkeeping,
//! bounded output per call, byte offsets for errors, decompression limits,
//! trailing data and sync flushes.

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

/// Runs `f` over `out`'s spare capacity as an initialized slice (zeroed
/// first), for codec libraries that write only into `&mut [u8]`, and keeps
/// the `written` bytes `f` reports.
pub(crate) fn with_spare_slice<R>(out: &mut Vec<u8>, f: impl FnOnce(&mut [u8]) -> (usize, R)) -> R {
    let start = out.len();
    let cap = out.capacity();
    out.resize(cap, 0);
    let (written, r) = f(&mut out[start..]);
    out.truncate(start + written.min(cap - start));
    r
}
