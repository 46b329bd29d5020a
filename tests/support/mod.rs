//! What the integration tests share: a simulator of any vendor, as the
//! simulator crate's [`AnySim`](jobstop_sim::AnySim) (base URL, server,
//! faults, stop counts, raw states, a fresh running run, endless listings).

#![allow(dead_code)]

/// One vendor's running simulator.
pub(crate) type Sim = Box<dyn jobstop_sim::AnySim>;
