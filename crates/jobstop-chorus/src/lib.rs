#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod builder;
mod client;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod model;
mod session;
mod state;

pub use builder::{ChorusBuilder, ChorusConfig};
pub use client::{ChorusController, ChorusProtocol};
pub use state::map_state;

#[cfg(test)]
mod assertions {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<super::ChorusController>();
        send_sync::<super::ChorusProtocol>();
        send_sync::<super::ChorusBuilder>();
    }
}
