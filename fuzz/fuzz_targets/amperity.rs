//! Amperity response decoding (list pages, workflows, OAuth token, errors), state strings and run id checks.
#![no_main]

use jobstop_core::Vendor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = jobstop_amperity::fuzzing::decode(data);
    jobstop_testkit::fuzz::check_decoded(&Vendor::AMPERITY, &decoded);
});
