//! Chorus response decoding (envelopes, pagination, workfiles, login), status strings and run id checks.
#![no_main]

use jobstop_core::Vendor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = jobstop_chorus::fuzzing::decode(data);
    jobstop_testkit::fuzz::check_decoded(&Vendor::CHORUS, &decoded);
});
