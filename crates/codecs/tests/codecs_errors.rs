//! Bad input for deflate, zlib, zstd and brotli: truncation at every byte,
//! corruption, trailing data, empty input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use support::*;
use weir::codecs::*;

const OTHERS: [Format; 4] = [Format::Deflate, Format::Zlib, Format::Zstd, Format::Brotli];

#[test]
fn truncation_at_every_byte_is_an_error() {
    let data = text(4000, 5);
    for f in OTHERS {
        let packed = encode(f, f.quick_level(), &data);
        for cut in 0..packed.len() {
            for sizes in [&[usize::MAX][..], &[1][..]] {
                let r = run_sync(f.decoder(), &packed[..cut], sizes);
                let e = r.error.unwrap_or_else(|| {
                    panic!("{} cut at {cut}/{}: no error", f.name(), packed.len())
                });
                assert!(e.is_corrupt(), "{} cut at {cut}: {e}", f.name());
                let msg = e.to_string();
                assert!(
                    msg.contains(f.name()) && msg.contains("offset") || cut == 0,
                    "{}: {msg}",
                    f.name()
                );
                assert!(r.out.len() <= data.len(), "{}", f.name());
            }
        }
    }
}

#[test]
fn empty_input_is_an_error() {
    for f in FORMATS {
        let e = apply(f.decoder(), b"").unwrap_err();
        assert!(
            e.is_corrupt() && e.to_string().contains("empty"),
            "{}: {e}",
            f.name()
        );
    }
}

#[test]
fn trailing_data_is_an_error_by_default_and_ignored_on_request() {
    for f in [Format::Deflate, Format::Zlib, Format::Brotli] {
        let mut packed = encode(f, f.quick_level(), b"content");
        let end = packed.len();
        packed.extend_from_slice(b"\0\0junk");
        let r = run_sync(f.decoder(), &packed, &[3]);
        assert_eq!(r.out, b"content", "{}", f.name());
        let msg = r.error.unwrap().to_string();
        assert!(
            msg.contains("trailing") && msg.contains(&format!("offset {end}")),
            "{}: {msg}",
            f.name()
        );
    }
    let mut packed = encode(Format::Zlib, 6, b"content");
    packed.extend_from_slice(b"junk");
    let dec = ZlibDecoder::builder().trailing(Trailing::Ignore).build();
    assert_eq!(apply(dec, &packed).unwrap(), b"content");
    let mut packed = encode(Format::Deflate, 6, b"content");
    packed.extend_from_slice(b"junk");
    assert_eq!(
        apply(
            DeflateDecoder::builder().trailing(Trailing::Ignore).build(),
            &packed
        )
        .unwrap(),
        b"content"
    );
    let mut packed = encode(Format::Brotli, 4, b"content");
    packed.extend_from_slice(b"junk");
    assert_eq!(
        apply(
            BrotliDecoder::builder().trailing(Trailing::Ignore).build(),
            &packed
        )
        .unwrap(),
        b"content"
    );
    // zstd: bytes that do not start a frame are libzstd's error.
    let mut packed = encode(Format::Zstd, 3, b"content");
    packed.extend_from_slice(b"junkjunk");
    let e = apply(ZstdDecoder::new(), &packed).unwrap_err();
    assert!(e.is_corrupt() && e.to_string().contains("zstd"), "{e}");
}

#[test]
fn bad_headers_are_errors() {
    let e = apply(ZlibDecoder::new(), b"\x78\x00garbage").unwrap_err();
    assert!(e.is_corrupt() && e.to_string().contains("zlib"), "{e}");
    let e = apply(ZstdDecoder::new(), b"\x28\xb5\x2f\xfeabcdefgh").unwrap_err();
    assert!(e.is_corrupt() && e.to_string().contains("zstd"), "{e}");
    let e = apply(DeflateDecoder::new(), b"\xff\xff\xff\xff").unwrap_err();
    assert!(e.is_corrupt() && e.to_string().contains("deflate"), "{e}");
    let e = apply(BrotliDecoder::new(), b"\xff\xff\xff\xff\xff\xff").unwrap_err();
    assert!(e.is_corrupt() && e.to_string().contains("brotli"), "{e}");
}

#[test]
fn checksums_are_checked() {
    let data = text(10_000, 4);
    // zlib's Adler-32 trailer.
    let mut z = encode(Format::Zlib, 6, &data);
    let n = z.len();
    z[n - 1] ^= 1;
    assert!(apply(ZlibDecoder::new(), &z).unwrap_err().is_corrupt());
    // zstd's content checksum (written by default).
    let mut z = encode(Format::Zstd, 3, &data);
    let n = z.len();
    z[n - 1] ^= 1;
    let e = apply(ZstdDecoder::new(), &z).unwrap_err();
    assert!(e.is_corrupt(), "{e}");
}

#[test]
fn bit_flips_never_pass_silently_where_a_checksum_exists() {
    let data = text(30_000, 8);
    for f in [Format::Zlib, Format::Zstd] {
        let packed = encode(f, f.quick_level(), &data);
        for at in (0..packed.len()).step_by(53) {
            let mut bad = packed.clone();
            bad[at] ^= 0x04;
            let r = run_sync(f.decoder(), &bad, &[1000]);
            assert!(
                r.error.is_some() || r.out == data,
                "{} flip at {at}: wrong output without error",
                f.name()
            );
        }
    }
}

#[test]
fn a_finished_decoder_refuses_more_input() {
    use weir::Transform;
    let mut d = DeflateDecoder::new();
    let mut out = weir::Output::new();
    d.transform(
        bytes::Bytes::from(encode(Format::Deflate, 6, b"x")),
        &mut out,
    )
    .unwrap();
    d.flush(&mut out).unwrap();
    assert!(
        d.transform(bytes::Bytes::from_static(b"more"), &mut out)
            .is_err()
    );
}

#[test]
fn codecs_ask_for_a_task_of_their_own_and_text_transforms_do_not() {
    use weir::Transform;
    use weir::codecs::*;
    assert!(GzipEncoder::new().heavy());
    assert!(GzipDecoder::new().heavy());
    assert!(ZstdEncoder::new().heavy());
    assert!(ZstdDecoder::new().heavy());
    assert!(BrotliEncoder::new().heavy());
    assert!(BrotliDecoder::new().heavy());
    assert!(DeflateDecoder::new().heavy());
    assert!(ZlibEncoder::new().heavy());
    assert!(!Lines::new().heavy());
}
