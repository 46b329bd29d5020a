#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub use jobstop_core::{
    Attribution, Capabilities, Cursor, Error, ErrorContext, ErrorKind, Filtering,
    InMemoryController, JobController, JobControllerExt, ListBound, ListLimits, ListQuery,
    Operation, Page, ParseRunStateError, Polled, Result, Run, RunError, RunId, RunState,
    StopBehavior, StopMode, StopOutcome, StopReport, StopRequest, StopResult, Vendor, WaitOptions,
    async_trait, chrono, poll_until,
};

// The runtime (`jobstop-runtime`): accounts, bulk operations across them,
// tickets, escalation and guards.
pub use jobstop_runtime::{
    Account, AccountConfig, LoadedConfig, MAX_CONFIG_BYTES, Registry, describe_file_type, escalate,
    guard, ops, read_small_regular_file, secret_settings, ticket,
};

/// The HTTP layer the adapters share (its `ClientConfig` and `RetryPolicy` tune
/// them). An implementation detail of the adapters, not a general HTTP client:
/// it promises no stability beyond what they need.
pub use jobstop_http as http;

pub use jobstop_http::SecretString;

/// Amperity workflow runs.
#[cfg(feature = "amperity")]
#[cfg_attr(docsrs, doc(cfg(feature = "amperity")))]
pub use jobstop_amperity as amperity;

/// Chorus workflow workfiles.
#[cfg(feature = "chorus")]
#[cfg_attr(docsrs, doc(cfg(feature = "chorus")))]
pub use jobstop_chorus as chorus;

/// DataArts Studio (DataArts Factory) jobs and job instances.
#[cfg(feature = "dataarts")]
#[cfg_attr(docsrs, doc(cfg(feature = "dataarts")))]
pub use jobstop_dataarts as dataarts;

/// CenturyLink Cloud Runner job executions.
#[cfg(feature = "centurylink")]
#[cfg_attr(docsrs, doc(cfg(feature = "centurylink")))]
pub use jobstop_centurylink as centurylink;

/// The conformance kit (`jobstop-testkit`): checks any [`JobController`]
/// must pass, for your own controller or an adapter against a simulator
/// (README: "Testing your integration").
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub use jobstop_testkit as testkit;

/// The vendor simulators (`jobstop-sim`): stateful fake vendor servers on
/// loopback, with fault injection, to test an integration offline.
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub use jobstop_sim as sim;
