//! The one Tokio runtime every call runs on, and the two ways Python waits
//! for it: an awaitable (asyncio) or a blocking call with the GIL released.

use std::future::Future;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyAny;

/// The shared multi-threaded runtime (pyo3-async-runtimes' own, started on
/// first use): asyncio awaitables and blocking calls both run on it, and so
/// do the simulators `jobstop.sim` starts.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// `fut` as an asyncio awaitable. Cancelling the awaiting task cancels the
/// returned future, which drops `fut` on the runtime: nothing more of it
/// runs, and no further request is sent.
pub(crate) fn awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, fut)
}

/// How often a blocking call looks for a pending signal (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Runs `fut` to completion on the shared runtime with the GIL released, so
/// other Python threads run meanwhile. A signal handler that raises (Ctrl-C's
/// `KeyboardInterrupt`) ends the call: `fut` is dropped and the exception
/// propagates.
pub(crate) fn block_on<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send,
    T: Send,
{
    py.detach(|| {
        runtime().block_on(async move {
            let mut fut = std::pin::pin!(fut);
            loop {
                tokio::select! {
                    out = &mut fut => return out,
                    _ = tokio::time::sleep(SIGNAL_CHECK) => {
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    })
}
