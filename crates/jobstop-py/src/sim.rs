//! `jobstop.sim`: the embedded vendor simulators (real HTTP servers on
//! 127.0.0.1), started on the shared runtime, for users' own tests; and a
//! small view of what they received, for the package's tests.

use std::time::Duration;

use jobstop::AccountConfig;
use jobstop_sim::{AnySim, Fault, FaultRule, Route, Sims, SimsOptions};
use pyo3::prelude::*;
use serde_json::{Map, Value};

use crate::controller::{PyController, seconds};
use crate::error::{Fail, IntoPy, invalid_input};
use crate::runtime::{block_on, runtime};

/// Running simulators, one per vendor; they stop when `shutdown` is called
/// or this object is collected.
#[pyclass(frozen, module = "jobstop._jobstop", name = "Sims")]
pub(crate) struct PySims {
    sims: Sims,
}

impl Drop for PySims {
    fn drop(&mut self) {
        let _entered = runtime().ok().map(|rt| rt.enter());
        let sims = std::mem::take(&mut self.sims);
        drop(sims);
    }
}

impl PySims {
    fn sim(&self, vendor: &str) -> PyResult<&dyn AnySim> {
        self.sims.by_name(vendor).ok_or_else(|| {
            let started: Vec<&str> = self.sims.iter().map(|s| s.vendor()).collect();
            invalid_input(format!(
                "no simulator for {vendor:?} was started (started: {})",
                started.join(", ")
            ))
        })
    }
}

/// Starts the simulators of `vendors` (all when empty).
#[pyfunction]
#[pyo3(signature = (vendors, *, seed=1, running=5, finished=20, stop_delay=None, seeded_epoch=false))]
pub(crate) fn start_sims(
    py: Python<'_>,
    vendors: Vec<String>,
    seed: u64,
    running: usize,
    finished: usize,
    stop_delay: Option<f64>,
    seeded_epoch: bool,
) -> PyResult<PySims> {
    let mut opts = SimsOptions::default()
        .with_seed(seed)
        .with_population(running, finished);
    if let Some(d) = stop_delay {
        opts = opts.with_stop_delay(seconds("stop_delay", d)?);
    }
    if seeded_epoch {
        opts = opts.with_seeded_epoch();
    }
    let vendors: Vec<String> = if vendors.is_empty() {
        Sims::vendors().iter().map(|v| (*v).to_owned()).collect()
    } else {
        vendors
    };
    let sims = block_on(py, async move {
        Sims::start(&vendors, &opts)
            .await
            .map_err(|e| Fail::Jobstop(jobstop::Error::invalid_input(e.to_string())))
    })?;
    Ok(PySims { sims })
}

/// Every vendor with a simulator in this build.
#[pyfunction]
pub(crate) fn sim_vendors() -> Vec<&'static str> {
    Sims::vendors().to_vec()
}

#[pymethods]
impl PySims {
    /// The vendors started, in start order.
    fn vendors(&self) -> Vec<&'static str> {
        self.sims.iter().map(|s| s.vendor()).collect()
    }

    /// What a client of `vendor`'s simulator needs: its config settings.
    fn settings(&self, vendor: &str) -> PyResult<Vec<(&'static str, String)>> {
        Ok(self.sim(vendor)?.settings())
    }

    /// The `JOBSTOP_<VENDOR>_*` variables that point jobstop at every
    /// simulator (what `Registry.from_env()` reads).
    fn env(&self) -> PyResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        for sim in self.sims.iter() {
            if let Some(schema) = AccountConfig::schemas()
                .into_iter()
                .find(|s| s.vendor == sim.vendor())
            {
                out.extend(schema.env_lines(&sim.settings()).py_err()?);
            }
        }
        Ok(out)
    }

    /// A controller for `vendor`'s simulator.
    fn controller(&self, vendor: &str) -> PyResult<PyController> {
        let map: Map<String, Value> = self
            .sim(vendor)?
            .settings()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect();
        let account = AccountConfig::from_map(vendor, map)
            .and_then(|c| c.into_account(vendor))
            .py_err()?;
        Ok(PyController::from_account(&account))
    }

    /// The simulator's base URL.
    fn base_url(&self, vendor: &str) -> PyResult<String> {
        Ok(self.sim(vendor)?.base_url())
    }

    /// Every run id, in listing order.
    fn ids(&self, vendor: &str) -> PyResult<Vec<String>> {
        Ok(self.sim(vendor)?.ids())
    }

    /// The vendor's own state of run `id`.
    fn raw_state(&self, vendor: &str, id: &str) -> PyResult<Option<String>> {
        Ok(self.sim(vendor)?.raw_state(id))
    }

    /// Adds a new running run and returns its id.
    fn insert_running(&self, vendor: &str) -> PyResult<Option<String>> {
        Ok(self.sim(vendor)?.insert_running())
    }

    /// How many stop requests reached the vendor logic (for `id`, or for any).
    #[pyo3(signature = (vendor, id=None))]
    fn stop_requests(&self, vendor: &str, id: Option<&str>) -> PyResult<u64> {
        let sim = self.sim(vendor)?;
        Ok(match id {
            Some(id) => sim.stop_requests(id),
            None => sim.total_stop_requests(),
        })
    }

    /// The requests the API server received, as `(method, path, status)`
    /// (status `None` while an answer is in flight or was cut off).
    fn requests(&self, vendor: &str) -> PyResult<Vec<(String, String, Option<u16>)>> {
        Ok(self
            .sim(vendor)?
            .server()
            .requests()
            .into_iter()
            .map(|r| {
                let path = r.path().to_owned();
                (r.method, path, r.status)
            })
            .collect())
    }

    /// Forgets the requests received so far.
    fn clear_requests(&self, vendor: &str) -> PyResult<()> {
        self.sim(vendor)?.server().clear_requests();
        Ok(())
    }

    /// Makes the next `times` requests (`None`: all) whose path starts with
    /// `path_prefix` (and whose method is `method`, when given) answer with
    /// a fault: an HTTP `status` with the vendor's error body, an HTML page
    /// (`html=True`, with `status` or 200), or an added `latency` in seconds.
    #[pyo3(signature = (vendor, *, status=None, html=false, latency=None, path_prefix="/", method=None, times=None))]
    #[allow(clippy::too_many_arguments)]
    fn inject(
        &self,
        vendor: &str,
        status: Option<u16>,
        html: bool,
        latency: Option<f64>,
        path_prefix: &str,
        method: Option<&str>,
        times: Option<u64>,
    ) -> PyResult<()> {
        let sim = self.sim(vendor)?;
        let fault = match (status, html, latency) {
            (s, true, None) => Fault::html(s.unwrap_or(200)),
            (Some(s), false, None) => Fault::status(s),
            (None, false, Some(l)) => {
                let d: Duration = seconds("latency", l)?;
                Fault::latency_ms(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            }
            _ => {
                return Err(invalid_input(
                    "inject: give one of status=, html=True (with an optional status=) or latency=",
                ));
            }
        };
        let route = match method {
            Some(m) => Route::method_prefix(
                m.parse::<http::Method>()
                    .map_err(|_| invalid_input(format!("inject: bad method {m:?}")))?,
                path_prefix,
            ),
            None => Route::prefix(path_prefix),
        };
        let mut rule = FaultRule::new(route, fault);
        if let Some(n) = times {
            rule = rule.times(n);
        }
        sim.faults().add(rule);
        Ok(())
    }

    /// Removes every injected fault.
    fn clear_faults(&self, vendor: &str) -> PyResult<()> {
        self.sim(vendor)?.faults().clear();
        Ok(())
    }

    /// Stops every simulator.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        block_on(py, async {
            self.sims.shutdown().await;
            Ok::<_, Fail>(())
        })
    }

    fn __repr__(&self) -> String {
        let parts: Vec<String> = self
            .sims
            .iter()
            .map(|s| format!("{}={}", s.vendor(), s.base_url()))
            .collect();
        format!("Sims({})", parts.join(", "))
    }
}
