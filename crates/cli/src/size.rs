//! Sizes on the command line: `65536`, `64KiB`, `64K`, `16M`, `1G`, `1.5GiB`.

/// Parses a size. Suffixes `K`, `M`, `G`, `T` (optionally followed by `iB`
/// or `B`, any case) multiply by powers of 1024; `KB`, `MB`, `GB`, `TB`
/// spelled with a `B` but no `i` are the same binary units, as `dd` and
/// `pv` treat them on the command line. A bare number is bytes.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty size".into());
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: String = num.chars().filter(|&c| c != '_').collect();
    let not_a_size = || format!("{text:?} is not a size (try 65536, 64KiB, 16M or 1G)");
    let (whole, frac) = num.split_once('.').unwrap_or((&num, ""));
    if whole.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(not_a_size());
    }
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {text:?} (use K, M, G or T, optionally with iB)"
            ));
        }
    };
    if unit.is_empty() && num.contains('.') {
        return Err(format!("{text:?}: a size in bytes must be a whole number"));
    }
    let out_of_range = || format!("{text:?} is out of range");
    // Exact integer arithmetic: a whole number of bytes is never rounded
    // (through f64 it would be, above 2^53); a fraction of a unit rounds to
    // the nearest byte.
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| out_of_range())?
    };
    let mut bytes = whole
        .checked_mul(u128::from(mult))
        .ok_or_else(out_of_range)?;
    // Digits past the 19th cannot change a byte count of at most 2^40 per unit.
    let frac = &frac[..frac.len().min(19)];
    if !frac.is_empty() {
        let digits: u128 = frac.parse().map_err(|_| not_a_size())?;
        let scale = 10u128.pow(frac.len() as u32);
        bytes += (digits * u128::from(mult) + scale / 2) / scale;
    }
    u64::try_from(bytes).map_err(|_| out_of_range())
}

/// A size that must be at least 1 and fit in memory (`usize`).
pub(crate) fn parse_buffer_size(text: &str) -> Result<usize, String> {
    let n = parse_size(text)?;
    if n == 0 {
        return Err(format!("{text:?}: must be at least 1 byte"));
    }
    usize::try_from(n).map_err(|_| format!("{text:?} is too large"))
}

/// A rate in bytes per second, with an optional `/s`.
pub(crate) fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix("/s")
        .or_else(|| t.strip_suffix("/S"))
        .unwrap_or(t);
    let n = parse_size(t)?;
    if n == 0 {
        return Err(format!(
            "{text:?}: a rate must be at least 1 byte per second"
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("16M"), Ok(16 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("2 MB"), Ok(2 << 20));
        assert_eq!(parse_size("1_000"), Ok(1000));
        assert!(parse_size("").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("-5").is_err());
        assert!(parse_size("1.5").is_err());
        assert!(parse_size("99999999999999999999T").is_err());
        assert!(parse_buffer_size("0").is_err());
        // Exact above 2^53, where a detour through f64 rounds.
        assert_eq!(parse_size("9007199254740993"), Ok(9_007_199_254_740_993));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_size("18446744073709551616").is_err());
        assert_eq!(parse_size("16777215T"), Ok(16_777_215 << 40));
        assert!(parse_size("16777216T").is_err());
        assert_eq!(parse_size("0.5K"), Ok(512));
        assert_eq!(parse_size(".25M"), Ok(1 << 18));
        assert_eq!(parse_size("1.0000000000000000000001K"), Ok(1024));
        assert!(parse_size(".").is_err());
        assert!(parse_size("1.2.3K").is_err());
        assert_eq!(parse_rate("20M/s"), Ok(20 << 20));
        assert!(parse_rate("0").is_err());
    }
}

/// A time limit from the command line; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeLimit(pub(crate) Option<std::time::Duration>);

/// Parses a duration: `30s`, `500ms`, `2m`, `1h`, or a bare number of
/// seconds; `0` or `off` means no limit.
pub(crate) fn parse_duration(text: &str) -> Result<TimeLimit, String> {
    let t = text.trim().to_ascii_lowercase();
    if t == "off" || t == "none" {
        return Ok(TimeLimit(None));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 30s, 500ms, 2m or off)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown duration unit {other:?} in {text:?}")),
    };
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("{text:?} is out of range"));
    }
    if secs == 0.0 {
        return Ok(TimeLimit(None));
    }
    Ok(TimeLimit(Some(std::time::Duration::from_secs_f64(secs))))
}
