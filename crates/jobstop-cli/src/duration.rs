//! Durations as people type them: `250ms`, `30s`, `5m`, `1h30m`, `2d`.
//!
//! The grammar lives in `jobstop_http` (config files read the same durations);
//! this module adds the bound on ages.

use std::time::Duration;

pub use jobstop::http::{DurationError, format_duration, parse_duration};

/// The longest age `--older-than` takes: 36500 days (100 years). Runs are
/// younger than that, and a longer age would reach past the dates the
/// calendar can hold (`100000000d` used to panic there).
pub const MAX_AGE: Duration = Duration::from_secs(36_500 * 86_400);

/// Parses an age (`--older-than`): a duration as [`parse_duration`] reads
/// it, at most [`MAX_AGE`].
///
/// ```
/// use std::time::Duration;
/// use jobstop_cli::parse_age;
///
/// assert_eq!(parse_age("2d").unwrap(), Duration::from_secs(172_800));
/// assert!(parse_age("36500d").is_ok());
/// assert!(parse_age("100000000d").unwrap_err().to_string().contains("at most 36500d"));
/// ```
pub fn parse_age(input: &str) -> Result<Duration, DurationError> {
    let age = parse_duration(input)?;
    if age > MAX_AGE {
        return Err(DurationError::new(
            input,
            "an age is at most 36500d (100 years)",
        ));
    }
    Ok(age)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ages_are_bounded() {
        assert_eq!(parse_age("36500d"), Ok(MAX_AGE));
        let e = parse_age("36500d1ms").unwrap_err().to_string();
        assert!(e.contains("at most 36500d"), "{e}");
        assert!(parse_age("100000000d").is_err());
        assert!(parse_age("18446744073709551615ms").is_err());
        assert!(parse_age("1h").is_ok());
    }
}
