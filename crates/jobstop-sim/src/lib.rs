#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod amperity;
pub mod centurylink;
pub mod chorus;
mod clock;
pub mod dataarts;
pub mod endless;
mod fault;
mod log;
mod rng;
mod server;

pub use clock::{SimClock, Timeline, default_epoch, format_millis, truncate_millis};
pub use fault::{Fault, FaultBody, FaultRule, Faults, JsonRewrite, RateLimit, Route, RuleId};
pub use log::{LoggedRequest, MASK};
pub use rng::SplitMix64;
pub use server::{ConnectionControl, SimServer, SimServerBuilder};

/// Locks `m`, carrying on with the data if another thread panicked while
/// holding it (simulator state stays usable; nothing here can be left half
/// updated in a way that matters to a test).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod assertions {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<super::SimServer>();
        send_sync::<super::Faults>();
        send_sync::<super::LoggedRequest>();
        send_sync::<super::amperity::AmperitySim>();
        send_sync::<super::amperity::AmperitySimBuilder>();
        send_sync::<super::centurylink::CenturyLinkSim>();
        send_sync::<super::centurylink::CenturyLinkSimBuilder>();
        send_sync::<super::chorus::ChorusSim>();
        send_sync::<super::chorus::ChorusSimBuilder>();
        send_sync::<super::dataarts::DataArtsSim>();
        send_sync::<super::dataarts::DataArtsSimBuilder>();
    }
}
