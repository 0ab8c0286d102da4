//! Adapters from async-compression's sans-IO codecs (the `compression-codecs`
//! crate) to this crate's [`RawDecoder`] and [`RawEncoder`].
//!
//! The codecs there decode one stream each and leave the rest to their
//! callers; this adapter adds what weir promises on top:
//!
//! - **Streams back to back.** When a stream ends, the bytes after it must
//!   start another one (its magic number, checked here, whole, even when a
//!   chunk boundary splits it) or be xz's stream padding (zero bytes in
//!   groups of four); the codec is then reset and decodes on. Anything else
//!   is trailing garbage, an error naming its exact offset (or, with
//!   [`Trailing::Ignore`], the end of the input that counts).
//! - **Offsets.** A codec's own errors carry no position; the adapter names
//!   the offset of the first byte the failing call was given ("at or after":
//!   the library may have buffered some bytes before it).
//! - **Truncation.** Input that ends inside a stream, or before the first
//!   one (empty input), or inside the magic number of the next, is an error
//!   with the offset of the end.
//! - **Content checksums beside the codec** (LZ4 frames, [`OwnSum`]): the
//!   adapter rewrites the frame descriptor so that liblz4 skips the check,
//!   reads the checksum after the frame itself and hashes the output with
//!   xxhash-rust, on the caller's thread or on one of its own.
//! - **No `unsafe`.** The codecs write into an initialized scratch buffer
//!   ([`Scratch`]) that is then appended to the output.

use compression_codecs::core::util::{PartialBuffer, WriteBuffer};
use compression_codecs::{DecodeV2, EncodeV2};
use weir_core::Error;

use std::collections::VecDeque;

use bytes::Bytes;

use super::content_sum::ContentSum;
use super::{EncodeOp, Progress, RawDecoder, RawEncoder, Scratch, truncated};
use crate::Trailing;

/// Whether some bytes begin a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Magic {
    /// They hold a whole magic number.
    Yes,
    /// They are the start of one: more bytes are needed to tell.
    Partial,
    /// They begin no stream.
    No,
}

/// What a format adds to the decoding adapter.
pub(crate) trait DecodeFormat {
    /// The codec from `compression-codecs`.
    type Codec: DecodeV2;
    /// The format name used in error messages.
    const FORMAT: &'static str;
    /// Streams may follow one another and are decoded as one output (xz,
    /// bzip2, LZ4 frames); otherwise the end of the first stream is the end.
    const MULTI_STREAM: bool;
    /// Zero bytes may follow a stream, in groups of four (xz's stream
    /// padding).
    const ZERO_PADDING4: bool = false;
    /// Whether streams start with a magic number, checked by [`Self::magic`]
    /// (`.lzma` files have none).
    const HAS_MAGIC: bool = true;

    /// Whether `prefix` (at least one byte) begins a stream.
    fn magic(prefix: &[u8]) -> Magic;

    /// The magic number of a format this one's tools also read and weir
    /// does not (LZ4's legacy frames), and how to name it: input that
    /// starts with it is refused as that format rather than as no format.
    const OTHER_FORMAT: Option<(&'static [u8], &'static str)> = None;

    /// Whether the adapter can check the content checksum of a stream that
    /// starts with `magic` itself (see [`CodecsDecoder::own_sum`]): LZ4
    /// frames, not skippable frames. The default: never.
    fn own_sum(magic: &[u8]) -> bool {
        let _ = magic;
        false
    }

    /// The length of the stream descriptor after the magic number, from its
    /// first bytes (at least one); `None` while more are needed to tell.
    fn descriptor_len(descriptor: &[u8]) -> Option<usize> {
        let _ = descriptor;
        Some(0)
    }

    /// Rewrites a whole, valid descriptor so that the codec does not check
    /// the content checksum; whether the stream has one (4 bytes after its
    /// end, little-endian XXH32 of the content). A descriptor that is not
    /// valid is left as it is, for the codec to refuse.
    fn take_over_sum(descriptor: &mut [u8]) -> bool {
        let _ = descriptor;
        false
    }
}

/// XXH32 of no bytes: the content checksum of an empty frame.
const EMPTY_XXH32: u32 = 0x02cc_5d05;

/// The content checksum of a format's streams, checked by the adapter
/// beside the codec rather than by it (LZ4 frames, so that hashing runs on
/// a thread of its own: [`ContentSum`]).
///
/// Output is hashed as it is handed on ([`RawDecoder::emitted`]), which is
/// after it has been written: the position of each stream's end in the
/// output is kept until the output up to it has been hashed. A mismatch
/// fails the next call, or the end of input, which waits for every check.
#[derive(Debug)]
struct OwnSum {
    /// Started with the first output or checksum.
    sum: Option<ContentSum>,
    /// Hash on a thread of its own (else on the caller's).
    threaded: bool,
    /// Output written by the codec so far.
    produced: u64,
    /// Output handed to `sum` so far.
    fed: u64,
    /// Ends of streams whose output is not all handed to `sum` yet: the
    /// output position, and the expected checksum with its input offset
    /// (`None`: a stream without one). At most one per stream with output
    /// in the chunk being filled.
    ends: VecDeque<(u64, Option<(u32, u64)>)>,
    /// The output position of the last stream end.
    last_end: u64,
    /// Descriptor bytes (or, after a stream, checksum bytes) so far, and
    /// the input offset of the first.
    bytes: Vec<u8>,
    bytes_at: u64,
    /// The current stream has a checksum the adapter checks.
    has_sum: bool,
    /// A stream with no output whose checksum was not that of nothing.
    empty_mismatch: Option<u64>,
}

impl OwnSum {
    /// A stream ended at output position `self.produced`.
    fn end(&mut self, check: Option<(u32, u64)>) {
        if self.produced == self.last_end {
            // No output since the last end: nothing to hash.
            if let Some((expected, at)) = check
                && expected != EMPTY_XXH32
                && self.empty_mismatch.is_none()
            {
                self.empty_mismatch = Some(at);
            }
            return;
        }
        self.last_end = self.produced;
        self.ends.push_back((self.produced, check));
        self.forward();
    }

    /// Hands stream ends up to the output hashed so far to `sum`.
    fn forward(&mut self) {
        while let Some(&(pos, check)) = self.ends.front() {
            if pos > self.fed {
                return;
            }
            self.ends.pop_front();
            let sum = self
                .sum
                .get_or_insert_with(|| ContentSum::new(self.threaded));
            match check {
                Some((expected, at)) => sum.check(expected, at),
                None => sum.reset(),
            }
        }
    }

    /// Output handed on: hashes it, ending streams where they end.
    fn emitted(&mut self, chunk: &Bytes) {
        let mut rest = chunk.clone();
        while !rest.is_empty() {
            let take = match self.ends.front() {
                Some(&(pos, _)) => usize::try_from(pos - self.fed)
                    .unwrap_or(usize::MAX)
                    .min(rest.len()),
                None => rest.len(),
            };
            let piece = rest.split_to(take);
            self.fed += piece.len() as u64;
            if !piece.is_empty() {
                self.sum
                    .get_or_insert_with(|| ContentSum::new(self.threaded))
                    .feed(piece);
            }
            self.forward();
        }
    }

    /// The first mismatch known so far, without waiting.
    fn mismatch(&self) -> Option<u64> {
        let found = self.sum.as_ref().and_then(ContentSum::mismatch);
        match (found, self.empty_mismatch) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Waits for every check given so far: the first mismatch.
    fn settle<F: DecodeFormat>(&mut self) -> Result<(), Error> {
        self.forward();
        if let Some(sum) = &mut self.sum
            && sum.settle().is_err()
        {
            return Err(Error::msg(format!(
                "{}: the content checksum thread is gone",
                F::FORMAT
            )));
        }
        match self.mismatch() {
            Some(at) => Err(sum_mismatch::<F>(at)),
            None => Ok(()),
        }
    }
}

fn sum_mismatch<F: DecodeFormat>(at: u64) -> Error {
    Error::corrupt(format!(
        "{}: content checksum mismatch (corrupt data in the frame whose checksum is at byte offset {at})",
        F::FORMAT
    ))
}

/// Where the decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before a stream: looking for its magic number (held in `held` as it
    /// arrives) after any stream padding.
    Boundary,
    /// Inside a stream: the codec has all bytes since its magic number.
    Stream,
    /// After a magic number, with the adapter checking content checksums:
    /// collecting the stream descriptor (in `OwnSum::bytes`).
    Descriptor,
    /// After a stream whose checksum the adapter checks: collecting it.
    Checksum,
}

/// A [`RawDecoder`] over a `compression-codecs` decoder.
pub(crate) struct CodecsDecoder<F: DecodeFormat> {
    /// The codec, or why it could not be set up (reported by the first
    /// call: construction never fails).
    codec: Result<F::Codec, String>,
    at: At,
    /// Bytes of a magic number seen so far (consumed, not yet given to the
    /// codec).
    held: Vec<u8>,
    /// Zero bytes of stream padding since the last stream.
    zeros: u64,
    /// Streams decoded to their end.
    streams: u64,
    /// The last call filled all the room it had: the codec may hold more
    /// output without new input. (liblzma fails a second call in a row that
    /// can make no progress, so the codec is not called idly.)
    may_have_more: bool,
    trailing: Trailing,
    scratch: Scratch,
    /// Content checksums checked here rather than by the codec.
    own_sum: Option<Box<OwnSum>>,
}

impl<F: DecodeFormat> std::fmt::Debug for CodecsDecoder<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodecsDecoder")
            .field("format", &F::FORMAT)
            .field("at", &self.at)
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

/// What the bytes at a stream boundary turned out to be.
enum Boundary {
    /// All of them were consumed and more are needed to tell.
    Need,
    /// A magic number ends `n` bytes in: a stream starts.
    Start(usize),
    /// Trailing bytes, to be ignored, start `n` bytes in.
    Ignore(usize),
}

impl<F: DecodeFormat> CodecsDecoder<F> {
    /// A decoder over `codec` (or the reason it could not be made);
    /// `trailing` says what bytes after the last stream are.
    pub(crate) fn new(codec: Result<F::Codec, String>, trailing: Trailing) -> Self {
        CodecsDecoder {
            codec,
            at: if F::HAS_MAGIC {
                At::Boundary
            } else {
                At::Stream
            },
            held: Vec::new(),
            zeros: 0,
            streams: 0,
            may_have_more: false,
            trailing,
            scratch: Scratch::default(),
            own_sum: None,
        }
    }

    /// Checks content checksums here rather than in the codec, where the
    /// format allows ([`DecodeFormat::own_sum`]); with `threaded`, hashing
    /// runs on a thread of its own ([`ContentSum`]), started with the first
    /// output.
    #[cfg_attr(not(feature = "lz4"), allow(dead_code))]
    pub(crate) fn own_sum(mut self, threaded: bool) -> Self {
        self.own_sum = Some(Box::new(OwnSum {
            sum: None,
            threaded,
            produced: 0,
            fed: 0,
            ends: VecDeque::new(),
            last_end: 0,
            bytes: Vec::new(),
            bytes_at: 0,
            has_sum: false,
            empty_mismatch: None,
        }));
        self
    }

    /// One call of the codec: `(consumed, stream ended)`. Output written
    /// before an error is kept.
    fn call(&mut self, input: &[u8], out: &mut Vec<u8>, at: u64) -> Result<(usize, bool), Error> {
        let codec = self.codec.as_mut().map_err(|e| setup_error::<F>(e))?;
        let before = out.len();
        let (res, full) = self.scratch.run(out, |buf| {
            let room = buf.len();
            let mut src = PartialBuffer::new(input);
            let mut dst = WriteBuffer::new_initialized(buf);
            let r = codec.decode(&mut src, &mut dst);
            let written = dst.written_len();
            (
                written,
                (r.map(|end| (src.written_len(), end)), written == room),
            )
        });
        self.may_have_more = full;
        if let Some(own) = &mut self.own_sum {
            own.produced += (out.len() - before) as u64;
        }
        res.map_err(|e| corrupt::<F>(&e, at))
    }

    /// Reads bytes at a stream boundary (after stream `self.streams`).
    fn boundary(&mut self, input: &[u8], at: u64) -> Result<Boundary, Error> {
        for (i, &b) in input.iter().enumerate() {
            if F::ZERO_PADDING4 && self.streams > 0 && self.held.is_empty() && b == 0 {
                self.zeros += 1;
                continue;
            }
            self.held.push(b);
            let mut magic = F::magic(&self.held);
            if let (Some((other, name)), 0, Magic::No) = (F::OTHER_FORMAT, self.streams, magic)
                && other.starts_with(&self.held)
            {
                if self.held.len() < other.len() {
                    magic = Magic::Partial;
                } else {
                    let start = at + i as u64 + 1 - self.held.len() as u64;
                    return Err(Error::corrupt(format!(
                        "{}: not in {} format (byte offset {start} starts {name})",
                        F::FORMAT,
                        F::FORMAT
                    )));
                }
            }
            match magic {
                Magic::Partial => {}
                Magic::Yes => {
                    self.check_padding(at + i as u64 + 1 - self.held.len() as u64)?;
                    return Ok(Boundary::Start(i + 1));
                }
                Magic::No => {
                    let start = at + i as u64 + 1 - self.held.len() as u64;
                    self.held.clear();
                    if self.streams == 0 {
                        return Err(Error::corrupt(format!(
                            "{}: not in {} format (no magic number at byte offset {start})",
                            F::FORMAT,
                            F::FORMAT
                        )));
                    }
                    if self.trailing == Trailing::Ignore {
                        return Ok(Boundary::Ignore(i + 1));
                    }
                    return Err(Error::corrupt(format!(
                        "{}: trailing garbage after the end of the stream at byte offset {start}",
                        F::FORMAT
                    )));
                }
            }
        }
        Ok(Boundary::Need)
    }

    /// Stream padding must come in groups of four bytes; `at` is where it
    /// ended.
    fn check_padding(&self, at: u64) -> Result<(), Error> {
        if self.zeros.is_multiple_of(4) {
            return Ok(());
        }
        Err(Error::corrupt(format!(
            "{}: stream padding of {} zero bytes before byte offset {at} is not a multiple of four",
            F::FORMAT,
            self.zeros
        )))
    }

    /// Resets the codec for a new stream and gives it the magic number held.
    fn start_stream(&mut self, out: &mut Vec<u8>, held_at: u64) -> Result<(), Error> {
        if self.streams > 0 {
            self.codec
                .as_mut()
                .map_err(|e| setup_error::<F>(e))?
                .reinit()
                .map_err(|e| Error::msg(format!("{}: cannot reset the decoder: {e}", F::FORMAT)))?;
        }
        self.zeros = 0;
        self.at = At::Stream;
        let held = std::mem::take(&mut self.held);
        if let Some(own) = &mut self.own_sum {
            own.has_sum = false;
            if F::own_sum(&held) {
                own.bytes.clear();
                own.bytes_at = held_at + held.len() as u64;
                self.at = At::Descriptor;
            }
        }
        self.feed(&held, out, held_at)
    }

    /// Gives all of `bytes` (input from offset `at`, not the caller's
    /// input as it is) to the codec.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>, at: u64) -> Result<(), Error> {
        let mut pos = 0;
        while pos < bytes.len() {
            let (n, _) = self.call(&bytes[pos..], out, at + pos as u64)?;
            if n == 0 {
                return Err(Error::corrupt(format!(
                    "{}: decoder made no progress at byte offset {}",
                    F::FORMAT,
                    at + pos as u64
                )));
            }
            pos += n;
        }
        Ok(())
    }

    /// At::Descriptor: takes descriptor bytes from `input`; once it is
    /// whole, gives it to the codec (rewritten when the adapter checks the
    /// content checksum). The bytes of `input` used.
    fn descriptor(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, Error> {
        let Some(own) = &mut self.own_sum else {
            self.at = At::Stream;
            return Ok(0);
        };
        let mut used = 0;
        loop {
            let want = match own.bytes.first() {
                None => 1,
                Some(_) => F::descriptor_len(&own.bytes).unwrap_or(own.bytes.len() + 1),
            };
            if own.bytes.len() >= want {
                break;
            }
            let Some(&b) = input.get(used) else {
                return Ok(used);
            };
            own.bytes.push(b);
            used += 1;
        }
        let mut descriptor = std::mem::take(&mut own.bytes);
        own.has_sum = F::take_over_sum(&mut descriptor);
        let at = own.bytes_at;
        self.at = At::Stream;
        self.feed(&descriptor, out, at)?;
        Ok(used)
    }

    /// At::Checksum: takes the checksum's bytes from `input`; the bytes
    /// used, and whether it is whole (the stream is over).
    fn checksum(&mut self, input: &[u8]) -> (usize, bool) {
        let Some(own) = &mut self.own_sum else {
            return (0, true);
        };
        let n = (4 - own.bytes.len()).min(input.len());
        own.bytes.extend_from_slice(&input[..n]);
        if own.bytes.len() < 4 {
            return (n, false);
        }
        let expected = u32::from_le_bytes([own.bytes[0], own.bytes[1], own.bytes[2], own.bytes[3]]);
        let at = own.bytes_at;
        own.bytes.clear();
        own.end(Some((expected, at)));
        (n, true)
    }
}

impl<F: DecodeFormat> RawDecoder for CodecsDecoder<F> {
    const FORMAT: &'static str = F::FORMAT;

    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>, offset: u64) -> Result<Progress, Error> {
        if let Some(at) = self.own_sum.as_ref().and_then(|o| o.mismatch()) {
            return Err(sum_mismatch::<F>(at));
        }
        let mut used = 0;
        loop {
            let rest = &input[used..];
            let at = offset + used as u64;
            match self.at {
                At::Descriptor => {
                    used += self.descriptor(rest, out)?;
                    if self.at == At::Descriptor {
                        return Ok(Progress {
                            consumed: used,
                            end: false,
                        });
                    }
                }
                At::Checksum => {
                    let (n, whole) = self.checksum(rest);
                    used += n;
                    if !whole {
                        return Ok(Progress {
                            consumed: used,
                            end: false,
                        });
                    }
                    self.streams += 1;
                    self.at = At::Boundary;
                }
                At::Stream => {
                    if rest.is_empty() && !self.may_have_more {
                        return Ok(Progress {
                            consumed: used,
                            end: false,
                        });
                    }
                    let before = out.len();
                    let (n, end) = self.call(rest, out, at)?;
                    used += n;
                    if !end {
                        return Ok(Progress {
                            consumed: used,
                            end: false,
                        });
                    }
                    if let Some(own) = &mut self.own_sum {
                        if own.has_sum {
                            own.bytes.clear();
                            own.bytes_at = offset + used as u64;
                            self.at = At::Checksum;
                            continue;
                        }
                        own.end(None);
                    }
                    self.streams += 1;
                    self.at = At::Boundary;
                    if !F::MULTI_STREAM {
                        return Ok(Progress {
                            consumed: used,
                            end: true,
                        });
                    }
                    // Hand on what the stream's end produced before looking
                    // further.
                    if out.len() > before || used == input.len() {
                        return Ok(Progress {
                            consumed: used,
                            end: false,
                        });
                    }
                }
                At::Boundary => {
                    if rest.is_empty() {
                        return Ok(Progress {
                            consumed: used,
                            end: false,
                        });
                    }
                    match self.boundary(rest, at)? {
                        Boundary::Need => {
                            return Ok(Progress {
                                consumed: input.len(),
                                end: false,
                            });
                        }
                        Boundary::Ignore(n) => {
                            return Ok(Progress {
                                consumed: used + n,
                                end: true,
                            });
                        }
                        Boundary::Start(n) => {
                            let held_at = at + n as u64 - self.held.len() as u64;
                            used += n;
                            self.start_stream(out, held_at)?;
                        }
                    }
                }
            }
        }
    }

    fn emitted(&mut self, chunk: &Bytes) {
        if let Some(own) = &mut self.own_sum {
            own.emitted(chunk);
        }
    }

    fn settle(&mut self) -> Result<(), Error> {
        match &mut self.own_sum {
            Some(own) => own.settle::<F>(),
            None => Ok(()),
        }
    }

    fn finish(&mut self, offset: u64) -> Result<(), Error> {
        self.settle()?;
        match self.at {
            At::Stream | At::Descriptor | At::Checksum => Err(truncated(F::FORMAT, offset)),
            At::Boundary if self.streams == 0 || !self.held.is_empty() => {
                Err(truncated(F::FORMAT, offset))
            }
            At::Boundary => self.check_padding(offset),
        }
    }
}

fn setup_error<F: DecodeFormat>(e: &str) -> Error {
    Error::msg(format!("{}: cannot set up the decoder: {e}", F::FORMAT))
}

/// A codec's error as weir's: corrupt input at or after `at`, or, for a
/// memory limit, a limit error.
fn corrupt<F: DecodeFormat>(e: &std::io::Error, at: u64) -> Error {
    let text = e.to_string();
    // Said once: libbz2-rs's messages begin with "bzip2: " already.
    let text = text
        .strip_prefix(F::FORMAT)
        .and_then(|t| t.strip_prefix(": "))
        .unwrap_or(&text);
    // A format without a magic number learns it was given something else
    // from its header (a .lzma file's 13 bytes).
    if !F::HAS_MAGIC && at < LZMA_HEADER_LEN && text.contains("format not recognized") {
        return Error::corrupt(format!(
            "{}: not in {} format (no valid header at byte offset 0)",
            F::FORMAT,
            F::FORMAT
        ));
    }
    if text.contains("memory limit reached") {
        return Error::limit(format!(
            "{}: the stream needs more memory than allowed (at byte offset {at}): {text}",
            F::FORMAT
        ));
    }
    Error::corrupt(format!(
        "{}: corrupt input at or after byte offset {at}: {text}",
        F::FORMAT
    ))
}

/// The length of a `.lzma` file's header: properties, dictionary size and
/// uncompressed size.
const LZMA_HEADER_LEN: u64 = 13;

/// What a format adds to the encoding adapter.
pub(crate) trait EncodeFormat {
    /// The codec from `compression-codecs`.
    type Codec: EncodeV2;
    /// The format name used in error messages.
    const FORMAT: &'static str;
    /// A sync flush ends the stream and the next input starts a new one:
    /// for bzip2, whose own flush leaves the block's last bits unwritten
    /// (a stream is decoded whole, streams back to back included, so the
    /// output is still one file to `bzip2 -d`).
    const FLUSH_ENDS_STREAM: bool = false;
    /// What a codec is made from (the level, and any other options).
    type Settings: Copy + std::fmt::Debug;

    /// A fresh codec.
    fn codec(settings: Self::Settings) -> Self::Codec;
}

/// A [`RawEncoder`] over a `compression-codecs` encoder.
pub(crate) struct CodecsEncoder<F: EncodeFormat> {
    codec: F::Codec,
    settings: F::Settings,
    /// Input taken since the codec was made.
    taken: bool,
    /// The codec was made afresh by a flush that ended a stream.
    restarted: bool,
    scratch: Scratch,
}

impl<F: EncodeFormat> CodecsEncoder<F> {
    pub(crate) fn new(settings: F::Settings) -> Self {
        CodecsEncoder {
            codec: F::codec(settings),
            settings,
            taken: false,
            restarted: false,
            scratch: Scratch::default(),
        }
    }

    /// One call of the codec: `(consumed, operation complete)`.
    fn call(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        let codec = &mut self.codec;
        let res = self.scratch.run(out, |buf| {
            let mut dst = WriteBuffer::new_initialized(buf);
            let r = match op {
                EncodeOp::Process => {
                    let mut src = PartialBuffer::new(input);
                    codec
                        .encode(&mut src, &mut dst)
                        .map(|()| (src.written_len(), false))
                }
                EncodeOp::Flush => codec.flush(&mut dst).map(|done| (0, done)),
                EncodeOp::Finish => codec.finish(&mut dst).map(|done| (0, done)),
            };
            (dst.written_len(), r)
        });
        res.map_err(|e| Error::msg(format!("{} encoder failed: {e}", F::FORMAT)))
    }
}

impl<F: EncodeFormat> std::fmt::Debug for CodecsEncoder<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodecsEncoder")
            .field("format", &F::FORMAT)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<F: EncodeFormat> RawEncoder for CodecsEncoder<F> {
    const FORMAT: &'static str = F::FORMAT;

    fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        match op {
            EncodeOp::Process => {
                self.taken |= !input.is_empty();
                self.call(input, out, op)
            }
            EncodeOp::Flush if F::FLUSH_ENDS_STREAM => {
                let (_, done) = self.call(input, out, EncodeOp::Finish)?;
                if done {
                    self.codec = F::codec(self.settings);
                    self.taken = false;
                    self.restarted = true;
                }
                Ok((0, done))
            }
            // Nothing since the stream a flush ended: no empty stream after it.
            EncodeOp::Finish if self.restarted && !self.taken => Ok((0, true)),
            EncodeOp::Flush | EncodeOp::Finish => self.call(input, out, op),
        }
    }
}
