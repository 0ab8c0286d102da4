//! The decoder: ISA-L's `isal_inflate` behind a safe, sans-IO API.
//!
//! ```
//! use std::io::Write;
//!
//! let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
//! enc.write_all(b"hello, hello, hello").unwrap();
//! let mut input = enc.finish().unwrap();
//! input.extend_from_slice(b"TRAILER!");
//!
//! let mut inflate = weir_isal::Inflate::new();
//! let mut out = Vec::with_capacity(64);
//! let step = inflate.inflate(&input, &mut out).unwrap();
//! assert!(step.ended);
//! assert_eq!(out, b"hello, hello, hello");
//! // What was taken but is not DEFLATE data comes back first.
//! let mut rest = inflate.take_unused().to_vec();
//! rest.extend_from_slice(&input[step.consumed..]);
//! assert_eq!(rest, b"TRAILER!");
//! ```

use std::fmt;
use std::mem::MaybeUninit;

use isal_sys::igzip_lib as sys;

/// Why a DEFLATE stream could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InflateError {
    /// A block header is invalid (reserved block type, a stored block whose
    /// length check fails, a bad Huffman table).
    InvalidBlock,
    /// A code that no symbol has, or a symbol that is not allowed.
    InvalidSymbol,
    /// A distance reaching back before the start of the data.
    InvalidLookback,
    /// Any other failure ISA-L reports, with its code.
    Other(i32),
    /// ISA-L reported a successful call whose input or output counts
    /// cannot be true (more than it was given); its output was dropped.
    Inconsistent,
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InflateError::InvalidBlock => f.write_str("invalid block"),
            InflateError::InvalidSymbol => f.write_str("invalid symbol"),
            InflateError::InvalidLookback => f.write_str("invalid distance too far back"),
            InflateError::Other(code) => write!(f, "inflate failed (ISA-L error {code})"),
            InflateError::Inconsistent => f.write_str("inflate reported impossible progress"),
        }
    }
}

impl std::error::Error for InflateError {}

/// What one call of [`Inflate::inflate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Bytes of this call's input that belong to the DEFLATE stream and
    /// were used. Input from `consumed` on was not touched.
    pub consumed: usize,
    /// The stream's final block has been decoded and all of its output
    /// delivered.
    pub ended: bool,
}

/// Bytes taken in by earlier calls that follow the end of the stream; see
/// [`Inflate::take_unused`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unused {
    bytes: [u8; 8],
    len: usize,
}

impl Unused {
    const NONE: Unused = Unused {
        bytes: [0; 8],
        len: 0,
    };

    /// The bytes, in stream order.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The bytes as a vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_slice().to_vec()
    }
}

/// One raw DEFLATE stream being decoded by ISA-L, with a 32 KiB window.
///
/// It holds about 85 KiB of ISA-L state (its Huffman tables and a history
/// buffer are inside it), allocated once; [`reset`](Self::reset) starts the
/// next stream without allocating.
pub struct Inflate {
    /// ISA-L's state. Its `next_in`/`next_out` pointers are set from the
    /// slices of each call and never used after the call returns.
    state: Box<sys::inflate_state>,
    ended: bool,
    failed: Option<InflateError>,
    /// Unused bytes counted as consumed by an earlier call, not yet taken.
    unused: Unused,
    /// Input bytes of the stream taken so far (bytes handed back as unused
    /// are not counted).
    total_in: u64,
}

// SAFETY: `inflate_state` holds plain integers and arrays, plus two raw
// pointers that are only ever set from the slices passed to one call of
// `inflate` and are not dereferenced by anything between calls. Moving the
// state to another thread between calls is therefore sound; all access goes
// through `&mut self`.
unsafe impl Send for Inflate {}

// SAFETY: no method takes `&self` and reaches the state through a pointer;
// shared references only read plain fields (`ended`, `failed`, `unused`).
unsafe impl Sync for Inflate {}

impl Default for Inflate {
    fn default() -> Self {
        Inflate::new()
    }
}

impl fmt::Debug for Inflate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflate")
            .field("total_out", &self.state.total_out)
            .field("ended", &self.ended)
            .field("failed", &self.failed)
            .finish()
    }
}

impl Inflate {
    /// A decoder for one raw DEFLATE stream (no zlib or gzip wrapper).
    pub fn new() -> Self {
        let state: Box<MaybeUninit<sys::inflate_state>> = Box::new_zeroed();
        // SAFETY: `inflate_state` is a C struct of integers, fixed-size
        // arrays of integers, nested structs of the same, and raw pointers;
        // all-zero bytes are a valid value of each of them (a null pointer
        // for the pointers).
        let mut state = unsafe { state.assume_init() };
        init(&mut state);
        Inflate {
            state,
            ended: false,
            failed: None,
            unused: Unused::NONE,
            total_in: 0,
        }
    }

    fn fail(&mut self, e: InflateError) -> InflateError {
        self.failed = Some(e);
        e
    }

    /// Forgets the current stream and gets ready for a new one.
    pub fn reset(&mut self) {
        init(&mut self.state);
        self.ended = false;
        self.failed = None;
        self.unused = Unused::NONE;
        self.total_in = 0;
    }

    /// Input bytes taken since the stream began, also by a call that failed
    /// (so an error can be placed near where it was found).
    pub fn total_in(&self) -> u64 {
        self.total_in
    }

    /// Whether the final block has been decoded.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Decodes from `input` into the spare capacity of `out` (appending; it
    /// never grows `out`). Stops when the input is used up, `out` is full or
    /// the stream ends. A call with room in `out` and non-empty input always
    /// makes progress unless the stream has ended. After the end it does
    /// nothing and reports the end again.
    ///
    /// # Errors
    /// Corrupt DEFLATE data; the decoder stays failed (every later call
    /// returns the same error) until [`reset`](Self::reset). `out` keeps
    /// what earlier calls appended but gets nothing from the failing call:
    /// ISA-L's counters cannot be trusted after an error, so the output
    /// decoded just before the corruption (at most `out`'s spare capacity)
    /// is dropped.
    pub fn inflate(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<Step, InflateError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.ended {
            return Ok(Step {
                consumed: 0,
                ended: true,
            });
        }
        let avail_in = u32::try_from(input.len()).unwrap_or(u32::MAX);
        let spare = out.spare_capacity_mut();
        let avail_out = u32::try_from(spare.len()).unwrap_or(u32::MAX);
        let s = &mut *self.state;
        // ISA-L never writes through `next_in`; the C field is not const.
        s.next_in = input.as_ptr().cast_mut();
        s.avail_in = avail_in;
        s.next_out = spare.as_mut_ptr().cast::<u8>();
        s.avail_out = avail_out;
        // SAFETY: the state was initialised by `isal_inflate_init`; `next_in`
        // points at `avail_in` readable bytes of `input` and `next_out` at
        // `avail_out` writable bytes of `out`'s spare capacity, both alive
        // for this call. ISA-L reads at most `avail_in` bytes from `next_in`,
        // writes at most `avail_out` bytes at `next_out`, and keeps neither
        // pointer in use after it returns.
        let ret = unsafe { sys::isal_inflate(s) };
        s.next_in = std::ptr::null_mut();
        s.next_out = std::ptr::null_mut();
        // The counters are checked, not trusted: on an error, ISA-L's
        // assembly decoder can report an `avail_out` that counts bytes it
        // never wrote (it moves past a match before checking its distance),
        // even one below zero. So after an error nothing this call wrote is
        // kept, and a counter that moved the wrong way is an error too.
        let used_in = avail_in.checked_sub(s.avail_in);
        let written = avail_out.checked_sub(s.avail_out);
        if ret < 0 {
            self.total_in += u64::from(used_in.unwrap_or(0));
            return Err(self.fail(match ret {
                sys::ISAL_INVALID_BLOCK => InflateError::InvalidBlock,
                sys::ISAL_INVALID_SYMBOL => InflateError::InvalidSymbol,
                sys::ISAL_INVALID_LOOKBACK => InflateError::InvalidLookback,
                other => InflateError::Other(other),
            }));
        }
        let (Some(used_in), Some(written)) = (used_in, written) else {
            return Err(self.fail(InflateError::Inconsistent));
        };
        self.total_in += u64::from(used_in);
        let (used_in, written) = (used_in as usize, written as usize);
        if used_in > input.len() || written > out.capacity() - out.len() {
            return Err(self.fail(InflateError::Inconsistent));
        }
        let len = out.len() + written;
        // SAFETY: the call succeeded and ISA-L wrote `written` bytes from the
        // start of the spare capacity (`avail_out` went down by that much),
        // so they are initialised; `written` fits the spare capacity
        // (checked just above).
        unsafe { out.set_len(len) };
        let mut consumed = used_in;
        if s.block_state == sys::isal_block_state_ISAL_BLOCK_FINISH {
            self.ended = true;
            // Whole bytes still in the bit buffer follow the stream's last
            // bit (the low `bits % 8` bits are the rest of its last byte).
            let bits = s.read_in_length.max(0) as u32;
            let whole = (bits / 8) as usize;
            let bytes = (s.read_in >> (bits % 8)).to_le_bytes();
            // The last `whole` bytes taken are unused: give back those this
            // call took, and keep the ones taken earlier for `take_unused`.
            let back = whole.min(consumed);
            consumed -= back;
            self.total_in -= whole as u64;
            let earlier = whole - back;
            let mut kept = [0; 8];
            kept[..earlier].copy_from_slice(&bytes[..earlier]);
            self.unused = Unused {
                bytes: kept,
                len: earlier,
            };
            s.read_in = 0;
            s.read_in_length = 0;
        }
        Ok(Step {
            consumed,
            ended: self.ended,
        })
    }

    /// After the end: the bytes that follow the DEFLATE stream but were
    /// counted as consumed by earlier calls (at most 8). They come, in
    /// order, before the input from the last call's
    /// [`consumed`](Step::consumed) on. Empty before the end, and once
    /// taken.
    pub fn take_unused(&mut self) -> Unused {
        std::mem::replace(&mut self.unused, Unused::NONE)
    }
}

/// `isal_inflate_init` on the state, set up for raw DEFLATE with the
/// largest window.
fn init(state: &mut sys::inflate_state) {
    // SAFETY: `state` is a valid, exclusively borrowed `inflate_state`;
    // `isal_inflate_init` only writes its fields.
    unsafe { sys::isal_inflate_init(state) };
    state.crc_flag = sys::ISAL_DEFLATE;
    state.hist_bits = 0;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::io::Write;

    fn deflate(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Decodes `input` fed in pieces of `piece` bytes into outputs of at
    /// most `room` bytes; returns (output, the bytes after the stream).
    fn run(input: &[u8], piece: usize, room: usize) -> Result<(Vec<u8>, Vec<u8>), InflateError> {
        let mut inf = Inflate::new();
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let end = (pos + piece).min(input.len());
            let mut buf = Vec::with_capacity(room);
            let step = inf.inflate(&input[pos..end], &mut buf)?;
            out.extend_from_slice(&buf);
            pos += step.consumed;
            if step.ended {
                let mut rest = inf.take_unused().to_vec();
                rest.extend_from_slice(&input[pos..]);
                return Ok((out, rest));
            }
            assert!(
                step.consumed > 0 || !buf.is_empty() || pos == input.len(),
                "no progress at {pos}"
            );
            if pos == input.len() && buf.is_empty() {
                return Err(InflateError::Other(1));
            }
        }
    }

    fn text(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(4) {
                    b"abcdefgh \n"[(x >> 8) as usize % 10]
                } else {
                    (i % 61) as u8 + 32
                }
            })
            .collect()
    }

    #[test]
    fn decodes_and_hands_back_what_follows() {
        let data = text(300_000, 7);
        for level in [0, 1, 6, 9] {
            let mut input = deflate(&data, level);
            input.extend_from_slice(b"0123456789abcdef");
            for (piece, room) in [(1, 1), (3, 7), (4096, 65536), (1 << 20, 1 << 20)] {
                let (out, rest) = run(&input, piece, room).unwrap();
                assert_eq!(out, data, "level {level} piece {piece} room {room}");
                assert_eq!(
                    rest, b"0123456789abcdef",
                    "level {level} piece {piece} room {room}"
                );
            }
        }
    }

    #[test]
    fn empty_stream() {
        let mut input = deflate(b"", 6);
        input.push(0x1f);
        let (out, rest) = run(&input, 1, 16).unwrap();
        assert!(out.is_empty());
        assert_eq!(rest, [0x1f]);
    }

    #[test]
    fn corrupt_streams_fail_and_stay_failed() {
        // Block type 3 is reserved.
        let mut inf = Inflate::new();
        let mut out = Vec::with_capacity(64);
        let e = inf.inflate(&[0x07, 0, 0, 0], &mut out).unwrap_err();
        assert_eq!(e, InflateError::InvalidBlock);
        assert_eq!(inf.inflate(&[0x07], &mut out), Err(e));
        // A distance before the start of the data (fixed Huffman block:
        // length 3 at distance 1 as the first symbol).
        let mut inf = Inflate::new();
        let mut out = Vec::with_capacity(64);
        assert_eq!(
            inf.inflate(&[0x03, 0x02, 0x00, 0x00], &mut out),
            Err(InflateError::InvalidLookback)
        );
        // A stored block whose NLEN is not the complement of LEN.
        let mut inf = Inflate::new();
        let mut out = Vec::with_capacity(64);
        assert!(
            inf.inflate(&[0x01, 0x05, 0x00, 0x00, 0x00, b'x'], &mut out)
                .is_err()
        );
        inf.reset();
        let ok = deflate(b"again", 6);
        let mut out = Vec::with_capacity(64);
        assert!(inf.inflate(&ok, &mut out).unwrap().ended);
        assert_eq!(out, b"again");
    }

    /// Writes DEFLATE bits, least significant first.
    struct Bits {
        acc: u64,
        n: u32,
        out: Vec<u8>,
    }

    impl Bits {
        fn put(&mut self, v: u64, n: u32) {
            self.acc |= v << self.n;
            self.n += n;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// A Huffman code, whose bits go most significant first.
        fn code(&mut self, code: u64, n: u32) {
            let rev = code.reverse_bits() >> (64 - n);
            self.put(rev, n);
        }
    }

    /// A fixed-Huffman block: the literal 'a', `matches` copies of 258
    /// bytes at distance 1, then (if `bad`) a match whose distance code is
    /// 30, which does not exist, then the end of the block.
    fn fixed_block(matches: usize, bad: bool) -> Vec<u8> {
        let mut w = Bits {
            acc: 0,
            n: 0,
            out: Vec::new(),
        };
        w.put(1, 1); // final block
        w.put(1, 2); // fixed Huffman codes
        w.code(0x30 + u64::from(b'a'), 8);
        for _ in 0..matches {
            w.code(0xC0 + 285 - 280, 8); // length 258
            w.code(0, 5); // distance 1
        }
        if bad {
            w.code(257 - 256, 7); // length 3
            w.code(30, 5);
        }
        w.code(0, 7); // end of block
        if w.n > 0 {
            w.out.push(w.acc as u8);
        }
        w.out.extend_from_slice(&[0; 32]);
        w.out
    }

    #[test]
    fn a_bad_distance_after_much_output_is_a_clean_error() {
        // The good version decodes to 1 + 258 × 300 bytes.
        let good = fixed_block(300, false);
        let mut inf = Inflate::new();
        let mut out = Vec::with_capacity(1 << 20);
        assert!(inf.inflate(&good, &mut out).unwrap().ended);
        assert_eq!(out.len(), 1 + 258 * 300);
        assert!(out.iter().all(|&b| b == b'a'));
        // ISA-L's fast path reports a wrong output count here; whatever the
        // room, the call fails without touching `out`'s length.
        let bad = fixed_block(300, true);
        for room in [1 << 20, 77_675, 77_700, 4096, 1] {
            let mut inf = Inflate::new();
            let mut out = Vec::with_capacity(room);
            let mut got = 0;
            let err = loop {
                out.clear();
                match inf.inflate(&bad[got.min(bad.len())..], &mut out) {
                    Ok(step) => {
                        assert!(!step.ended, "room {room}: a bad stream ended");
                        got += step.consumed;
                        assert!(out.len() <= room);
                    }
                    Err(e) => break e,
                }
            };
            assert!(out.is_empty(), "room {room}");
            assert!(
                matches!(
                    err,
                    InflateError::InvalidLookback | InflateError::InvalidSymbol
                ),
                "room {room}: {err}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        #[test]
        fn round_trips_in_any_pieces(
            n in 0usize..200_000, seed in 1u64.., level in 0u32..10,
            piece in 1usize..70_000, room in 1usize..300_000,
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
        ) {
            let data = text(n, seed);
            let mut input = deflate(&data, level);
            input.extend_from_slice(&tail);
            let (out, rest) = run(&input, piece, room).unwrap();
            proptest::prop_assert_eq!(out, data);
            proptest::prop_assert_eq!(rest, tail);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096),
            piece in 1usize..512,
        ) {
            let mut inf = Inflate::new();
            let mut pos = 0;
            let mut produced = 0usize;
            while pos < input.len() {
                let mut buf = Vec::with_capacity(4096);
                match inf.inflate(&input[(pos)..(pos + piece).min(input.len())], &mut buf) {
                    Ok(step) => {
                        pos += step.consumed;
                        produced += buf.len();
                        if step.ended || (step.consumed == 0 && buf.is_empty()) { break; }
                    }
                    Err(_) => break,
                }
                // DEFLATE expands at most 258 bytes per 1 bit, plus a block's slack.
                proptest::prop_assert!(produced <= 2064 * (pos + 64));
            }
        }
    }
}
