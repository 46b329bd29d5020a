//! The CLI's duration (`--timeout 1h30m`) and time (`--since 2024-06-19`)
//! parsers: never a panic; what parses formats back to the same value.
#![no_main]

use jobstop_cli::{format_duration, parse_duration, parse_time};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_duration(&text) {
        Ok(d) => assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{text:?}"),
        Err(e) => assert!(!e.to_string().contains(['\n', '\r']), "{e}"),
    }
    if let Ok(t) = parse_time(&text) {
        assert_eq!(parse_time(&t.to_rfc3339()), Ok(t), "{text:?}");
    }
});
