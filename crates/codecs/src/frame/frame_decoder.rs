use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, LengthDelimitedCodec};
use weir_core::{Error, Output, Transform};

use super::codec_error;

/// Splits a byte stream into length-delimited frames.
///
/// A [`Transform`] from `Bytes` to `Bytes` running `tokio-util`'s
/// [`LengthDelimitedCodec`]: by default each frame is a 4-byte big-endian
/// length followed by that many bytes, and frames over 8 MiB are refused;
/// pass a codec built with `LengthDelimitedCodec::builder()` for other
/// layouts. Each output chunk is one frame's payload.
///
/// Memory: the bytes of one incomplete frame (at most the maximum frame
/// length plus its header).
///
/// # Errors
/// A frame longer than the maximum: an error for which `Error::is_limit` is
/// true. Input that ends inside a frame: an error for which
/// `Error::is_corrupt` is true. Both name the byte offset of the frame.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use weir::codecs::FrameDecoder;
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let wire = [&b"\0\0\0\x03a"[..], &b"bc\0\0\0\x02hi"[..]].map(Bytes::from_static);
/// let frames: Vec<Bytes> = readable::from_iter(wire).through(FrameDecoder::new()).try_collect().await?;
/// assert_eq!(frames, ["abc", "hi"]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FrameDecoder {
    codec: LengthDelimitedCodec,
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: u64,
}

impl FrameDecoder {
    /// Frames with a 4-byte big-endian length, at most 8 MiB each.
    pub fn new() -> Self {
        FrameDecoder::with_codec(LengthDelimitedCodec::new())
    }

    /// Frames as `codec` describes them.
    pub fn with_codec(codec: LengthDelimitedCodec) -> Self {
        FrameDecoder {
            codec,
            buf: BytesMut::new(),
            offset: 0,
        }
    }

    fn decode_all(&mut self, out: &mut Output<Bytes>, eof: bool) -> Result<(), Error> {
        loop {
            let before = self.buf.len();
            let res = if eof {
                self.codec.decode_eof(&mut self.buf)
            } else {
                self.codec.decode(&mut self.buf)
            };
            match res {
                Ok(Some(frame)) => {
                    self.offset += (before - self.buf.len()) as u64;
                    out.push(frame.freeze());
                }
                Ok(None) => return Ok(()),
                Err(e) => {
                    if eof && e.kind() == std::io::ErrorKind::Other && !self.buf.is_empty() {
                        return Err(Error::corrupt(format!(
                            "length-delimited: input ends inside the frame at byte offset {} ({} bytes of it received)",
                            self.offset,
                            self.buf.len()
                        )));
                    }
                    return Err(codec_error(e, self.offset));
                }
            }
        }
    }
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new()
    }
}

impl Transform for FrameDecoder {
    type In = Bytes;
    type Out = Bytes;

    fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), Error> {
        self.buf.extend_from_slice(&chunk);
        self.decode_all(out, false)
    }

    fn flush(&mut self, out: &mut Output<Bytes>) -> Result<(), Error> {
        self.decode_all(out, true)
    }

    fn name(&self) -> &str {
        "length-delimited decoder"
    }
}
