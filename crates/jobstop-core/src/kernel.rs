//! The adapter kernel: one implementation of [`JobController`] for every
//! vendor, on top of a [`Protocol`] that holds only what is the vendor's own.
//!
//! A vendor crate implements [`Protocol`]: its id grammar, the stop options
//! it accepts, its capabilities, and how to list one page, read one run and
//! request one stop. [`Kernel`] owns every rule that is the same for all
//! vendors, once:
//!
//! - ids are checked ([`Protocol::parse_id`]) and stop options compared with
//!   [`Protocol::STOP_OPTIONS`] before any request;
//! - a [`StopMode::Force`] is refused when the capabilities say there is no
//!   forced stop;
//! - every `list` runs [`Capabilities::check_query`], refuses an empty
//!   cursor, and drops runs the query does not match (so a lenient server
//!   cannot leak non-matching runs through);
//! - `status` checks that the run read back is the run asked for;
//! - a stop the vendor refused ([`Protocol::is_refusal`]) is followed by one
//!   read of the run, and [`StopOutcome::after_refusal`] says what happened
//!   (a refusal on a finished run is [`StopOutcome::AlreadyFinished`]; on a
//!   run the read-back does not find, the refusal as
//!   [`ErrorKind::NotFound`]);
//! - a stop accepted without an answer that shows the run
//!   ([`StopAnswer::Accepted`]) is followed by one read of the run;
//! - every error leaves with its context: vendor, operation and run id.
//!
//! ```
//! use jobstop_core::kernel::{Kernel, Protocol, StopAnswer};
//! use jobstop_core::{
//!     async_trait, Capabilities, Error, JobController, ListQuery, Page, Result, Run, RunId,
//!     RunState, StopRequest, Vendor,
//! };
//!
//! /// A vendor whose only run is "1", always running.
//! #[derive(Debug)]
//! struct Toy;
//!
//! #[async_trait]
//! impl Protocol for Toy {
//!     type Target = ();
//!     const VENDOR: Vendor = Vendor::IN_MEMORY;
//!     fn capabilities(&self) -> Capabilities {
//!         Capabilities::new()
//!     }
//!     fn parse_id(&self, id: &RunId) -> Result<()> {
//!         match id.as_str() {
//!             "" => Err(Error::invalid_input("an id is not empty")),
//!             _ => Ok(()),
//!         }
//!     }
//!     async fn list_page(&self, _query: &ListQuery) -> Result<Page> {
//!         Ok(Page::new(vec![running("1")], None))
//!     }
//!     async fn read(&self, id: &RunId, _target: &()) -> Result<Run> {
//!         match id.as_str() {
//!             "1" => Ok(running("1")),
//!             _ => Err(Error::new(jobstop_core::ErrorKind::NotFound, "no such run")),
//!         }
//!     }
//!     async fn request_stop(&self, _id: &RunId, _t: &(), _r: &StopRequest) -> Result<StopAnswer> {
//!         Ok(StopAnswer::Accepted)
//!     }
//! }
//!
//! fn running(id: &str) -> Run {
//!     Run::new(Vendor::IN_MEMORY, RunId::new(id), RunState::Running, "running")
//! }
//!
//! # tokio_test(async {
//! let controller = Kernel::new(Toy);
//! // The kernel refuses what the protocol's capabilities say it cannot do…
//! let err = controller.stop(&RunId::new("1"), &StopRequest::force()).await.unwrap_err();
//! assert_eq!(err.kind(), jobstop_core::ErrorKind::Unsupported);
//! // …and names where every error happened.
//! let err = controller.status(&RunId::new("2")).await.unwrap_err();
//! assert_eq!(err.run_id(), Some(&RunId::new("2")));
//! assert_eq!(err.operation(), Some(jobstop_core::Operation::Status));
//! # });
//! # fn tokio_test(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

use std::fmt;
use std::ops::Deref;

use async_trait::async_trait;

use crate::{
    Capabilities, Error, ErrorKind, JobController, ListQuery, Operation, Page, Result, Run, RunId,
    RunState, StopMode, StopOutcome, StopRequest, Vendor,
};

/// What a vendor adapter writes: its protocol, and nothing else.
///
/// [`Kernel`] turns a `Protocol` into a [`JobController`]. The methods here
/// receive ids already checked and queries already checked against the
/// capabilities; they return errors without context (the kernel adds the
/// vendor, the operation and the run id).
#[async_trait]
pub trait Protocol: fmt::Debug + Send + Sync + 'static {
    /// A run id parsed into what the protocol addresses (a number, a job
    /// name and an instance number, …). `()` when the id is used as it is.
    type Target: Send + Sync;

    /// The option keys [`StopRequest::options`] may carry; anything else is
    /// refused before a request.
    const STOP_OPTIONS: &'static [&'static str] = &[];

    /// The vendor this protocol talks to.
    const VENDOR: Vendor;

    /// What the vendor supports. The kernel refuses a forced stop when
    /// [`Capabilities::force_stop`] is false and a query that uses a filter
    /// the capabilities call unsupported.
    fn capabilities(&self) -> Capabilities;

    /// Checks an id's grammar and parses it, without a request. A malformed
    /// id is [`ErrorKind::InvalidInput`].
    fn parse_id(&self, id: &RunId) -> Result<Self::Target>;

    /// One page of runs. The kernel has checked the query against the
    /// capabilities and drops runs that do not match it afterwards.
    async fn list_page(&self, query: &ListQuery) -> Result<Page>;

    /// Reads one run. An id the vendor does not know is
    /// [`ErrorKind::NotFound`].
    async fn read(&self, id: &RunId, target: &Self::Target) -> Result<Run>;

    /// Sends one stop request. A refusal is returned as the error it is;
    /// the kernel reads the run back when [`is_refusal`](Self::is_refusal)
    /// says so.
    async fn request_stop(
        &self,
        id: &RunId,
        target: &Self::Target,
        request: &StopRequest,
    ) -> Result<StopAnswer>;

    /// The pacer the protocol's HTTP client waits on before each request
    /// ([`JobController::pacer`]). Default: none.
    fn pacer(&self) -> Option<crate::layer::Pacer> {
        None
    }

    /// Whether a stop's error is the vendor refusing to stop the run (so the
    /// run is read back to see whether it had already finished). Default: a
    /// conflict (409) or a 400.
    fn is_refusal(&self, error: &Error) -> bool {
        error.kind() == ErrorKind::Conflict || error.http_status() == Some(400)
    }

    /// The run reported when a stop was accepted but reading the run back
    /// failed: state unknown, nothing else known. Override to fill in what
    /// the id alone says (its kind).
    fn unread_run(&self, id: &RunId, _target: &Self::Target) -> Run {
        Run::new(Self::VENDOR, id.clone(), RunState::Unknown, "")
    }
}

/// What a vendor answered to an accepted stop.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// Built once per stop and matched at once: boxing the outcome would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum StopAnswer {
    /// The vendor accepted the stop and its answer does not show the run
    /// (e.g. 204): the kernel reads the run back to report where it is.
    Accepted,
    /// The vendor's answer showed the run, and the protocol decided the
    /// outcome from it.
    Outcome(StopOutcome),
}

/// The one [`JobController`] implementation: a [`Protocol`] with the rules
/// every vendor shares.
///
/// `Kernel<P>` dereferences to `P`, so a vendor's own accessors (base URL,
/// tenant, …) are callable on the controller.
pub struct Kernel<P> {
    protocol: P,
}

impl<P: Protocol> Kernel<P> {
    /// A controller speaking `protocol`.
    pub fn new(protocol: P) -> Self {
        Kernel { protocol }
    }

    /// The protocol.
    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    fn in_context(&self, op: Operation, id: Option<&RunId>) -> impl Fn(Error) -> Error + '_ {
        let vendor = P::VENDOR;
        let id = id.cloned();
        move |e: Error| e.in_context(&vendor, op, id.as_ref())
    }

    async fn read_checked(&self, id: &RunId, target: &P::Target) -> Result<Run> {
        let run = self.protocol.read(id, target).await?;
        if run.id != *id {
            return Err(Error::invalid_response(format!(
                "asked for run {} and got {}",
                id.escape_for_display(),
                run.id.escape_for_display()
            )));
        }
        Ok(run)
    }

    /// A read made on behalf of a stop: its errors are the stop's.
    async fn read_for_stop(&self, id: &RunId, target: &P::Target) -> Result<Run> {
        self.read_checked(id, target).await.map_err(|e| {
            if e.operation() == Some(Operation::Status) {
                e.with_operation(Operation::Stop)
            } else {
                e
            }
        })
    }

    async fn stop_checked(
        &self,
        id: &RunId,
        target: &P::Target,
        request: &StopRequest,
    ) -> Result<StopOutcome> {
        request.check_options(P::STOP_OPTIONS)?;
        if request.mode == StopMode::Force && !self.protocol.capabilities().force_stop {
            return Err(Error::unsupported(format!(
                "{} has one stop call; there is no forced stop",
                P::VENDOR
            )));
        }
        match self.protocol.request_stop(id, target, request).await {
            Ok(StopAnswer::Outcome(outcome)) => Ok(outcome),
            Ok(StopAnswer::Accepted) => Ok(match self.read_for_stop(id, target).await {
                Ok(run) => match run.state {
                    RunState::Stopped => StopOutcome::Stopped(run),
                    s if s.is_terminal() => StopOutcome::AlreadyFinished(run),
                    _ => StopOutcome::Requested(run),
                },
                Err(e) => {
                    // The stop was accepted; only the read failed. Say so
                    // rather than report an error for a stop that happened.
                    tracing::debug!(
                        run_id = %id.escape_for_display(),
                        error = %e,
                        "reading the run after an accepted stop failed"
                    );
                    StopOutcome::Requested(self.protocol.unread_run(id, target))
                }
            }),
            Err(refusal) if self.protocol.is_refusal(&refusal) => {
                match self.read_for_stop(id, target).await {
                    // A run that is gone is gone, whatever the stop said:
                    // the refusal stands (its status, the vendor's words),
                    // as NotFound, with the read-back as its cause.
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        Err(refusal.with_kind(ErrorKind::NotFound).with_source(e))
                    }
                    read => StopOutcome::after_refusal(read, refusal),
                }
            }
            Err(e) => Err(e),
        }
    }
}

impl<P> Deref for Kernel<P> {
    type Target = P;

    fn deref(&self) -> &P {
        &self.protocol
    }
}

impl<P: fmt::Debug> fmt::Debug for Kernel<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.protocol.fmt(f)
    }
}

#[async_trait]
impl<P: Protocol> JobController for Kernel<P> {
    fn vendor(&self) -> Vendor {
        P::VENDOR
    }

    fn capabilities(&self) -> Capabilities {
        self.protocol.capabilities()
    }

    fn pacer(&self) -> Option<crate::layer::Pacer> {
        self.protocol.pacer()
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        let ctx = self.in_context(Operation::List, None);
        self.protocol
            .capabilities()
            .check_query(query)
            .map_err(&ctx)?;
        if query.cursor.as_ref().is_some_and(|c| c.as_str().is_empty()) {
            return Err(ctx(Error::invalid_input("empty cursor")));
        }
        let mut page = self.protocol.list_page(query).await.map_err(&ctx)?;
        let listed = page.runs.len();
        page.runs.retain(|run| query.matches(run));
        if page.runs.len() != listed {
            // The vendor's total counted runs this page no longer holds.
            page.total = None;
        }
        Ok(page)
    }

    async fn status(&self, id: &RunId) -> Result<Run> {
        let ctx = self.in_context(Operation::Status, Some(id));
        let target = self.protocol.parse_id(id).map_err(&ctx)?;
        self.read_checked(id, &target).await.map_err(ctx)
    }

    async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome> {
        let ctx = self.in_context(Operation::Stop, Some(id));
        let target = self.protocol.parse_id(id).map_err(&ctx)?;
        self.stop_checked(id, &target, request).await.map_err(ctx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::Filtering;

    /// A protocol whose answers are set by the test, recording what reached it.
    #[derive(Debug, Default)]
    struct Script {
        state: Mutex<ScriptState>,
    }

    #[derive(Debug, Default)]
    struct ScriptState {
        /// The state `read` reports; `None`: not found.
        read: Option<RunState>,
        /// The id `read` reports, when not the one asked for.
        read_id: Option<&'static str>,
        /// What `request_stop` answers.
        stop: Option<std::result::Result<StopAnswer, (ErrorKind, u16)>>,
        requests: Vec<&'static str>,
        listed: Vec<Run>,
    }

    fn run(id: &str, state: RunState) -> Run {
        Run::new(Vendor::IN_MEMORY, RunId::new(id), state, state.as_str())
    }

    impl Script {
        fn with(f: impl FnOnce(&mut ScriptState)) -> Kernel<Script> {
            let s = Script::default();
            f(&mut s.state.lock().expect("lock"));
            Kernel::new(s)
        }
        fn requests(&self) -> Vec<&'static str> {
            self.state.lock().expect("lock").requests.clone()
        }
    }

    #[async_trait]
    impl Protocol for Script {
        type Target = ();
        const STOP_OPTIONS: &'static [&'static str] = &["reason"];

        const VENDOR: Vendor = Vendor::IN_MEMORY;
        fn capabilities(&self) -> Capabilities {
            Capabilities::new().with_name_filter(Filtering::Unsupported)
        }
        fn parse_id(&self, id: &RunId) -> Result<()> {
            if id.as_str().contains('/') {
                return Err(Error::invalid_input("no slashes"));
            }
            Ok(())
        }
        async fn list_page(&self, _query: &ListQuery) -> Result<Page> {
            let mut s = self.state.lock().expect("lock");
            s.requests.push("list");
            Ok(Page::new(s.listed.clone(), None).with_total(9))
        }
        async fn read(&self, id: &RunId, _target: &()) -> Result<Run> {
            let mut s = self.state.lock().expect("lock");
            s.requests.push("read");
            match s.read {
                Some(state) => Ok(run(s.read_id.unwrap_or(id.as_str()), state)),
                None => Err(Error::new(ErrorKind::NotFound, "gone")
                    .with_http_status(404)
                    .with_operation(Operation::Status)),
            }
        }
        async fn request_stop(&self, _id: &RunId, _t: &(), _r: &StopRequest) -> Result<StopAnswer> {
            let mut s = self.state.lock().expect("lock");
            s.requests.push("stop");
            match s.stop.clone().expect("a scripted stop") {
                Ok(answer) => Ok(answer),
                Err((kind, status)) => Err(Error::new(kind, "refused")
                    .with_http_status(status)
                    .with_operation(Operation::Stop)),
            }
        }
    }

    #[tokio::test]
    async fn checks_happen_before_any_request() {
        let k = Script::with(|_| {});
        let id = RunId::new("a/b");
        let e = k.status(&id).await.expect_err("bad id");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.run_id(), Some(&id));
        let ok = RunId::new("1");
        let e = k.stop(&ok, &StopRequest::force()).await.expect_err("force");
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        let e = k
            .stop(&ok, &StopRequest::graceful().with_option("nope", 1))
            .await
            .expect_err("option");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = k
            .list(&ListQuery::new().with_name_contains("x"))
            .await
            .expect_err("unsupported filter");
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(e.operation(), Some(Operation::List));
        assert_eq!(e.vendor(), Some(&Vendor::IN_MEMORY));
        let e = k
            .list(&ListQuery::new().with_cursor(crate::Cursor::new("")))
            .await
            .expect_err("empty cursor");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(k.requests().is_empty(), "{:?}", k.requests());
    }

    #[tokio::test]
    async fn list_drops_runs_the_query_does_not_match() {
        let k = Script::with(|s| {
            s.listed = vec![run("1", RunState::Running), run("2", RunState::Failed)];
        });
        let page = k
            .list(&ListQuery::new().with_state(RunState::Running))
            .await
            .expect("list");
        assert_eq!(page.runs.len(), 1);
        assert_eq!(
            page.total, None,
            "a total that counted a dropped run is gone"
        );
        let page = k.list(&ListQuery::new()).await.expect("list");
        assert_eq!((page.runs.len(), page.total), (2, Some(9)));
    }

    #[tokio::test]
    async fn status_refuses_another_run() {
        let k = Script::with(|s| {
            s.read = Some(RunState::Running);
            s.read_id = Some("other");
        });
        let e = k.status(&RunId::new("1")).await.expect_err("wrong run");
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        assert_eq!(e.operation(), Some(Operation::Status));
    }

    #[tokio::test]
    async fn a_refusal_on_a_finished_run_is_already_finished() {
        let k = Script::with(|s| {
            s.read = Some(RunState::Succeeded);
            s.stop = Some(Err((ErrorKind::Conflict, 409)));
        });
        let o = k.stop(&RunId::new("1"), &StopRequest::graceful()).await;
        assert_eq!(o.expect("outcome").as_str(), "already_finished");
        assert_eq!(k.requests(), ["stop", "read"]);
    }

    #[tokio::test]
    async fn a_refusal_on_a_running_run_is_refused() {
        let k = Script::with(|s| {
            s.read = Some(RunState::Running);
            s.stop = Some(Err((ErrorKind::InvalidInput, 400)));
        });
        let e = k
            .stop(&RunId::new("1"), &StopRequest::graceful())
            .await
            .expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Refused);
        assert_eq!(e.operation(), Some(Operation::Stop));
        assert_eq!(e.run_id(), Some(&RunId::new("1")));
    }

    #[tokio::test]
    async fn a_refusal_on_a_gone_run_is_not_found_and_is_the_stops() {
        let k = Script::with(|s| s.stop = Some(Err((ErrorKind::Conflict, 409))));
        let e = k
            .stop(&RunId::new("1"), &StopRequest::graceful())
            .await
            .expect_err("gone");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.operation(), Some(Operation::Stop));
    }

    #[tokio::test]
    async fn other_stop_errors_are_not_read_back() {
        let k = Script::with(|s| {
            s.read = Some(RunState::Succeeded);
            s.stop = Some(Err((ErrorKind::PermissionDenied, 403)));
        });
        let e = k
            .stop(&RunId::new("1"), &StopRequest::graceful())
            .await
            .expect_err("denied");
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(k.requests(), ["stop"]);
    }

    #[tokio::test]
    async fn an_accepted_stop_is_read_back_and_a_failed_read_still_reports_it() {
        let k = Script::with(|s| {
            s.read = Some(RunState::Stopping);
            s.stop = Some(Ok(StopAnswer::Accepted));
        });
        let o = k.stop(&RunId::new("1"), &StopRequest::graceful()).await;
        assert_eq!(o.expect("outcome").as_str(), "requested");
        let k = Script::with(|s| s.stop = Some(Ok(StopAnswer::Accepted)));
        let o = k
            .stop(&RunId::new("1"), &StopRequest::graceful())
            .await
            .expect("the stop was accepted");
        assert_eq!(o.as_str(), "requested");
        assert_eq!(o.run().state, RunState::Unknown);
        let k = Script::with(|s| {
            s.read = Some(RunState::Stopped);
            s.stop = Some(Ok(StopAnswer::Accepted));
        });
        let o = k.stop(&RunId::new("1"), &StopRequest::graceful()).await;
        assert_eq!(o.expect("outcome").as_str(), "stopped");
    }
}
