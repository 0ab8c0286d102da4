//! Length-delimited frames, over `tokio-util`'s `LengthDelimitedCodec`.
mod frame_decoder;
mod frame_encoder;

pub use self::frame_decoder::FrameDecoder;
pub use self::frame_encoder::FrameEncoder;

use weir_core::Error;

/// Maps a `LengthDelimitedCodec` error: an oversized frame is a limit, any
/// other failure is corrupt input.
fn codec_error(e: std::io::Error, offset: u64) -> Error {
    let too_big = e
        .get_ref()
        .is_some_and(|inner| inner.is::<tokio_util::codec::LengthDelimitedCodecError>());
    if too_big {
        Error::limit(format!(
            "length-delimited: frame at byte offset {offset} is longer than the maximum frame length"
        ))
    } else {
        Error::corrupt(format!(
            "length-delimited: bad frame at byte offset {offset}: {e}"
        ))
    }
}
