//! Scoped runs: a guard that stops a run when its scope ends.
//!
//! A [`RunGuard`] stops its run when its scope ends without
//! [`disarm`](RunGuard::disarm): the guard is dropped (a task aborted, a
//! panic unwinding, an early return), a [`CancellationToken`] given to
//! [`cancel_on`](RunGuard::cancel_on) fires, **or the Tokio runtime the
//! guard lives on shuts down**. The stop runs in the background on the
//! current runtime; when that runtime is shutting down (or there is none),
//! it runs instead on a short-lived thread with a runtime of its own, bounded
//! by the guard's deadline. The [`GuardHandle`] reports what happened, and
//! never says [`Disarmed`](GuardOutcome::Disarmed) unless `disarm` was called.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jobstop_core::{
    Error, ErrorKind, JobController, JobControllerExt, Operation, Result, RunId, StopReport,
    StopRequest, WaitOptions,
};
use tokio::sync::oneshot;
/// The cancellation input of [`RunGuard::cancel_on`] (tokio-util's token,
/// re-exported so callers need no direct dependency on tokio-util).
pub use tokio_util::sync::CancellationToken;

/// The guard's deadline when [`RunGuard::with_deadline`] is not called.
pub const DEFAULT_GUARD_DEADLINE: Duration = Duration::from_secs(300);

/// How a [`RunGuard`] ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum GuardOutcome {
    /// [`RunGuard::disarm`] was called: nothing was sent.
    Disarmed,
    /// The guard stopped the run and waited for it to end: the report says
    /// how the run ended (`stop_won` is `false` when it finished on its own
    /// first).
    Stopped(Box<StopReport>),
    /// The guard sent (or tried to send) the stop, but the stop or the wait
    /// failed, or the deadline passed first.
    StopFailed(Error),
    /// The stop could not be run at all, or its result never came back (for
    /// example the fallback thread could not start, or the process is
    /// exiting). The run may still be running.
    Lost {
        /// Why, in a sentence.
        reason: String,
    },
}

impl GuardOutcome {
    fn from_result(result: Result<StopReport>) -> Self {
        match result {
            Ok(report) => GuardOutcome::Stopped(Box::new(report)),
            Err(e) => GuardOutcome::StopFailed(e),
        }
    }

    fn lost(reason: impl Into<String>) -> Self {
        GuardOutcome::Lost {
            reason: reason.into(),
        }
    }
}

/// Observes what a [`RunGuard`] did once its scope ended.
#[derive(Debug)]
pub struct GuardHandle {
    rx: oneshot::Receiver<GuardOutcome>,
}

impl GuardHandle {
    /// Waits for the guard's outcome: `Disarmed` when `disarm` was called,
    /// otherwise the result of the stop it issued, or `Lost` when that result
    /// can never arrive.
    pub async fn outcome(self) -> GuardOutcome {
        self.rx.await.unwrap_or_else(|_| {
            GuardOutcome::lost("the guard's stop ended without reporting a result")
        })
    }
}

struct Armed {
    controller: Arc<dyn JobController>,
    id: RunId,
    request: StopRequest,
    deadline: Duration,
    wait: WaitOptions,
    tx: oneshot::Sender<GuardOutcome>,
}

impl Armed {
    fn report(self, outcome: GuardOutcome) {
        let _ = self.tx.send(outcome);
    }
}

type Slot = Arc<Mutex<Option<Armed>>>;

fn take(slot: &Slot) -> Option<Armed> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// Stops a run that was started elsewhere when the guard's scope ends without
/// [`disarm`](RunGuard::disarm): when the guard is dropped (including by a
/// panic unwinding, a task being aborted, or the task's runtime shutting
/// down), or when a [`CancellationToken`] given to
/// [`cancel_on`](RunGuard::cancel_on) fires.
///
/// The stop runs in the background, bounded by the guard's deadline, and its
/// outcome is observable through the [`GuardHandle`]. Dropping never blocks
/// the caller and never panics: inside a Tokio runtime the stop is spawned
/// on it; outside one, or when the runtime is shutting down and cancels the
/// spawned stop before it finished, the whole stop runs on a short-lived
/// thread with a current-thread runtime of its own, within what is left of
/// the deadline.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::Arc;
/// use jobstop_core::{InMemoryController, JobController, RunState};
/// use jobstop_runtime::guard::{GuardOutcome, RunGuard};
///
/// let ctrl = Arc::new(InMemoryController::new());
/// let id = ctrl.seed(1, RunState::Running).remove(0);
/// let (guard, handle) = RunGuard::new(ctrl.clone(), id.clone());
/// drop(guard); // the task that owned the run failed, say
/// match handle.outcome().await {
///     GuardOutcome::Stopped(report) => assert!(report.stop_won),
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(ctrl.status(&id).await.unwrap().state, RunState::Stopped);
/// # }
/// ```
pub struct RunGuard {
    slot: Slot,
    /// Cancelled when the guard is dropped or disarmed: ends the token
    /// watchers started by `cancel_on`.
    done: CancellationToken,
}

impl fmt::Debug for RunGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("RunGuard")
            .field("run_id", &slot.as_ref().map(|a| &a.id))
            .field("armed", &slot.is_some())
            .finish()
    }
}

impl RunGuard {
    /// A guard for run `id` on `controller`: a graceful stop, the stop and
    /// the wait bounded by [`DEFAULT_GUARD_DEADLINE`] (5 minutes).
    pub fn new(controller: Arc<dyn JobController>, id: RunId) -> (RunGuard, GuardHandle) {
        let (tx, rx) = oneshot::channel();
        let armed = Armed {
            controller,
            id,
            request: StopRequest::graceful(),
            deadline: DEFAULT_GUARD_DEADLINE,
            wait: WaitOptions::default(),
            tx,
        };
        let guard = RunGuard {
            slot: Arc::new(Mutex::new(Some(armed))),
            done: CancellationToken::new(),
        };
        (guard, GuardHandle { rx })
    }

    fn update(self, f: impl FnOnce(&mut Armed)) -> Self {
        if let Some(a) = self
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            f(a);
        }
        self
    }

    /// The stop to send.
    pub fn with_request(self, request: StopRequest) -> Self {
        self.update(|a| a.request = request)
    }

    /// How long the stop and the wait for a terminal state may take in all
    /// (default 5 minutes). Independent of [`with_wait`](Self::with_wait).
    pub fn with_deadline(self, deadline: Duration) -> Self {
        self.update(|a| a.deadline = deadline)
    }

    /// How the wait polls (intervals, growth, per-poll timeout). Its
    /// `timeout` is ignored: the guard's [deadline](Self::with_deadline)
    /// bounds the stop and the wait, whichever of the two setters is called
    /// first.
    pub fn with_wait(self, wait: WaitOptions) -> Self {
        self.update(|a| a.wait = wait)
    }

    /// Also stops the run when `token` is cancelled, even while the guard
    /// itself is still held. Dropping or disarming the guard afterwards does
    /// nothing more. May be called more than once (any token fires it).
    pub fn cancel_on(self, token: CancellationToken) -> RunGuard {
        let slot = Arc::clone(&self.slot);
        let done = self.done.clone();
        let watch = async move {
            tokio::select! {
                _ = token.cancelled() => {
                    if let Some(armed) = take(&slot) {
                        fire(armed);
                    }
                }
                _ = done.cancelled() => {}
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(watch);
            }
            Err(_) => spawn_thread("jobstop-guard-watch", watch),
        }
        self
    }

    /// The run succeeded or was handed over: nothing will be sent, and the
    /// handle reports `Disarmed` (unless a token given to `cancel_on` had
    /// already fired the stop).
    pub fn disarm(self) {
        self.done.cancel();
        if let Some(a) = take(&self.slot) {
            a.report(GuardOutcome::Disarmed);
        }
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.done.cancel();
        if let Some(armed) = take(&self.slot) {
            tracing::debug!(run_id = %armed.id.escape_for_display(), "run guard dropped while armed; stopping the run");
            fire(armed);
        }
    }
}

/// Starts the stop: on the current runtime if there is one, otherwise (or
/// when that runtime cancels it unfinished) on a thread of its own.
fn fire(armed: Armed) {
    let job = StopJob {
        deadline_at: Instant::now() + armed.deadline,
        armed: Some(armed),
    };
    match tokio::runtime::Handle::try_current() {
        // A runtime that is shutting down drops the task without running
        // it (or part-way): `StopJob`'s drop then hands the stop to a thread.
        Ok(rt) => {
            rt.spawn(job.run());
        }
        Err(_) => job.on_thread(),
    }
}

/// The stop in flight. Dropped unfinished (its runtime shut down), it runs
/// the whole stop again on a thread of its own, within what is left of the
/// deadline.
struct StopJob {
    armed: Option<Armed>,
    deadline_at: Instant,
}

impl StopJob {
    async fn run(mut self) {
        let result = match &self.armed {
            Some(a) => stop_bounded(a, self.deadline_at).await,
            None => return,
        };
        if let Some(a) = self.armed.take() {
            a.report(GuardOutcome::from_result(result));
        }
    }

    fn on_thread(mut self) {
        let Some(armed) = self.armed.take() else {
            return;
        };
        let deadline_at = self.deadline_at;
        if deadline_at <= Instant::now() {
            armed.report(GuardOutcome::lost(
                "the guard's deadline passed before its stop could run",
            ));
            return;
        }
        // If the thread cannot start, the sender is dropped with the closure
        // and the handle reports `Lost`.
        spawn_thread("jobstop-run-guard", async move {
            let result = stop_bounded(&armed, deadline_at).await;
            armed.report(GuardOutcome::from_result(result));
        });
    }
}

impl Drop for StopJob {
    fn drop(&mut self) {
        if self.armed.is_some() {
            tracing::debug!("run guard's stop cancelled by its runtime; finishing it on a thread");
            let job = StopJob {
                armed: self.armed.take(),
                deadline_at: self.deadline_at,
            };
            job.on_thread();
        }
    }
}

/// Runs `task` to completion on a new thread with a current-thread runtime.
/// Never panics: failures are logged (and the task, with any sender it
/// owns, is dropped).
fn spawn_thread(name: &str, task: impl Future<Output = ()> + Send + 'static) {
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(task),
                Err(e) => tracing::warn!(error = %e, "run guard could not start a runtime"),
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "run guard could not start a thread");
    }
}

async fn stop_bounded(a: &Armed, deadline_at: Instant) -> Result<StopReport> {
    let remaining = deadline_at.saturating_duration_since(Instant::now());
    // Field assignment, not a constructor: `WaitOptions` is non-exhaustive.
    let mut wait = a.wait.clone();
    wait.timeout = remaining;
    // stop_and_wait bounds the wait; the outer timeout also bounds the stop
    // call (with one poll's grace for the final poll at the deadline).
    let grace = wait.poll_timeout;
    match tokio::time::timeout(
        remaining + grace,
        a.controller.stop_and_wait(&a.id, &a.request, &wait),
    )
    .await
    {
        Ok(r) => r,
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            "the guard's stop did not finish before its deadline",
        )
        .with_vendor(a.controller.vendor())
        .with_operation(Operation::Wait)
        .with_run_id(a.id.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::{InMemoryController, RunState, StopBehavior};

    fn fast() -> WaitOptions {
        let mut w = WaitOptions::default();
        w.min_interval = Duration::from_millis(1);
        w.max_interval = Duration::from_millis(5);
        w
    }

    fn deadline_of(g: &RunGuard) -> (Duration, Duration) {
        let slot = g.slot.lock().unwrap_or_else(PoisonError::into_inner);
        let a = slot.as_ref().expect("armed");
        (a.deadline, a.wait.min_interval)
    }

    #[test]
    fn deadline_and_wait_are_independent_in_either_order() {
        let ctrl = Arc::new(InMemoryController::new());
        let id = RunId::new("r");
        let (g1, _h1) = RunGuard::new(ctrl.clone(), id.clone());
        let g1 = g1.with_deadline(Duration::from_secs(7)).with_wait(fast());
        let (g2, _h2) = RunGuard::new(ctrl, id);
        let g2 = g2.with_wait(fast()).with_deadline(Duration::from_secs(7));
        for g in [&g1, &g2] {
            assert_eq!(
                deadline_of(g),
                (Duration::from_secs(7), Duration::from_millis(1))
            );
        }
        g1.disarm();
        g2.disarm();
    }

    #[tokio::test]
    async fn the_deadline_bounds_the_wait_whatever_the_wait_timeout_says() {
        // The run stays stopping after the stop: with a long wait timeout but a short deadline, the guard gives up
        // at the deadline.
        for deadline_first in [true, false] {
            let ctrl = Arc::new(InMemoryController::new().with_stop_behavior(StopBehavior::Manual));
            let id = ctrl.seed(1, RunState::Running).remove(0);
            let (g, h) = RunGuard::new(ctrl.clone(), id.clone());
            let mut wait = fast();
            wait.timeout = Duration::from_secs(3600);
            wait.poll_timeout = Duration::from_millis(50);
            let deadline = Duration::from_millis(100);
            let g = if deadline_first {
                g.with_deadline(deadline).with_wait(wait)
            } else {
                g.with_wait(wait).with_deadline(deadline)
            };
            drop(g);
            let outcome = tokio::time::timeout(Duration::from_secs(30), h.outcome())
                .await
                .expect("the deadline bounds the guard");
            assert!(
                matches!(&outcome, GuardOutcome::StopFailed(e) if e.kind() == ErrorKind::Timeout),
                "{outcome:?}"
            );
            assert_eq!(ctrl.stop_calls(), 1);
        }
    }

    #[tokio::test]
    async fn a_token_fires_the_one_guard_type_and_disarm_after_it_sends_nothing_more() {
        let ctrl = Arc::new(InMemoryController::new());
        let id = ctrl.seed(1, RunState::Running).remove(0);
        let token = CancellationToken::new();
        let (g, h) = RunGuard::new(ctrl.clone(), id.clone());
        let g: RunGuard = g.with_wait(fast()).cancel_on(token.clone());
        token.cancel();
        assert!(matches!(h.outcome().await, GuardOutcome::Stopped(r) if r.stop_won));
        g.disarm();
    }

    #[test]
    fn a_stop_that_cannot_run_is_lost_never_disarmed() {
        // Outside any runtime with no time left: the fallback cannot run the
        // stop, and the handle says so.
        let ctrl = Arc::new(InMemoryController::new());
        let id = ctrl.seed(1, RunState::Running).remove(0);
        let (g, h) = RunGuard::new(ctrl.clone(), id);
        drop(g.with_deadline(Duration::ZERO));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let outcome = rt.block_on(h.outcome());
        assert!(matches!(outcome, GuardOutcome::Lost { .. }), "{outcome:?}");
        assert_eq!(ctrl.stop_calls(), 0);
    }
}
