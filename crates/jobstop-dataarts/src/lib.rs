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
pub mod sign;
mod state;

pub use builder::{
    DEFAULT_INSTANCE_LOOKBACK, DataArtsBuilder, DataArtsConfig, MAX_INSTANCE_LOOKBACK,
};
pub use client::{DataArtsController, DataArtsProtocol};
pub use listing::{KIND_BATCH_INSTANCE, KIND_BATCH_JOB, KIND_REALTIME_JOB};
pub use model::{Target, instance_id, job_id};
pub use state::{batch_job_state, instance_state, realtime_job_state};

#[cfg(test)]
mod assertions {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<super::DataArtsController>();
        send_sync::<super::DataArtsProtocol>();
        send_sync::<super::DataArtsBuilder>();
    }
}
