//! The CLI's duration (`--timeout 1h30m`), age (`--older-than 2d`) and time
//! (`--since 2024-06-19`) parsers: never a panic; what parses formats back
//! to the same value; any duration used as an age matches runs without
//! overflowing a date.
#![no_main]

use jobstop::chrono::{DateTime, Utc};
use jobstop::ops::Selector;
use jobstop::{Run, RunId, RunState, Vendor};
use jobstop_cli::{MAX_AGE, format_duration, parse_age, parse_duration, parse_time};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_duration(&text) {
        Ok(d) => assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{text:?}"),
        Err(e) => assert!(!e.to_string().contains(['\n', '\r']), "{e}"),
    }
    if let Ok(age) = parse_age(&text) {
        assert!(age <= MAX_AGE, "{text:?}");
    }
    if let Ok(age) = parse_duration(&text) {
        let selector = Selector::new().with_older_than(age);
        let now = Utc::now();
        for created in [DateTime::<Utc>::MIN_UTC, now, DateTime::<Utc>::MAX_UTC] {
            let mut run = Run::new(Vendor::IN_MEMORY, RunId::new("r"), RunState::Running, "x");
            run.created_at = Some(created);
            let _ = selector.matches(&run, now);
        }
    }
    if let Ok(t) = parse_time(&text) {
        assert_eq!(parse_time(&t.to_rfc3339()), Ok(t), "{text:?}");
    }
});
