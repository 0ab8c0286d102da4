//! Smoke test: every format round-trips at its usual level.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;
use support::*;

#[test]
fn every_format_round_trips_text_at_its_quick_level() {
    let data = text(300_000, 1);
    for f in FORMATS {
        let packed = encode(f, f.quick_level(), &data);
        assert!(
            packed.len() < data.len() / 3,
            "{}: {} bytes",
            f.name(),
            packed.len()
        );
        let back = apply(f.decoder(), &packed).unwrap();
        assert_eq!(back, data, "{}", f.name());
    }
}
