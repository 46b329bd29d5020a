//! Conveniences every controller gets for free.

use std::collections::VecDeque;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::time::Instant;

use crate::{
    Error, ErrorKind, JobController, ListBound, ListLimits, ListQuery, Operation, Result, Run,
    RunId, RunState, StopOutcome, StopRequest, Vendor,
};

/// How the waiters ([`JobControllerExt::wait_until_terminal`],
/// [`JobControllerExt::wait_until`], [`JobControllerExt::stop_and_wait`],
/// [`poll_until`]) poll.
///
/// Polls start at `min_interval` and grow by `multiplier` up to
/// `max_interval`. The last poll happens at the deadline, so a run that
/// stops just in time is still seen.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// How long to wait in all, from the start of the wait (for
    /// [`JobControllerExt::stop_and_wait`], from the stop call).
    pub timeout: Duration,
    /// The first poll interval.
    pub min_interval: Duration,
    /// The longest poll interval.
    pub max_interval: Duration,
    /// How much the interval grows after each poll.
    pub multiplier: f64,
    /// The most one status call may take once the deadline is near; bounds
    /// how far past the deadline the final poll may run.
    pub poll_timeout: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(300),
            min_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(10),
            multiplier: 2.0,
            poll_timeout: Duration::from_secs(10),
        }
    }
}

impl WaitOptions {
    /// Sets the overall timeout (a setter: `WaitOptions::default().with_timeout(..)`).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the first poll interval (the longest grows to at least it).
    pub fn with_min_interval(mut self, min: Duration) -> Self {
        self.min_interval = min;
        self.max_interval = self.max_interval.max(min);
        self
    }

    /// Sets the longest poll interval (never below the first).
    pub fn with_max_interval(mut self, max: Duration) -> Self {
        self.max_interval = max.max(self.min_interval);
        self
    }

    /// Sets the poll interval range.
    pub fn with_intervals(mut self, min: Duration, max: Duration) -> Self {
        self.min_interval = min;
        self.max_interval = max.max(min);
        self
    }

    /// Sets the growth factor (values below 1 are treated as 1).
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Sets the per-poll timeout near the deadline.
    pub fn with_poll_timeout(mut self, t: Duration) -> Self {
        self.poll_timeout = t;
        self
    }

    /// The poll interval after `current`: grown by `multiplier` (values
    /// below 1 or not finite count as 1), capped at `max_interval`. For
    /// callers that poll on their own with the same options.
    pub fn next_interval(&self, current: Duration) -> Duration {
        let m = if self.multiplier.is_finite() && self.multiplier >= 1.0 {
            self.multiplier
        } else {
            1.0
        };
        let next = current.as_secs_f64() * m;
        let max = self.max_interval.max(self.min_interval);
        if next >= max.as_secs_f64() {
            max
        } else {
            Duration::from_secs_f64(next)
        }
    }
}

/// How a [`JobControllerExt::stop_and_wait`] ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StopReport {
    /// What the stop call itself returned.
    pub outcome: StopOutcome,
    /// The run in its terminal state.
    #[serde(rename = "final")]
    pub final_run: Run,
    /// `true` when the run ended because of this stop; `false` when it was
    /// already finished, or finished (succeeded or failed) before the stop
    /// took effect.
    pub stop_won: bool,
    /// How many status polls were made after the stop.
    pub polls: u32,
    /// Time from the stop call to the terminal state.
    #[serde(skip)]
    pub elapsed: Duration,
}

/// One answer of [`JobControllerExt::stop_many`].
#[derive(Debug)]
#[non_exhaustive]
pub struct StopResult {
    /// The id the answer is for.
    pub id: RunId,
    /// What stopping it gave.
    pub result: Result<StopOutcome>,
}

/// Conveniences built on [`JobController`], implemented for every controller
/// (including `dyn JobController`).
#[async_trait]
pub trait JobControllerExt: JobController {
    /// Every run matching `query`, as a lazy stream that follows cursors page
    /// by page, within the default [`ListLimits`] (10,000 pages, 10 minutes).
    /// The first error ends the stream.
    ///
    /// Same as [`list_all_with_limits`](Self::list_all_with_limits) with
    /// `ListLimits::default()`; see there for how a listing that never ends
    /// is ended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> jobstop_core::Result<()> {
    /// use futures::TryStreamExt;
    /// use jobstop_core::{InMemoryController, JobControllerExt, ListQuery, RunState};
    ///
    /// let ctrl = InMemoryController::new();
    /// ctrl.seed(250, RunState::Running);
    /// let runs: Vec<_> = ctrl
    ///     .list_all(ListQuery::new().with_page_size(100))
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(runs.len(), 250);
    /// # Ok(())
    /// # }
    /// ```
    fn list_all(&self, query: ListQuery) -> BoxStream<'_, Result<Run>> {
        self.list_all_with_limits(query, ListLimits::default())
    }

    /// Every run matching `query`, as a lazy stream that follows cursors page
    /// by page, ended with an [`ErrorKind::EndlessListing`] error (after the
    /// runs of every page read) when the listing
    ///
    /// - still names a next page after `limits.max_pages` pages
    ///   ([`ListBound::Pages`]),
    /// - has not ended `limits.deadline` after its first page was asked for
    ///   ([`ListBound::Deadline`]; a page request in flight at the deadline
    ///   is dropped), or
    /// - makes no progress ([`ListBound::NoProgress`]): a page names a next
    ///   cursor the listing already followed (checked against the last
    ///   1,024 cursors, kept as 64-bit hashes, so memory stays bounded; a
    ///   longer cycle is caught by the page budget), or holds exactly the runs
    ///   (by id, in order) of the page before it.
    ///
    /// The first error ends the stream. [`Error::list_bound`] says which
    /// bound was hit.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures::TryStreamExt;
    /// use jobstop_core::{
    ///     ErrorKind, InMemoryController, JobControllerExt, ListBound, ListLimits, ListQuery,
    ///     RunState,
    /// };
    ///
    /// let ctrl = InMemoryController::new();
    /// ctrl.seed(250, RunState::Running);
    /// let limits = ListLimits::default().with_max_pages(2);
    /// let err = ctrl
    ///     .list_all_with_limits(ListQuery::new().with_page_size(100), limits)
    ///     .try_collect::<Vec<_>>()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::EndlessListing);
    /// assert_eq!(err.list_bound(), Some(ListBound::Pages(2)));
    /// # }
    /// ```
    fn list_all_with_limits(
        &self,
        query: ListQuery,
        limits: ListLimits,
    ) -> BoxStream<'_, Result<Run>> {
        let pages = stream::try_unfold(Listing::new(query), move |mut st| async move {
            let Some(query) = st.next.take() else {
                return Ok(None);
            };
            let fail = |message: String, bound: ListBound, started: Instant| {
                Error::new(ErrorKind::EndlessListing, message)
                    .with_list_bound(bound)
                    .with_elapsed(started.elapsed())
                    .in_context(&self.vendor(), Operation::List, None)
            };
            let started = *st.started.get_or_insert_with(Instant::now);
            let max_pages = limits.max_pages.max(1);
            if st.pages >= max_pages {
                return Err(fail(
                    format!(
                        "the listing still named a next page after {max_pages} pages, \
                         its page budget"
                    ),
                    ListBound::Pages(max_pages),
                    started,
                ));
            }
            let past_deadline = || {
                fail(
                    format!(
                        "the listing had not ended {} after it started (after {} pages), \
                         its deadline",
                        crate::error::fmt_duration(limits.deadline),
                        st.pages
                    ),
                    ListBound::Deadline(limits.deadline),
                    started,
                )
            };
            let remaining = limits.deadline.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Err(past_deadline());
            }
            let page = match tokio::time::timeout(remaining, self.list(&query)).await {
                Ok(page) => page?,
                Err(_) => return Err(past_deadline()),
            };
            st.pages += 1;
            if !page.runs.is_empty() {
                let ids = hash_ids(&page.runs);
                if st.last_ids == Some(ids) {
                    return Err(fail(
                        format!(
                            "page {} holds exactly the runs of the page before it",
                            st.pages
                        ),
                        ListBound::NoProgress,
                        started,
                    ));
                }
                st.last_ids = Some(ids);
            }
            if let Some(cursor) = page.next_cursor {
                let h = hash_one(cursor.as_str());
                let repeated = query.cursor.as_ref() == Some(&cursor) || st.followed.contains(&h);
                if repeated {
                    return Err(fail(
                        format!(
                            "page {} named a next cursor the listing had already followed",
                            st.pages
                        ),
                        ListBound::NoProgress,
                        started,
                    ));
                }
                if st.followed.len() >= RECENT_CURSORS {
                    st.followed.pop_front();
                }
                st.followed.push_back(h);
                st.next = Some(ListQuery {
                    cursor: Some(cursor),
                    ..query
                });
            }
            Ok(Some((page.runs, st)))
        });
        pages
            .map_ok(|runs| stream::iter(runs.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// Stops a run and polls its status until it is terminal or `wait.timeout`
    /// passes.
    ///
    /// Returns the final run and whether the stop won: a run that succeeded or
    /// failed before the stop took effect is reported as such with
    /// `stop_won: false`, never as stopped. Status errors that are retryable
    /// are polled through; others end the wait. Past the deadline the error is
    /// [`ErrorKind::Timeout`] (operation [`Operation::Wait`]) carrying the
    /// elapsed time, the number of polls and the last state seen; the stop
    /// call itself is bounded by the deadline too (then no state was seen,
    /// and the stop may or may not have been applied).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> jobstop_core::Result<()> {
    /// use std::time::Duration;
    /// use jobstop_core::{InMemoryController, JobControllerExt, RunState, StopRequest, WaitOptions};
    ///
    /// let ctrl = InMemoryController::new();
    /// let id = ctrl.seed(1, RunState::Running).remove(0);
    /// let wait = WaitOptions::default().with_timeout(Duration::from_secs(5))
    ///     .with_intervals(Duration::from_millis(1), Duration::from_millis(10));
    /// let report = ctrl.stop_and_wait(&id, &StopRequest::graceful(), &wait).await?;
    /// assert_eq!(report.final_run.state, RunState::Stopped);
    /// assert!(report.stop_won);
    /// # Ok(())
    /// # }
    /// ```
    async fn stop_and_wait(
        &self,
        id: &RunId,
        request: &StopRequest,
        wait: &WaitOptions,
    ) -> Result<StopReport> {
        let start = Instant::now();
        let deadline = start + wait.timeout;
        // The stop call counts against the deadline too: a stop that hangs
        // must not hold the caller for its own (longer) budget.
        let outcome = match tokio::time::timeout_at(deadline, self.stop(id, request)).await {
            Ok(answer) => answer?,
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    "the stop call had not answered when the deadline passed; it may or may \
                     not have been applied",
                )
                .with_vendor(self.vendor())
                .with_operation(Operation::Wait)
                .with_run_id(id.clone())
                .with_elapsed(start.elapsed()));
            }
        };
        let already = matches!(outcome, StopOutcome::AlreadyFinished(_));
        let first = outcome.run().clone();
        let polled = poll_until(
            self,
            id,
            wait,
            deadline,
            Some(first),
            |r: &Run| r.state.is_terminal(),
            |_: &Run| {},
        )
        .await?;
        let Polled {
            run,
            reached,
            polls,
        } = polled;
        match run {
            Some(last) if reached => {
                let stop_won = !already && matches!(last.state, RunState::Stopped | RunState::Idle);
                Ok(StopReport {
                    outcome,
                    final_run: last,
                    stop_won,
                    polls,
                    elapsed: start.elapsed(),
                })
            }
            last => Err(wait_timeout(
                self.vendor(),
                id,
                "the run did not reach a terminal state before the deadline",
                start,
                polls,
                last.as_ref(),
            )),
        }
    }

    /// Polls a run's status until it is terminal, and returns it; the run is
    /// not stopped. See [`wait_until`](Self::wait_until) for the schedule and
    /// the errors.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> jobstop_core::Result<()> {
    /// use std::time::Duration;
    /// use jobstop_core::{InMemoryController, JobControllerExt, RunState, WaitOptions};
    ///
    /// let ctrl = InMemoryController::new();
    /// let id = ctrl.seed(1, RunState::Succeeded).remove(0);
    /// let wait = WaitOptions::default().with_timeout(Duration::from_secs(5));
    /// let run = ctrl.wait_until_terminal(&id, &wait).await?;
    /// assert_eq!(run.state, RunState::Succeeded);
    /// # Ok(())
    /// # }
    /// ```
    async fn wait_until_terminal(&self, id: &RunId, wait: &WaitOptions) -> Result<Run> {
        self.wait_until(id, wait, |r: &Run| r.state.is_terminal())
            .await
    }

    /// Polls a run's status until `done` holds for it, and returns that run
    /// (the style of the AWS SDK waiters and kube-rs `await_condition`).
    ///
    /// The first poll is at once; then polls wait `wait.min_interval`, growing
    /// by `wait.multiplier` up to `wait.max_interval`. The sleep before a poll
    /// is cut to the deadline (`wait.timeout` from the call), so one last poll
    /// happens at the deadline. Retryable status errors, and polls that take
    /// longer than the time left (at least `wait.poll_timeout`), are polled
    /// through; any other error ends the wait. Past the deadline the error is
    /// [`ErrorKind::Timeout`] (operation [`Operation::Wait`]) with the elapsed
    /// time, the number of polls and the last state seen
    /// ([`ErrorContext::last_state`](crate::ErrorContext::last_state)).
    async fn wait_until<F>(&self, id: &RunId, wait: &WaitOptions, done: F) -> Result<Run>
    where
        F: Fn(&Run) -> bool + Send + Sync,
    {
        let start = Instant::now();
        let polled = poll_until(
            self,
            id,
            wait,
            start + wait.timeout,
            None,
            &done,
            |_: &Run| {},
        )
        .await?;
        match polled.run {
            Some(run) if polled.reached => Ok(run),
            last => Err(wait_timeout(
                self.vendor(),
                id,
                "the run did not reach the awaited state before the deadline",
                start,
                polled.polls,
                last.as_ref(),
            )),
        }
    }

    /// Stops many runs with at most `concurrency` stops in flight, yielding one
    /// [`StopResult`] per id as each finishes (not in input order). Every id is
    /// answered exactly once; ids are taken from the iterator lazily.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures::StreamExt;
    /// use jobstop_core::{InMemoryController, JobControllerExt, RunState, StopRequest};
    ///
    /// let ctrl = InMemoryController::new();
    /// let ids = ctrl.seed(10, RunState::Running);
    /// let req = StopRequest::graceful();
    /// let results: Vec<_> = ctrl.stop_many(ids, &req, 4).collect().await;
    /// assert_eq!(results.len(), 10);
    /// assert!(results.iter().all(|r| r.result.is_ok()));
    /// # }
    /// ```
    fn stop_many<'a, I>(
        &'a self,
        ids: I,
        request: &'a StopRequest,
        concurrency: usize,
    ) -> BoxStream<'a, StopResult>
    where
        I: IntoIterator<Item = RunId>,
        I::IntoIter: Send + 'a,
    {
        stream::iter(ids)
            .map(move |id| async move {
                let result = self.stop(&id, request).await;
                StopResult { id, result }
            })
            .buffer_unordered(concurrency.max(1))
            .boxed()
    }
}

impl<T: JobController + ?Sized> JobControllerExt for T {}

/// Where a [`poll_until`] ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Polled {
    /// The last run seen (the one `done` held for, when `reached`); `None`
    /// when no poll answered and no first run was given.
    pub run: Option<Run>,
    /// Whether `done` held for [`run`](Self::run); `false` when the deadline
    /// passed first.
    pub reached: bool,
    /// How many status polls were made.
    pub polls: u32,
}

impl Polled {
    /// The [`ErrorKind::Timeout`] (operation `Wait`) of a wait on `id` that
    /// ended here without reaching its state: `message`, the time since
    /// `start`, the polls made and the last state seen, as the library's own
    /// waits report it.
    pub fn timeout_error(
        &self,
        vendor: Vendor,
        id: &RunId,
        message: &str,
        start: Instant,
    ) -> Error {
        wait_timeout(vendor, id, message, start, self.polls, self.run.as_ref())
    }
}

/// The library's one polling loop, for callers that need more than
/// [`JobControllerExt::wait_until`]: a deadline of their own (an
/// [`Instant`]), a run already seen, and a look at every polled run.
///
/// When `first` is given and `done` holds for it, nothing is polled;
/// otherwise (when given) it counts as the last run seen and the first poll
/// waits `wait.min_interval`; without `first` the first poll is at once.
/// Intervals then grow by `wait.multiplier` up to `wait.max_interval`, and
/// the sleep before a poll is cut to `deadline`, so one last poll happens at
/// the deadline. Each answered poll is shown to `seen`. Retryable status
/// errors, and polls that take longer than the time left (at least
/// `wait.poll_timeout`), are polled through; any other error is returned.
/// Reaching the deadline is not an error here: the answer says
/// `reached: false` with the last run seen, for the caller to word its own
/// timeout (or go on, as an escalation's phases do).
pub async fn poll_until<C, F, S>(
    ctrl: &C,
    id: &RunId,
    wait: &WaitOptions,
    deadline: Instant,
    first: Option<Run>,
    done: F,
    mut seen: S,
) -> Result<Polled>
where
    C: JobController + ?Sized,
    F: Fn(&Run) -> bool,
    S: FnMut(&Run),
{
    let mut polls: u32 = 0;
    let mut interval = wait.min_interval;
    let mut sleep_first = first.is_some();
    let mut last = first;
    loop {
        if last.as_ref().is_some_and(&done) {
            return Ok(Polled {
                run: last,
                reached: true,
                polls,
            });
        }
        let now = Instant::now();
        if sleep_first {
            if now >= deadline {
                return Ok(Polled {
                    run: last,
                    reached: false,
                    polls,
                });
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
            interval = wait.next_interval(interval);
        }
        sleep_first = true;
        polls = polls.saturating_add(1);
        let remaining = deadline.saturating_duration_since(Instant::now());
        let budget = remaining.max(wait.poll_timeout);
        match tokio::time::timeout(budget, ctrl.status(id)).await {
            Ok(Ok(run)) => {
                seen(&run);
                last = Some(run);
            }
            Ok(Err(e)) if e.is_retryable() => {
                tracing::debug!(run_id = %id.escape_for_display(), error = %e, "status poll failed; polling on");
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                tracing::debug!(run_id = %id.escape_for_display(), "status poll timed out; polling on");
            }
        }
    }
}

/// The [`ErrorKind::Timeout`] of a wait that ran out.
fn wait_timeout(
    vendor: Vendor,
    id: &RunId,
    message: &str,
    start: Instant,
    polls: u32,
    last: Option<&Run>,
) -> Error {
    let mut err = Error::new(ErrorKind::Timeout, message)
        .with_vendor(vendor)
        .with_operation(Operation::Wait)
        .with_run_id(id.clone())
        .with_elapsed(start.elapsed())
        .with_attempts(polls);
    if let Some(run) = last {
        err = err.with_last_state(run.state);
    }
    err
}

/// How many of the latest cursors a listing remembers to tell a cursor that
/// makes no progress.
const RECENT_CURSORS: usize = 1024;

/// Where a [`JobControllerExt::list_all_with_limits`] listing is.
struct Listing {
    /// The next page's query; `None` once the listing ended.
    next: Option<ListQuery>,
    /// Pages read so far.
    pages: u64,
    /// When the first page was asked for.
    started: Option<Instant>,
    /// Hashes of the latest cursors followed, oldest first.
    followed: VecDeque<u64>,
    /// Hash of the run ids of the last page that held runs.
    last_ids: Option<u64>,
}

impl Listing {
    fn new(query: ListQuery) -> Self {
        Listing {
            next: Some(query),
            pages: 0,
            started: None,
            followed: VecDeque::new(),
            last_ids: None,
        }
    }
}

fn hash_one(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// A hash of a page's run ids, in order.
fn hash_ids(runs: &[Run]) -> u64 {
    let mut h = DefaultHasher::new();
    runs.len().hash(&mut h);
    for r in runs {
        r.id.as_str().hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_grow_and_cap() {
        let w = WaitOptions::default()
            .with_intervals(Duration::from_millis(100), Duration::from_millis(350))
            .with_multiplier(2.0);
        let a = w.next_interval(w.min_interval);
        let b = w.next_interval(a);
        let c = w.next_interval(b);
        assert_eq!(a, Duration::from_millis(200));
        assert_eq!(b, Duration::from_millis(350));
        assert_eq!(c, Duration::from_millis(350));
        let odd = WaitOptions::default().with_multiplier(f64::NAN);
        assert_eq!(
            odd.next_interval(Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }
}
