//! A complete in-memory controller for tests.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};

use crate::{
    Capabilities, Cursor, Error, ErrorKind, Filtering, JobController, ListQuery, Operation, Page,
    Result, Run, RunId, RunState, StopMode, StopOutcome, StopRequest, Vendor,
};

/// How a graceful stop of a running run completes in [`InMemoryController`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopBehavior {
    /// The stop returns [`StopOutcome::Stopped`] at once.
    Immediate,
    /// The stop returns [`StopOutcome::Requested`] with the run `stopping`;
    /// it becomes `stopped` after this many `status` calls on it.
    AfterPolls(u32),
    /// The run stays `stopping` until [`InMemoryController::advance`] or
    /// [`InMemoryController::set_state`] moves it.
    Manual,
}

/// A [`JobController`] that keeps runs in memory, for users' own tests.
///
/// It behaves like a well-mannered vendor: a graceful stop of a running run
/// moves it `running → stopping → stopped` (see [`StopBehavior`]); a queued or
/// paused run stops at once; a terminal run answers
/// [`StopOutcome::AlreadyFinished`]; a forced stop is immediate. Every filter is
/// applied "server side"; cursors are offsets; the largest page is 1,000.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> jobstop_core::Result<()> {
/// use jobstop_core::{InMemoryController, JobController, RunState, StopOutcome, StopRequest};
///
/// let ctrl = InMemoryController::new();
/// let id = ctrl.seed(1, RunState::Running).remove(0);
/// let outcome = ctrl.stop(&id, &StopRequest::graceful()).await?;
/// assert!(matches!(outcome, StopOutcome::Requested(_)));
/// assert_eq!(ctrl.status(&id).await?.state, RunState::Stopped);
/// # Ok(())
/// # }
/// ```
pub struct InMemoryController {
    vendor: Vendor,
    inner: Mutex<Inner>,
}

struct Inner {
    runs: Vec<Entry>,
    index: HashMap<RunId, usize>,
    stop_behavior: StopBehavior,
    failures: HashMap<Operation, VecDeque<ErrorKind>>,
    stop_calls: u64,
    next_seed: u64,
}

struct Entry {
    run: Run,
    polls_until_stopped: Option<u32>,
}

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 1000;

impl Default for InMemoryController {
    fn default() -> Self {
        InMemoryController::new()
    }
}

impl fmt::Debug for InMemoryController {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("InMemoryController")
            .field("vendor", &self.vendor)
            .field("runs", &inner.runs.len())
            .field("stop_behavior", &inner.stop_behavior)
            .finish()
    }
}

impl InMemoryController {
    /// An empty controller whose stops complete after one status poll.
    pub fn new() -> Self {
        InMemoryController {
            vendor: Vendor::IN_MEMORY,
            inner: Mutex::new(Inner {
                runs: Vec::new(),
                index: HashMap::new(),
                stop_behavior: StopBehavior::AfterPolls(1),
                failures: HashMap::new(),
                stop_calls: 0,
                next_seed: 0,
            }),
        }
    }

    /// Reports itself as another vendor (runs it creates carry that vendor).
    pub fn with_vendor(mut self, vendor: Vendor) -> Self {
        self.vendor = vendor;
        self
    }

    /// Sets how graceful stops of running runs complete.
    pub fn with_stop_behavior(self, behavior: StopBehavior) -> Self {
        self.lock().stop_behavior = behavior;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the data inconsistent
        // (every update is a single assignment), so a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a run, or replaces the run with the same id. Listing order is
    /// insertion order.
    pub fn insert(&self, mut run: Run) {
        run.vendor = self.vendor.clone();
        let mut inner = self.lock();
        match inner.index.get(&run.id) {
            Some(&i) => inner.runs[i].run = run,
            None => {
                let i = inner.runs.len();
                inner.index.insert(run.id.clone(), i);
                inner.runs.push(Entry {
                    run,
                    polls_until_stopped: None,
                });
            }
        }
    }

    /// Adds `n` runs in `state`, named `run-<n>`, with ids `mem-<n>` and
    /// creation times one minute apart from 2024-01-01T00:00:00Z. Returns their
    /// ids. Deterministic: the same calls give the same runs.
    pub fn seed(&self, n: usize, state: RunState) -> Vec<RunId> {
        let base = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single();
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            let k = {
                let mut inner = self.lock();
                inner.next_seed += 1;
                inner.next_seed
            };
            let id = RunId::new(format!("mem-{k}"));
            let mut run = Run::new(self.vendor.clone(), id.clone(), state, state.as_str())
                .with_name(format!("run-{k}"))
                .with_kind(if k % 2 == 0 { "batch" } else { "stream" })
                .with_owner("tester");
            if let Some(base) = base {
                let created = base + ChronoDuration::minutes(k as i64);
                run.created_at = Some(created);
                if state != RunState::Queued {
                    run.started_at = Some(created);
                }
                if state.is_terminal() {
                    run.ended_at = Some(created + ChronoDuration::seconds(30));
                }
            }
            self.insert(run);
            ids.push(id);
        }
        ids
    }

    /// Sets a run's state (and its vendor state string).
    pub fn set_state(&self, id: &RunId, state: RunState) -> Result<()> {
        let mut inner = self.lock();
        let entry = inner.get_mut(id)?;
        set(&mut entry.run, state);
        entry.polls_until_stopped = None;
        Ok(())
    }

    /// Moves a run one step along: queued → running → succeeded,
    /// paused → running, stopping → stopped. Returns the new state.
    pub fn advance(&self, id: &RunId) -> Result<RunState> {
        let mut inner = self.lock();
        let entry = inner.get_mut(id)?;
        let next = match entry.run.state {
            RunState::Queued | RunState::Paused => RunState::Running,
            RunState::Running => RunState::Succeeded,
            RunState::Stopping => RunState::Stopped,
            other => other,
        };
        set(&mut entry.run, next);
        entry.polls_until_stopped = None;
        Ok(next)
    }

    /// Makes the next call of `operation` fail with an error of `kind`.
    /// Several calls queue several failures.
    pub fn fail_next(&self, operation: Operation, kind: ErrorKind) {
        self.lock()
            .failures
            .entry(operation)
            .or_default()
            .push_back(kind);
    }

    /// How many `stop` calls reached a run (including refused ones).
    pub fn stop_calls(&self) -> u64 {
        self.lock().stop_calls
    }

    /// A snapshot of every run, in listing order.
    pub fn runs(&self) -> Vec<Run> {
        self.lock().runs.iter().map(|e| e.run.clone()).collect()
    }

    fn injected(&self, op: Operation, id: Option<&RunId>) -> Result<()> {
        let kind = self
            .lock()
            .failures
            .get_mut(&op)
            .and_then(|q| q.pop_front());
        match kind {
            Some(kind) => {
                Err(Error::new(kind, "injected failure").in_context(&self.vendor, op, id))
            }
            None => Ok(()),
        }
    }
}

impl Inner {
    fn get_mut(&mut self, id: &RunId) -> Result<&mut Entry> {
        match self.index.get(id) {
            Some(&i) => Ok(&mut self.runs[i]),
            None => {
                Err(Error::new(ErrorKind::NotFound, "no run with this id").with_run_id(id.clone()))
            }
        }
    }
}

fn set(run: &mut Run, state: RunState) {
    run.state = state;
    run.vendor_state = state.as_str().to_owned();
    let now: DateTime<Utc> = Utc::now();
    if state.is_terminal() && run.ended_at.is_none() {
        run.ended_at = Some(now);
    }
    if state == RunState::Running && run.started_at.is_none() {
        run.started_at = Some(now);
    }
}

#[async_trait]
impl JobController for InMemoryController {
    fn vendor(&self) -> Vendor {
        self.vendor.clone()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_state_filter(Filtering::Server)
            .with_created_filter(Filtering::Server)
            .with_kind_filter(Filtering::Server)
            .with_name_filter(Filtering::Server)
            .with_total_count(true)
            .with_max_page_size(MAX_PAGE)
            .with_async_stop(true)
            .with_force_stop(true)
            .with_idempotent_stop(true)
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        self.injected(Operation::List, None)?;
        let offset = match &query.cursor {
            None => 0usize,
            Some(c) => c.as_str().parse::<usize>().map_err(|_| {
                Error::invalid_input("malformed cursor").in_context(
                    &self.vendor,
                    Operation::List,
                    None,
                )
            })?,
        };
        let size = query.page_size.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE) as usize;
        let inner = self.lock();
        let matching: Vec<&Run> = inner
            .runs
            .iter()
            .map(|e| &e.run)
            .filter(|r| query.matches(r))
            .collect();
        let total = matching.len();
        let runs: Vec<Run> = matching
            .iter()
            .skip(offset)
            .take(size)
            .map(|r| (*r).clone())
            .collect();
        let end = offset.saturating_add(size);
        let next = (end < total).then(|| Cursor::new(end.to_string()));
        Ok(Page::new(runs, next).with_total(total as u64))
    }

    async fn status(&self, id: &RunId) -> Result<Run> {
        self.injected(Operation::Status, Some(id))?;
        let mut inner = self.lock();
        let entry = inner
            .get_mut(id)
            .map_err(|e| e.in_context(&self.vendor, Operation::Status, Some(id)))?;
        if let Some(n) = entry.polls_until_stopped {
            if n <= 1 {
                set(&mut entry.run, RunState::Stopped);
                entry.polls_until_stopped = None;
            } else {
                entry.polls_until_stopped = Some(n - 1);
            }
        }
        Ok(entry.run.clone())
    }

    async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome> {
        let ctx = |e: Error| e.in_context(&self.vendor, Operation::Stop, Some(id));
        request.check_options(&[]).map_err(ctx)?;
        self.injected(Operation::Stop, Some(id))?;
        let mut inner = self.lock();
        inner.stop_calls += 1;
        let behavior = inner.stop_behavior;
        let entry = inner.get_mut(id).map_err(ctx)?;
        let state = entry.run.state;
        if state.is_terminal() {
            return Ok(StopOutcome::AlreadyFinished(entry.run.clone()));
        }
        let immediate = request.mode == StopMode::Force
            || matches!(state, RunState::Queued | RunState::Paused)
            || behavior == StopBehavior::Immediate
            || behavior == StopBehavior::AfterPolls(0);
        if immediate {
            set(&mut entry.run, RunState::Stopped);
            entry.polls_until_stopped = None;
            return Ok(StopOutcome::Stopped(entry.run.clone()));
        }
        if state != RunState::Stopping {
            set(&mut entry.run, RunState::Stopping);
            entry.polls_until_stopped = match behavior {
                StopBehavior::AfterPolls(n) => Some(n),
                _ => None,
            };
        }
        Ok(StopOutcome::Requested(entry.run.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_paths() {
        let c = InMemoryController::new().with_stop_behavior(StopBehavior::Manual);
        let ids = c.seed(4, RunState::Running);
        c.set_state(&ids[1], RunState::Succeeded).unwrap();
        c.set_state(&ids[2], RunState::Queued).unwrap();
        let g = StopRequest::graceful();
        assert!(matches!(
            c.stop(&ids[0], &g).await.unwrap(),
            StopOutcome::Requested(_)
        ));
        assert!(matches!(
            c.stop(&ids[0], &g).await.unwrap(),
            StopOutcome::Requested(_)
        ));
        assert_eq!(c.status(&ids[0]).await.unwrap().state, RunState::Stopping);
        assert_eq!(c.advance(&ids[0]).unwrap(), RunState::Stopped);
        assert!(matches!(
            c.stop(&ids[0], &g).await.unwrap(),
            StopOutcome::AlreadyFinished(_)
        ));
        assert!(matches!(
            c.stop(&ids[1], &g).await.unwrap(),
            StopOutcome::AlreadyFinished(_)
        ));
        assert!(matches!(
            c.stop(&ids[2], &g).await.unwrap(),
            StopOutcome::Stopped(_)
        ));
        assert!(matches!(
            c.stop(&ids[3], &StopRequest::force()).await.unwrap(),
            StopOutcome::Stopped(_)
        ));
        assert_eq!(c.stop_calls(), 6);
        let err = c.stop(&RunId::new("nope"), &g).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.operation(), Some(Operation::Stop));
        let err = c
            .stop(&ids[0], &g.clone().with_option("x", 1))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn injected_failures_are_consumed_in_order() {
        let c = InMemoryController::new();
        let id = c.seed(1, RunState::Running).remove(0);
        c.fail_next(Operation::Status, ErrorKind::Unavailable);
        c.fail_next(Operation::Status, ErrorKind::RateLimited);
        assert_eq!(
            c.status(&id).await.unwrap_err().kind(),
            ErrorKind::Unavailable
        );
        assert_eq!(
            c.status(&id).await.unwrap_err().kind(),
            ErrorKind::RateLimited
        );
        assert!(c.status(&id).await.is_ok());
    }

    #[tokio::test]
    async fn bad_cursor_is_invalid_input() {
        let c = InMemoryController::new();
        let q = ListQuery::new().with_cursor(Cursor::new("abc"));
        assert_eq!(
            c.list(&q).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
