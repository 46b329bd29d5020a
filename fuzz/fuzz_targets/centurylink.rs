//! CenturyLink Runner response decoding (job and execution pages, executions, job documents, login), state strings, run ids and cursors.
#![no_main]

use jobstop_core::Vendor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = jobstop_centurylink::fuzzing::decode(data);
    jobstop_testkit::fuzz::check_decoded(&Vendor::CENTURYLINK, &decoded);
});
