//! The native half of the Python package `jobstop` (its module
//! `jobstop._jobstop`): controllers, the registry, guards and simulators,
//! every call running on one shared Tokio runtime with the GIL released.
//! The Python half (`python/jobstop/`) gives it its public, typed face; see
//! this crate's README.

mod controller;
mod error;
mod guard;
mod model;
mod runtime;
mod sim;

use pyo3::prelude::*;

#[pymodule]
fn _jobstop(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<controller::PyController>()?;
    m.add_class::<controller::PyRegistry>()?;
    m.add_class::<controller::PyListing>()?;
    m.add_class::<guard::PyGuard>()?;
    m.add_class::<guard::PyGuardOutcome>()?;
    m.add_class::<model::PyRun>()?;
    m.add_class::<model::PyRunError>()?;
    m.add_class::<model::PyPage>()?;
    m.add_class::<model::PyStopOutcome>()?;
    m.add_class::<model::PyStopReport>()?;
    m.add_class::<model::PyStopResult>()?;
    m.add_class::<sim::PySims>()?;
    m.add_function(wrap_pyfunction!(controller::controller, m)?)?;
    m.add_function(wrap_pyfunction!(sim::start_sims, m)?)?;
    m.add_function(wrap_pyfunction!(sim::sim_vendors, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::at_exit, m)?)?;
    Ok(())
}
