//! Durations as people type them: `250ms`, `30s`, `5m`, `1h30m`, `2d`.

use std::time::Duration;

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (expected e.g. 250ms, 30s, 5m, 1h30m, 2d)")]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

impl DurationError {
    /// An error about `input` (its first 40 characters are kept) for `reason`
    /// ("it is empty"), for parsers built on [`parse_duration`].
    pub fn new(input: &str, reason: &'static str) -> Self {
        DurationError {
            input: input.chars().take(40).collect(),
            reason,
        }
    }
}

/// The units, largest first, with their length in milliseconds.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a duration such as `250ms`, `30s`, `5m`, `1h30m` or `2d`.
///
/// The grammar is strict: one or more `<digits><unit>` parts with units `d`,
/// `h`, `m`, `s` and `ms`, each unit at most once and largest first
/// (`1h30m`, not `30m1h`), no spaces, signs, fractions or bare numbers. The
/// total must fit in `u64` milliseconds.
///
/// ```
/// use std::time::Duration;
/// use jobstop_http::parse_duration;
///
/// assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert!(parse_duration("30").is_err());
/// assert!(parse_duration("1.5s").is_err());
/// ```
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError::new(input, reason);
    if input.is_empty() {
        return Err(err("it is empty"));
    }
    let bytes = input.as_bytes();
    let mut pos = 0;
    let mut total: u64 = 0;
    // Index into UNITS of the last unit used; the next must come after it.
    let mut last_unit: Option<usize> = None;
    while pos < bytes.len() {
        let digits_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos == digits_start {
            return Err(err("each part must start with a number"));
        }
        let number: u64 = input[digits_start..pos]
            .parse()
            .map_err(|_| err("the number is too large"))?;
        let unit_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
            pos += 1;
        }
        let unit = &input[unit_start..pos];
        if unit.is_empty() {
            return Err(err("a number needs a unit (ms, s, m, h or d)"));
        }
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(err("unknown unit (use ms, s, m, h or d)"));
        };
        if last_unit.is_some_and(|last| index <= last) {
            return Err(err("units must each appear once, largest first"));
        }
        last_unit = Some(index);
        let part = number
            .checked_mul(UNITS[index].1)
            .ok_or_else(|| err("the duration is too large"))?;
        total = total
            .checked_add(part)
            .ok_or_else(|| err("the duration is too large"))?;
    }
    Ok(Duration::from_millis(total))
}

/// Formats a duration in the same syntax, at millisecond precision
/// (`1h30m`, `250ms`, `0s`). [`parse_duration`] reads it back exactly.
pub fn format_duration(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (name, len) in UNITS {
        let n = ms / len;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push_str(name);
            ms -= n * len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_forms() {
        let cases = [
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h30m", 5_400_000),
            ("250ms", 250),
            ("0s", 0),
            ("2d", 172_800_000),
            ("1d2h3m4s5ms", 93_784_005),
            ("1m500ms", 60_500),
            ("007s", 7_000),
        ];
        for (s, ms) in cases {
            assert_eq!(parse_duration(s), Ok(Duration::from_millis(ms)), "{s}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for s in [
            "", "30", "s", "1.5s", "-1s", "+1s", " 1s", "1s ", "1 s", "1S", "1H", "30m1h", "1m1m",
            "1s1m", "1ms1s", "1sec", "1us", "1y", "h1", "1h_30m", "1h,30m", "٣s", "1mss",
        ] {
            assert!(parse_duration(s).is_err(), "{s:?} was accepted");
        }
    }

    #[test]
    fn refuses_overflow() {
        assert!(parse_duration("99999999999999999999s").is_err());
        assert!(parse_duration("18446744073709551615s").is_err());
        assert!(parse_duration("18446744073709551615ms").is_ok());
        assert!(parse_duration("213503982335d").is_err());
    }

    #[test]
    fn error_names_the_input_and_examples() {
        let e = parse_duration("5 minutes").unwrap_err().to_string();
        assert!(e.contains("\"5 minutes\""), "{e}");
        assert!(e.contains("1h30m"), "{e}");
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(Duration::from_millis(5_400_000)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1ms");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(ms in 0u64..=u64::MAX / 2) {
            let d = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn parts_add_up(
            parts in proptest::collection::vec((0u64..100_000, proptest::bool::ANY), 5)
        ) {
            // Build "<n>d<n>h…" from the chosen parts, in unit order.
            let mut text = String::new();
            let mut expected = 0u64;
            for ((n, used), (name, len)) in parts.iter().zip(UNITS) {
                if *used {
                    text.push_str(&format!("{n}{name}"));
                    expected += n * len;
                }
            }
            if text.is_empty() {
                prop_assert!(parse_duration(&text).is_err());
            } else {
                prop_assert_eq!(parse_duration(&text), Ok(Duration::from_millis(expected)));
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn bare_numbers_and_fractions_are_refused(n in 0u64..1_000_000, f in 1u32..1000) {
            let bare = n.to_string();
            let frac = format!("{n}.{f}s");
            prop_assert!(parse_duration(&bare).is_err());
            prop_assert!(parse_duration(&frac).is_err());
        }

        #[test]
        fn accepted_input_is_canonical_up_to_leading_zeros(s in "[0-9]{1,4}(d|h|m|s|ms){1}([0-9]{1,4}(s|ms))?") {
            // Whatever is accepted formats back to something that parses to the same value.
            if let Ok(d) = parse_duration(&s) {
                prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
            }
        }
    }
}
