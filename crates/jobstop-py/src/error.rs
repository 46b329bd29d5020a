//! jobstop's errors as Python exceptions: one class per [`ErrorKind`] under
//! `jobstop.Error` (defined in `jobstop/errors.py`), each carrying the
//! error's context.

use jobstop::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

/// The Python class (in `jobstop.errors`) of an error of `kind`.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Unauthenticated => "AuthError",
        ErrorKind::PermissionDenied => "PermissionDenied",
        ErrorKind::NotFound => "NotFound",
        ErrorKind::InvalidInput => "InvalidInput",
        ErrorKind::Conflict => "Conflict",
        ErrorKind::RateLimited => "RateLimited",
        ErrorKind::Unavailable => "Unavailable",
        ErrorKind::Timeout => "Timeout",
        ErrorKind::Transport => "TransportError",
        ErrorKind::InvalidResponse => "InvalidResponse",
        ErrorKind::Unsupported => "Unsupported",
        ErrorKind::Config => "ConfigError",
        ErrorKind::Refused => "Refused",
        ErrorKind::EndlessListing => "EndlessListing",
        _ => "Error",
    }
}

/// `e` as an instance of its `jobstop.errors` class. Its text is the
/// error's `Display` (one line, never a secret); the context is in
/// attributes.
pub(crate) fn to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    match build(py, e) {
        Ok(err) => err,
        Err(failed) => failed,
    }
}

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let module = py.import("jobstop.errors")?;
    let class = module
        .getattr(class_name(e.kind()))?
        .cast_into::<PyType>()?;
    let kw = PyDict::new(py);
    kw.set_item("kind", e.kind().name())?;
    kw.set_item("vendor", e.vendor().map(|v| v.as_str().to_owned()))?;
    kw.set_item("operation", e.operation().map(|o| o.as_str()))?;
    kw.set_item("run_id", e.run_id().map(|id| id.as_str().to_owned()))?;
    kw.set_item("http_status", e.http_status())?;
    kw.set_item("vendor_code", e.vendor_code())?;
    kw.set_item("request_id", e.request_id())?;
    kw.set_item("retryable", e.is_retryable())?;
    kw.set_item("retry_after", e.retry_after().map(|d| d.as_secs_f64()))?;
    kw.set_item("last_state", e.context().last_state.map(|s| s.as_str()))?;
    let instance = class.call((e.to_string(),), Some(&kw))?;
    Ok(PyErr::from_value(instance))
}

/// `e` as a Python exception, taking the GIL (for futures running on the
/// runtime without it).
pub(crate) fn raise(e: Error) -> PyErr {
    Python::attach(|py| to_pyerr(py, &e))
}

/// Shorthand: a jobstop result as a Python one (with the GIL held).
pub(crate) trait IntoPy<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for jobstop::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(raise)
    }
}

/// How a call running on the runtime failed: turned into a Python exception
/// only once the GIL is held (runtime threads do not take it for that).
#[derive(Debug)]
pub(crate) enum Fail {
    /// jobstop's error.
    Jobstop(Error),
    /// Already a Python exception.
    Py(PyErr),
}

impl Fail {
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Fail::Jobstop(e) => to_pyerr(py, &e),
            Fail::Py(e) => e,
        }
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Jobstop(e)
    }
}

impl From<PyErr> for Fail {
    fn from(e: PyErr) -> Self {
        Fail::Py(e)
    }
}

/// A jobstop result as one a runtime thread can hand over.
pub(crate) trait Failing<T> {
    fn fail(self) -> Result<T, Fail>;
}

impl<T> Failing<T> for jobstop::Result<T> {
    fn fail(self) -> Result<T, Fail> {
        self.map_err(Fail::Jobstop)
    }
}

/// An `InvalidInput` error raised before anything is sent (a bad argument).
pub(crate) fn invalid_input(message: impl Into<String>) -> PyErr {
    raise(Error::invalid_input(message))
}
