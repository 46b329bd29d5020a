//! Behaviour that wraps any controller, the way tower and OpenDAL layers do.
//!
//! A [`Layer`] takes a controller and returns one that does the same work
//! with something added around every call. Because the result is again a
//! [`JobController`], every caller gets the added behaviour: `stop_many`,
//! `stop_and_wait`, guards, escalation and the CLI alike.
//!
//! - [`PaceLayer`]: at most N operations per second on one account.
//! - [`TraceLayer`]: one `tracing` span per operation, and counters.
//!
//! ```
//! use std::sync::Arc;
//! use jobstop_core::layer::{Layer, PaceLayer, TraceLayer};
//! use jobstop_core::{InMemoryController, JobController};
//!
//! let inner: Arc<dyn JobController> = Arc::new(InMemoryController::new());
//! let trace = TraceLayer::new();
//! let controller = trace.layer(PaceLayer::per_second(10).layer(inner));
//! assert_eq!(controller.vendor(), jobstop_core::Vendor::IN_MEMORY);
//! assert_eq!(trace.metrics().calls(jobstop_core::Operation::Stop), 0);
//! ```

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tracing::Instrument;

pub use crate::pace::{Pacer, Turn};

use crate::{
    Capabilities, JobController, ListQuery, Operation, Page, Result, Run, RunId, StopOutcome,
    StopRequest, Vendor,
};

/// Wraps a controller in added behaviour.
pub trait Layer {
    /// The wrapped controller.
    fn layer(&self, inner: Arc<dyn JobController>) -> Arc<dyn JobController>;
}

/// At most N operations per second (each `list` page, `status` and `stop`
/// is one), for one account, whoever calls.
///
/// For controllers that send no HTTP through jobstop's client (the
/// [`InMemoryController`](crate::InMemoryController), one of your own): an
/// HTTP adapter paces every request it sends itself, with its client's
/// pacer (`client.pace` in a config file, `ClientConfig::pace` in code),
/// which also counts the requests an operation makes beyond the first
/// (read-backs, retries, logins). Wrapping an HTTP adapter in a
/// `PaceLayer` paces its operations on top of that.
///
/// The wrapped controller's [`JobController::pacer`] is this layer's pacer.
/// One `PaceLayer` holds one schedule: every controller it wraps shares it.
/// Build one per account.
#[derive(Debug, Clone)]
pub struct PaceLayer {
    pacer: Pacer,
}

impl PaceLayer {
    /// At most `per_second` operations per second; 0 is read as 1.
    pub fn per_second(per_second: u32) -> Self {
        PaceLayer {
            pacer: Pacer::per_second(NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN)),
        }
    }

    /// On the schedule of `pacer` (shared with everything else that waits on
    /// it).
    pub fn from_pacer(pacer: Pacer) -> Self {
        PaceLayer { pacer }
    }
}

impl Layer for PaceLayer {
    fn layer(&self, inner: Arc<dyn JobController>) -> Arc<dyn JobController> {
        Arc::new(Paced {
            inner,
            pacer: self.pacer.clone(),
        })
    }
}

/// A controller whose operations wait for their turn.
#[derive(Debug)]
struct Paced {
    inner: Arc<dyn JobController>,
    pacer: Pacer,
}

#[async_trait]
impl JobController for Paced {
    fn vendor(&self) -> Vendor {
        self.inner.vendor()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn pacer(&self) -> Option<Pacer> {
        Some(self.pacer.clone())
    }
    async fn list(&self, query: &ListQuery) -> Result<Page> {
        self.pacer.wait().await;
        self.inner.list(query).await
    }
    async fn status(&self, id: &RunId) -> Result<Run> {
        self.pacer.wait().await;
        self.inner.status(id).await
    }
    async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome> {
        self.pacer.wait().await;
        self.inner.stop(id, request).await
    }
}

/// Counters of the operations a [`TraceLayer`] saw.
#[derive(Debug, Default)]
pub struct Metrics {
    counters: [OpCounters; 3],
}

#[derive(Debug, Default)]
struct OpCounters {
    calls: AtomicU64,
    errors: AtomicU64,
    micros: AtomicU64,
}

impl Metrics {
    fn slot(&self, op: Operation) -> Option<&OpCounters> {
        match op {
            Operation::List => Some(&self.counters[0]),
            Operation::Status => Some(&self.counters[1]),
            Operation::Stop => Some(&self.counters[2]),
            _ => None,
        }
    }

    /// Operations of this kind that ended (list, status or stop; 0 for others).
    pub fn calls(&self, op: Operation) -> u64 {
        self.slot(op).map_or(0, |c| c.calls.load(Ordering::Relaxed))
    }

    /// Operations of this kind that ended in an error.
    pub fn errors(&self, op: Operation) -> u64 {
        self.slot(op)
            .map_or(0, |c| c.errors.load(Ordering::Relaxed))
    }

    /// The time operations of this kind took, added up.
    pub fn total_time(&self, op: Operation) -> Duration {
        self.slot(op).map_or(Duration::ZERO, |c| {
            Duration::from_micros(c.micros.load(Ordering::Relaxed))
        })
    }

    fn record(&self, op: Operation, ok: bool, took: Duration) {
        if let Some(c) = self.slot(op) {
            c.calls.fetch_add(1, Ordering::Relaxed);
            if !ok {
                c.errors.fetch_add(1, Ordering::Relaxed);
            }
            let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
            c.micros.fetch_add(micros, Ordering::Relaxed);
        }
    }
}

/// One `tracing` span per operation (`jobstop.operation`, with the vendor,
/// the operation, the run id and the account label), an event when it ends
/// (`debug` on success, `info` on error, with the error kind and the time
/// taken), and [`Metrics`] counters shared by every controller this layer
/// wraps.
#[derive(Debug, Clone, Default)]
pub struct TraceLayer {
    account: Option<Arc<str>>,
    metrics: Arc<Metrics>,
}

impl TraceLayer {
    /// A layer with fresh counters.
    pub fn new() -> Self {
        TraceLayer::default()
    }

    /// Names the account in every span.
    pub fn with_account(mut self, account: impl Into<Arc<str>>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// The counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }
}

impl Layer for TraceLayer {
    fn layer(&self, inner: Arc<dyn JobController>) -> Arc<dyn JobController> {
        Arc::new(Traced {
            inner,
            account: self.account.clone(),
            metrics: Arc::clone(&self.metrics),
        })
    }
}

#[derive(Debug)]
struct Traced {
    inner: Arc<dyn JobController>,
    account: Option<Arc<str>>,
    metrics: Arc<Metrics>,
}

impl Traced {
    async fn traced<T>(
        &self,
        op: Operation,
        id: Option<&RunId>,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let span = tracing::debug_span!(
            "jobstop.operation",
            vendor = %self.inner.vendor(),
            operation = op.as_str(),
            run_id = id.map(|id| tracing::field::display(id.escape_for_display())),
            account = self.account.as_deref(),
        );
        let started = Instant::now();
        let result = call.instrument(span.clone()).await;
        let took = started.elapsed();
        self.metrics.record(op, result.is_ok(), took);
        let _entered = span.enter();
        match &result {
            Ok(_) => tracing::debug!(elapsed_ms = took.as_millis() as u64, "done"),
            Err(e) => tracing::info!(
                elapsed_ms = took.as_millis() as u64,
                kind = e.kind().as_str(),
                "failed"
            ),
        }
        result
    }
}

#[async_trait]
impl JobController for Traced {
    fn vendor(&self) -> Vendor {
        self.inner.vendor()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn pacer(&self) -> Option<Pacer> {
        self.inner.pacer()
    }
    async fn list(&self, query: &ListQuery) -> Result<Page> {
        self.traced(Operation::List, None, self.inner.list(query))
            .await
    }
    async fn status(&self, id: &RunId) -> Result<Run> {
        self.traced(Operation::Status, Some(id), self.inner.status(id))
            .await
    }
    async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome> {
        self.traced(Operation::Stop, Some(id), self.inner.stop(id, request))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InMemoryController, JobControllerExt, RunState, StopBehavior};
    use futures::StreamExt;

    fn fleet(n: usize) -> (Arc<dyn JobController>, Vec<RunId>) {
        let mem = InMemoryController::new().with_stop_behavior(StopBehavior::Immediate);
        let ids = mem.seed(n, RunState::Running);
        (Arc::new(mem), ids)
    }

    #[tokio::test(start_paused = true)]
    async fn pace_applies_to_stop_many_without_ops() {
        let (inner, ids) = fleet(21);
        let paced = PaceLayer::per_second(10).layer(inner);
        let started = Instant::now();
        let request = StopRequest::graceful();
        let results: Vec<_> = paced.stop_many(ids.clone(), &request, 8).collect().await;
        let took = started.elapsed();
        assert_eq!(results.len(), ids.len());
        assert!(results.iter().all(|r| r.result.is_ok()));
        // 21 stops at 10 per second (5% margin): the first at once, the
        // 21st twenty intervals later.
        let interval = Duration::from_millis(105);
        assert!(took >= interval * 20, "took {took:?}");
        assert!(took < interval * 21, "took {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn clones_of_one_pace_layer_share_the_schedule() {
        let (a, ids_a) = fleet(3);
        let (b, ids_b) = fleet(3);
        let layer = PaceLayer::per_second(2);
        let (a, b) = (layer.layer(a), layer.layer(b));
        let started = Instant::now();
        for (x, y) in ids_a.iter().zip(&ids_b) {
            a.status(x).await.expect("status");
            b.status(y).await.expect("status");
        }
        // Six operations on one schedule: five intervals of 525 ms.
        assert!(started.elapsed() >= Duration::from_millis(525 * 5));
    }

    #[tokio::test]
    async fn trace_counts_calls_and_errors() {
        let (inner, ids) = fleet(2);
        let trace = TraceLayer::new().with_account("acct");
        let c = trace.layer(inner);
        c.status(&ids[0]).await.expect("status");
        c.status(&RunId::new("nope")).await.expect_err("unknown");
        c.stop(&ids[1], &StopRequest::graceful())
            .await
            .expect("stop");
        let m = trace.metrics();
        assert_eq!(m.calls(Operation::Status), 2);
        assert_eq!(m.errors(Operation::Status), 1);
        assert_eq!(m.calls(Operation::Stop), 1);
        assert_eq!(m.errors(Operation::Stop), 0);
        assert_eq!(m.calls(Operation::List), 0);
    }
}
