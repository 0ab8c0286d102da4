//! The decoder driver: turns a [`RawDecoder`] into a bounded-output transform.

use bytes::Bytes;
use weir_core::{Error, Output};

use crate::Trailing;

/// How much a decoder may emit past `ratio × input` before the expansion
/// ratio limit applies (so that tiny inputs are not judged by their header).
pub(crate) const RATIO_SLACK: u64 = 64 * 1024;

/// The default size of a decoder's output chunks.
pub(crate) const DEFAULT_DECODE_CHUNK: usize = 256 * 1024;

/// Outputs smaller than this are copied into a right-sized chunk and the
/// large buffer is kept for the next call.
const COPY_BELOW: usize = 32 * 1024;

/// What one call of [`RawDecoder::decode`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Input bytes consumed.
    pub(crate) consumed: usize,
    /// The compressed stream is complete: input from `consumed` on is not
    /// part of it.
    pub(crate) end: bool,
}

/// A sans-IO decompressor: decodes `input` into the spare capacity of `out`.
pub(crate) trait RawDecoder {
    /// The format name used in error messages ("gzip", "zstd", …).
    const FORMAT: &'static str;

    /// Whether zero bytes after the end of the stream are padding that is
    /// always ignored (gzip's tape-block padding, as `gunzip` does).
    const ZERO_PADDING: bool = false;

    /// Decodes as much of `input` as fits into `out`'s spare capacity,
    /// appending to `out`. `offset` is the stream offset of `input[0]`, for
    /// error messages. It must make progress (consume input or produce
    /// output) whenever `input` is non-empty and `out` has room, unless it
    /// reports the end.
    ///
    /// # Errors
    /// Corrupt input, naming the format and the offset.
    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>, offset: u64) -> Result<Progress, Error>;

    /// [`decode`](Self::decode), with the input as a shared buffer: a
    /// decoder that hands input to other threads may keep slices of it
    /// rather than copy it (keeping the buffer alive until they are done).
    /// The default decodes it as bytes.
    ///
    /// # Errors
    /// As [`decode`](Self::decode).
    fn decode_shared(
        &mut self,
        input: &Bytes,
        out: &mut Vec<u8>,
        offset: u64,
    ) -> Result<Progress, Error> {
        self.decode(input, out, offset)
    }

    /// The input has ended at stream offset `offset`: fails unless the
    /// stream is complete.
    ///
    /// # Errors
    /// A truncated stream.
    fn finish(&mut self, offset: u64) -> Result<(), Error>;

    /// Whether the decoder holds work that input is not needed for (blocks
    /// decoding on other threads, or their output). Such a decoder is
    /// drained ([`drain`](Self::drain)) at the end of input and when it is
    /// given an empty chunk. The default holds nothing.
    fn held(&self) -> bool {
        false
    }

    /// Emits held output into `out`'s spare capacity, waiting for work in
    /// progress: `Ok(true)` once nothing is held, `Ok(false)` when `out` is
    /// full first, or when output is ready to be taken whole
    /// ([`take_ready`](Self::take_ready)).
    ///
    /// # Errors
    /// Corrupt input found by the held work.
    fn drain(&mut self, out: &mut Vec<u8>) -> Result<bool, Error> {
        let _ = out;
        Ok(true)
    }

    /// Output the decoder already holds whole (decoded on another thread),
    /// at most `max` bytes of it, to hand on as it is rather than copied
    /// into a buffer. It comes before anything [`decode`](Self::decode) or
    /// [`drain`](Self::drain) would write next. The default holds none.
    fn take_ready(&mut self, max: usize) -> Option<Bytes> {
        let _ = max;
        None
    }

    /// Whether [`take_ready`](Self::take_ready) would give output now.
    fn has_ready(&mut self) -> bool {
        false
    }

    /// The busy-time meters of the decoder's worker threads, if any.
    fn worker_busy(&self) -> Option<weir_core::WorkerBusy> {
        None
    }

    /// Sees each output chunk as it is handed on, in order (for checks
    /// done on the output apart from the codec, such as a content checksum
    /// on another thread). The default does nothing.
    fn emitted(&mut self, chunk: &Bytes) {
        let _ = chunk;
    }

    /// The input has ended and everything has been handed on: waits for
    /// checks still running elsewhere. Called at the end of input even when
    /// [`finish`](Self::finish) is not (after trailing data that is
    /// ignored). The default has none.
    ///
    /// # Errors
    /// Corrupt input found by such a check.
    fn settle(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// The options every decoder has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeSettings {
    pub(crate) max_output: Option<u64>,
    pub(crate) max_ratio: Option<u64>,
    pub(crate) chunk_size: usize,
    pub(crate) trailing: Trailing,
}

impl Default for DecodeSettings {
    fn default() -> Self {
        DecodeSettings {
            max_output: None,
            max_ratio: None,
            chunk_size: DEFAULT_DECODE_CHUNK,
            trailing: Trailing::Error,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Decoding the compressed stream.
    Stream,
    /// The stream ended; only padding zeros have followed so far.
    Padding,
    /// The stream ended; whatever follows is skipped.
    Skipping,
    /// Failed or finished: nothing more is accepted.
    Done,
}

/// Drives a [`RawDecoder`] for the `Transform` protocol: each call emits at
/// most one output chunk of at most `chunk_size` bytes and keeps the rest of
/// its input for [`resume`](DecodeEngine::resume).
#[derive(Debug)]
pub(crate) struct DecodeEngine<D> {
    raw: D,
    settings: DecodeSettings,
    input: Bytes,
    pos: usize,
    total_in: u64,
    total_out: u64,
    phase: Phase,
    /// More output may come without new input.
    more: bool,
    /// Held work is to be drained before more input is taken.
    draining: bool,
    /// The input has ended: once drained, the stream is finished.
    ending: bool,
    /// An error to report once the output before it has been taken.
    deferred: Option<Error>,
    /// A spare output buffer, kept when the last output was copied out.
    spare: Vec<u8>,
}

impl<D: RawDecoder> DecodeEngine<D> {
    pub(crate) fn new(raw: D, settings: DecodeSettings) -> Self {
        let mut settings = settings;
        settings.chunk_size = settings.chunk_size.max(1);
        DecodeEngine {
            raw,
            settings,
            input: Bytes::new(),
            pos: 0,
            total_in: 0,
            total_out: 0,
            phase: Phase::Stream,
            more: false,
            draining: false,
            ending: false,
            deferred: None,
            spare: Vec::new(),
        }
    }

    pub(crate) fn raw(&self) -> &D {
        &self.raw
    }

    pub(crate) fn total_in(&self) -> u64 {
        self.total_in
    }

    pub(crate) fn total_out(&self) -> u64 {
        self.total_out
    }

    pub(crate) fn transform(&mut self, chunk: Bytes, out: &mut Output<Bytes>) -> Result<(), Error> {
        if self.phase == Phase::Done {
            return Err(Error::corrupt(format!(
                "{}: data after the end of the decoded stream",
                D::FORMAT
            )));
        }
        if self.pos < self.input.len() {
            // Not expected from a conforming driver (it resumes until
            // nothing is held back), but never lose bytes.
            let mut joined = Vec::with_capacity(self.input.len() - self.pos + chunk.len());
            joined.extend_from_slice(&self.input[self.pos..]);
            joined.extend_from_slice(&chunk);
            self.input = Bytes::from(joined);
        } else {
            self.input = chunk;
        }
        self.pos = 0;
        if self.input.is_empty() && self.raw.held() {
            // An empty chunk (what `flush_when_idle` sends): hand on
            // everything held.
            self.draining = true;
        }
        self.step(out)
    }

    pub(crate) fn resume(&mut self, out: &mut Output<Bytes>) -> Result<bool, Error> {
        if let Some(e) = self.deferred.take() {
            self.phase = Phase::Done;
            return Err(e);
        }
        if !self.more {
            return Ok(false);
        }
        self.step(out)?;
        if !self.more && self.ending {
            self.ending = false;
            self.end_stream_after(out)?;
        }
        Ok(self.more)
    }

    pub(crate) fn flush(&mut self, out: &mut Output<Bytes>) -> Result<(), Error> {
        if let Some(e) = self.deferred.take() {
            self.phase = Phase::Done;
            return Err(e);
        }
        if self.phase == Phase::Stream && self.raw.held() {
            // Emit what is held first; `resume` finishes the stream.
            self.draining = true;
            self.ending = true;
            self.step(out)?;
            if self.more {
                return Ok(());
            }
            self.ending = false;
            return self.end_stream_after(out);
        }
        self.end_stream()
    }

    /// [`end_stream`](Self::end_stream) after a step that may have emitted
    /// output: an error then waits until that output has been taken.
    fn end_stream_after(&mut self, out: &Output<Bytes>) -> Result<(), Error> {
        match self.end_stream() {
            Err(e) if !out.is_empty() => {
                self.deferred = Some(e);
                self.more = true;
                Ok(())
            }
            res => res,
        }
    }

    /// The input has ended and nothing is held: checks the stream is whole.
    fn end_stream(&mut self) -> Result<(), Error> {
        let res = match self.phase {
            Phase::Stream => self.raw.finish(self.total_in),
            Phase::Padding | Phase::Skipping => self.raw.settle(),
            Phase::Done => Ok(()),
        };
        self.phase = Phase::Done;
        res
    }

    fn take_buffer(&mut self) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.spare);
        buf.clear();
        if buf.capacity() < self.settings.chunk_size {
            buf = Vec::with_capacity(self.settings.chunk_size);
        }
        buf
    }

    /// Emits one chunk of output (at most `chunk_size` bytes): fills a
    /// buffer, clips it to the decompression limits, hands it out, and
    /// settles what the call leaves for the next one.
    fn step(&mut self, out: &mut Output<Bytes>) -> Result<(), Error> {
        if self.phase == Phase::Stream
            && self.deferred.is_none()
            && let Some(mut piece) = self.raw.take_ready(self.settings.chunk_size)
        {
            // Output decoded elsewhere, handed on without a copy.
            let keep = self.clip_len(piece.len());
            piece.truncate(keep);
            self.total_out += piece.len() as u64;
            if !piece.is_empty() {
                self.raw.emitted(&piece);
                out.push(piece);
            }
            return self.settle(Ok(true), out);
        }
        let mut buf = self.take_buffer();
        let filled = self.fill(&mut buf);
        self.clip_to_limits(&mut buf);
        self.total_out += buf.len() as u64;
        self.emit(buf, out);
        self.settle(filled, out)
    }

    /// Decodes into `buf` until it holds a whole chunk (`Ok(true)`), the
    /// input runs out or the stream is over (`Ok(false)`), or the input is
    /// bad. Output decoded before an error stays in `buf`.
    fn fill(&mut self, buf: &mut Vec<u8>) -> Result<bool, Error> {
        loop {
            if buf.len() >= self.settings.chunk_size {
                return Ok(true);
            }
            match self.phase {
                Phase::Stream => {
                    let progress = self.decode_some(buf)?;
                    if progress && self.raw.has_ready() {
                        // The next step takes it whole.
                        return Ok(true);
                    }
                    if !progress {
                        if !self.draining {
                            return Ok(false);
                        }
                        let limit = self.settings.chunk_size;
                        if self.within(buf, limit, |raw, w| raw.drain(w))? {
                            self.draining = false;
                            return Ok(false);
                        }
                        if buf.len() < limit {
                            return Ok(true);
                        }
                    }
                }
                Phase::Padding => {
                    self.check_padding()?;
                    return Ok(false);
                }
                Phase::Skipping => {
                    self.skip_rest();
                    return Ok(false);
                }
                Phase::Done => return Ok(false),
            }
        }
    }

    /// One call of the codec on the input left; `Ok(false)` when it needs
    /// more input to go on.
    fn decode_some(&mut self, buf: &mut Vec<u8>) -> Result<bool, Error> {
        let limit = self.settings.chunk_size;
        // A slice shares the chunk's buffer: no copy.
        let input = self.input.slice(self.pos..);
        let before = buf.len();
        // Never let the codec write past the chunk limit, even if the
        // allocation is larger.
        let p = if buf.capacity() > limit {
            let mut window = Vec::with_capacity(limit - buf.len());
            let p = self.raw.decode_shared(&input, &mut window, self.total_in);
            buf.extend_from_slice(&window);
            p
        } else {
            self.raw.decode_shared(&input, buf, self.total_in)
        }?;
        let consumed = p.consumed.min(input.len());
        let input_was_empty = input.is_empty();
        self.pos += consumed;
        self.total_in += consumed as u64;
        if p.end {
            self.phase = if self.settings.trailing == Trailing::Ignore {
                Phase::Skipping
            } else {
                Phase::Padding
            };
            return Ok(true);
        }
        if consumed == 0 && buf.len() == before {
            if input_was_empty {
                return Ok(false);
            }
            return Err(Error::corrupt(format!(
                "{}: decoder made no progress at byte offset {}",
                D::FORMAT,
                self.total_in
            )));
        }
        Ok(true)
    }

    /// Runs `f` on the codec and `buf`, never letting it write past `limit`
    /// bytes even if `buf`'s allocation is larger.
    fn within<R>(
        &mut self,
        buf: &mut Vec<u8>,
        limit: usize,
        f: impl FnOnce(&mut D, &mut Vec<u8>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        if buf.capacity() > limit {
            let mut window = Vec::with_capacity(limit.saturating_sub(buf.len()));
            let r = f(&mut self.raw, &mut window);
            buf.extend_from_slice(&window);
            r
        } else {
            f(&mut self.raw, buf)
        }
    }

    /// After the end of the stream: zero bytes may pad a gzip file; anything
    /// else is trailing garbage.
    fn check_padding(&mut self) -> Result<(), Error> {
        let input = &self.input[self.pos..];
        let bad = if D::ZERO_PADDING {
            input.iter().position(|&b| b != 0)
        } else if input.is_empty() {
            None
        } else {
            Some(0)
        };
        if let Some(i) = bad {
            let at = self.total_in + i as u64;
            return Err(Error::corrupt(format!(
                "{}: trailing garbage after the end of the stream at byte offset {at}",
                D::FORMAT
            )));
        }
        self.skip_rest();
        Ok(())
    }

    /// Takes the rest of the input without decoding it.
    fn skip_rest(&mut self) {
        self.total_in += (self.input.len() - self.pos) as u64;
        self.pos = self.input.len();
    }

    /// Decompression limits: cuts `buf` to what they still allow, and
    /// defers the limit's error until that much has been handed out.
    fn clip_to_limits(&mut self, buf: &mut Vec<u8>) {
        let keep = self.clip_len(buf.len());
        buf.truncate(keep);
    }

    /// How much of `len` more bytes of output the decompression limits
    /// still allow; if less, defers the limit's error.
    fn clip_len(&mut self, len: usize) -> usize {
        let mut allowed = u64::MAX;
        let mut why = None;
        if let Some(max) = self.settings.max_output {
            allowed = max;
            why = Some(format!("output exceeds the limit of {max} bytes"));
        }
        if let Some(ratio) = self.settings.max_ratio {
            let by_ratio = self
                .total_in
                .saturating_mul(ratio)
                .saturating_add(RATIO_SLACK);
            if by_ratio < allowed {
                allowed = by_ratio;
                why = Some(format!(
                    "expansion exceeds the ratio limit of {ratio}:1 after {} input bytes",
                    self.total_in
                ));
            }
        }
        let produced = self.total_out + len as u64;
        if produced > allowed {
            let msg = why.unwrap_or_default();
            self.deferred = Some(Error::limit(format!("{}: {msg}", D::FORMAT)));
            return allowed.saturating_sub(self.total_out) as usize;
        }
        len
    }

    /// Whether there is more to do, given how the fill ended: an error with
    /// output already handed out waits until that output is taken.
    fn settle(&mut self, filled: Result<bool, Error>, out: &Output<Bytes>) -> Result<(), Error> {
        match filled {
            Err(e) => {
                if out.is_empty() {
                    self.phase = Phase::Done;
                    self.more = false;
                    return Err(e);
                }
                // Hand out what was decoded before the bad bytes first.
                if self.deferred.is_none() {
                    self.deferred = Some(e);
                }
                self.more = true;
                Ok(())
            }
            Ok(full) => {
                self.more = self.deferred.is_some() || full || self.pos < self.input.len();
                Ok(())
            }
        }
    }

    fn emit(&mut self, mut buf: Vec<u8>, out: &mut Output<Bytes>) {
        if buf.is_empty() {
            self.spare = buf;
            return;
        }
        if buf.len() < COPY_BELOW && buf.capacity() > 2 * COPY_BELOW {
            let piece = Bytes::copy_from_slice(&buf);
            self.raw.emitted(&piece);
            out.push(piece);
            self.spare = buf;
            return;
        }
        if buf.len() < buf.capacity() {
            buf.shrink_to_fit();
        }
        let piece = Bytes::from(buf);
        self.raw.emitted(&piece);
        out.push(piece);
    }
}
