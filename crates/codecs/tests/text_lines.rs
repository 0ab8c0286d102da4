//! `Lines`: splitting across chunk boundaries, `\r\n`, the length limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use proptest::prelude::*;
use support::*;
use weir::codecs::Lines;

fn lines_of(t: Lines, input: &[u8], sizes: &[usize]) -> Result<Vec<Vec<u8>>, weir::Error> {
    use weir::{Output, Transform};
    let mut t = t;
    let mut out = Output::new();
    let mut lines = Vec::new();
    let mut pos = 0;
    let mut k = 0;
    while pos < input.len() {
        let n = sizes[k % sizes.len()].max(1).min(input.len() - pos);
        k += 1;
        t.transform(Bytes::copy_from_slice(&input[pos..pos + n]), &mut out)?;
        pos += n;
        lines.extend(out.drain().map(|b| b.to_vec()));
    }
    t.flush(&mut out)?;
    lines.extend(out.drain().map(|b| b.to_vec()));
    Ok(lines)
}

/// The reference: split the whole input at once.
fn reference(input: &[u8], crlf: bool) -> Vec<Vec<u8>> {
    if input.is_empty() {
        return Vec::new();
    }
    let mut v: Vec<Vec<u8>> = input.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if input.last() == Some(&b'\n') {
        v.pop();
    }
    if crlf {
        for l in &mut v {
            if l.last() == Some(&b'\r') {
                l.pop();
            }
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn lines_match_a_whole_input_split(
        input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), any::<u8>()], 0..2000),
        sizes in proptest::collection::vec(1usize..64, 1..5),
        crlf in any::<bool>(),
    ) {
        let got = lines_of(Lines::builder().crlf(crlf).build(), &input, &sizes).unwrap();
        prop_assert_eq!(got, reference(&input, crlf));
    }
}

#[test]
fn a_line_over_the_limit_is_an_error_without_buffering_it() {
    let t = Lines::with_max_length(10);
    // 10 bytes is fine, 11 is not; the error comes before any newline.
    assert_eq!(
        lines_of(Lines::with_max_length(10), b"0123456789\nx", &[3])
            .unwrap()
            .len(),
        2
    );
    let e = lines_of(t, &[b'z'; 1000], &[4]).unwrap_err();
    assert!(e.is_limit(), "{e}");
    assert!(
        e.to_string().contains("line 1") && e.to_string().contains("offset 0"),
        "{e}"
    );
    let e = lines_of(Lines::with_max_length(3), b"ab\nabcd\n", &[1]).unwrap_err();
    assert!(
        e.to_string().contains("line 2") && e.to_string().contains("offset 3"),
        "{e}"
    );
    // "\r\n" does not count toward the length.
    assert_eq!(
        lines_of(Lines::with_max_length(3), b"abc\r\nd", &[1]).unwrap(),
        [b"abc".to_vec(), b"d".to_vec()]
    );
}

#[test]
fn lines_inside_one_chunk_are_not_copied() {
    use weir::{Output, Transform};
    let chunk = Bytes::from_static(b"one\ntwo\n");
    let mut t = Lines::new();
    let mut out = Output::new();
    t.transform(chunk.clone(), &mut out).unwrap();
    let first = out.pop().unwrap();
    assert_eq!(first, "one");
    assert_eq!(first.as_ptr(), chunk.as_ptr(), "a slice of the input chunk");
}

#[test]
fn lines_run_through_the_adapter_and_after_a_decoder() {
    let log = text(100_000, 40);
    let gz = encode(Format::Gzip, 6, &log);
    let count = futures::executor::block_on(async {
        use futures::TryStreamExt;
        use weir::{ReadableExt, TransformExt};
        let src = weir::readable::from_iter(
            gz.chunks(1000)
                .map(Bytes::copy_from_slice)
                .collect::<Vec<_>>(),
        );
        let lines: Vec<Bytes> = src
            .through(weir::codecs::GzipDecoder::new().then(Lines::new()))
            .try_collect()
            .await
            .unwrap();
        lines.len()
    });
    assert_eq!(count, reference(&log, true).len());
}
