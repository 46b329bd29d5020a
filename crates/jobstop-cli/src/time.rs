//! Timestamps on the command line: RFC 3339 or a bare date.

use chrono::{DateTime, NaiveDate, Utc};

/// Parses `2024-06-19T04:00:00Z` (RFC 3339, any offset, converted to UTC) or
/// `2024-06-19` (midnight UTC that day).
///
/// ```
/// use jobstop_cli::parse_time;
///
/// let a = parse_time("2024-06-19").unwrap();
/// let b = parse_time("2024-06-19T02:00:00+02:00").unwrap();
/// assert_eq!(a, b);
/// assert!(parse_time("19/06/2024").is_err());
/// ```
pub fn parse_time(input: &str) -> Result<DateTime<Utc>, String> {
    let s = input.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    // Exactly `YYYY-MM-DD`: chrono's `%Y` alone also takes a sign and fewer
    // digits (`-024-06-19`, year -24), which the fuzzer found.
    let date_shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if date_shaped
        && let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    Err(format!(
        "invalid time {:?}: expected RFC 3339 (2024-06-19T04:00:00Z) or a date (2024-06-19)",
        input.chars().take(40).collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            parse_time("2024-06-19T04:00:00.5Z").unwrap().to_rfc3339(),
            "2024-06-19T04:00:00.500+00:00"
        );
        assert_eq!(
            parse_time("2024-06-19").unwrap().to_rfc3339(),
            "2024-06-19T00:00:00+00:00"
        );
        for bad in [
            "",
            "2024-6-19",
            "2024-06-19T04:00",
            "yesterday",
            "2024-02-30",
            "+2024-06-19",
            "-024-06-19",
            "+024-06-19",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }
}
