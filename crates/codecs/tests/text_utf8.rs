//! `Utf8Decoder`: never splits a character; errors or replaces as
//! configured, the same whatever the chunk boundaries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use proptest::prelude::*;
use weir::codecs::{Invalid, Utf8Decoder};
use weir::{Output, Transform};

fn decode(invalid: Invalid, input: &[u8], sizes: &[usize]) -> Result<Vec<String>, weir::Error> {
    let mut t = Utf8Decoder::with_invalid(invalid);
    let mut out = Output::new();
    let mut chunks = Vec::new();
    let mut pos = 0;
    let mut k = 0;
    while pos < input.len() {
        let n = sizes[k % sizes.len()].max(1).min(input.len() - pos);
        k += 1;
        t.transform(Bytes::copy_from_slice(&input[pos..pos + n]), &mut out)?;
        pos += n;
        chunks.extend(out.drain());
    }
    t.flush(&mut out)?;
    chunks.extend(out.drain());
    Ok(chunks)
}

fn bytes_like_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<String>().prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..200),
        (
            any::<String>(),
            any::<String>(),
            proptest::collection::vec(any::<u8>(), 0..4)
        )
            .prop_map(|(a, b, junk)| {
                let mut v = a.into_bytes();
                v.extend(junk);
                v.extend(b.into_bytes());
                v
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn replace_matches_from_utf8_lossy(input in bytes_like_text(), sizes in proptest::collection::vec(1usize..6, 1..4)) {
        let chunks = decode(Invalid::Replace, &input, &sizes).unwrap();
        prop_assert_eq!(chunks.concat(), String::from_utf8_lossy(&input).into_owned());
    }

    #[test]
    fn error_mode_accepts_exactly_valid_utf8(input in bytes_like_text(), sizes in proptest::collection::vec(1usize..6, 1..4)) {
        match (decode(Invalid::Error, &input, &sizes), std::str::from_utf8(&input)) {
            (Ok(chunks), Ok(s)) => prop_assert_eq!(chunks.concat(), s),
            (Err(e), Err(valid)) => {
                prop_assert!(e.is_corrupt());
                let msg = e.to_string();
                prop_assert!(msg.contains(&format!("byte offset {}", valid.valid_up_to())), "{}", msg);
            }
            (got, want) => prop_assert!(false, "got {:?}, want {:?}", got.map(|c| c.concat()), want),
        }
    }
}

#[test]
fn a_character_split_across_chunks_is_held_not_split() {
    let snow = "☃"; // 3 bytes
    let chunks = decode(Invalid::Error, snow.as_bytes(), &[1]).unwrap();
    assert_eq!(chunks, [snow]);
    let e = decode(Invalid::Error, &snow.as_bytes()[..2], &[1]).unwrap_err();
    assert!(e.to_string().contains("byte offset 0"), "{e}");
    assert_eq!(
        decode(Invalid::Replace, &snow.as_bytes()[..2], &[1])
            .unwrap()
            .concat(),
        "\u{FFFD}"
    );
}
