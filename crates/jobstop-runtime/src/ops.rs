//! Operations across accounts: list everywhere, plan a bulk stop, carry it out.

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use jobstop_core::layer::{Layer, PaceLayer, Pacer, Turn};
use jobstop_core::{
    Error, ErrorKind, JobController, JobControllerExt, ListLimits, ListQuery, Operation, Polled,
    Result, Run, RunId, RunState, StopOutcome, StopRequest, WaitOptions, poll_until,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::registry::{Account, Registry};

/// Which runs an operation is about.
///
/// ```
/// use std::time::Duration;
/// use jobstop_core::RunState;
/// use jobstop_runtime::ops::Selector;
///
/// let s = Selector::new()
///     .with_state(RunState::Running)
///     .with_name_contains("nightly")
///     .with_older_than(Duration::from_secs(3600));
/// assert_eq!(s.to_query().name_contains.as_deref(), Some("nightly"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Selector {
    /// Only runs in these states (empty: any).
    pub states: BTreeSet<RunState>,
    /// Only runs of this kind.
    pub kind: Option<String>,
    /// Only runs whose name contains this (ignoring case).
    pub name_contains: Option<String>,
    /// Only runs created at or after this time.
    pub created_after: Option<DateTime<Utc>>,
    /// Only runs created before this time.
    pub created_before: Option<DateTime<Utc>>,
    /// Only runs created at least this long ago (a run with no creation time
    /// never matches).
    pub older_than: Option<Duration>,
    /// How far each account's listing may go (page budget and deadline;
    /// [`ListLimits::default`]: 10,000 pages, 10 minutes). An account whose
    /// listing goes past them is reported with
    /// [`ErrorKind::EndlessListing`],
    /// beside the others.
    pub list_limits: ListLimits,
    /// The page size each account's listing asks for (`None`: the vendor's
    /// default). Fewer, larger pages mean fewer list requests.
    pub page_size: Option<u32>,
}

impl Selector {
    /// Everything.
    pub fn new() -> Self {
        Selector::default()
    }

    /// Adds a state.
    pub fn with_state(mut self, state: RunState) -> Self {
        self.states.insert(state);
        self
    }

    /// Sets the kind.
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets the name filter.
    pub fn with_name_contains(mut self, text: impl Into<String>) -> Self {
        self.name_contains = Some(text.into());
        self
    }

    /// Sets the lower creation bound.
    pub fn with_created_after(mut self, t: DateTime<Utc>) -> Self {
        self.created_after = Some(t);
        self
    }

    /// Sets the upper creation bound.
    pub fn with_created_before(mut self, t: DateTime<Utc>) -> Self {
        self.created_before = Some(t);
        self
    }

    /// Sets the minimum age.
    pub fn with_older_than(mut self, age: Duration) -> Self {
        self.older_than = Some(age);
        self
    }

    /// Sets the page size each account's listing asks for (a vendor may cap
    /// it).
    pub fn with_page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Sets how far each account's listing may go.
    pub fn with_list_limits(mut self, limits: ListLimits) -> Self {
        self.list_limits = limits;
        self
    }

    /// The list query for the filters a controller can apply.
    pub fn to_query(&self) -> ListQuery {
        let mut q = ListQuery::new().with_states(self.states.iter().copied());
        q.kind = self.kind.clone();
        q.page_size = self.page_size;
        q.name_contains = self.name_contains.clone();
        q.created_after = self.created_after;
        q.created_before = self.created_before;
        q
    }

    /// Whether `run` matches, `now` being the reference for `older_than`.
    pub fn matches(&self, run: &Run, now: DateTime<Utc>) -> bool {
        if !self.to_query().matches(run) {
            return false;
        }
        match self.older_than {
            None => true,
            Some(age) => {
                // An age reaching past the first representable date matches
                // nothing (no run is that old) instead of overflowing.
                let Some(cutoff) = chrono::Duration::from_std(age)
                    .ok()
                    .and_then(|age| now.checked_sub_signed(age))
                else {
                    return false;
                };
                run.created_at.is_some_and(|t| t <= cutoff)
            }
        }
    }
}

/// One account's answer to [`list_accounts`].
#[derive(Debug)]
#[non_exhaustive]
pub struct AccountRuns {
    /// The account.
    pub account: String,
    /// Its runs, or why they could not be listed.
    pub result: Result<Vec<Run>>,
}

/// One account's runs that match `selector`, as they arrive, page by page
/// (`now` is the reference for `older_than`). The next page is asked for
/// only when the stream is polled past the current one, so a consumer that
/// stops early (a `--limit`) sends no extra request. A query the account's
/// vendor cannot serve, or a listing that fails or goes past
/// `selector.list_limits`, ends the stream with one error in the account's
/// context.
pub fn account_runs<'a>(
    account: &'a Account,
    selector: &'a Selector,
    now: DateTime<Utc>,
) -> BoxStream<'a, Result<Run>> {
    let ctrl = &account.controller;
    let query = selector.to_query();
    if let Err(e) = ctrl.capabilities().check_query(&query) {
        let e = e.in_context(&ctrl.vendor(), Operation::List, None);
        return stream::once(futures::future::ready(Err(e))).boxed();
    }
    ctrl.list_all_with_limits(query, selector.list_limits)
        .try_filter(move |r| futures::future::ready(selector.matches(r, now)))
        .boxed()
}

/// Lists every account concurrently, following cursors, keeping at most
/// `limit` matching runs per account. Each listing is bounded by
/// `selector.list_limits` (a server that hands out a fresh cursor forever
/// ends in [`ErrorKind::EndlessListing`]).
/// One failing account is reported beside the others' runs and never hides
/// them. Results come in `accounts` order. This holds every run in memory;
/// [`account_runs`] streams one account's.
pub async fn list_accounts(
    accounts: &[&Account],
    selector: &Selector,
    limit: Option<usize>,
) -> Vec<AccountRuns> {
    let now = Utc::now();
    let jobs = accounts.iter().map(|account| async move {
        let runs = account_runs(account, selector, now)
            .take(limit.unwrap_or(usize::MAX))
            .try_collect::<Vec<Run>>()
            .await;
        AccountRuns {
            account: account.name.clone(),
            result: runs,
        }
    });
    futures::future::join_all(jobs).await
}

/// One run a bulk stop will stop: a small record made from the run as it
/// was listed (its raw JSON and the rest of the [`Run`] are not kept), so a
/// plan over 100,000 runs holds 100,000 of these and no more.
///
/// ```
/// use jobstop_core::{RunId, RunState};
/// use jobstop_runtime::ops::PlannedStop;
///
/// let planned = PlannedStop::new("prod", RunId::new("wf-1"), RunState::Running)
///     .with_name("nightly")
///     .with_vendor_state("running");
/// assert_eq!(planned.account, "prod");
/// assert_eq!(planned.name.as_deref(), Some("nightly"));
/// assert_eq!(planned.created_at, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedStop {
    /// The account.
    pub account: String,
    /// The run's id.
    pub id: RunId,
    /// The run's name, if it has one.
    pub name: Option<String>,
    /// The run's state when it was listed.
    pub state: RunState,
    /// The state exactly as the vendor sent it when the run was listed.
    pub vendor_state: String,
    /// When the run was created, if the vendor says.
    pub created_at: Option<DateTime<Utc>>,
}

impl PlannedStop {
    /// A planned stop of run `id` on `account`, listed in `state` (no name,
    /// no creation time, the vendor's state empty).
    pub fn new(account: impl Into<String>, id: RunId, state: RunState) -> Self {
        PlannedStop {
            account: account.into(),
            id,
            name: None,
            state,
            vendor_state: String::new(),
            created_at: None,
        }
    }

    /// The record of `run`, listed on `account`.
    pub fn from_run(account: impl Into<String>, run: &Run) -> Self {
        PlannedStop {
            account: account.into(),
            id: run.id.clone(),
            name: run.name.clone(),
            state: run.state,
            vendor_state: run.vendor_state.clone(),
            created_at: run.created_at,
        }
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the vendor's state string.
    pub fn with_vendor_state(mut self, vendor_state: impl Into<String>) -> Self {
        self.vendor_state = vendor_state.into();
        self
    }

    /// Sets the creation time.
    pub fn with_created_at(mut self, t: DateTime<Utc>) -> Self {
        self.created_at = Some(t);
        self
    }
}

/// What a bulk stop will do: the runs to stop, and the accounts that could
/// not be listed (nothing will be stopped there).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct StopPlan {
    /// The runs to stop, account by account (in the order the accounts were
    /// given), each account's in the order they were listed.
    pub stops: Vec<PlannedStop>,
    /// Accounts whose listing failed.
    pub errors: Vec<(String, Error)>,
    /// Selected runs in a stoppable state that their vendor does not stop
    /// ([`Capabilities::can_stop`](jobstop_core::Capabilities::can_stop), e.g. a
    /// paused DataArts instance): not stopped, listed so a caller can say so.
    pub not_stoppable: Vec<PlannedStop>,
}

impl StopPlan {
    /// An empty plan, to [`push`](Self::push) stops into (say, from a
    /// listing of your own); or collect one from [`PlannedStop`]s.
    ///
    /// ```
    /// use jobstop_core::{RunId, RunState};
    /// use jobstop_runtime::ops::{PlannedStop, StopPlan};
    ///
    /// let mut plan = StopPlan::new();
    /// plan.push(PlannedStop::new("prod", RunId::new("r-1"), RunState::Running));
    /// let more: StopPlan = ["r-2", "r-3"]
    ///     .into_iter()
    ///     .map(|id| PlannedStop::new("prod", RunId::new(id), RunState::Queued))
    ///     .collect();
    /// assert_eq!(plan.stops.len() + more.stops.len(), 3);
    /// ```
    pub fn new() -> Self {
        StopPlan::default()
    }

    /// Adds a stop to the plan.
    pub fn push(&mut self, stop: PlannedStop) {
        self.stops.push(stop);
    }
}

impl FromIterator<PlannedStop> for StopPlan {
    fn from_iter<I: IntoIterator<Item = PlannedStop>>(iter: I) -> Self {
        StopPlan {
            stops: iter.into_iter().collect(),
            ..StopPlan::default()
        }
    }
}

impl Extend<PlannedStop> for StopPlan {
    fn extend<I: IntoIterator<Item = PlannedStop>>(&mut self, iter: I) {
        self.stops.extend(iter);
    }
}

/// Lists the selected runs that can be stopped (queued, running, paused, as
/// far as each account's vendor accepts a stop in that state:
/// [`Capabilities::can_stop`](jobstop_core::Capabilities::can_stop)), without
/// stopping anything: the dry run, and the input of [`execute_stops`].
///
/// Accounts are listed concurrently, each as a stream ([`account_runs`]):
/// every run becomes its [`PlannedStop`] as it arrives and the [`Run`] is
/// dropped, so the plan holds one small record per planned stop. An account
/// whose listing fails is planned for nothing and reported in
/// [`StopPlan::errors`].
pub async fn plan_stops(accounts: &[&Account], selector: &Selector) -> StopPlan {
    plan_claimed(accounts, selector, &|_: &Run| true).await
}

/// One account's part of a plan.
struct AccountPlan {
    stops: Vec<PlannedStop>,
    not_stoppable: Vec<PlannedStop>,
}

/// [`plan_stops`], keeping only the runs `is_owned` claims (asked of each
/// run as it arrives, before it is dropped).
async fn plan_claimed<F: Fn(&Run) -> bool>(
    accounts: &[&Account],
    selector: &Selector,
    is_owned: &F,
) -> StopPlan {
    let now = Utc::now();
    let jobs = accounts.iter().map(|account| async move {
        let caps = account.controller.capabilities();
        let mut part = AccountPlan {
            stops: Vec::new(),
            not_stoppable: Vec::new(),
        };
        let mut runs = account_runs(account, selector, now);
        while let Some(run) = runs.next().await {
            let run = run?;
            if !run.state.is_stoppable() || !is_owned(&run) {
                continue;
            }
            let planned = PlannedStop::from_run(account.name.as_str(), &run);
            if caps.can_stop(&run) {
                part.stops.push(planned);
            } else {
                part.not_stoppable.push(planned);
            }
        }
        Ok::<_, Error>(part)
    });
    let mut plan = StopPlan::default();
    for (account, part) in accounts.iter().zip(futures::future::join_all(jobs).await) {
        match part {
            Ok(part) => {
                append(&mut plan.stops, part.stops);
                append(&mut plan.not_stoppable, part.not_stoppable);
            }
            Err(e) => plan.errors.push((account.name.clone(), e)),
        }
    }
    plan
}

/// Appends `more` to `all`, moving it whole when `all` is empty.
fn append(all: &mut Vec<PlannedStop>, mut more: Vec<PlannedStop>) {
    if all.is_empty() {
        *all = more;
    } else {
        all.append(&mut more);
    }
}

/// The orphan sweep's plan: the active runs the caller's predicate claims
/// (say, by a name prefix or an owner its runs carry) that are older than
/// `grace`, across `accounts`. Nothing is stopped; carry it out with
/// [`execute_stops`], after showing it, as for any bulk stop. `is_owned` is
/// asked of each listed run as it arrives; like [`plan_stops`], the plan
/// keeps one [`PlannedStop`] per claimed run and never the runs.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use jobstop_core::{InMemoryController, RunState};
/// use jobstop_runtime::ops::{Selector, plan_sweep};
/// use jobstop_runtime::{Account, Registry};
///
/// let ctrl = Arc::new(InMemoryController::new());
/// ctrl.seed(4, RunState::Running); // named run-1 … run-4, created in 2024
/// let mut registry = Registry::new();
/// registry.insert(Account::new("mem", "memory://", ctrl)).unwrap();
/// let accounts = registry.all();
/// let mine = |r: &jobstop_core::Run| r.name.as_deref().is_some_and(|n| n.ends_with('2') || n.ends_with('4'));
/// let plan = plan_sweep(&accounts, &Selector::new(), mine, Duration::from_secs(3600)).await;
/// assert_eq!(plan.stops.len(), 2);
/// assert_eq!(plan.stops[0].name.as_deref(), Some("run-2"));
/// # }
/// ```
pub async fn plan_sweep(
    accounts: &[&Account],
    selector: &Selector,
    is_owned: impl Fn(&Run) -> bool,
    grace: Duration,
) -> StopPlan {
    let mut selector = selector.clone();
    selector.older_than = Some(selector.older_than.map_or(grace, |age| age.max(grace)));
    plan_claimed(accounts, &selector, &is_owned).await
}

/// How [`execute_stops`] runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BulkOptions {
    /// Stops in flight at once, across accounts (at least 1).
    pub concurrency: usize,
    /// At most this many requests per second per account, evenly spaced
    /// (with a 5% margin, so a server's rolling window is never crowded).
    /// For an account whose controller has a pacer
    /// ([`JobController::pacer`]: every
    /// HTTP adapter's client has one), this tightens that pacer, which every
    /// request to the account waits on (list pages, stops, read-backs,
    /// retries, logins): the stricter of this rate and the account's
    /// configured `client.pace` wins, for as long as the account lives. For
    /// a controller without one, it paces the stops alone. A stop waits for
    /// its account's turn before it takes one of the
    /// [`concurrency`](Self::concurrency) slots.
    pub per_account_rate: Option<u32>,
    /// The stop to send.
    pub request: StopRequest,
    /// When set, each run is then waited for until it ends (or `timeout`
    /// after its stop was answered): its status is polled as
    /// [`poll_until`] does, every poll through the account's pacer (as the
    /// stops; for a controller without one, through the pacer of
    /// `per_account_rate` when set). A waiting run holds none of the
    /// [`concurrency`](Self::concurrency) slots, which bound the stops in
    /// flight only: a run between polls is asleep, and its account's pace
    /// bounds how often all of them poll. The answer is in
    /// [`BulkResult::final_run`] and [`BulkResult::stop_won`] (or
    /// [`BulkResult::wait_error`]).
    pub wait: Option<WaitOptions>,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            concurrency: 16,
            per_account_rate: None,
            request: StopRequest::graceful(),
            wait: None,
        }
    }
}

impl BulkOptions {
    /// Sets the concurrency.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Sets the per-account rate.
    pub fn with_per_account_rate(mut self, per_second: u32) -> Self {
        self.per_account_rate = Some(per_second);
        self
    }

    /// Sets the stop request.
    pub fn with_request(mut self, request: StopRequest) -> Self {
        self.request = request;
        self
    }

    /// Waits for each run to end after its stop (see [`wait`](Self::wait)).
    pub fn with_wait(mut self, wait: WaitOptions) -> Self {
        self.wait = Some(wait);
        self
    }
}

/// One answer of [`execute_stops`].
#[derive(Debug)]
#[non_exhaustive]
pub struct BulkResult {
    /// The account.
    pub account: String,
    /// The run as planned.
    pub planned: PlannedStop,
    /// What stopping it gave.
    pub result: Result<StopOutcome>,
    /// With [`BulkOptions::wait`]: the run in its terminal state, once its
    /// stop was answered and the run ended in time; else `None`.
    pub final_run: Option<Run>,
    /// With [`BulkOptions::wait`], once the run ended: `true` when it ended
    /// because of this stop, `false` when it had already ended or finished
    /// (succeeded or failed) before the stop took effect; else `None`.
    pub stop_won: Option<bool>,
    /// With [`BulkOptions::wait`], when the stop was answered but the wait
    /// failed: an [`ErrorKind::Timeout`]
    /// with the last state seen, or the status error that ended it.
    pub wait_error: Option<Error>,
}

impl BulkResult {
    /// The run's id.
    pub fn run_id(&self) -> &RunId {
        &self.planned.id
    }

    /// What went wrong, if anything: the stop's error, else the wait's.
    pub fn error(&self) -> Option<&Error> {
        self.result.as_ref().err().or(self.wait_error.as_ref())
    }

    /// The run's state at the end: the waited-for terminal state, else the
    /// last state seen by the wait, else the state the stop answered with;
    /// `None` when the stop failed.
    pub fn final_state(&self) -> Option<RunState> {
        if let Some(run) = &self.final_run {
            return Some(run.state);
        }
        if let Some(state) = self
            .wait_error
            .as_ref()
            .and_then(|e| e.context().last_state)
        {
            return Some(state);
        }
        self.result.as_ref().ok().map(|o| o.run().state)
    }
}

/// Stops every planned run, at most `options.concurrency` at a time and at
/// each account's pace (its controller's pacer, tightened to
/// `options.per_account_rate`: see [`BulkOptions::per_account_rate`]),
/// yielding one [`BulkResult`] per planned run as each finishes: every run
/// is answered exactly once, failures included. Accounts proceed side by
/// side: a stop waiting for its account's pace holds no concurrency slot,
/// so the whole plan takes about as long as its busiest account needs.
pub fn execute_stops<'a>(
    registry: &'a Registry,
    plan: &'a StopPlan,
    options: &'a BulkOptions,
) -> BoxStream<'a, BulkResult> {
    execute_stops_until(registry, plan, options, StopSwitch::new())
}

/// [`execute_stops_until`] owning what it needs: the stream is `Send +
/// 'static`, so it can be spawned (`tokio::spawn`) or kept in a struct.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// use futures::StreamExt;
/// use jobstop_core::{InMemoryController, RunState};
/// use jobstop_runtime::ops::{BulkOptions, StopSwitch, Selector, execute_stops_owned, plan_stops};
/// use jobstop_runtime::{Account, Registry};
///
/// let ctrl = Arc::new(InMemoryController::new());
/// ctrl.seed(3, RunState::Running);
/// let mut registry = Registry::new();
/// registry.insert(Account::new("mem", "memory://", ctrl)).unwrap();
/// let registry = Arc::new(registry);
/// let accounts: Vec<_> = registry.accounts().collect();
/// let plan = plan_stops(&accounts, &Selector::new()).await;
/// let stream = execute_stops_owned(registry.clone(), plan, BulkOptions::default(), StopSwitch::new());
/// let answered = tokio::spawn(stream.count()).await.unwrap();
/// assert_eq!(answered, 3);
/// # }
/// ```
pub fn execute_stops_owned(
    registry: Arc<Registry>,
    plan: StopPlan,
    options: BulkOptions,
    switch: StopSwitch,
) -> BoxStream<'static, BulkResult> {
    run_plan(registry, plan.stops, options, switch)
}

/// Tells a running [`execute_stops_until`] to start no new stop (an
/// operator's Ctrl-C, an output that can no longer be written), and counts
/// the stops it has started. Clones share the switch.
///
/// ```
/// use jobstop_runtime::ops::StopSwitch;
///
/// let switch = StopSwitch::new();
/// let seen_by_the_stream = switch.clone();
/// switch.halt();
/// assert!(seen_by_the_stream.is_halted());
/// assert_eq!(switch.started(), 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct StopSwitch {
    halt: CancellationToken,
    started: Arc<AtomicUsize>,
}

impl StopSwitch {
    /// A switch that is not halted.
    pub fn new() -> Self {
        StopSwitch::default()
    }

    /// From now on, no new stop is started. Stops already sent go on.
    pub fn halt(&self) {
        self.halt.cancel();
    }

    /// Whether [`halt`](Self::halt) was called.
    pub fn is_halted(&self) -> bool {
        self.halt.is_cancelled()
    }

    /// How many stops were started (sent, or answered at once because the
    /// account is unknown): each of them is or will be yielded.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }
}

/// Like [`execute_stops`], until `switch` is halted: from then on no new stop
/// is started (a run waiting for its account's rate is not started either),
/// the stops already sent are still yielded as they finish, and then the
/// stream ends. Runs that were never started are not yielded; there are
/// `plan.stops.len() - switch.started()` of them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// use futures::StreamExt;
/// use jobstop_core::{InMemoryController, RunState};
/// use jobstop_runtime::ops::{BulkOptions, Selector, StopSwitch, execute_stops_until, plan_stops};
/// use jobstop_runtime::{Account, Registry};
///
/// let ctrl = Arc::new(InMemoryController::new());
/// ctrl.seed(10, RunState::Running);
/// let mut registry = Registry::new();
/// registry.insert(Account::new("mem", "memory://", ctrl.clone())).unwrap();
/// let plan = plan_stops(&registry.all(), &Selector::new()).await;
/// let options = BulkOptions::default().with_concurrency(1);
/// let switch = StopSwitch::new();
/// let mut stream = execute_stops_until(&registry, &plan, &options, switch.clone());
/// let first = stream.next().await.unwrap();
/// assert!(first.result.is_ok());
/// switch.halt();
/// let rest = stream.count().await;
/// assert_eq!(1 + rest, switch.started());
/// assert!(switch.started() < 10);
/// assert_eq!(ctrl.stop_calls(), u64::try_from(switch.started()).unwrap());
/// # }
/// ```
pub fn execute_stops_until<'a>(
    registry: &'a Registry,
    plan: &'a StopPlan,
    options: &'a BulkOptions,
    switch: StopSwitch,
) -> BoxStream<'a, BulkResult> {
    run_plan(registry, plan.stops.clone(), options.clone(), switch)
}

/// Carries out `stops` on `registry` (borrowed or shared), as
/// [`execute_stops_until`] documents.
fn run_plan<'a, R>(
    registry: R,
    stops: Vec<PlannedStop>,
    options: BulkOptions,
    switch: StopSwitch,
) -> BoxStream<'a, BulkResult>
where
    R: std::ops::Deref<Target = Registry> + Clone + Send + Sync + 'a,
{
    // One queue per account, in the order the accounts come in the plan.
    let mut queues: Vec<(String, Vec<PlannedStop>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for planned in stops {
        let i = match index.get(planned.account.as_str()) {
            Some(i) => *i,
            None => {
                index.insert(planned.account.clone(), queues.len());
                queues.push((planned.account.clone(), Vec::new()));
                queues.len() - 1
            }
        };
        queues[i].1.push(planned);
    }
    // The controller each account's runs are polled through when waiting:
    // its own (its pacer in its client paces every poll), or, for one
    // without a pacer, the same controller behind the stops' pacer.
    let mut pollers: HashMap<String, Arc<dyn JobController>> = HashMap::new();
    let accounts: Vec<BoxStream<'a, Launch>> = queues
        .into_iter()
        .map(|(name, stops)| {
            let account = registry.get(&name).ok();
            let pacer = account.and_then(|a| stop_pacer(a, options.per_account_rate));
            if let Some(account) = account {
                let ctrl = account.controller.clone();
                let poller = match (&pacer, ctrl.pacer()) {
                    (Some(p), None) => PaceLayer::from_pacer(p.clone()).layer(ctrl),
                    _ => ctrl,
                };
                pollers.insert(name, poller);
            }
            account_launches(stops, pacer, switch.clone())
        })
        .collect();
    let options = Arc::new(options);
    let wait_options = options.clone();
    let pollers = Arc::new(pollers);
    // A slot is taken only when an account's pacer has a turn for it: the
    // merged queues are polled only while fewer than `concurrency` stops are
    // in flight, and each queue offers its next stop only once its
    // account's pace allows it, so no stop holds a slot while it waits for
    // its account's pace, and a slow account never holds up the others.
    let stopped = stream::select_all(accounts)
        .map(move |launch| {
            let switch = switch.clone();
            let registry = registry.clone();
            let options = options.clone();
            async move {
                if let Some(turn) = &launch.turn {
                    tokio::select! {
                        () = tokio::time::sleep_until(turn.when()) => {}
                        () = switch.halt.cancelled() => return None,
                    }
                }
                if switch.is_halted() {
                    return None;
                }
                switch.started.fetch_add(1, Ordering::SeqCst);
                let planned = launch.planned;
                let result = match registry.get(&planned.account) {
                    Ok(account) => {
                        let stop = account.controller.stop(&planned.id, &options.request);
                        match launch.turn {
                            Some(turn) => turn.spend(stop).await,
                            None => stop.await,
                        }
                    }
                    Err(e) => Err(e),
                };
                Some(BulkResult {
                    account: planned.account.clone(),
                    planned,
                    result,
                    final_run: None,
                    stop_won: None,
                    wait_error: None,
                })
            }
        })
        .buffer_unordered(wait_options.concurrency.max(1))
        .filter_map(futures::future::ready);
    if wait_options.wait.is_none() {
        return stopped.boxed();
    }
    // Each answered stop is then waited for, outside the stop slots (a
    // waiting run sleeps between polls; its account's pacer spaces them).
    stopped
        .map(move |result| {
            let pollers = pollers.clone();
            let options = wait_options.clone();
            async move { wait_for_end(result, &pollers, &options).await }
        })
        .buffer_unordered(usize::MAX)
        .boxed()
}

/// Waits for the run of an answered stop to end, filling in `result`'s
/// final run and whether the stop won (or why the wait failed).
async fn wait_for_end(
    mut result: BulkResult,
    pollers: &HashMap<String, Arc<dyn JobController>>,
    options: &BulkOptions,
) -> BulkResult {
    let (Some(wait), Ok(outcome), Some(ctrl)) = (
        options.wait.as_ref(),
        result.result.as_ref(),
        pollers.get(&result.account),
    ) else {
        return result;
    };
    let start = Instant::now();
    let already = matches!(outcome, StopOutcome::AlreadyFinished(_));
    let id = result.planned.id.clone();
    let polled = poll_until(
        ctrl.as_ref(),
        &id,
        wait,
        start + wait.timeout,
        Some(outcome.run().clone()),
        |r: &Run| r.state.is_terminal(),
        |_: &Run| {},
    )
    .await;
    match polled {
        Ok(Polled {
            run: Some(run),
            reached: true,
            ..
        }) => {
            result.stop_won =
                Some(!already && matches!(run.state, RunState::Stopped | RunState::Idle));
            result.final_run = Some(run);
        }
        Ok(polled) => {
            let mut err = Error::new(
                ErrorKind::Timeout,
                "the run did not reach a terminal state before the deadline",
            )
            .with_vendor(ctrl.vendor())
            .with_operation(Operation::Wait)
            .with_run_id(id)
            .with_elapsed(start.elapsed())
            .with_attempts(polled.polls);
            if let Some(run) = polled.run {
                err = err.with_last_state(run.state);
            }
            result.wait_error = Some(err);
        }
        Err(e) => result.wait_error = Some(e),
    }
    result
}

/// The pacer a bulk stop waits on for `account`: the account's own (its
/// HTTP client's, which every request to it waits on), tightened to `rate`
/// when one is given (the stricter of the two wins); else, for a controller
/// without a pacer, one of `rate` for the stops alone; else none.
fn stop_pacer(account: &Account, rate: Option<u32>) -> Option<Pacer> {
    let rate = rate.map(|r| NonZeroU32::new(r).unwrap_or(NonZeroU32::MIN));
    match (account.controller.pacer(), rate) {
        (Some(own), Some(rate)) => {
            own.tighten(rate);
            Some(own)
        }
        (Some(own), None) => Some(own),
        (None, Some(rate)) => Some(Pacer::per_second(rate)),
        (None, None) => None,
    }
}

/// One planned stop whose account's pace lets it go, with the turn it takes.
struct Launch {
    planned: PlannedStop,
    turn: Option<Turn>,
}

/// One account's stops, each offered once its account's pacer has a turn
/// free (then taken); the queue ends when `switch` is halted.
fn account_launches<'a>(
    stops: Vec<PlannedStop>,
    pacer: Option<Pacer>,
    switch: StopSwitch,
) -> BoxStream<'a, Launch> {
    stream::unfold(
        (stops.into_iter(), pacer, switch),
        |(mut stops, pacer, switch)| async move {
            if switch.is_halted() {
                return None;
            }
            let planned = stops.next()?;
            let turn = match &pacer {
                Some(p) => {
                    tokio::select! {
                        () = p.ready() => {}
                        () = switch.halt.cancelled() => return None,
                    }
                    Some(p.take_turn())
                }
                None => None,
            };
            Some((Launch { planned, turn }, (stops, pacer, switch)))
        },
    )
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::{ErrorKind, InMemoryController, JobController, StopBehavior, Vendor};
    use tokio::time::Instant;

    fn account(name: &str, c: Arc<dyn JobController>) -> Account {
        Account::new(name, "memory://", c)
    }

    #[tokio::test]
    async fn a_failing_account_does_not_hide_the_others() {
        let good = Arc::new(InMemoryController::new());
        good.seed(3, RunState::Running);
        let bad = Arc::new(InMemoryController::new().with_vendor(Vendor::new("bad")));
        bad.fail_next(Operation::List, ErrorKind::Unavailable);
        let (a, b) = (account("good", good), account("bad", bad));
        let out = list_accounts(&[&a, &b], &Selector::new(), None).await;
        assert_eq!(out[0].result.as_ref().unwrap().len(), 3);
        assert_eq!(
            out[1].result.as_ref().unwrap_err().kind(),
            ErrorKind::Unavailable
        );
    }

    #[tokio::test]
    async fn plan_then_execute_answers_every_run_once() {
        let one = Arc::new(InMemoryController::new().with_stop_behavior(StopBehavior::Immediate));
        one.seed(20, RunState::Running);
        one.seed(5, RunState::Succeeded);
        let two = Arc::new(InMemoryController::new());
        let ids = two.seed(7, RunState::Queued);
        let mut registry = Registry::new();
        registry.insert(account("one", one.clone())).unwrap();
        registry.insert(account("two", two.clone())).unwrap();
        let accounts = registry.all();
        let plan = plan_stops(&accounts, &Selector::new()).await;
        assert_eq!(plan.stops.len(), 27, "only stoppable runs are planned");
        assert_eq!(
            one.stop_calls() + two.stop_calls(),
            0,
            "planning stops nothing"
        );
        let options = BulkOptions::default().with_concurrency(4);
        let results: Vec<BulkResult> = execute_stops(&registry, &plan, &options).collect().await;
        assert_eq!(results.len(), 27);
        let mut seen: Vec<(String, String)> = results
            .iter()
            .map(|r| (r.account.clone(), r.run_id().to_string()))
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 27);
        assert!(results.iter().all(|r| r.result.is_ok()));
        assert_eq!(two.status(&ids[0]).await.unwrap().state, RunState::Stopped);
    }

    #[tokio::test(start_paused = true)]
    async fn the_per_account_rate_spaces_stops() {
        let c = Arc::new(InMemoryController::new().with_stop_behavior(StopBehavior::Immediate));
        c.seed(21, RunState::Running);
        let mut registry = Registry::new();
        registry.insert(account("a", c)).unwrap();
        let plan = plan_stops(&registry.all(), &Selector::new()).await;
        let options = BulkOptions::default()
            .with_concurrency(64)
            .with_per_account_rate(10);
        let start = Instant::now();
        let n = execute_stops(&registry, &plan, &options).count().await;
        assert_eq!(n, 21);
        // 21 stops at 10/s less 5%: the last starts 20 × 105 ms after the first.
        assert_eq!(start.elapsed(), Duration::from_millis(2100));
    }

    #[tokio::test(start_paused = true)]
    async fn accounts_proceed_side_by_side_and_waiting_stops_hold_no_slot() {
        // Three accounts of 21, 11 and 6 runs at 10 stops per second, with
        // only two slots: a stop waiting for its account's pace holds none,
        // so the plan takes what its busiest account needs (20 intervals),
        // not the sum of the three.
        let mut registry = Registry::new();
        let mut controllers = Vec::new();
        for (name, n) in [("a", 21), ("b", 11), ("c", 6)] {
            let c = Arc::new(InMemoryController::new().with_stop_behavior(StopBehavior::Immediate));
            c.seed(n, RunState::Running);
            registry.insert(account(name, c.clone())).unwrap();
            controllers.push(c);
        }
        let plan = plan_stops(&registry.all(), &Selector::new()).await;
        assert_eq!(plan.stops.len(), 38);
        let options = BulkOptions::default()
            .with_concurrency(2)
            .with_per_account_rate(10);
        let start = Instant::now();
        let results: Vec<BulkResult> = execute_stops(&registry, &plan, &options).collect().await;
        assert_eq!(start.elapsed(), Duration::from_millis(2100));
        assert_eq!(results.len(), 38);
        assert!(results.iter().all(|r| r.result.is_ok()));
        let calls: Vec<u64> = controllers.iter().map(|c| c.stop_calls()).collect();
        assert_eq!(calls, [21, 11, 6]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_controllers_own_pacer_is_waited_on_once_per_stop() {
        // The account's pacer (here a PaceLayer's) is the one the bulk stop
        // waits on: the turn it waited for is the stop's, not waited for
        // twice, and the stricter of it and the bulk rate wins.
        use jobstop_core::layer::{Layer, PaceLayer};
        for (pace, rate, expected) in [(10, None, 2100), (10, Some(20), 2100), (20, Some(10), 2100)]
        {
            let c = Arc::new(InMemoryController::new().with_stop_behavior(StopBehavior::Immediate));
            c.seed(21, RunState::Running);
            let paced = PaceLayer::per_second(pace).layer(c.clone());
            let mut registry = Registry::new();
            registry.insert(account("a", paced)).unwrap();
            let plan = plan_stops(&registry.all(), &Selector::new()).await;
            // The listing took a turn too: let the next one come.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let mut options = BulkOptions::default().with_concurrency(64);
            if let Some(rate) = rate {
                options = options.with_per_account_rate(rate);
            }
            let start = Instant::now();
            let n = execute_stops(&registry, &plan, &options).count().await;
            assert_eq!(n, 21);
            assert_eq!(c.stop_calls(), 21);
            assert_eq!(
                start.elapsed(),
                Duration::from_millis(expected),
                "pace {pace}, rate {rate:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_halted_bulk_stop_starts_nothing_new_and_yields_what_it_sent() {
        let c = Arc::new(InMemoryController::new().with_stop_behavior(StopBehavior::Immediate));
        c.seed(30, RunState::Running);
        let mut registry = Registry::new();
        registry.insert(account("a", c.clone())).unwrap();
        let plan = plan_stops(&registry.all(), &Selector::new()).await;
        // One stop per second: most futures are waiting for the pacer.
        let options = BulkOptions::default()
            .with_concurrency(8)
            .with_per_account_rate(1);
        let switch = StopSwitch::new();
        let mut stream = execute_stops_until(&registry, &plan, &options, switch.clone());
        let mut answered = 0;
        for _ in 0..3 {
            assert!(stream.next().await.unwrap().result.is_ok());
            answered += 1;
        }
        let at = Instant::now();
        switch.halt();
        answered += stream.count().await;
        assert!(
            at.elapsed() < Duration::from_millis(10),
            "the pacer's waiters end at once: {:?}",
            at.elapsed()
        );
        assert_eq!(answered, switch.started());
        assert_eq!(u64::try_from(answered).unwrap(), c.stop_calls());
        assert!(answered < 30, "{answered}");
        let running = c
            .list(&ListQuery::new().with_states([RunState::Running]))
            .await
            .unwrap()
            .runs
            .len();
        assert_eq!(running, 30 - answered, "nothing unsent was stopped");
    }

    #[tokio::test]
    async fn a_sweep_stops_exactly_the_claimed_runs() {
        let ctrl = Arc::new(InMemoryController::new().with_stop_behavior(StopBehavior::Immediate));
        let ids = ctrl.seed(6, RunState::Running);
        let mut registry = Registry::new();
        registry.insert(account("mem", ctrl.clone())).unwrap();
        let accounts = registry.all();
        let claimed = |r: &Run| {
            r.name
                .as_deref()
                .is_some_and(|n| n == "run-2" || n == "run-5")
        };
        let plan = plan_sweep(
            &accounts,
            &Selector::new(),
            claimed,
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(ctrl.stop_calls(), 0, "the dry run stops nothing");
        let planned: Vec<&str> = plan.stops.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(planned, ["mem-2", "mem-5"]);
        let results: Vec<BulkResult> = execute_stops(&registry, &plan, &BulkOptions::default())
            .collect()
            .await;
        assert_eq!(results.len(), 2);
        for (i, id) in ids.iter().enumerate() {
            let state = ctrl.status(id).await.unwrap().state;
            let want = if i == 1 || i == 4 {
                RunState::Stopped
            } else {
                RunState::Running
            };
            assert_eq!(state, want, "{id}");
        }
        // A grace period longer than the runs' age claims nothing.
        let young = plan_sweep(
            &accounts,
            &Selector::new(),
            |_| true,
            Duration::from_secs(100 * 365 * 86400),
        )
        .await;
        assert!(young.stops.is_empty());
    }

    #[tokio::test]
    async fn a_plan_keeps_one_record_per_run_and_the_predicate_sees_the_whole_run() {
        let ctrl = Arc::new(InMemoryController::new());
        // Several pages of runs, half of them claimed by their kind and
        // owner (which the plan's records do not carry).
        ctrl.seed(250, RunState::Running);
        ctrl.seed(10, RunState::Succeeded);
        let mut registry = Registry::new();
        registry.insert(account("mem", ctrl.clone())).unwrap();
        let accounts = registry.all();
        let claimed = |r: &Run| r.kind.as_deref() == Some("batch") && r.owner.is_some();
        let plan = plan_sweep(&accounts, &Selector::new(), claimed, Duration::ZERO).await;
        assert_eq!(plan.stops.len(), 125);
        let runs = ctrl.runs();
        let expected: Vec<PlannedStop> = runs
            .iter()
            .filter(|r| r.state == RunState::Running && claimed(r))
            .map(|r| PlannedStop::from_run("mem", r))
            .collect();
        assert_eq!(plan.stops, expected, "in listing order, each as listed");
        let first = &plan.stops[0];
        assert_eq!(first.name.as_deref(), Some("run-2"));
        assert_eq!(first.vendor_state, "running");
        assert!(first.created_at.is_some());
        // The record is a fraction of a run.
        assert!(
            std::mem::size_of::<PlannedStop>() * 2 <= std::mem::size_of::<Run>(),
            "{} vs {}",
            std::mem::size_of::<PlannedStop>(),
            std::mem::size_of::<Run>()
        );
        // And a user-built record plans the same stop.
        let built = PlannedStop::new("mem", first.id.clone(), RunState::Running)
            .with_name("run-2")
            .with_vendor_state("running")
            .with_created_at(first.created_at.unwrap());
        assert_eq!(&built, first);
        let mut own = StopPlan::default();
        own.stops.push(built);
        let results: Vec<BulkResult> = execute_stops(&registry, &own, &BulkOptions::default())
            .collect()
            .await;
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].planned, own.stops[0]);
        assert_eq!(results[0].run_id(), &first.id);
        assert!(results[0].result.is_ok());
        assert_eq!(ctrl.stop_calls(), 1);
    }

    /// Hands out a fresh cursor and a new running run on every page, forever.
    #[derive(Debug)]
    struct Endless;

    #[jobstop_core::async_trait]
    impl JobController for Endless {
        fn vendor(&self) -> Vendor {
            Vendor::new("endless")
        }
        fn capabilities(&self) -> jobstop_core::Capabilities {
            jobstop_core::Capabilities::new()
        }
        async fn list(&self, q: &ListQuery) -> Result<jobstop_core::Page> {
            let n: u64 = q
                .cursor
                .as_ref()
                .and_then(|c| c.as_str().parse().ok())
                .unwrap_or(0);
            let run = Run::new(
                self.vendor(),
                RunId::new(format!("e{n}")),
                RunState::Running,
                "running",
            );
            Ok(jobstop_core::Page::new(
                vec![run],
                Some(jobstop_core::Cursor::new((n + 1).to_string())),
            ))
        }
        async fn status(&self, _id: &RunId) -> Result<Run> {
            Err(Error::unsupported("x"))
        }
        async fn stop(&self, _id: &RunId, _r: &StopRequest) -> Result<StopOutcome> {
            Err(Error::unsupported("x"))
        }
    }

    #[tokio::test]
    async fn an_endless_account_is_planned_for_nothing_beside_the_others() {
        let good = Arc::new(InMemoryController::new());
        good.seed(3, RunState::Running);
        let mut registry = Registry::new();
        registry.insert(account("good", good)).unwrap();
        registry
            .insert(account("endless", Arc::new(Endless)))
            .unwrap();
        let accounts = registry.all();
        let selector = Selector::new().with_list_limits(ListLimits::default().with_max_pages(25));
        let plan = plan_stops(&accounts, &selector).await;
        assert_eq!(plan.stops.len(), 3);
        assert!(plan.stops.iter().all(|p| p.account == "good"));
        assert_eq!(plan.errors.len(), 1);
        let (name, err) = &plan.errors[0];
        assert_eq!(name, "endless");
        assert_eq!(err.kind(), ErrorKind::EndlessListing);
        assert_eq!(err.list_bound(), Some(jobstop_core::ListBound::Pages(25)));
        let sweep = plan_sweep(&accounts, &selector, |_| true, Duration::ZERO).await;
        assert_eq!(sweep.errors.len(), 1);
    }

    #[test]
    fn older_than_needs_a_creation_time() {
        let now = Utc::now();
        let s = Selector::new().with_older_than(Duration::from_secs(60));
        let mut run = Run::new(
            Vendor::IN_MEMORY,
            RunId::new("1"),
            RunState::Running,
            "running",
        );
        assert!(!s.matches(&run, now));
        run.created_at = Some(now - chrono::Duration::seconds(61));
        assert!(s.matches(&run, now));
        run.created_at = Some(now - chrono::Duration::seconds(59));
        assert!(!s.matches(&run, now));
    }

    #[test]
    fn an_age_past_the_calendar_matches_nothing_and_does_not_panic() {
        let now = Utc::now();
        let mut run = Run::new(
            Vendor::IN_MEMORY,
            RunId::new("1"),
            RunState::Running,
            "running",
        );
        run.created_at = Some(DateTime::<Utc>::MIN_UTC);
        for age in [
            Duration::from_secs(100_000_000 * 86_400),
            Duration::from_millis(u64::MAX),
            Duration::MAX,
        ] {
            assert!(!Selector::new().with_older_than(age).matches(&run, now));
        }
    }
}
