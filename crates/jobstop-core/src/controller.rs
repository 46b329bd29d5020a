//! The trait every vendor adapter implements.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use crate::pace::Pacer;
use crate::{Capabilities, ListQuery, Page, Result, Run, RunId, StopOutcome, StopRequest, Vendor};

/// List, inspect and stop runs on one account of one vendor's platform.
///
/// This trait holds only what an adapter must write. Conveniences built on it
/// (`list_all`, `stop_and_wait`, `stop_many`) live in
/// [`JobControllerExt`](crate::JobControllerExt), implemented for every
/// controller.
///
/// The trait is object safe: `Arc<dyn JobController>` is the usual way to hold
/// many accounts of different vendors side by side.
///
/// # Contract
/// - `status` of an id the vendor does not know returns
///   [`ErrorKind::NotFound`](crate::ErrorKind::NotFound); a malformed id returns
///   [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) without a request.
/// - `stop` of a run that was already terminal returns
///   [`StopOutcome::AlreadyFinished`], never an error; stopping twice is safe.
/// - `stop` never reports [`StopOutcome::Stopped`] or
///   [`StopOutcome::Requested`] unless the vendor accepted the stop.
/// - `list` follows [`ListQuery`]; every run appears once across the pages of
///   one listing.
#[async_trait]
pub trait JobController: Debug + Send + Sync {
    /// The vendor this controller talks to.
    fn vendor(&self) -> Vendor;

    /// What this controller supports.
    fn capabilities(&self) -> Capabilities;

    /// The pacer every request to this controller's account waits on, if
    /// it has one: an HTTP adapter's client's ([`Pacer`]; unlimited unless
    /// a pace is configured), a [`PaceLayer`](crate::layer::PaceLayer)'s.
    /// Bulk operations wait on it before they take a concurrency slot, and
    /// tighten it to their own rate. Default: none.
    fn pacer(&self) -> Option<Pacer> {
        None
    }

    /// One page of runs matching `query`.
    async fn list(&self, query: &ListQuery) -> Result<Page>;

    /// The current state of one run.
    async fn status(&self, id: &RunId) -> Result<Run>;

    /// Asks the vendor to stop one run.
    async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome>;
}

macro_rules! forward {
    ($($ty:ty),*) => {$(
        #[async_trait]
        impl<T: JobController + ?Sized> JobController for $ty {
            fn vendor(&self) -> Vendor {
                (**self).vendor()
            }
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            fn pacer(&self) -> Option<Pacer> {
                (**self).pacer()
            }
            async fn list(&self, query: &ListQuery) -> Result<Page> {
                (**self).list(query).await
            }
            async fn status(&self, id: &RunId) -> Result<Run> {
                (**self).status(id).await
            }
            async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome> {
                (**self).stop(id, request).await
            }
        }
    )*};
}

forward!(Arc<T>, Box<T>, &T);
