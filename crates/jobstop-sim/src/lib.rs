#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
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

/// What a simulator offers a client as data: `(key, value)` pairs, the keys
/// those of the adapter's config (`base_url`, `tenant`, `token`). The CLI
/// turns them into `export` lines through the adapter's config type.
pub type Settings = Vec<(&'static str, String)>;

/// `settings` of `vendor` as environment variables, named by the adapters'
/// rule `JOBSTOP_<VENDOR>_<KEY>` (for tests and the `jobstop-sim` binary,
/// which do not depend on the adapters; the CLI checks each simulator's
/// settings against the adapter's config type).
pub fn env_vars(vendor: &str, settings: Settings) -> Vec<(String, String)> {
    settings
        .into_iter()
        .map(|(key, value)| {
            let var = format!(
                "JOBSTOP_{}_{}",
                vendor.to_ascii_uppercase(),
                key.to_ascii_uppercase()
            );
            (var, value)
        })
        .collect()
}

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
