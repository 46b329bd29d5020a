//! Capturing `tracing` output, for tests that prove nothing secret is logged.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Captures every `tracing` event at TRACE level on the current thread while
/// it is alive, formatted as the `fmt` subscriber writes them.
///
/// Put a test that uses it in a test binary of its own: `tracing` decides per
/// call site whether anyone listens, and tests running at the same time on
/// other threads can make that decision before this subscriber exists.
///
/// ```
/// let logs = jobstop_testkit::LogCapture::start();
/// tracing::debug!(secret_free = true, "hello");
/// assert!(logs.contents().contains("hello"));
/// ```
pub struct LogCapture {
    buf: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct Writer(Arc<Mutex<Vec<u8>>>);

impl Write for Writer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Starts capturing on this thread.
    pub fn start() -> Self {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Writer(Arc::clone(&buf));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        LogCapture {
            buf,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Everything captured so far.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl std::fmt::Debug for LogCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCapture").finish_non_exhaustive()
    }
}
