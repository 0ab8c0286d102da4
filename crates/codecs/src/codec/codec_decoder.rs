use std::fmt;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::Decoder;
use weir_core::{BoxError, Error, Output, Transform};

use super::{codec_error, short_type_name};

/// The default bound on one frame of a [`CodecDecoder`]: 8 MiB, the
/// default maximum frame length of `tokio-util`'s `LengthDelimitedCodec`.
/// Not part of the semver contract.
pub const DEFAULT_MAX_FRAME: usize = 8 * 1024 * 1024;

/// How many frames one call decodes before it hands over and continues in
/// [`Transform::resume`]: what one input chunk can put in memory at once.
const FRAMES_PER_CALL: usize = 64;

/// Any `tokio-util` [`Decoder`] as a [`Transform`] from bytes to frames.
///
/// It does what `FramedRead` does with a decoder, as a stage of a weir
/// stream: input chunks are appended to a read buffer, [`Decoder::decode`]
/// is called until it asks for more, and at the end of input
/// [`Decoder::decode_eof`] is called until it returns `None`. Each frame is
/// one output chunk. `LinesCodec`, `AnyDelimiterCodec`,
/// `LengthDelimitedCodec`, `BytesCodec` and your own decoders all fit.
///
/// # Limits
/// - **A frame larger than its bound is an error**, not a read buffer that
///   grows without end: once the bytes buffered for the frame being read
///   pass [`max_frame`](CodecDecoder::max_frame) (default
///   [`DEFAULT_MAX_FRAME`], 8 MiB), the stream fails. So
///   `LinesCodec::new()`, which has no maximum of its own, cannot be made
///   to buffer gigabytes by input without a newline. Memory: at most the
///   bound plus one input chunk.
/// - One call decodes at most 64 frames and continues in
///   [`Transform::resume`] once they have been taken, so a chunk of tiny
///   frames does not become one huge batch.
///
/// # Errors
/// Each names the byte offset (in the whole input) of the frame it is
/// about, and the stream ends with it; the stage is named after the
/// adapter ([`name`](CodecDecoder::name), default: the codec's type name).
/// - A frame over the bound, or over the codec's own maximum
///   (`LinesCodec::new_with_max_length`, `AnyDelimiterCodec`'s,
///   `LengthDelimitedCodec`'s `max_frame_length`): an error for which
///   `Error::is_limit` is true.
/// - Input that ends inside a frame (`decode_eof`'s "bytes remaining on
///   stream", or bytes left over after it returns `None`): an error for
///   which `Error::is_corrupt` is true, saying how many bytes of the frame
///   arrived. Nothing is dropped silently.
/// - Any other error of the decoder: a weir [`Error`] is kept as it is; an
///   `io::Error` of kind `InvalidData` or any other error type is corrupt
///   input; other `io::Error`s are I/O errors.
///
/// # Examples
/// ```
/// use bytes::Bytes;
/// use futures::TryStreamExt;
/// use tokio_util::codec::LinesCodec;
/// use weir::codecs::CodecDecoder;
/// use weir::{readable, ReadableExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), weir::Error> {
/// let wire = readable::from_iter([&b"one\ntw"[..], &b"o\nthree"[..]].map(Bytes::from_static));
/// let lines: Vec<String> = wire.through(CodecDecoder::new(LinesCodec::new())).try_collect().await?;
/// assert_eq!(lines, ["one", "two", "three"]);
/// # Ok(()) }
/// ```
pub struct CodecDecoder<D> {
    codec: D,
    buf: BytesMut,
    /// Stream offset of `buf[0]` (the decoder may have consumed a frame's
    /// header without emitting the frame yet).
    offset: u64,
    /// Stream offset of the frame being read: where the last frame ended.
    frame_start: u64,
    max_frame: usize,
    /// The last call stopped after `FRAMES_PER_CALL` frames.
    more: bool,
    /// The input has ended (`flush` was called).
    eof: bool,
    name: Option<Box<str>>,
}

impl<D: Decoder> CodecDecoder<D> {
    /// Decodes with `codec`, each frame at most [`DEFAULT_MAX_FRAME`] bytes.
    pub fn new(codec: D) -> Self {
        CodecDecoder {
            codec,
            buf: BytesMut::new(),
            offset: 0,
            frame_start: 0,
            max_frame: DEFAULT_MAX_FRAME,
            more: false,
            eof: false,
            name: None,
        }
    }

    /// Sets the bound on one frame: how many bytes may wait in the read
    /// buffer for a frame to complete (at least 1). A codec with a
    /// smaller maximum of its own fails first, with its own message.
    #[must_use]
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes.max(1);
        self
    }

    /// Names the stage for errors and reports (default: the codec's type
    /// name, such as `LinesCodec`).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// The codec.
    pub fn get_ref(&self) -> &D {
        &self.codec
    }

    /// The codec, mutably (to change its settings between frames).
    pub fn get_mut(&mut self) -> &mut D {
        &mut self.codec
    }

    /// The codec, and the bytes read but not decoded yet.
    pub fn into_parts(self) -> (D, BytesMut) {
        (self.codec, self.buf)
    }
}

impl<D> CodecDecoder<D>
where
    D: Decoder,
    D::Error: Into<BoxError>,
{
    /// Decodes up to `FRAMES_PER_CALL` frames, with `decode_eof` once the
    /// input has ended.
    fn decode_some(&mut self, out: &mut Output<D::Item>) -> Result<(), Error> {
        for _ in 0..FRAMES_PER_CALL {
            let before = self.buf.len();
            let res = if self.eof {
                self.codec.decode_eof(&mut self.buf)
            } else {
                self.codec.decode(&mut self.buf)
            };
            match res {
                Ok(Some(frame)) => {
                    self.offset += before.saturating_sub(self.buf.len()) as u64;
                    self.frame_start = self.offset;
                    out.push(frame);
                }
                Ok(None) => {
                    self.offset += before.saturating_sub(self.buf.len()) as u64;
                    self.more = false;
                    return self.check_rest();
                }
                Err(e) => {
                    self.more = false;
                    return Err(self.decode_error(e));
                }
            }
        }
        self.more = true;
        Ok(())
    }

    /// After the decoder asked for more input: the bytes waiting for one
    /// frame must stay within the bound, and none may remain at the end.
    fn check_rest(&self) -> Result<(), Error> {
        if self.eof && !self.buf.is_empty() {
            return Err(self.truncated());
        }
        if self.buf.len() > self.max_frame {
            return Err(Error::limit(format!(
                "frame at byte offset {} is longer than the maximum of {} bytes ({} bytes of it received, no end yet)",
                self.frame_start,
                self.max_frame,
                self.received()
            )));
        }
        Ok(())
    }

    /// Bytes of the frame being read received so far.
    fn received(&self) -> u64 {
        self.offset - self.frame_start + self.buf.len() as u64
    }

    fn truncated(&self) -> Error {
        Error::corrupt(format!(
            "input ends inside the frame at byte offset {} ({} bytes of it received)",
            self.frame_start,
            self.received()
        ))
    }

    fn decode_error(&self, e: D::Error) -> Error {
        let e: BoxError = e.into();
        // `Decoder::decode_eof`'s default: the input ended mid-frame.
        // It is an `io::Error` converted into the decoder's error type, so
        // look for its text along the chain.
        let remaining = self.eof && !self.buf.is_empty() && {
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&*e);
            let mut found = false;
            while let Some(c) = cause {
                if c.to_string() == "bytes remaining on stream" {
                    found = true;
                    break;
                }
                cause = c.source();
            }
            found
        };
        if remaining {
            return self.truncated();
        }
        codec_error(e, "frame", self.frame_start)
    }
}

impl<D> Transform for CodecDecoder<D>
where
    D: Decoder,
    D::Error: Into<BoxError>,
{
    type In = Bytes;
    type Out = D::Item;

    fn transform(&mut self, chunk: Bytes, out: &mut Output<D::Item>) -> Result<(), Error> {
        if self.buf.is_empty() {
            // Take a chunk nobody else holds without copying it.
            match chunk.try_into_mut() {
                Ok(owned) => self.buf = owned,
                Err(shared) => self.buf.extend_from_slice(&shared),
            }
        } else {
            self.buf.extend_from_slice(&chunk);
        }
        self.decode_some(out)
    }

    fn flush(&mut self, out: &mut Output<D::Item>) -> Result<(), Error> {
        self.eof = true;
        self.decode_some(out)
    }

    fn resume(&mut self, out: &mut Output<D::Item>) -> Result<bool, Error> {
        if !self.more {
            return Ok(false);
        }
        self.decode_some(out)?;
        Ok(self.more)
    }

    fn name(&self) -> &str {
        match &self.name {
            Some(n) => n,
            None => short_type_name::<D>(),
        }
    }
}

impl<D: fmt::Debug> fmt::Debug for CodecDecoder<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodecDecoder")
            .field("codec", &self.codec)
            .field("buffered", &self.buf.len())
            .field("frame_start", &self.frame_start)
            .field("max_frame", &self.max_frame)
            .finish_non_exhaustive()
    }
}
