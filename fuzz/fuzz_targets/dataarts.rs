//! DataArts Factory decoding through the protocol's own functions (job and instance list pages, a batch job found in the job list, a real-time job's detail and status, instances, the IAM token answer, error answers, a stop's answer), state strings, run ids and cursors.
#![no_main]

use jobstop_core::Vendor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = jobstop_dataarts::fuzzing::decode(data);
    jobstop_testkit::fuzz::check_decoded(&Vendor::DATAARTS, &decoded);
});
