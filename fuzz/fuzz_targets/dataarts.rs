//! DataArts Factory response decoding (job and instance lists, jobs, real-time status, instances, IAM token), state strings, run ids and cursors.
#![no_main]

use jobstop_core::Vendor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = jobstop_dataarts::fuzzing::decode(data);
    jobstop_testkit::fuzz::check_decoded(&Vendor::DATAARTS, &decoded);
});
