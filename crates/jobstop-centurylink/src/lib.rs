#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod auth;
mod builder;
mod client;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod listing;
mod model;
mod state;

pub use builder::{CenturyLinkBuilder, CenturyLinkConfig, DEFAULT_BASE_URL, DEFAULT_LOGIN_URL};
pub use client::{CenturyLinkController, CenturyLinkProtocol};
pub use model::{ExecutionRef, KIND_EXECUTION, execution_id};
pub use state::map_state;

#[cfg(test)]
mod assertions {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<super::CenturyLinkController>();
        send_sync::<super::ExecutionRef>();
        send_sync::<super::CenturyLinkBuilder>();
    }
}
