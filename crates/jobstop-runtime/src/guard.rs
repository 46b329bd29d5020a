//! Scoped runs: a guard that stops a run when its scope ends.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jobstop_core::{
    Error, ErrorKind, JobController, JobControllerExt, Operation, Result, RunId, StopReport,
    StopRequest, WaitOptions,
};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// How a [`RunGuard`] ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum GuardOutcome {
    /// [`RunGuard::disarm`] was called: nothing was sent.
    Disarmed,
    /// The guard stopped the run (or tried to): the stop-and-wait result,
    /// bounded by the guard's deadline.
    Stopped(Box<Result<StopReport>>),
}

/// Observes what a [`RunGuard`] did once its scope ended.
#[derive(Debug)]
pub struct GuardHandle {
    rx: oneshot::Receiver<GuardOutcome>,
}

impl GuardHandle {
    /// Waits for the guard's outcome: `Disarmed`, or the result of the stop
    /// it issued when it was dropped or cancelled.
    pub async fn outcome(self) -> GuardOutcome {
        self.rx.await.unwrap_or(GuardOutcome::Disarmed)
    }
}

struct Armed {
    controller: Arc<dyn JobController>,
    id: RunId,
    request: StopRequest,
    wait: WaitOptions,
    tx: oneshot::Sender<GuardOutcome>,
}

/// Stops a run that was started elsewhere when the guard's scope ends without
/// [`disarm`](RunGuard::disarm): when the guard is dropped (including by a
/// panic unwinding, or a task being aborted), or when a
/// [`CancellationToken`] given to [`cancel_on`](RunGuard::cancel_on) fires.
///
/// The stop runs in the background, bounded by the guard's deadline, and its
/// outcome is observable through the [`GuardHandle`]. Dropping never blocks
/// the caller: inside a Tokio runtime the stop is spawned on it; outside one
/// it runs on a short-lived thread of its own. It never panics. A stop
/// spawned on a runtime that then shuts down is cut short with it: keep the
/// runtime alive, or await the handle, where that matters.
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
///     GuardOutcome::Stopped(result) => assert!(result.unwrap().stop_won),
///     other => panic!("{other:?}"),
/// }
/// assert_eq!(ctrl.status(&id).await.unwrap().state, RunState::Stopped);
/// # }
/// ```
pub struct RunGuard {
    armed: Option<Armed>,
}

impl fmt::Debug for RunGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunGuard")
            .field("run_id", &self.armed.as_ref().map(|a| &a.id))
            .field("armed", &self.armed.is_some())
            .finish()
    }
}

impl RunGuard {
    /// A guard for run `id` on `controller`: a graceful stop, waited for up
    /// to 5 minutes.
    pub fn new(controller: Arc<dyn JobController>, id: RunId) -> (RunGuard, GuardHandle) {
        let (tx, rx) = oneshot::channel();
        let guard = RunGuard {
            armed: Some(Armed {
                controller,
                id,
                request: StopRequest::graceful(),
                wait: WaitOptions::default(),
                tx,
            }),
        };
        (guard, GuardHandle { rx })
    }

    /// The stop to send.
    pub fn with_request(mut self, request: StopRequest) -> Self {
        if let Some(a) = &mut self.armed {
            a.request = request;
        }
        self
    }

    /// How long the stop and the wait for a terminal state may take in all.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        if let Some(a) = &mut self.armed {
            a.wait.timeout = deadline;
        }
        self
    }

    /// How the wait polls (its timeout is the deadline).
    pub fn with_wait(mut self, wait: WaitOptions) -> Self {
        if let Some(a) = &mut self.armed {
            a.wait = wait;
        }
        self
    }

    /// Also stops the run when `token` is cancelled, even while the guard
    /// itself is still held. Dropping or disarming the guard afterwards does
    /// nothing more.
    pub fn cancel_on(self, token: CancellationToken) -> CancelGuard {
        let shared = Arc::new(std::sync::Mutex::new(Some(self)));
        let for_task = Arc::clone(&shared);
        let watcher = tokio::runtime::Handle::try_current().ok().map(|rt| {
            rt.spawn(async move {
                token.cancelled().await;
                let guard = for_task.lock().unwrap_or_else(|p| p.into_inner()).take();
                drop(guard);
            })
        });
        CancelGuard { shared, watcher }
    }

    /// The run succeeded or was handed over: nothing will be sent, and the
    /// handle reports `Disarmed`.
    pub fn disarm(mut self) {
        if let Some(a) = self.armed.take() {
            let _ = a.tx.send(GuardOutcome::Disarmed);
        }
    }
}

async fn stop_bounded(a: &Armed) -> Result<StopReport> {
    // stop_and_wait bounds the wait; the outer timeout also bounds the stop call.
    let grace = a.wait.poll_timeout;
    match tokio::time::timeout(
        a.wait.timeout + grace,
        a.controller.stop_and_wait(&a.id, &a.request, &a.wait),
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

impl Drop for RunGuard {
    fn drop(&mut self) {
        let Some(armed) = self.armed.take() else {
            return;
        };
        tracing::debug!(run_id = %armed.id.escape_for_display(), "run guard dropped while armed; stopping the run");
        let runtime = tokio::runtime::Handle::try_current().ok();
        let task = async move {
            let result = stop_bounded(&armed).await;
            let _ = armed.tx.send(GuardOutcome::Stopped(Box::new(result)));
        };
        match runtime {
            Some(rt) => {
                rt.spawn(task);
            }
            None => {
                // No runtime here: a thread of its own, with a small runtime.
                let spawned = std::thread::Builder::new()
                    .name("jobstop-run-guard".into())
                    .spawn(move || {
                        match tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            Ok(rt) => rt.block_on(task),
                            Err(e) => {
                                tracing::warn!(error = %e, "run guard could not start a runtime")
                            }
                        }
                    });
                if let Err(e) = spawned {
                    tracing::warn!(error = %e, "run guard could not start a thread");
                }
            }
        }
    }
}

/// A [`RunGuard`] that also fires when a [`CancellationToken`] is cancelled.
#[derive(Debug)]
pub struct CancelGuard {
    shared: Arc<std::sync::Mutex<Option<RunGuard>>>,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

impl CancelGuard {
    /// Nothing will be sent (unless the token already fired).
    pub fn disarm(self) {
        if let Some(w) = &self.watcher {
            w.abort();
        }
        let guard = self.shared.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(g) = guard {
            g.disarm();
        }
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(w) = &self.watcher {
            w.abort();
        }
        // Dropping the inner guard (if still armed) issues the stop.
        let guard = self.shared.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(guard);
    }
}
