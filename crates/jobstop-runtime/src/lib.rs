#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod escalate;
pub mod guard;
pub mod ops;
mod registry;
pub mod ticket;

pub use registry::{
    Account, AccountConfig, LoadedConfig, MAX_CONFIG_BYTES, Registry, describe_file_type,
    read_small_regular_file, secret_settings,
};
