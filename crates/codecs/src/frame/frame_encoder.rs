use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Encoder, LengthDelimitedCodec};
use weir_core::{Error, Output, Transform};

use super::codec_error;

/// Writes each chunk as one length-delimited frame.
///
/// A [`Transform`] from `Bytes` to `Bytes` running `tokio-util`'s
/// [`LengthDelimitedCodec`]: by default a 4-byte big-endian length, then the
/// payload; payloads over 8 MiB are refused. Pass a codec built with
/// `LengthDelimitedCodec::builder()` for other layouts; a
/// [`FrameDecoder`](crate::FrameDecoder) with the same settings reads them
/// back.
///
/// # Errors
/// A chunk longer than the maximum frame length: an error for which
/// `Error::is_limit` is true.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::FrameEncoder;
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let msgs = readable::from_iter([&b"abc"[..], &b"hi"[..]].map(Bytes::from_static));
/// let wire: Vec<Bytes> = msgs.through(FrameEncoder::new()).try_collect().await?;
/// assert_eq!(wire.concat(), b"\0\0\0\x03abc\0\0\0\x02hi");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FrameEncoder {
    codec: LengthDelimitedCodec,
    buf: BytesMut,
    offset: u64,
}

impl FrameEncoder {
    /// Frames with a 4-byte big-endian length, at most 8 MiB each.
    pub fn new() -> Self {
        FrameEncoder::with_codec(LengthDelimitedCodec::new())
    }

    /// Frames as `codec` describes them.
    pub fn with_codec(codec: LengthDelimitedCodec) -> Self {
        FrameEncoder {
            codec,
            buf: BytesMut::new(),
            offset: 0,
        }
    }
}

impl Default for FrameEncoder {
    fn default() -> Self {
        FrameEncoder::new()
    }
}

impl Transform for FrameEncoder {
    type In = Bytes;
    type Out = Bytes;

    fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), Error> {
        self.codec
            .encode(chunk, &mut self.buf)
            .map_err(|e| codec_error(e, self.offset))?;
        let frame = self.buf.split().freeze();
        self.offset += frame.len() as u64;
        out.push(frame);
        Ok(())
    }

    fn name(&self) -> &str {
        "length-delimited encoder"
    }
}
