//! The run model as Python objects: `Run`, `RunError`, `Page`,
//! `StopOutcome`, `StopReport`, `StopResult`. All are immutable; the
//! attributes are built when read (a `Run` holds the Rust run and turns a
//! field into a Python value on access, its `raw` JSON included).

use chrono::{DateTime, Utc};
use jobstop::RunState;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyAny, PyList, PyTuple};

use crate::error::to_pyerr;

/// The members of the Python `jobstop.RunState` enum, in
/// [`RunState::ALL`] order.
static STATES: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();

/// `state` as a member of the Python `jobstop.RunState` enum.
pub(crate) fn py_state(py: Python<'_>, state: RunState) -> PyResult<Bound<'_, PyAny>> {
    let members = STATES.get_or_try_init(py, || {
        let class = py.import("jobstop._types")?.getattr("RunState")?;
        RunState::ALL
            .iter()
            .map(|s| class.call1((s.as_str(),)).map(Bound::unbind))
            .collect::<PyResult<Vec<_>>>()
    })?;
    let i = RunState::ALL
        .iter()
        .position(|s| *s == state)
        .unwrap_or(RunState::ALL.len() - 1);
    match members.get(i) {
        Some(m) => Ok(m.bind(py).clone()),
        None => Err(crate::error::invalid_input("unknown run state")),
    }
}

/// One run on a vendor's platform, as known when it was read.
#[pyclass(frozen, module = "jobstop", name = "Run")]
pub(crate) struct PyRun {
    pub(crate) run: jobstop::Run,
}

impl PyRun {
    pub(crate) fn new(run: jobstop::Run) -> Self {
        PyRun { run }
    }
}

#[pymethods]
impl PyRun {
    /// The vendor (`"amperity"`, `"chorus"`, …).
    #[getter]
    fn vendor(&self) -> &str {
        self.run.vendor.as_str()
    }

    /// The run's id, as the vendor names it.
    #[getter]
    fn id(&self) -> &str {
        self.run.id.as_str()
    }

    /// The run's (or its job's) name, when the vendor gives one.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.run.name.as_deref()
    }

    /// What kind of run this is, when the vendor has kinds.
    #[getter]
    fn kind(&self) -> Option<&str> {
        self.run.kind.as_deref()
    }

    /// The normalized state (a `RunState`).
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_state(py, self.run.state)
    }

    /// The state exactly as the vendor wrote it.
    #[getter]
    fn vendor_state(&self) -> &str {
        &self.run.vendor_state
    }

    /// When the run was created (timezone-aware, UTC).
    #[getter]
    fn created_at(&self) -> Option<DateTime<Utc>> {
        self.run.created_at
    }

    /// When the run started (timezone-aware, UTC).
    #[getter]
    fn started_at(&self) -> Option<DateTime<Utc>> {
        self.run.started_at
    }

    /// When the run ended (timezone-aware, UTC).
    #[getter]
    fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.run.ended_at
    }

    /// Why the run failed, when the vendor says.
    #[getter]
    fn error(&self) -> Option<PyRunError> {
        self.run.error.as_ref().map(|e| PyRunError {
            message: e.message.clone(),
            code: e.code.clone(),
            attribution: e.attribution.map(|a| match a {
                jobstop::Attribution::User => "user",
                jobstop::Attribution::Platform => "platform",
                _ => "other",
            }),
        })
    }

    /// Who started the run, when the vendor says.
    #[getter]
    fn owner(&self) -> Option<&str> {
        self.run.owner.as_deref()
    }

    /// The vendor's JSON for this run, parsed now (a new dict on each
    /// access), or `None` when there is none.
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.run.raw() {
            Some(raw) => {
                let json = py.import("json")?;
                json.call_method1("loads", (raw.get(),)).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Whether the run is queued, running, paused or stopping.
    #[getter]
    fn is_active(&self) -> bool {
        self.run.state.is_active()
    }

    /// Whether the run has ended (stopped, succeeded, failed, idle).
    #[getter]
    fn is_terminal(&self) -> bool {
        self.run.state.is_terminal()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyRun>()
            .map(|o| o.get().run == self.run)
            .unwrap_or(false)
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.run.vendor.as_str().hash(&mut h);
        self.run.id.as_str().hash(&mut h);
        self.run.vendor_state.hash(&mut h);
        h.finish()
    }

    fn __repr__(&self) -> String {
        format!(
            "Run(vendor={:?}, id={:?}, state={:?}, vendor_state={:?}, name={:?})",
            self.run.vendor.as_str(),
            self.run.id.as_str(),
            self.run.state.as_str(),
            self.run.vendor_state,
            self.run.name.as_deref().unwrap_or(""),
        )
    }
}

/// Why a run failed, as the vendor reported it.
#[pyclass(frozen, module = "jobstop", name = "RunError", get_all)]
pub(crate) struct PyRunError {
    /// The vendor's message.
    message: Option<String>,
    /// The vendor's error code.
    code: Option<String>,
    /// Whose fault: `"user"` or `"platform"`.
    attribution: Option<&'static str>,
}

#[pymethods]
impl PyRunError {
    fn __repr__(&self) -> String {
        format!(
            "RunError(message={:?}, code={:?}, attribution={:?})",
            self.message, self.code, self.attribution
        )
    }
}

/// One page of a listing.
#[pyclass(frozen, module = "jobstop", name = "Page", get_all)]
pub(crate) struct PyPage {
    /// The runs of this page (a tuple of `Run`).
    runs: Py<PyTuple>,
    /// The cursor of the next page (pass it as `cursor=`), or `None` on the
    /// last page.
    next_cursor: Option<String>,
    /// How many runs match in all, when the vendor says.
    total: Option<u64>,
}

#[pymethods]
impl PyPage {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.runs.bind(py).len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.runs.bind(py).try_iter().map(Bound::into_any)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Page(runs=<{} runs>, next_cursor={}, total={})",
            self.runs.bind(py).len(),
            self.next_cursor
                .as_deref()
                .map_or_else(|| "None".to_owned(), |c| format!("{c:?}")),
            self.total
                .map_or_else(|| "None".to_owned(), |t| t.to_string())
        )
    }
}

/// A page read on the runtime, turned into a `Page` once the GIL is held.
pub(crate) struct PageOut(pub(crate) jobstop::Page);

impl<'py> IntoPyObject<'py> for PageOut {
    type Target = PyPage;
    type Output = Bound<'py, PyPage>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let page = self.0;
        let runs = page
            .runs
            .into_iter()
            .map(|r| Py::new(py, PyRun::new(r)))
            .collect::<PyResult<Vec<_>>>()?;
        let page = PyPage {
            runs: PyTuple::new(py, runs)?.unbind(),
            next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
            total: page.total,
        };
        Bound::new(py, page)
    }
}

/// Many runs read on the runtime, as a Python list of `Run` (for listing
/// batches).
pub(crate) struct RunsOut(pub(crate) Vec<jobstop::Run>);

impl<'py> IntoPyObject<'py> for RunsOut {
    type Target = PyList;
    type Output = Bound<'py, PyList>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let runs = self
            .0
            .into_iter()
            .map(|r| Py::new(py, PyRun::new(r)))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, runs)
    }
}

/// What a stop call achieved: its kind and the run as known after it.
#[pyclass(frozen, module = "jobstop", name = "StopOutcome")]
pub(crate) struct PyStopOutcome {
    pub(crate) outcome: jobstop::StopOutcome,
}

#[pymethods]
impl PyStopOutcome {
    /// `"requested"` (accepted, not ended yet), `"stopped"` or
    /// `"already_finished"` (it had ended before the call).
    #[getter]
    fn kind(&self) -> &'static str {
        self.outcome.as_str()
    }

    /// The run as known after the call.
    #[getter]
    fn run(&self) -> PyRun {
        PyRun::new(self.outcome.run().clone())
    }

    fn __repr__(&self) -> String {
        format!(
            "StopOutcome(kind={:?}, run_id={:?}, state={:?})",
            self.outcome.as_str(),
            self.outcome.run().id.as_str(),
            self.outcome.run().state.as_str()
        )
    }
}

/// How a `stop_and_wait` ended.
#[pyclass(frozen, module = "jobstop", name = "StopReport")]
pub(crate) struct PyStopReport {
    pub(crate) report: jobstop::StopReport,
}

#[pymethods]
impl PyStopReport {
    /// What the stop call itself returned.
    #[getter]
    fn outcome(&self) -> PyStopOutcome {
        PyStopOutcome {
            outcome: self.report.outcome.clone(),
        }
    }

    /// The run in its terminal state.
    #[getter]
    fn final_run(&self) -> PyRun {
        PyRun::new(self.report.final_run.clone())
    }

    /// Whether the run ended because of this stop (not on its own first).
    #[getter]
    fn stop_won(&self) -> bool {
        self.report.stop_won
    }

    /// How many status polls were made after the stop.
    #[getter]
    fn polls(&self) -> u32 {
        self.report.polls
    }

    /// Seconds from the stop call to the terminal state.
    #[getter]
    fn elapsed(&self) -> f64 {
        self.report.elapsed.as_secs_f64()
    }

    fn __repr__(&self) -> String {
        format!(
            "StopReport(outcome={:?}, final_state={:?}, stop_won={}, polls={})",
            self.report.outcome.as_str(),
            self.report.final_run.state.as_str(),
            if self.report.stop_won {
                "True"
            } else {
                "False"
            },
            self.report.polls
        )
    }
}

/// One answer of `stop_many`: the id, and its outcome or its error.
#[pyclass(frozen, module = "jobstop", name = "StopResult")]
pub(crate) struct PyStopResult {
    pub(crate) id: String,
    pub(crate) result: Result<jobstop::StopOutcome, jobstop::Error>,
}

#[pymethods]
impl PyStopResult {
    /// The run id this answer is for.
    #[getter]
    fn id(&self) -> &str {
        &self.id
    }

    /// Whether the stop succeeded.
    #[getter]
    fn ok(&self) -> bool {
        self.result.is_ok()
    }

    /// The outcome, when the stop succeeded.
    #[getter]
    fn outcome(&self) -> Option<PyStopOutcome> {
        self.result
            .as_ref()
            .ok()
            .map(|o| PyStopOutcome { outcome: o.clone() })
    }

    /// The error (a `jobstop.Error`), when the stop failed.
    #[getter]
    fn error<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.result
            .as_ref()
            .err()
            .map(|e| to_pyerr(py, e).into_value(py).into_bound(py).into_any())
    }

    fn __repr__(&self) -> String {
        match &self.result {
            Ok(o) => format!("StopResult(id={:?}, outcome={:?})", self.id, o.as_str()),
            Err(e) => format!("StopResult(id={:?}, error={:?})", self.id, e.to_string()),
        }
    }
}
