//! The property-test twin of the `cli_parsers` fuzz target (`fuzz/`): the
//! duration, age and time parsers never panic, what they accept formats back
//! to the same value, and any parsed duration used as `--older-than` matches
//! runs without overflowing a date, on every `cargo test`.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use jobstop::ops::Selector;
use jobstop::{Run, RunId, RunState, Vendor};
use jobstop_cli::{MAX_AGE, format_duration, parse_age, parse_duration, parse_time};
use jobstop_testkit::fuzz::write_seeds;
use proptest::prelude::*;

/// Valid and near-valid inputs: the seeds of the fuzz corpus.
const SEEDS: [&str; 12] = [
    "1h30m",
    "250ms",
    "2d",
    "18446744073709551615ms",
    "1d25h61m61s1001ms",
    "2024-06-19",
    "2024-06-19T02:00:00+02:00",
    "2024-02-30T25:61:61Z",
    // Found by the fuzzer: a signed, three-digit year was read as a date.
    "-024-06-19\r\r\r\r\r\r",
    // Issue 16: `--older-than 100000000d` panicked (a date before year
    // -262143); a token's `expires_in: 10000000000000000000` overflowed an
    // instant (a bare number is no duration here).
    "100000000d",
    "213503982334d",
    "10000000000000000000",
];

fn check(text: &str) {
    match parse_duration(text) {
        Ok(d) => assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{text:?}"),
        Err(e) => assert!(!e.to_string().contains(['\n', '\r']), "{e}"),
    }
    match parse_age(text) {
        Ok(age) => {
            assert!(age <= MAX_AGE, "{text:?}");
            assert_eq!(parse_duration(text), Ok(age), "{text:?}");
        }
        Err(e) => assert!(!e.to_string().contains(['\n', '\r']), "{e}"),
    }
    if let Ok(age) = parse_duration(text) {
        older_than_never_overflows(age);
    }
    if let Ok(t) = parse_time(text) {
        assert_eq!(parse_time(&t.to_rfc3339()), Ok(t), "{text:?}");
    }
}

/// Matches runs created at the calendar's ends and now against `age`.
fn older_than_never_overflows(age: Duration) {
    let selector = Selector::new().with_older_than(age);
    let now = Utc::now();
    for created in [DateTime::<Utc>::MIN_UTC, now, DateTime::<Utc>::MAX_UTC] {
        let mut run = Run::new(Vendor::IN_MEMORY, RunId::new("r"), RunState::Running, "x");
        run.created_at = Some(created);
        let _ = selector.matches(&run, now);
    }
}

/// Duration-shaped text: digit runs and unit letters in any order.
fn near_valid() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        "[0-9]{1,25}",
        Just("ms".to_owned()),
        "[dhms]",
        Just("-".to_owned()),
        Just(".".to_owned()),
        Just(" ".to_owned()),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        Just("T12:00:00Z".to_owned()),
        Just("+99:99".to_owned()),
    ];
    prop::collection::vec(part, 0..8).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_text(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn near_valid_text(text in near_valid()) {
        check(&text);
    }

    #[test]
    fn every_millisecond_count_round_trips(ms in any::<u64>()) {
        let d = Duration::from_millis(ms);
        prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
    }
}

#[test]
fn seeds() {
    for s in SEEDS {
        check(s);
    }
}

/// Writes the seeds to `fuzz/seeds/cli_parsers/`:
/// `cargo test -p jobstop-cli --test fuzz_twins -- --ignored`.
#[test]
#[ignore = "writes the fuzz seed corpus"]
fn write_fuzz_seeds() {
    let seeds: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect();
    write_seeds("cli_parsers", &seeds);
}
