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
    RunId, RunState, StopOutcome, StopRequest,
};

/// How [`JobControllerExt::stop_and_wait`] polls.
///
/// Polls start at `min_interval` and grow by `multiplier` up to
/// `max_interval`. The last poll happens at the deadline, so a run that
/// stops just in time is still seen.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// How long to wait in all, from the stop call.
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
    /// Defaults with the given overall timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        WaitOptions {
            timeout,
            ..WaitOptions::default()
        }
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
    /// let wait = WaitOptions::with_timeout(Duration::from_secs(5))
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
        let mut last = outcome.run().clone();
        let mut polls: u32 = 0;
        let mut interval = wait.min_interval;
        loop {
            if last.state.is_terminal() {
                let stop_won = !already && matches!(last.state, RunState::Stopped | RunState::Idle);
                return Ok(StopReport {
                    outcome,
                    final_run: last,
                    stop_won,
                    polls,
                    elapsed: start.elapsed(),
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    "the run did not reach a terminal state before the deadline",
                )
                .with_vendor(self.vendor())
                .with_operation(Operation::Wait)
                .with_run_id(id.clone())
                .with_elapsed(start.elapsed())
                .with_attempts(polls)
                .with_last_state(last.state));
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
            interval = wait.next_interval(interval);
            polls += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let poll_budget = remaining.max(wait.poll_timeout);
            match tokio::time::timeout(poll_budget, self.status(id)).await {
                Ok(Ok(run)) => last = run,
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
