//! Arbitrary and mutated input for every decoder: an error or an output,
//! never a panic or a hang, and never more output than the limit allows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use proptest::prelude::*;
use support::*;

const LIMIT: u64 = 4 << 20;

fn check(f: Format, input: &[u8], sizes: &[usize]) {
    let r = run_sync(f.decoder_with(Some(LIMIT), None, 64 * 1024), input, sizes);
    assert!(
        r.out.len() as u64 <= LIMIT,
        "{}: {} bytes",
        f.name(),
        r.out.len()
    );
    assert!(r.most_per_call <= 64 * 1024, "{}", f.name());
    if let Some(e) = &r.error {
        assert!(e.is_corrupt() || e.is_limit(), "{}: {e}", f.name());
        assert!(e.to_string().contains(f.name()), "{}: {e}", f.name());
    }
}

/// Valid streams of every format with bytes flipped, cut or inserted:
/// these get past the headers, where random bytes rarely do.
fn mutated(f: Format) -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u64>(),
        0usize..20_000,
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        any::<prop::sample::Index>(),
    )
        .prop_map(move |(seed, n, edits, cut)| {
            let mut v = encode(f, f.quick_level(), &text(n, seed));
            for (at, b) in edits {
                let i = at.index(v.len());
                v[i] ^= b | 1;
            }
            let keep = v.len() - cut.index(v.len() / 4 + 1);
            v.truncate(keep);
            v
        })
}

fn sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(prop_oneof![1usize..8, 1usize..70_000], 1..4)
}

macro_rules! arbitrary {
    ($name:ident, $mutated:ident, $fmt:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
            #[test]
            fn $name(input in proptest::collection::vec(any::<u8>(), 0..4096), sizes in sizes()) {
                check($fmt, &input, &sizes);
            }

            #[test]
            fn $mutated(input in mutated($fmt), sizes in sizes()) {
                check($fmt, &input, &sizes);
            }
        }
    };
}

arbitrary!(gzip_arbitrary, gzip_mutated, Format::Gzip);
arbitrary!(deflate_arbitrary, deflate_mutated, Format::Deflate);
arbitrary!(zlib_arbitrary, zlib_mutated, Format::Zlib);
arbitrary!(zstd_arbitrary, zstd_mutated, Format::Zstd);
arbitrary!(brotli_arbitrary, brotli_mutated, Format::Brotli);
arbitrary!(xz_arbitrary, xz_mutated, Format::Xz);
arbitrary!(bzip2_arbitrary, bzip2_mutated, Format::Bzip2);
arbitrary!(lz4_arbitrary, lz4_mutated, Format::Lz4);

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Random bytes behind a valid gzip header reach the inflate code.
    #[test]
    fn gzip_header_then_arbitrary(body in proptest::collection::vec(any::<u8>(), 0..4096), sizes in sizes()) {
        let mut input = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        input.extend(body);
        check(Format::Gzip, &input, &sizes);
    }
}
