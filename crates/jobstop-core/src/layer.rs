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

use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;
use tracing::Instrument;

use crate::{
    Capabilities, JobController, ListQuery, Operation, Page, Result, Run, RunId, StopOutcome,
    StopRequest, Vendor,
};

/// Wraps a controller in added behaviour.
pub trait Layer {
    /// The wrapped controller.
    fn layer(&self, inner: Arc<dyn JobController>) -> Arc<dyn JobController>;
}

/// Spaces requests to one account evenly, a little under the configured
/// rate: 5% slower, so that requests arriving with some jitter never crowd
/// more than the limit into a server's rolling one-second window (pacing at
/// exactly the limit measured 30 to 40 429s per 60 stops; see BENCHMARKS.md).
///
/// One account has one pacer, and everything sent to the account waits on
/// it: the HTTP client of every adapter owns one
/// ([`JobController::pacer`]), which paces each request it sends (list
/// pages, stops, read-backs, status polls, retries and logins alike), and
/// [`PaceLayer`] puts one around a controller that sends no HTTP. Bulk
/// stops (`jobstop::ops::execute_stops`) wait for the account's pacer before
/// they take a concurrency slot, then hand the turn they waited for to the
/// stop's first request ([`Pacer::paced`]).
///
/// Cloning shares the schedule: clones pace together.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::num::NonZeroU32;
/// use jobstop_core::layer::Pacer;
///
/// let pacer = Pacer::unlimited();
/// assert!(pacer.is_unlimited());
/// pacer.wait().await; // at once
/// pacer.tighten(NonZeroU32::new(10).unwrap());
/// assert_eq!(pacer.interval(), std::time::Duration::from_millis(105));
/// pacer.tighten(NonZeroU32::new(20).unwrap()); // looser: no change
/// assert_eq!(pacer.interval(), std::time::Duration::from_millis(105));
/// # }
/// ```
#[derive(Clone)]
pub struct Pacer {
    shared: Arc<PaceState>,
}

struct PaceState {
    /// The time between two turns, in nanoseconds (0: unlimited).
    interval_nanos: AtomicU64,
    /// The last turn handed out.
    last: std::sync::Mutex<Option<Instant>>,
}

/// How much slower than the configured rate the pacer runs.
const PACING_MARGIN: f64 = 1.05;

tokio::task_local! {
    /// The pacer (by address) whose turn the current task already waited
    /// for, not yet used by a request ([`Pacer::paced`]); 0 when none.
    static PREPAID: std::cell::Cell<usize>;
}

fn paced_interval(per_second: NonZeroU32) -> Duration {
    (Duration::from_secs(1) / per_second.get()).mul_f64(PACING_MARGIN)
}

impl Pacer {
    /// A pacer allowing at most `per_second` operations per second.
    pub fn per_second(per_second: NonZeroU32) -> Self {
        Pacer::with_interval(paced_interval(per_second))
    }

    /// A pacer that never makes anyone wait, until
    /// [`tighten`](Self::tighten)ed; it still remembers when its last turn
    /// was, so a rate set later counts the requests already sent.
    pub fn unlimited() -> Self {
        Pacer::with_interval(Duration::ZERO)
    }

    fn with_interval(interval: Duration) -> Self {
        Pacer {
            shared: Arc::new(PaceState {
                interval_nanos: AtomicU64::new(
                    u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX),
                ),
                last: std::sync::Mutex::new(None),
            }),
        }
    }

    /// The time between two turns (zero: unlimited).
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.shared.interval_nanos.load(Ordering::Relaxed))
    }

    /// Whether this pacer lets everyone through at once.
    pub fn is_unlimited(&self) -> bool {
        self.interval().is_zero()
    }

    /// Allows at most `per_second` turns per second from now on, unless the
    /// pacer is already stricter: the stricter rate wins, for every clone,
    /// for as long as the pacer lives.
    pub fn tighten(&self, per_second: NonZeroU32) {
        let nanos = u64::try_from(paced_interval(per_second).as_nanos()).unwrap_or(u64::MAX);
        self.shared
            .interval_nanos
            .fetch_max(nanos, Ordering::Relaxed);
    }

    /// Whether `other` shares this pacer's schedule (is a clone of it).
    pub fn same_schedule(&self, other: &Pacer) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    fn key(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// Takes the next turn: when it is, the caller may go.
    fn reserve(&self) -> Instant {
        let interval = self.interval();
        let now = Instant::now();
        let mut last = self
            .shared
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = match *last {
            Some(prev) => (prev + interval).max(now),
            None => now,
        };
        *last = Some(at);
        at
    }

    /// Waits for this caller's turn. A caller dropped while waiting gives
    /// its turn up to nobody: the schedule stays evenly spaced. Inside
    /// [`paced`](Self::paced) on this pacer, the first wait uses the turn
    /// already waited for and returns at once.
    pub async fn wait(&self) {
        let key = self.key();
        let prepaid = PREPAID
            .try_with(|cell| {
                let mine = cell.get() == key;
                if mine {
                    cell.set(0);
                }
                mine
            })
            .unwrap_or(false);
        if prepaid {
            return;
        }
        let at = self.reserve();
        tokio::time::sleep_until(at).await;
    }

    /// Waits until a turn would be free now, without taking it: a caller
    /// that then takes it with [`wait`](Self::wait) or
    /// [`paced`](Self::paced) waits no more, unless someone else took it
    /// in between.
    pub async fn ready(&self) {
        loop {
            let next = {
                let last = self
                    .shared
                    .last
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                last.map(|prev| prev + self.interval())
            };
            match next {
                Some(at) if at > Instant::now() => tokio::time::sleep_until(at).await,
                _ => return,
            }
        }
    }

    /// Waits for a turn, then runs `op`, whose first request through this
    /// pacer (its first [`wait`](Self::wait)) uses that turn instead of
    /// waiting for another: `self.take_turn().spend(op)`.
    pub async fn paced<F: Future>(&self, op: F) -> F::Output {
        self.take_turn().spend(op).await
    }

    /// Takes the next turn now, to be [`spend`](Turn::spend)t on one
    /// request. A caller can so wait for the account's pace
    /// ([`ready`](Self::ready)) before it takes a scarce resource (a
    /// concurrency slot), and still send exactly one request per turn.
    pub fn take_turn(&self) -> Turn {
        Turn {
            at: self.reserve(),
            key: self.key(),
        }
    }
}

/// One turn of a [`Pacer`], taken with [`Pacer::take_turn`]: when it comes,
/// one request may go. A turn never spent stays unused (the schedule does
/// not give it to anyone else).
#[derive(Debug)]
#[must_use = "a turn is spent by `spend`"]
pub struct Turn {
    at: Instant,
    key: usize,
}

impl Turn {
    /// When the turn comes.
    pub fn when(&self) -> Instant {
        self.at
    }

    /// Waits for the turn, then runs `op`: its first request through the
    /// pacer the turn is of goes at once, on this turn; any further one
    /// waits for a turn of its own.
    pub async fn spend<F: Future>(self, op: F) -> F::Output {
        tokio::time::sleep_until(self.at).await;
        PREPAID.scope(std::cell::Cell::new(self.key), op).await
    }
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pacer")
            .field("interval", &self.interval())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Pacer {
    /// Two pacers are equal when they share one schedule.
    fn eq(&self, other: &Pacer) -> bool {
        self.same_schedule(other)
    }
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
