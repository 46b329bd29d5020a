//! The native controller and registry behind `jobstop.Controller`,
//! `jobstop.Registry` and their blocking twins: every operation exists as an
//! awaitable (`op`) and as a blocking call (`op_blocking`), both running the
//! same Rust future on the shared runtime.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{FutureExt, StreamExt};
use jobstop::{
    AccountConfig, Cursor, JobController, JobControllerExt, ListLimits, ListQuery, Registry, RunId,
    RunState, StopRequest, WaitOptions,
};
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyDict};
use serde_json::{Map, Value};
use tokio::sync::{Mutex, mpsc};

use crate::error::{Fail, Failing, IntoPy, invalid_input};
use crate::guard::PyGuard;
use crate::model::{PageOut, PyRun, PyStopOutcome, PyStopReport, PyStopResult, RunsOut};
use crate::runtime::{awaitable, block_on, runtime};

/// One account's controller.
#[pyclass(frozen, module = "jobstop._jobstop", name = "Controller")]
#[derive(Clone)]
pub(crate) struct PyController {
    pub(crate) name: String,
    pub(crate) base_url: String,
    pub(crate) inner: Arc<dyn JobController>,
}

impl PyController {
    pub(crate) fn from_account(account: &jobstop::Account) -> Self {
        PyController {
            name: account.name.clone(),
            base_url: account.base_url.clone(),
            inner: Arc::clone(&account.controller),
        }
    }
}

/// A duration in seconds from Python: finite and not negative.
pub(crate) fn seconds(what: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| {
        invalid_input(format!(
            "{what} must be a finite number of seconds ≥ 0, not {s}"
        ))
    })
}

fn run_id(id: &str) -> PyResult<RunId> {
    if id.is_empty() {
        return Err(invalid_input("a run id must not be empty"));
    }
    Ok(RunId::new(id))
}

fn request(force: bool) -> StopRequest {
    if force {
        StopRequest::force()
    } else {
        StopRequest::graceful()
    }
}

fn wait_options(
    timeout: f64,
    min_interval: Option<f64>,
    max_interval: Option<f64>,
) -> PyResult<WaitOptions> {
    let mut wait = WaitOptions::default().with_timeout(seconds("timeout", timeout)?);
    if let Some(min) = min_interval {
        wait = wait.with_min_interval(seconds("min_interval", min)?);
    }
    if let Some(max) = max_interval {
        wait = wait.with_max_interval(seconds("max_interval", max)?);
    }
    Ok(wait)
}

/// The states a filter names: one state (a `RunState` or its string), or
/// an iterable of them.
fn states(state: Option<&Bound<'_, PyAny>>) -> PyResult<BTreeSet<RunState>> {
    let Some(state) = state else {
        return Ok(BTreeSet::new());
    };
    let parse = |s: &Bound<'_, PyAny>| -> PyResult<RunState> {
        let text: String = s.extract()?;
        text.parse::<RunState>()
            .map_err(|e| invalid_input(e.to_string()))
    };
    if state.extract::<String>().is_ok() {
        return Ok(BTreeSet::from([parse(state)?]));
    }
    state.try_iter()?.map(|s| parse(&s?)).collect()
}

/// The query of a listing, from the keyword arguments of `list` and
/// `list_all`.
#[allow(clippy::too_many_arguments)]
fn query(
    state: Option<&Bound<'_, PyAny>>,
    name_contains: Option<String>,
    kind: Option<String>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    page_size: Option<u32>,
    cursor: Option<String>,
) -> PyResult<ListQuery> {
    let mut q = ListQuery::new().with_states(states(state)?);
    if let Some(text) = name_contains {
        q = q.with_name_contains(text);
    }
    if let Some(kind) = kind {
        q = q.with_kind(kind);
    }
    if let Some(t) = created_after {
        q = q.with_created_after(t);
    }
    if let Some(t) = created_before {
        q = q.with_created_before(t);
    }
    if let Some(n) = page_size {
        if n == 0 {
            return Err(invalid_input("limit must be at least 1"));
        }
        q = q.with_page_size(n);
    }
    if let Some(c) = cursor {
        q = q.with_cursor(Cursor::new(c));
    }
    Ok(q)
}

impl PyController {
    async fn do_stop_many(
        ctrl: Arc<dyn JobController>,
        ids: Vec<RunId>,
        force: bool,
        concurrency: usize,
    ) -> Result<Vec<PyStopResult>, Fail> {
        let req = request(force);
        let results: Vec<PyStopResult> = ctrl
            .stop_many(ids, &req, concurrency)
            .map(|r| PyStopResult {
                id: r.id.into_string(),
                result: r.result,
            })
            .collect()
            .await;
        Ok(results)
    }
}

#[pymethods]
impl PyController {
    /// The account's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The vendor.
    #[getter]
    fn vendor(&self) -> String {
        self.inner.vendor().as_str().to_owned()
    }

    /// Where the account's API lives.
    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    #[pyo3(signature = (*, state=None, name_contains=None, kind=None, created_after=None, created_before=None, limit=None, cursor=None))]
    #[allow(clippy::too_many_arguments)]
    fn list<'py>(
        &self,
        py: Python<'py>,
        state: Option<&Bound<'py, PyAny>>,
        name_contains: Option<String>,
        kind: Option<String>,
        created_after: Option<DateTime<Utc>>,
        created_before: Option<DateTime<Utc>>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let q = query(
            state,
            name_contains,
            kind,
            created_after,
            created_before,
            limit,
            cursor,
        )?;
        let ctrl = Arc::clone(&self.inner);
        awaitable(py, async move { ctrl.list(&q).await.fail().map(PageOut) })
    }

    #[pyo3(signature = (*, state=None, name_contains=None, kind=None, created_after=None, created_before=None, limit=None, cursor=None))]
    #[allow(clippy::too_many_arguments)]
    fn list_blocking<'py>(
        &self,
        py: Python<'py>,
        state: Option<&Bound<'py, PyAny>>,
        name_contains: Option<String>,
        kind: Option<String>,
        created_after: Option<DateTime<Utc>>,
        created_before: Option<DateTime<Utc>>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let q = query(
            state,
            name_contains,
            kind,
            created_after,
            created_before,
            limit,
            cursor,
        )?;
        let ctrl = Arc::clone(&self.inner);
        let page = block_on(py, async move { ctrl.list(&q).await.fail() })?;
        PageOut(page).into_pyobject(py).map(Bound::into_any)
    }

    /// Every matching run, read page by page on the runtime; Python takes
    /// them a batch (about a page) at a time from the returned listing.
    #[pyo3(signature = (*, state=None, name_contains=None, kind=None, created_after=None, created_before=None, page_size=None, max_pages=None, deadline=None))]
    #[allow(clippy::too_many_arguments)]
    fn list_all(
        &self,
        state: Option<&Bound<'_, PyAny>>,
        name_contains: Option<String>,
        kind: Option<String>,
        created_after: Option<DateTime<Utc>>,
        created_before: Option<DateTime<Utc>>,
        page_size: Option<u32>,
        max_pages: Option<u64>,
        deadline: Option<f64>,
    ) -> PyResult<PyListing> {
        let q = query(
            state,
            name_contains,
            kind,
            created_after,
            created_before,
            page_size,
            None,
        )?;
        let mut limits = ListLimits::default();
        if let Some(pages) = max_pages {
            limits = limits.with_max_pages(pages);
        }
        if let Some(d) = deadline {
            limits = limits.with_deadline(seconds("deadline", d)?);
        }
        PyListing::start(Arc::clone(&self.inner), q, limits)
    }

    fn status<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id = run_id(id)?;
        let ctrl = Arc::clone(&self.inner);
        awaitable(
            py,
            async move { ctrl.status(&id).await.fail().map(PyRun::new) },
        )
    }

    fn status_blocking(&self, py: Python<'_>, id: &str) -> PyResult<PyRun> {
        let id = run_id(id)?;
        let ctrl = Arc::clone(&self.inner);
        block_on(
            py,
            async move { ctrl.status(&id).await.fail().map(PyRun::new) },
        )
    }

    #[pyo3(signature = (id, *, force=false))]
    fn stop<'py>(&self, py: Python<'py>, id: &str, force: bool) -> PyResult<Bound<'py, PyAny>> {
        let id = run_id(id)?;
        let ctrl = Arc::clone(&self.inner);
        awaitable(py, async move {
            let outcome = ctrl.stop(&id, &request(force)).await.fail()?;
            Ok(PyStopOutcome { outcome })
        })
    }

    #[pyo3(signature = (id, *, force=false))]
    fn stop_blocking(&self, py: Python<'_>, id: &str, force: bool) -> PyResult<PyStopOutcome> {
        let id = run_id(id)?;
        let ctrl = Arc::clone(&self.inner);
        block_on(py, async move {
            let outcome = ctrl.stop(&id, &request(force)).await.fail()?;
            Ok(PyStopOutcome { outcome })
        })
    }

    #[pyo3(signature = (id, *, force=false, timeout=300.0, min_interval=None, max_interval=None))]
    fn stop_and_wait<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        force: bool,
        timeout: f64,
        min_interval: Option<f64>,
        max_interval: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = run_id(id)?;
        let wait = wait_options(timeout, min_interval, max_interval)?;
        let ctrl = Arc::clone(&self.inner);
        awaitable(py, async move {
            let report = ctrl
                .stop_and_wait(&id, &request(force), &wait)
                .await
                .fail()?;
            Ok(PyStopReport { report })
        })
    }

    #[pyo3(signature = (id, *, force=false, timeout=300.0, min_interval=None, max_interval=None))]
    fn stop_and_wait_blocking(
        &self,
        py: Python<'_>,
        id: &str,
        force: bool,
        timeout: f64,
        min_interval: Option<f64>,
        max_interval: Option<f64>,
    ) -> PyResult<PyStopReport> {
        let id = run_id(id)?;
        let wait = wait_options(timeout, min_interval, max_interval)?;
        let ctrl = Arc::clone(&self.inner);
        block_on(py, async move {
            let report = ctrl
                .stop_and_wait(&id, &request(force), &wait)
                .await
                .fail()?;
            Ok(PyStopReport { report })
        })
    }

    #[pyo3(signature = (id, *, timeout=300.0, min_interval=None, max_interval=None))]
    fn wait_until_terminal<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        timeout: f64,
        min_interval: Option<f64>,
        max_interval: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = run_id(id)?;
        let wait = wait_options(timeout, min_interval, max_interval)?;
        let ctrl = Arc::clone(&self.inner);
        awaitable(py, async move {
            ctrl.wait_until_terminal(&id, &wait)
                .await
                .fail()
                .map(PyRun::new)
        })
    }

    #[pyo3(signature = (id, *, timeout=300.0, min_interval=None, max_interval=None))]
    fn wait_until_terminal_blocking(
        &self,
        py: Python<'_>,
        id: &str,
        timeout: f64,
        min_interval: Option<f64>,
        max_interval: Option<f64>,
    ) -> PyResult<PyRun> {
        let id = run_id(id)?;
        let wait = wait_options(timeout, min_interval, max_interval)?;
        let ctrl = Arc::clone(&self.inner);
        block_on(py, async move {
            ctrl.wait_until_terminal(&id, &wait)
                .await
                .fail()
                .map(PyRun::new)
        })
    }

    #[pyo3(signature = (ids, *, force=false, concurrency=8))]
    fn stop_many<'py>(
        &self,
        py: Python<'py>,
        ids: Vec<String>,
        force: bool,
        concurrency: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        if concurrency == 0 {
            return Err(invalid_input("concurrency must be at least 1"));
        }
        let ids = ids
            .iter()
            .map(|i| run_id(i))
            .collect::<PyResult<Vec<_>>>()?;
        let ctrl = Arc::clone(&self.inner);
        awaitable(py, Self::do_stop_many(ctrl, ids, force, concurrency))
    }

    #[pyo3(signature = (ids, *, force=false, concurrency=8))]
    fn stop_many_blocking(
        &self,
        py: Python<'_>,
        ids: Vec<String>,
        force: bool,
        concurrency: usize,
    ) -> PyResult<Vec<PyStopResult>> {
        if concurrency == 0 {
            return Err(invalid_input("concurrency must be at least 1"));
        }
        let ids = ids
            .iter()
            .map(|i| run_id(i))
            .collect::<PyResult<Vec<_>>>()?;
        let ctrl = Arc::clone(&self.inner);
        block_on(py, Self::do_stop_many(ctrl, ids, force, concurrency))
    }

    /// A guard that stops run `id` unless disarmed (see `jobstop.Guard`).
    #[pyo3(signature = (id, *, force=false, deadline=300.0, min_interval=None, max_interval=None))]
    fn guard(
        &self,
        id: &str,
        force: bool,
        deadline: f64,
        min_interval: Option<f64>,
        max_interval: Option<f64>,
    ) -> PyResult<PyGuard> {
        let id = run_id(id)?;
        let wait = wait_options(deadline, min_interval, max_interval)?;
        let deadline = seconds("deadline", deadline)?;
        Ok(PyGuard::new(
            Arc::clone(&self.inner),
            id,
            request(force),
            deadline,
            wait,
        ))
    }

    /// For the benchmark: lists every run of `kind` with the Rust library
    /// alone (no Python object per run) and returns how many there were.
    #[pyo3(signature = (*, kind=None, page_size=None))]
    fn _rust_count_all(
        &self,
        py: Python<'_>,
        kind: Option<String>,
        page_size: Option<u32>,
    ) -> PyResult<u64> {
        let q = query(None, None, kind, None, None, page_size, None)?;
        let ctrl = Arc::clone(&self.inner);
        block_on(py, async move {
            let mut runs = ctrl.list_all(q);
            let mut n = 0u64;
            while let Some(run) = runs.next().await {
                run.fail()?;
                n += 1;
            }
            Ok(n)
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Controller(name={:?}, vendor={:?}, base_url={:?})",
            self.name,
            self.inner.vendor().as_str(),
            self.base_url
        )
    }
}

/// Builds a controller for `vendor` from its settings (the keys of the
/// vendor's config, as in a config file; `client` a dict of HTTP settings).
#[pyfunction]
#[pyo3(signature = (vendor, settings, name=None))]
pub(crate) fn controller(
    vendor: &str,
    settings: &Bound<'_, PyDict>,
    name: Option<String>,
) -> PyResult<PyController> {
    let map = settings_map(settings)?;
    let account = AccountConfig::from_map(vendor, map)
        .and_then(|c| c.into_account(name.as_deref().unwrap_or(vendor)))
        .py_err()?;
    Ok(PyController::from_account(&account))
}

/// A setting's value as the text every setting is read from.
fn setting_text(key: &str, value: &Bound<'_, PyAny>) -> PyResult<Value> {
    if let Ok(b) = value.extract::<bool>() {
        return Ok(Value::String(b.to_string()));
    }
    if let Ok(i) = value.extract::<i64>() {
        return Ok(Value::String(i.to_string()));
    }
    if let Ok(s) = value.extract::<String>() {
        return Ok(Value::String(s));
    }
    Err(invalid_input(format!(
        "setting {key}: must be a string, an integer or a bool"
    )))
}

fn settings_map(settings: &Bound<'_, PyDict>) -> PyResult<Map<String, Value>> {
    let mut map = Map::new();
    for (k, v) in settings.iter() {
        let key: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        if key == "client" {
            let client = v
                .cast::<PyDict>()
                .map_err(|_| invalid_input("setting client: must be a dict"))?;
            let mut inner = Map::new();
            for (ck, cv) in client.iter() {
                let ck: String = ck.extract()?;
                let value = setting_text(&format!("client.{ck}"), &cv)?;
                inner.insert(ck, value);
            }
            map.insert(key, Value::Object(inner));
        } else {
            let value = setting_text(&key, &v)?;
            map.insert(key, value);
        }
    }
    Ok(map)
}

/// Named accounts.
#[pyclass(frozen, module = "jobstop._jobstop", name = "Registry")]
pub(crate) struct PyRegistry {
    pub(crate) registry: Registry,
}

#[pymethods]
impl PyRegistry {
    /// One account per vendor whose `JOBSTOP_<VENDOR>_*` variables are set.
    #[staticmethod]
    fn from_env() -> PyResult<PyRegistry> {
        Ok(PyRegistry {
            registry: Registry::from_env().py_err()?,
        })
    }

    /// The accounts of a TOML config file (`[accounts.NAME]` tables).
    #[staticmethod]
    fn from_toml(path: PathBuf) -> PyResult<PyRegistry> {
        Ok(PyRegistry {
            registry: Registry::from_config_file(&path).py_err()?,
        })
    }

    /// The account names, sorted.
    fn names(&self) -> Vec<String> {
        self.registry.accounts().map(|a| a.name.clone()).collect()
    }

    /// The controller of account `name` (a `ConfigError` naming the
    /// accounts configured when there is none).
    fn get(&self, name: &str) -> PyResult<PyController> {
        let account = self.registry.get(name).py_err()?;
        Ok(PyController::from_account(account))
    }

    fn __len__(&self) -> usize {
        self.registry.len()
    }

    fn __repr__(&self) -> String {
        format!("Registry(accounts={:?})", self.names())
    }
}

/// What the background listing sends: a batch of runs, or the error that
/// ended it.
type Batch = jobstop::Result<Vec<jobstop::Run>>;

/// The most runs one batch holds.
const MAX_BATCH: usize = 1000;

/// A listing running on the runtime: a task follows the pages and hands
/// over batches through a channel of one, so at most about two pages are
/// held at a time. Dropping the listing (the Python iterator is closed or
/// collected) aborts the task, and with it any request in flight.
#[pyclass(frozen, module = "jobstop._jobstop", name = "Listing")]
pub(crate) struct PyListing {
    rx: Arc<Mutex<mpsc::Receiver<Batch>>>,
    task: tokio::task::AbortHandle,
}

impl PyListing {
    fn start(ctrl: Arc<dyn JobController>, q: ListQuery, limits: ListLimits) -> PyResult<Self> {
        let (tx, rx) = mpsc::channel::<Batch>(1);
        let task = runtime()?.spawn(async move {
            let mut runs = ctrl.list_all_with_limits(q, limits);
            while let Some(first) = runs.next().await {
                let mut batch = Vec::new();
                let mut failed = None;
                match first {
                    Ok(run) => batch.push(run),
                    Err(e) => failed = Some(e),
                }
                // The rest of the page is ready now: take it without waiting.
                while failed.is_none() && batch.len() < MAX_BATCH {
                    match runs.next().now_or_never() {
                        Some(Some(Ok(run))) => batch.push(run),
                        Some(Some(Err(e))) => failed = Some(e),
                        Some(None) | None => break,
                    }
                }
                if !batch.is_empty() && tx.send(Ok(batch)).await.is_err() {
                    return;
                }
                if let Some(e) = failed {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
        });
        Ok(PyListing {
            rx: Arc::new(Mutex::new(rx)),
            task: task.abort_handle(),
        })
    }

    async fn next(rx: Arc<Mutex<mpsc::Receiver<Batch>>>) -> Result<RunsOut, Fail> {
        match rx.lock().await.recv().await {
            Some(batch) => batch.fail().map(RunsOut),
            None => Ok(RunsOut(Vec::new())),
        }
    }
}

impl Drop for PyListing {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[pymethods]
impl PyListing {
    /// The next batch of runs (a list); empty once the listing has ended.
    fn next_batch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, Self::next(Arc::clone(&self.rx)))
    }

    /// Like `next_batch`, blocking.
    fn next_batch_blocking<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rx = Arc::clone(&self.rx);
        let batch = block_on(py, Self::next(rx))?;
        batch.into_pyobject(py).map(Bound::into_any)
    }

    /// Ends the listing now (also done when it is collected).
    fn close(&self) {
        self.task.abort();
    }
}
