//! The one Tokio runtime every call runs on, and the two ways Python waits
//! for it: an asyncio awaitable, or a blocking call with the GIL released.
//!
//! The bridge to asyncio is written here rather than taken from
//! pyo3-async-runtimes: that crate completes a future by calling
//! `loop.call_soon_threadsafe` from a runtime thread, and when the program
//! ends right after its last await, that thread can still be inside Python
//! while the interpreter finalizes; CPython then ends the thread with
//! `pthread_exit`, whose unwinding drops Python objects without the GIL, and
//! the process crashed on exit (about one run in fifty of the examples).
//! Here every runtime thread counts itself in before touching Python and
//! gives up once the interpreter is exiting, and an `atexit` hook
//! ([`at_exit`]) waits, with the GIL released, for the threads inside to
//! leave.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::error::Fail;

/// The shared multi-threaded runtime, started on first use: asyncio
/// awaitables and blocking calls both run on it, and so do the simulators
/// `jobstop.sim` starts.
pub(crate) fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .thread_name("jobstop-runtime")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| PyRuntimeError::new_err(format!("jobstop could not start its runtime: {e}")))
}

/// Set once the interpreter is exiting: runtime threads no longer touch
/// Python.
static EXITING: AtomicBool = AtomicBool::new(false);
/// How many runtime threads are inside Python right now.
static INSIDE: AtomicUsize = AtomicUsize::new(0);

/// Runs `f` with the GIL on a runtime thread, unless the interpreter is
/// exiting (then `f` is not run).
fn with_python(f: impl FnOnce(Python<'_>)) {
    INSIDE.fetch_add(1, Ordering::SeqCst);
    if !EXITING.load(Ordering::SeqCst) {
        Python::attach(f);
    }
    INSIDE.fetch_sub(1, Ordering::SeqCst);
}

/// Registered with `atexit` by the package: from now on no runtime thread
/// enters Python, and the ones inside are waited for (at most a second),
/// with the GIL released so that they can leave.
#[pyfunction]
pub(crate) fn at_exit(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    py.detach(|| {
        let until = Instant::now() + Duration::from_secs(1);
        while INSIDE.load(Ordering::SeqCst) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Completes an asyncio future on its loop's thread (called through
/// `loop.call_soon_threadsafe`), unless it was cancelled meanwhile.
#[pyclass(frozen)]
struct Complete;

#[pymethods]
impl Complete {
    fn __call__(&self, fut: &Bound<'_, PyAny>, ok: bool, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut.call_method0("done")?.is_truthy()? {
            return Ok(());
        }
        let method = if ok { "set_result" } else { "set_exception" };
        fut.call_method1(method, (value,))?;
        Ok(())
    }
}

/// The done-callback of an awaitable's asyncio future: once the future is
/// done (cancelled, most to the point), the Rust task is aborted, which
/// drops its future at its next await: nothing more of it runs.
#[pyclass(frozen)]
struct Abort(tokio::task::AbortHandle);

#[pymethods]
impl Abort {
    fn __call__(&self, _fut: &Bound<'_, PyAny>) {
        self.0.abort();
    }
}

/// `fut` as an asyncio future of the running loop. Cancelling the awaiting
/// task cancels that future, which aborts the Rust task: `fut` is dropped
/// and sends nothing more.
pub(crate) fn awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, Fail>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let py_fut = event_loop.call_method0("create_future")?;
    let target = (event_loop.unbind(), py_fut.clone().unbind());
    let task = runtime()?.spawn(async move {
        let out = fut.await;
        with_python(move |py| {
            let (event_loop, py_fut) = target;
            let (ok, value) = match out {
                Ok(v) => match v.into_py_any(py) {
                    Ok(v) => (true, v),
                    Err(e) => (false, e.into_value(py).into_any()),
                },
                Err(e) => (false, e.into_pyerr(py).into_value(py).into_any()),
            };
            // Fails only when the loop is closed: nobody awaits any more.
            let _ = event_loop.bind(py).call_method1(
                "call_soon_threadsafe",
                (Complete, py_fut.bind(py), ok, value.bind(py)),
            );
        });
    });
    py_fut.call_method1("add_done_callback", (Abort(task.abort_handle()),))?;
    Ok(py_fut)
}

/// How often a blocking call looks for a pending signal (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Runs `fut` to completion on the shared runtime with the GIL released, so
/// other Python threads run meanwhile. A signal handler that raises (Ctrl-C's
/// `KeyboardInterrupt`) ends the call: `fut` is dropped and the exception
/// propagates.
pub(crate) fn block_on<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = Result<T, Fail>> + Send,
    T: Send,
{
    let rt = runtime()?;
    let out = py.detach(|| {
        rt.block_on(async move {
            let mut fut = std::pin::pin!(fut);
            loop {
                tokio::select! {
                    out = &mut fut => return out,
                    _ = tokio::time::sleep(SIGNAL_CHECK) => {
                        // This thread is the caller's, a Python thread.
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    });
    out.map_err(|e| e.into_pyerr(py))
}
