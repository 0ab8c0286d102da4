//! Fuzzes the parallel gzip decoder's BGZF block parser
//! ([`weir_codecs::GzipDecoder::parallel`]): arbitrary input, and BGZF files
//! built from the input whose block sizes, lengths and bytes the fuzzer then
//! bends (sizes that lie, truncation, corrupt data).
#![no_main]
mod common;

use libfuzzer_sys::fuzz_target;
use weir_codecs::GzipDecoder;

/// CRC-32 (IEEE), bit by bit: the inputs are small.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// One BGZF block holding `data` in one stored DEFLATE block.
fn block(data: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0, 0]);
    let len = data.len() as u16;
    out.push(1);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let bsize = (out.len() - start - 1) as u16;
    out[start + 16..start + 18].copy_from_slice(&bsize.to_le_bytes());
}

fuzz_target!(|data: &[u8]| {
    let dec = || {
        GzipDecoder::builder()
            .threads(2)
            .max_output(common::LIMIT)
            .chunk_size(common::CHUNK)
            .build()
    };
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 || rest.len() < 8 {
        // Arbitrary bytes (the first is the chunking).
        common::drive(dec(), rest);
        return;
    }
    // rest = [chunking, block length, edits x 3 (kind, where, value lo, hi)...]
    // + payload: the payload cut into blocks, then bent.
    let (ctl, payload) = rest.split_at(8.min(rest.len()));
    let per_block = 1 + usize::from(ctl[1]) * 8;
    let mut file = Vec::new();
    let mut starts = Vec::new();
    for piece in payload.chunks(per_block) {
        starts.push(file.len());
        block(piece, &mut file);
    }
    starts.push(file.len());
    block(&[], &mut file);
    for edit in ctl[2..].chunks(3) {
        let [kind, which, value] = [edit[0], edit.get(1).copied().unwrap_or(0), edit.get(2).copied().unwrap_or(0)];
        let at = starts[usize::from(which) % starts.len()];
        if at + 18 > file.len() {
            // An earlier edit cut this block off.
            continue;
        }
        match kind % 5 {
            // A block size that lies, a little or a lot.
            0 => {
                let old = u16::from_le_bytes([file[at + 16], file[at + 17]]);
                let new = old.wrapping_add(u16::from(value)).wrapping_sub(128);
                file[at + 16..at + 18].copy_from_slice(&new.to_le_bytes());
            }
            1 => file[at + 16..at + 18].copy_from_slice(&[value, value >> 4]),
            // Truncation.
            2 => file.truncate(file.len().saturating_sub(usize::from(value))),
            // A flipped byte somewhere in the block.
            3 => {
                let i = at + usize::from(value) * 7;
                if let Some(b) = file.get_mut(i) {
                    *b ^= 0x5a;
                }
            }
            // Another XLEN (the subfield moves or vanishes).
            _ => {
                if let Some(b) = file.get_mut(at + 10) {
                    *b = value;
                }
            }
        }
    }
    let mut input = vec![ctl[0]];
    input.extend_from_slice(&file);
    common::drive(dec(), &input);
});
