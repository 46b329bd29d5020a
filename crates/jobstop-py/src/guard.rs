//! The native guard behind `jobstop.Guard`: a [`RunGuard`] that Python
//! disarms (the block ended normally) or fires (it ended by an exception or
//! a cancellation), and whose outcome Python can await.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jobstop::guard::{GuardHandle, GuardOutcome, RunGuard};
use jobstop::{JobController, RunId, StopRequest, WaitOptions};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::error::{Fail, to_pyerr};
use crate::model::PyStopReport;
use crate::runtime::{awaitable, block_on, runtime};

/// A run guard: armed until `disarm` or `fire`; dropped armed (collected),
/// it stops the run too.
#[pyclass(frozen, module = "jobstop._jobstop", name = "Guard")]
pub(crate) struct PyGuard {
    run_id: String,
    guard: Mutex<Option<RunGuard>>,
    handle: Arc<tokio::sync::Mutex<Option<GuardHandle>>>,
}

impl PyGuard {
    pub(crate) fn new(
        ctrl: Arc<dyn JobController>,
        id: RunId,
        request: StopRequest,
        deadline: Duration,
        wait: WaitOptions,
    ) -> Self {
        let run_id = id.as_str().to_owned();
        let (guard, handle) = RunGuard::new(ctrl, id);
        let guard = guard
            .with_request(request)
            .with_deadline(deadline)
            .with_wait(wait);
        PyGuard {
            run_id,
            guard: Mutex::new(Some(guard)),
            handle: Arc::new(tokio::sync::Mutex::new(Some(handle))),
        }
    }

    fn take(&self) -> Option<RunGuard> {
        self.guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    async fn outcome_of(handle: Arc<tokio::sync::Mutex<Option<GuardHandle>>>) -> PyGuardOutcome {
        let taken = handle.lock().await.take();
        match taken {
            Some(h) => PyGuardOutcome::from(h.outcome().await),
            None => PyGuardOutcome::lost("the guard's outcome was already taken"),
        }
    }
}

impl Drop for PyGuard {
    fn drop(&mut self) {
        // Stopping on the shared runtime rather than on a thread of its own
        // (the guard falls back to one when there is no runtime).
        let _entered = runtime().ok().map(|rt| rt.enter());
        drop(self.take());
    }
}

#[pymethods]
impl PyGuard {
    /// The run this guard watches.
    #[getter]
    fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Whether the guard will still stop the run (neither disarmed nor fired).
    #[getter]
    fn armed(&self) -> bool {
        self.guard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Nothing will be sent: the run is left running.
    fn disarm(&self) {
        if let Some(g) = self.take() {
            g.disarm();
        }
    }

    /// Stops the run now, in the background on the shared runtime (the stop
    /// goes on even if the caller is cancelled); `outcome` tells how it went.
    fn fire(&self) {
        let _entered = runtime().ok().map(|rt| rt.enter());
        drop(self.take());
    }

    /// Waits for the guard's outcome (once).
    fn outcome<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let handle = Arc::clone(&self.handle);
        awaitable(
            py,
            async move { Ok::<_, Fail>(Self::outcome_of(handle).await) },
        )
    }

    /// Like `outcome`, blocking.
    fn outcome_blocking(&self, py: Python<'_>) -> PyResult<PyGuardOutcome> {
        let handle = Arc::clone(&self.handle);
        block_on(
            py,
            async move { Ok::<_, Fail>(Self::outcome_of(handle).await) },
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "Guard(run_id={:?}, armed={})",
            self.run_id,
            if self.armed() { "True" } else { "False" }
        )
    }
}

/// How a guard ended.
#[pyclass(frozen, module = "jobstop", name = "GuardOutcome")]
pub(crate) struct PyGuardOutcome {
    kind: &'static str,
    report: Option<jobstop::StopReport>,
    error: Option<jobstop::Error>,
    reason: Option<String>,
}

impl PyGuardOutcome {
    fn lost(reason: &str) -> Self {
        PyGuardOutcome {
            kind: "lost",
            report: None,
            error: None,
            reason: Some(reason.to_owned()),
        }
    }
}

impl From<GuardOutcome> for PyGuardOutcome {
    fn from(o: GuardOutcome) -> Self {
        let mut out = PyGuardOutcome {
            kind: "disarmed",
            report: None,
            error: None,
            reason: None,
        };
        match o {
            GuardOutcome::Disarmed => {}
            GuardOutcome::Stopped(report) => {
                out.kind = "stopped";
                out.report = Some(*report);
            }
            GuardOutcome::StopFailed(e) => {
                out.kind = "stop_failed";
                out.error = Some(e);
            }
            GuardOutcome::Lost { reason } => {
                out.kind = "lost";
                out.reason = Some(reason);
            }
            other => {
                out.kind = "lost";
                out.reason = Some(format!("{other:?}"));
            }
        }
        out
    }
}

#[pymethods]
impl PyGuardOutcome {
    /// `"disarmed"`, `"stopped"`, `"stop_failed"` or `"lost"`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// How the stop ended, when the guard stopped the run.
    #[getter]
    fn report(&self) -> Option<PyStopReport> {
        self.report
            .as_ref()
            .map(|r| PyStopReport { report: r.clone() })
    }

    /// Why the stop failed (a `jobstop.Error`), when it did.
    #[getter]
    fn error<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.error
            .as_ref()
            .map(|e| to_pyerr(py, e).into_value(py).into_bound(py).into_any())
    }

    /// Why the stop could not run, when it was lost.
    #[getter]
    fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    fn __repr__(&self) -> String {
        format!("GuardOutcome(kind={:?})", self.kind)
    }
}
