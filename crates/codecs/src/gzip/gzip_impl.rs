//! gzip framing (RFC 1952) over raw DEFLATE: header, CRC-32 and ISIZE
//! trailer, members one after another.

use crc32fast::Hasher;
use weir_core::Error;

use super::GzipHeader;
use super::inflater::Inflater;
use crate::Trailing;
use crate::deflate::flate_impl::FlateEncoder;
use crate::engine::truncated;
use crate::engine::{EncodeOp, Progress, RawDecoder, RawEncoder};

pub(crate) const ID1: u8 = 0x1f;
pub(crate) const ID2: u8 = 0x8b;
pub(crate) const CM_DEFLATE: u8 = 8;
pub(crate) const FTEXT: u8 = 0x01;
const FHCRC: u8 = 0x02;
pub(crate) const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED: u8 = 0xe0;
/// The most bytes of a header's name, comment or extra field kept for
/// [`GzipHeader`]; longer fields are read (and checked) but cut there.
const KEEP_FIELD: usize = 4096;
const OS_UNKNOWN: u8 = 255;

/// Writes a gzip header.
pub(crate) fn write_header(h: &GzipHeader, level: u32, out: &mut Vec<u8>) {
    let mut flags = 0;
    if h.extra.is_some() {
        flags |= FEXTRA;
    }
    if h.name.is_some() {
        flags |= FNAME;
    }
    if h.comment.is_some() {
        flags |= FCOMMENT;
    }
    let xfl = match level {
        9 => 2,
        0 | 1 => 4,
        _ => 0,
    };
    out.extend_from_slice(&[ID1, ID2, CM_DEFLATE, flags]);
    out.extend_from_slice(&h.mtime.to_le_bytes());
    out.extend_from_slice(&[xfl, h.os.unwrap_or(OS_UNKNOWN)]);
    if let Some(extra) = &h.extra {
        let len = extra.len().min(u16::MAX as usize);
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.extend_from_slice(&extra[..len]);
    }
    for field in [&h.name, &h.comment].into_iter().flatten() {
        // A zero byte would end the field early: stop at the first one.
        out.extend(field.iter().copied().take_while(|&b| b != 0));
        out.push(0);
    }
}

/// gzip encoding: one member.
pub(crate) struct GzipRawEncoder {
    flate: FlateEncoder,
    header: Option<Vec<u8>>,
    crc: Hasher,
    isize: u32,
    trailer_written: bool,
}

impl GzipRawEncoder {
    pub(crate) fn new(level: u32, header: &GzipHeader) -> Self {
        let mut h = Vec::new();
        write_header(header, level, &mut h);
        GzipRawEncoder {
            flate: FlateEncoder::new(level, false),
            header: Some(h),
            crc: Hasher::new(),
            isize: 0,
            trailer_written: false,
        }
    }
}

impl std::fmt::Debug for GzipRawEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GzipRawEncoder")
            .field("isize", &self.isize)
            .finish()
    }
}

impl RawEncoder for GzipRawEncoder {
    const FORMAT: &'static str = "gzip";

    fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        op: EncodeOp,
    ) -> Result<(usize, bool), Error> {
        if let Some(h) = self.header.take() {
            out.extend_from_slice(&h);
        }
        if self.trailer_written {
            return Ok((0, true));
        }
        let (consumed, done) = self.flate.encode_with(Self::FORMAT, input, out, op)?;
        self.crc.update(&input[..consumed]);
        self.isize = self.isize.wrapping_add(consumed as u32);
        if op == EncodeOp::Finish && done {
            out.extend_from_slice(&self.crc.clone().finalize().to_le_bytes());
            out.extend_from_slice(&self.isize.to_le_bytes());
            self.trailer_written = true;
        }
        Ok((consumed, done))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// The fixed 10 bytes.
    Fixed,
    /// The 2-byte length of the extra field.
    ExtraLen,
    /// The extra field's bytes, this many left.
    Extra(usize),
    Name,
    Comment,
    /// The 2-byte header CRC.
    HeaderCrc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header(Field),
    Body,
    Trailer,
    /// After a member: another may start.
    Boundary,
    /// After a member, the byte 0x1f was seen.
    BoundaryMagic1,
}

/// gzip decoding: every member, with header and trailer checks.
pub(crate) struct GzipRawDecoder {
    state: State,
    inflater: Inflater,
    /// Bytes of the current fixed-size piece (fixed header, lengths, CRCs,
    /// trailer), and how many are filled.
    small: [u8; 10],
    filled: usize,
    flags: u8,
    header_crc: Hasher,
    header: GzipHeader,
    first_header: Option<GzipHeader>,
    crc: Hasher,
    isize: u32,
    member: u64,
    member_start: u64,
    multi_member: bool,
    trailing: Trailing,
}

impl std::fmt::Debug for GzipRawDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GzipRawDecoder")
            .field("state", &self.state)
            .field("member", &self.member)
            .finish()
    }
}

impl GzipRawDecoder {
    pub(crate) fn new(multi_member: bool, trailing: Trailing) -> Self {
        GzipRawDecoder {
            state: State::Header(Field::Fixed),
            inflater: Inflater::new(),
            small: [0; 10],
            filled: 0,
            flags: 0,
            header_crc: Hasher::new(),
            header: GzipHeader::default(),
            first_header: None,
            crc: Hasher::new(),
            isize: 0,
            member: 1,
            member_start: 0,
            multi_member,
            trailing,
        }
    }

    /// Starts as if `member - 1` members had been decoded, the next one
    /// starting at stream offset `offset` (the parallel decoder hands the
    /// rest of a stream over this way).
    pub(crate) fn continue_at(&mut self, member: u64, offset: u64) {
        self.member = member.max(1);
        self.start_member(offset, 0);
    }

    /// The header of the first member, once it has been read.
    pub(crate) fn first_header(&self) -> Option<&GzipHeader> {
        self.first_header.as_ref()
    }

    /// Members whose trailer has been checked.
    pub(crate) fn members(&self) -> u64 {
        match self.state {
            State::Boundary | State::BoundaryMagic1 => self.member,
            _ => self.member - 1,
        }
    }

    fn start_member(&mut self, offset: u64, magic_seen: usize) {
        self.state = State::Header(Field::Fixed);
        self.small = [0; 10];
        self.small[0] = ID1;
        self.small[1] = ID2;
        self.filled = magic_seen;
        self.header_crc = Hasher::new();
        if magic_seen > 0 {
            self.header_crc.update(&[ID1, ID2][..magic_seen]);
        }
        self.header = GzipHeader::default();
        self.inflater.reset();
        self.crc = Hasher::new();
        self.isize = 0;
        self.member_start = offset;
    }

    /// Consumes header bytes from `input`; returns how many.
    fn header(&mut self, input: &[u8], offset: u64) -> Result<usize, Error> {
        let mut i = 0;
        while i < input.len() {
            let State::Header(field) = self.state else {
                break;
            };
            match field {
                Field::Fixed | Field::ExtraLen | Field::HeaderCrc => {
                    let want = match field {
                        Field::Fixed => 10,
                        _ => 2,
                    };
                    let n = (want - self.filled).min(input.len() - i);
                    self.small[self.filled..self.filled + n].copy_from_slice(&input[i..i + n]);
                    if field != Field::HeaderCrc {
                        self.header_crc.update(&input[i..i + n]);
                    }
                    // Check the magic as soon as its bytes are here, so
                    // garbage is reported where it starts.
                    for k in self.filled..self.filled + n {
                        self.check_fixed_byte(field, k, offset + (i + k - self.filled) as u64)?;
                    }
                    self.filled += n;
                    i += n;
                    if self.filled == want {
                        self.filled = 0;
                        // The stream offset where this piece started.
                        let start = (offset + i as u64).saturating_sub(want as u64);
                        self.end_field(field, start)?;
                    }
                }
                Field::Extra(left) => {
                    let n = left.min(input.len() - i);
                    self.header_crc.update(&input[i..i + n]);
                    let keep = self.header.extra.get_or_insert_with(Vec::new);
                    let room = KEEP_FIELD.saturating_sub(keep.len());
                    keep.extend_from_slice(&input[i..i + n.min(room)]);
                    i += n;
                    if n == left {
                        self.next_field(FEXTRA);
                    } else {
                        self.state = State::Header(Field::Extra(left - n));
                    }
                }
                Field::Name | Field::Comment => {
                    let rest = &input[i..];
                    let (n, done) = match rest.iter().position(|&b| b == 0) {
                        Some(z) => (z + 1, true),
                        None => (rest.len(), false),
                    };
                    self.header_crc.update(&rest[..n]);
                    let text = &rest[..if done { n - 1 } else { n }];
                    let keep = if field == Field::Name {
                        self.header.name.get_or_insert_with(Vec::new)
                    } else {
                        self.header.comment.get_or_insert_with(Vec::new)
                    };
                    let room = KEEP_FIELD.saturating_sub(keep.len());
                    keep.extend_from_slice(&text[..text.len().min(room)]);
                    i += n;
                    if done {
                        self.next_field(if field == Field::Name {
                            FNAME
                        } else {
                            FCOMMENT
                        });
                    }
                }
            }
        }
        Ok(i)
    }

    fn check_fixed_byte(&self, field: Field, k: usize, at: u64) -> Result<(), Error> {
        if field != Field::Fixed {
            return Ok(());
        }
        let b = self.small[k];
        match k {
            0 | 1 if b != [ID1, ID2][k] => Err(Error::corrupt(format!(
                "gzip: not in gzip format (bad magic byte 0x{b:02x} at byte offset {at}, member {})",
                self.member
            ))),
            2 if b != CM_DEFLATE => Err(Error::corrupt(format!(
                "gzip: unknown compression method {b} at byte offset {at}"
            ))),
            3 if b & RESERVED != 0 => Err(Error::corrupt(format!(
                "gzip: reserved header flags 0x{:02x} set at byte offset {at}",
                b & RESERVED
            ))),
            _ => Ok(()),
        }
    }

    /// A fixed-size piece of the header is complete.
    fn end_field(&mut self, field: Field, at: u64) -> Result<(), Error> {
        match field {
            Field::Fixed => {
                self.flags = self.small[3];
                self.header.mtime = u32::from_le_bytes([
                    self.small[4],
                    self.small[5],
                    self.small[6],
                    self.small[7],
                ]);
                self.header.os = Some(self.small[9]);
                self.header.text = self.flags & FTEXT != 0;
                self.next_field(0);
            }
            Field::ExtraLen => {
                let len = u16::from_le_bytes([self.small[0], self.small[1]]) as usize;
                self.header.extra = Some(Vec::new());
                if len == 0 {
                    self.next_field(FEXTRA);
                } else {
                    self.state = State::Header(Field::Extra(len));
                }
            }
            Field::HeaderCrc => {
                let stored = u16::from_le_bytes([self.small[0], self.small[1]]);
                let computed = (self.header_crc.clone().finalize() & 0xffff) as u16;
                if stored != computed {
                    return Err(Error::corrupt(format!(
                        "gzip: header crc16 mismatch at byte offset {at} (stored 0x{stored:04x}, computed 0x{computed:04x})"
                    )));
                }
                self.next_field(FHCRC);
            }
            Field::Extra(_) | Field::Name | Field::Comment => {}
        }
        Ok(())
    }

    /// Moves to the header field after the one whose flag is `done`.
    fn next_field(&mut self, done: u8) {
        let order = [
            (FEXTRA, Field::ExtraLen),
            (FNAME, Field::Name),
            (FCOMMENT, Field::Comment),
            (FHCRC, Field::HeaderCrc),
        ];
        let start = order
            .iter()
            .position(|(f, _)| *f == done)
            .map_or(0, |p| p + 1);
        for (flag, field) in &order[start..] {
            if self.flags & flag != 0 {
                self.state = State::Header(*field);
                return;
            }
        }
        if self.first_header.is_none() {
            self.first_header = Some(self.header.clone());
        }
        self.state = State::Body;
    }

    fn trailer(&mut self, input: &[u8], offset: u64) -> Result<usize, Error> {
        let n = (8 - self.filled).min(input.len());
        self.small[self.filled..self.filled + n].copy_from_slice(&input[..n]);
        self.filled += n;
        if self.filled < 8 {
            return Ok(n);
        }
        self.filled = 0;
        let t = &self.small;
        let stored_crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let stored_len = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        let crc = self.crc.clone().finalize();
        let trailer_at = (offset + n as u64).saturating_sub(8);
        if stored_crc != crc {
            return Err(Error::corrupt(format!(
                "gzip: crc32 mismatch in member {} trailer at byte offset {trailer_at} (stored 0x{stored_crc:08x}, computed 0x{crc:08x})",
                self.member
            )));
        }
        if stored_len != self.isize {
            return Err(Error::corrupt(format!(
                "gzip: length (ISIZE) mismatch in member {} trailer at byte offset {} (stored {stored_len}, decoded {} mod 2^32)",
                self.member,
                trailer_at + 4,
                self.isize
            )));
        }
        self.state = State::Boundary;
        Ok(n)
    }
}

impl RawDecoder for GzipRawDecoder {
    const FORMAT: &'static str = "gzip";
    const ZERO_PADDING: bool = true;

    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>, offset: u64) -> Result<Progress, Error> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            let at = offset + pos as u64;
            match self.state {
                State::Header(_) => {
                    if rest.is_empty() {
                        break;
                    }
                    pos += self.header(rest, at)?;
                }
                State::Body => {
                    if out.len() == out.capacity() {
                        break;
                    }
                    let before = out.len();
                    let (n, ended) = self.inflater.decode(rest, out, at)?;
                    let fresh = &out[before..];
                    self.crc.update(fresh);
                    self.isize = self.isize.wrapping_add(fresh.len() as u32);
                    pos += n;
                    if ended {
                        self.state = State::Trailer;
                        // The trailer may have begun in bytes the inflater
                        // already took.
                        self.filled = self.inflater.take_unused(&mut self.small[..8]);
                    } else if (n == 0 && out.len() == before) || out.len() == out.capacity() {
                        break;
                    }
                }
                State::Trailer => {
                    if rest.is_empty() && self.filled < 8 {
                        break;
                    }
                    pos += self.trailer(rest, at)?;
                }
                State::Boundary => {
                    if rest.is_empty() {
                        break;
                    }
                    if !self.multi_member || rest[0] != ID1 {
                        return Ok(Progress {
                            consumed: pos,
                            end: true,
                        });
                    }
                    if rest.len() >= 2 {
                        if rest[1] != ID2 {
                            return Ok(Progress {
                                consumed: pos,
                                end: true,
                            });
                        }
                        self.member += 1;
                        self.start_member(at, 2);
                        pos += 2;
                    } else {
                        self.state = State::BoundaryMagic1;
                        pos += 1;
                    }
                }
                State::BoundaryMagic1 => {
                    if rest.is_empty() {
                        break;
                    }
                    if rest[0] != ID2 {
                        if self.trailing == Trailing::Error {
                            return Err(Error::corrupt(format!(
                                "gzip: trailing garbage after the end of the stream at byte offset {}",
                                at.saturating_sub(1)
                            )));
                        }
                        return Ok(Progress {
                            consumed: pos,
                            end: true,
                        });
                    }
                    self.member += 1;
                    self.start_member(at.saturating_sub(1), 2);
                    pos += 1;
                }
            }
        }
        Ok(Progress {
            consumed: pos,
            end: false,
        })
    }

    fn finish(&mut self, offset: u64) -> Result<(), Error> {
        let place = match self.state {
            State::Boundary => return Ok(()),
            State::Header(Field::Fixed) if self.filled == 0 && self.member == 1 => {
                return Err(truncated(Self::FORMAT, offset));
            }
            State::Header(_) | State::BoundaryMagic1 => "header",
            State::Body => "compressed data",
            State::Trailer => "trailer",
        };
        Err(Error::corrupt(format!(
            "gzip: truncated input (unexpected end of file at byte offset {offset}, in the {place} of member {} starting at byte offset {})",
            self.member, self.member_start
        )))
    }
}
