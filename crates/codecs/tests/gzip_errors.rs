//! Bad gzip input: every kind is an error naming gzip and the byte offset,
//! never a short output and never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use support::*;
use weir::codecs::{GzipDecoder, GzipEncoder, Trailing};

fn member(data: &[u8]) -> Vec<u8> {
    apply(GzipEncoder::with_level(6), data).unwrap()
}

/// A member with every optional header field.
fn fancy_member(data: &[u8]) -> Vec<u8> {
    apply(
        GzipEncoder::builder()
            .file_name("a.txt")
            .comment("hi there")
            .extra(vec![1, 2, 3, 4])
            .mtime(1234567)
            .build(),
        data,
    )
    .unwrap()
}

fn decode_err(input: &[u8]) -> weir::Error {
    let r = run_sync(GzipDecoder::new(), input, &[usize::MAX]);
    r.error
        .unwrap_or_else(|| panic!("expected an error, got {} bytes of output", r.out.len()))
}

#[test]
fn truncation_at_every_byte_is_an_error() {
    let a = text(3000, 1);
    let mut file = fancy_member(&a);
    let boundary = file.len();
    file.extend(member(b"second member"));
    for cut in 0..file.len() {
        if cut == boundary {
            // A whole first member is a complete gzip file.
            assert_eq!(apply(GzipDecoder::new(), &file[..cut]).unwrap(), a);
            continue;
        }
        for sizes in [&[usize::MAX][..], &[1][..], &[3, 100][..]] {
            let r = run_sync(GzipDecoder::new(), &file[..cut], sizes);
            let e = r.error.unwrap_or_else(|| panic!("cut at {cut}: no error"));
            assert!(e.is_corrupt(), "cut at {cut}: {e}");
            let msg = e.to_string();
            assert!(
                msg.contains("gzip") && (msg.contains("offset") || cut == 0),
                "cut at {cut}: {msg}"
            );
            // Never more than the data actually there.
            assert!(r.out.len() <= a.len() + 13, "cut at {cut}");
        }
    }
    assert_eq!(
        apply(GzipDecoder::new(), &file).unwrap(),
        [&a[..], b"second member"].concat()
    );
}

#[test]
fn empty_input_is_an_error_like_gunzip() {
    let e = decode_err(b"");
    assert!(e.is_corrupt());
    assert!(e.to_string().contains("empty"), "{e}");
}

#[test]
fn wrong_crc32_is_an_error_with_its_offset() {
    let data = text(5000, 2);
    let mut gz = member(&data);
    let n = gz.len();
    gz[n - 8] ^= 0x01;
    let e = decode_err(&gz);
    assert!(e.is_corrupt());
    let msg = e.to_string();
    assert!(msg.contains("crc32 mismatch"), "{msg}");
    assert!(msg.contains(&format!("byte offset {}", n - 8)), "{msg}");
}

#[test]
fn wrong_isize_is_an_error_with_its_offset() {
    let mut gz = member(b"hello hello hello");
    let n = gz.len();
    gz[n - 1] ^= 0x80;
    let msg = decode_err(&gz).to_string();
    assert!(
        msg.contains("ISIZE") && msg.contains(&format!("byte offset {}", n - 4)),
        "{msg}"
    );
}

#[test]
fn bad_magic_is_an_error_at_offset_zero() {
    let e = decode_err(b"PK\x03\x04 this is a zip file");
    assert!(e.is_corrupt());
    let msg = e.to_string();
    assert!(
        msg.contains("not in gzip format") && msg.contains("byte offset 0"),
        "{msg}"
    );
    let msg = decode_err(b"\x1f\x8c....").to_string();
    assert!(msg.contains("byte offset 1"), "{msg}");
}

#[test]
fn unknown_method_and_reserved_flags_are_errors() {
    let mut gz = member(b"x");
    gz[2] = 7;
    assert!(decode_err(&gz).to_string().contains("compression method 7"));
    let mut gz = member(b"x");
    gz[3] = 0x20;
    assert!(
        decode_err(&gz)
            .to_string()
            .contains("reserved header flags")
    );
}

#[test]
fn header_crc_is_checked() {
    // gzip's FHCRC: the low 16 bits of the CRC-32 of the header bytes.
    let body = &member(b"payload")[10..];
    let mut h = vec![0x1f, 0x8b, 8, 0x02, 0, 0, 0, 0, 0, 255];
    let crc = crc32fast::hash(&h) as u16;
    h.extend_from_slice(&crc.to_le_bytes());
    let good = [&h[..], body].concat();
    assert_eq!(apply(GzipDecoder::new(), &good).unwrap(), b"payload");
    let mut bad = good.clone();
    bad[10] ^= 1;
    let msg = decode_err(&bad).to_string();
    assert!(
        msg.contains("header crc16 mismatch") && msg.contains("byte offset 10"),
        "{msg}"
    );
}

#[test]
fn corrupt_deflate_block_is_an_error() {
    let mut gz = member(b"abc");
    // The first deflate byte: BFINAL=1 with the reserved block type 3.
    gz[10] = 0x07;
    let e = decode_err(&gz);
    assert!(e.is_corrupt());
    let msg = e.to_string();
    assert!(
        msg.contains("corrupt deflate data") && msg.contains("byte offset"),
        "{msg}"
    );

    // Flipping bits in the middle of a long member: some error, never a
    // silently wrong output.
    let data = text(50_000, 9);
    let gz = member(&data);
    for at in (12..gz.len() - 8).step_by(97) {
        let mut bad = gz.clone();
        bad[at] ^= 0x10;
        let r = run_sync(GzipDecoder::new(), &bad, &[4096]);
        assert!(r.error.is_some(), "flip at {at} went unnoticed");
    }
}

/// Damage that the inflater's fast path finds (a bad code or distance in
/// the middle of a long member) is named as bad data, never as zlib-rs's
/// "repeated call with bad state", which would read as a misuse of the
/// library.
#[test]
fn damage_in_the_inflaters_fast_path_reads_as_bad_data() {
    let data = text(300_000, 10);
    let gz = member(&data);
    let mut deflate_errors = 0;
    for at in (20..gz.len() - 8).step_by(211) {
        let mut bad = gz.clone();
        bad[at] ^= 0x55;
        let r = run_sync(GzipDecoder::new(), &bad, &[65536]);
        let msg = r.error.expect("damage went unnoticed").to_string();
        assert!(!msg.contains("bad state"), "flip at {at}: {msg}");
        if msg.contains("corrupt deflate data near byte offset") {
            deflate_errors += 1;
            assert!(msg.contains("invalid"), "flip at {at}: {msg}");
        }
    }
    assert!(deflate_errors > 0, "no flip hit the deflate data");
}

#[test]
fn trailing_garbage_is_an_error_by_default_and_ignored_on_request() {
    let mut gz = member(b"data");
    let end = gz.len();
    gz.extend_from_slice(b"garbage");
    let r = run_sync(GzipDecoder::new(), &gz, &[usize::MAX]);
    assert_eq!(r.out, b"data");
    let msg = r.error.unwrap().to_string();
    assert!(
        msg.contains("trailing garbage") && msg.contains(&format!("byte offset {end}")),
        "{msg}"
    );

    let ignore = GzipDecoder::builder().trailing(Trailing::Ignore).build();
    assert_eq!(apply(ignore, &gz).unwrap(), b"data");
}

#[test]
fn zero_padding_after_the_last_member_is_ignored() {
    let mut gz = member(b"padded");
    gz.extend_from_slice(&[0; 1000]);
    assert_eq!(run_sync(GzipDecoder::new(), &gz, &[7]).out, b"padded");
    assert!(run_sync(GzipDecoder::new(), &gz, &[7]).error.is_none());
    // Zeros then garbage: still garbage.
    gz.push(b'x');
    assert!(decode_err(&gz).to_string().contains("trailing garbage"));
}

#[test]
fn half_a_magic_number_after_a_member_is_truncation() {
    let mut gz = member(b"one");
    gz.push(0x1f);
    let msg = decode_err(&gz).to_string();
    assert!(msg.contains("truncated"), "{msg}");
    gz.push(0x00);
    let msg = decode_err(&gz).to_string();
    assert!(msg.contains("trailing garbage"), "{msg}");
}

#[test]
fn single_member_mode_treats_the_next_member_as_trailing_data() {
    let gz = [member(b"a"), member(b"b")].concat();
    let single = GzipDecoder::builder().multi_member(false).build();
    assert!(
        apply(single, &gz)
            .unwrap_err()
            .to_string()
            .contains("trailing")
    );
    let single = GzipDecoder::builder()
        .multi_member(false)
        .trailing(Trailing::Ignore)
        .build();
    assert_eq!(apply(single, &gz).unwrap(), b"a");
}

#[test]
fn header_fields_are_reported() {
    let mut d = GzipDecoder::new();
    let gz = [fancy_member(b"x"), member(b"y")].concat();
    let mut out = weir::Output::new();
    use weir::Transform;
    d.transform(bytes::Bytes::from(gz), &mut out).unwrap();
    while d.resume(&mut out).unwrap() {}
    d.flush(&mut out).unwrap();
    let h = d.header().unwrap();
    assert_eq!(h.name(), Some(&b"a.txt"[..]));
    assert_eq!(h.comment(), Some(&b"hi there"[..]));
    assert_eq!(h.extra(), Some(&[1, 2, 3, 4][..]));
    assert_eq!(h.mtime(), 1234567);
    assert_eq!(d.members(), 2);
}

#[test]
fn errors_carry_the_stage_name_through_the_adapter() {
    let e = through(GzipDecoder::new(), b"nope", 2).unwrap_err();
    assert_eq!(e.stage(), Some("gzip decoder"));
    assert!(e.is_corrupt());
}
