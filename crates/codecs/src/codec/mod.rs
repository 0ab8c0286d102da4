//! Any `tokio-util` codec as a weir transform: a [`Decoder`] from bytes to
//! frames ([`CodecDecoder`]), an [`Encoder`] from items to bytes
//! ([`CodecEncoder`]).
//!
//! [`Decoder`]: tokio_util::codec::Decoder
//! [`Encoder`]: tokio_util::codec::Encoder
mod codec_decoder;
mod codec_encoder;

pub use self::codec_decoder::{CodecDecoder, DEFAULT_MAX_FRAME};
pub use self::codec_encoder::CodecEncoder;

use tokio_util::codec::{AnyDelimiterCodecError, LengthDelimitedCodecError, LinesCodecError};
use weir_core::{BoxError, Error};

/// `std::any::type_name` without its module path or generic arguments:
/// the default stage name of an adapter (`LinesCodec`).
fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// Maps a codec's error to a weir error, naming the byte offset where the
/// failing frame starts.
///
/// - a weir [`Error`] (a codec written for weir) is kept as it is;
/// - the "too long" errors of `tokio-util`'s own codecs are limits;
/// - an `io::Error` is an I/O failure unless it says the data is invalid
///   (corrupt input);
/// - anything else is corrupt input, its text in the message.
fn codec_error(e: impl Into<BoxError>, what: &str, offset: u64) -> Error {
    let e: BoxError = e.into();
    let e = match e.downcast::<Error>() {
        Ok(ours) => return *ours,
        Err(e) => e,
    };
    let too_long = matches!(
        e.downcast_ref::<LinesCodecError>(),
        Some(LinesCodecError::MaxLineLengthExceeded)
    ) || matches!(
        e.downcast_ref::<AnyDelimiterCodecError>(),
        Some(AnyDelimiterCodecError::MaxChunkLengthExceeded)
    ) || e.is::<LengthDelimitedCodecError>()
        || e.downcast_ref::<std::io::Error>().is_some_and(|io| {
            io.get_ref()
                .is_some_and(|inner| inner.is::<LengthDelimitedCodecError>())
        });
    if too_long {
        return Error::limit(format!(
            "{what} at byte offset {offset} is longer than the codec allows: {e}"
        ));
    }
    match e.downcast::<std::io::Error>() {
        Ok(io) if io.kind() != std::io::ErrorKind::InvalidData => Error::from(*io),
        Ok(io) => Error::corrupt(format!("bad {what} at byte offset {offset}: {io}")),
        Err(other) => Error::corrupt(format!("bad {what} at byte offset {offset}: {other}")),
    }
}
