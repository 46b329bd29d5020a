#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod capabilities;
mod controller;
mod error;
mod ext;
mod id;
pub mod kernel;
pub mod layer;
mod memory;
mod pace;
mod query;
mod run;
mod stop;
mod vendor;

pub use capabilities::{Capabilities, Filtering};
pub use controller::JobController;
pub use error::{Error, ErrorContext, ErrorKind, ListBound, Operation, Result};
pub use ext::{JobControllerExt, Polled, StopReport, StopResult, WaitOptions, poll_until};
pub use id::{Cursor, RunId};
pub use memory::{InMemoryController, StopBehavior};
pub use query::{ListLimits, ListQuery, Page};
pub use run::{Attribution, ParseRunStateError, Run, RunError, RunState};
pub use stop::{StopMode, StopOutcome, StopRequest};
pub use vendor::Vendor;

/// Re-exported so controllers can be written with only this crate as a dependency.
pub use async_trait::async_trait;
/// Re-exported for the timestamps in [`Run`] and [`ListQuery`].
pub use chrono;

#[cfg(test)]
mod assertions {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<Error>();
        send_sync::<Run>();
        send_sync::<RunId>();
        send_sync::<ListQuery>();
        send_sync::<Page>();
        send_sync::<StopOutcome>();
        send_sync::<StopReport>();
        send_sync::<InMemoryController>();
        send_sync::<std::sync::Arc<dyn JobController>>();
    }
}
