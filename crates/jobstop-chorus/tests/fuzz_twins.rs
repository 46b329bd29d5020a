//! The property-test twin of the `chorus` fuzz target (`fuzz/`): the same
//! decoders and checks, bounded, on every `cargo test`.
#![allow(clippy::unwrap_used)]

use jobstop_chorus::fuzzing::{decode, seeds};
use jobstop_core::Vendor;
use jobstop_testkit::fuzz::{run_twin, write_seeds};

#[test]
fn decoders_hold_on_seeds_arbitrary_and_near_valid_input() {
    run_twin(&Vendor::CHORUS, decode, seeds(), 3, 1024);
    // The list seed holds two runs, and both come back.
    assert_eq!(decode(&seeds()[0]).unwrap().len(), 2);
}

/// Writes the seeds to `fuzz/seeds/chorus/`:
/// `cargo test -p jobstop-chorus --test fuzz_twins -- --ignored`.
#[test]
#[ignore = "writes the fuzz seed corpus"]
fn write_fuzz_seeds() {
    write_seeds("chorus", &seeds());
}
