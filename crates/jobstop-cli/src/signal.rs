//! SIGINT and SIGTERM while stops are being made.
//!
//! Commands that stop runs listen for both once they are about to send the
//! first stop. The first signal asks the command to start no new stop, let
//! the stops in flight finish for at most [`GRACE`], print what it knows and
//! exit 130; a second signal ends it at once.

use std::time::Duration;

/// How long the stops in flight may still take after the first signal.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// The interrupting signals, once listened for. Before [`Interrupts::listen`]
/// SIGINT and SIGTERM end the process as usual (nothing has been stopped yet
/// then); afterwards they only arrive here.
pub(crate) struct Interrupts {
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    /// Starts listening for SIGINT and SIGTERM. A signal that cannot be
    /// listened for keeps its default action (it ends the process).
    pub(crate) fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Interrupts {
                int: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Interrupts {}
        }
    }

    /// The next SIGINT or SIGTERM: its name.
    pub(crate) async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        if s.recv().await.is_none() {
                            std::future::pending::<()>().await;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = next(&mut self.int) => "SIGINT",
                () = next(&mut self.term) => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            }
        }
    }
}
