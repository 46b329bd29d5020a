//! The property-test twin of the `centurylink` fuzz target (`fuzz/`): the same
//! decoders and checks, bounded, on every `cargo test`.
#![allow(clippy::unwrap_used)]

use jobstop_centurylink::fuzzing::{decode, seeds};
use jobstop_core::Vendor;
use jobstop_testkit::fuzz::{run_twin, write_seeds};

#[test]
fn decoders_hold_on_seeds_arbitrary_and_near_valid_input() {
    run_twin(&Vendor::CENTURYLINK, decode, seeds(), 4, 1024);
    // The list seed holds two runs, and both come back.
    assert_eq!(decode(&seeds()[1]).unwrap().len(), 2);
}

/// Writes the seeds to `fuzz/seeds/centurylink/`:
/// `cargo test -p jobstop-centurylink --test fuzz_twins -- --ignored`.
#[test]
#[ignore = "writes the fuzz seed corpus"]
fn write_fuzz_seeds() {
    write_seeds("centurylink", &seeds());
}
