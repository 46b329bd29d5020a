//! The one error type every controller returns.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::run::ParseRunStateError;
use crate::{RunId, RunState, Vendor};

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, independent of the vendor.
///
/// New kinds may be added in minor releases, so match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Credentials are missing, wrong or expired (HTTP 401, or a failed login).
    Unauthenticated,
    /// The credentials are valid but not allowed to do this (HTTP 403).
    PermissionDenied,
    /// The run (or the account, job or workspace it lives in) does not exist.
    NotFound,
    /// The request was refused as malformed: a bad run id, a bad filter, a vendor 400.
    InvalidInput,
    /// The request conflicts with the current state of the run (HTTP 409).
    Conflict,
    /// The vendor throttled us and retries did not get through (HTTP 429).
    RateLimited,
    /// The vendor is down or failing (HTTP 5xx).
    Unavailable,
    /// A deadline passed: a per-attempt timeout, the retry budget, or a wait.
    Timeout,
    /// The connection failed: refused, reset, closed early, TLS or DNS failure.
    Transport,
    /// The vendor answered something we cannot use: bad JSON, a missing field,
    /// an HTML page, a body over the size cap.
    InvalidResponse,
    /// The operation is not supported by this controller or vendor.
    Unsupported,
    /// The controller is misconfigured: a missing setting, a bad base URL.
    Config,
    /// The vendor refused a stop it understood, because of the run's state
    /// or its own rules (e.g. DataArts `DLF.0102` for a paused instance):
    /// a vendor's 4xx answer to a stop that is not about credentials,
    /// existence, a conflict or throttling. Not the caller's mistake
    /// ([`InvalidInput`](Self::InvalidInput) is for input refused before
    /// anything was sent), and not worth retrying as is.
    Refused,
    /// A listing was ended by one of its bounds ([`ListLimits`](crate::ListLimits)):
    /// it still had a next page after its page budget or its deadline, or a
    /// page made no progress (a cursor handed out before, or exactly the runs
    /// of the page before). [`Error::list_bound`] says which.
    EndlessListing,
}

impl ErrorKind {
    /// A short lowercase description, used in `Display`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::NotFound => "not found",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport error",
            ErrorKind::InvalidResponse => "invalid response",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Config => "configuration error",
            ErrorKind::Refused => "refused by the vendor",
            ErrorKind::EndlessListing => "endless listing",
        }
    }

    /// The kind's stable snake_case name (`not_found`, `rate_limited`, …),
    /// for machine-read output: the CLI's JSON, the Python exceptions' `kind`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Config => "config",
            ErrorKind::Refused => "refused",
            ErrorKind::EndlessListing => "endless_listing",
        }
    }

    /// Whether an error of this kind is, by default, worth retrying later.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited
                | ErrorKind::Unavailable
                | ErrorKind::Timeout
                | ErrorKind::Transport
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The operation an error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`JobController::list`](crate::JobController::list).
    List,
    /// [`JobController::status`](crate::JobController::status).
    Status,
    /// [`JobController::stop`](crate::JobController::stop).
    Stop,
    /// Logging in or fetching an access token.
    Authenticate,
    /// Waiting for a stopped run to reach a terminal state.
    Wait,
    /// Building or configuring a controller.
    Configure,
}

impl Operation {
    /// The lowercase name of the operation.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::List => "list",
            Operation::Status => "status",
            Operation::Stop => "stop",
            Operation::Authenticate => "authenticate",
            Operation::Wait => "wait",
            Operation::Configure => "configure",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where and how an error happened. Every field is optional.
///
/// Nothing here ever holds a credential: adapters put paths, ids, statuses and
/// vendor messages here, never headers or request bodies.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ErrorContext {
    /// The vendor the controller talks to.
    pub vendor: Option<Vendor>,
    /// The operation that failed.
    pub operation: Option<Operation>,
    /// The run the operation was about.
    pub run_id: Option<RunId>,
    /// The HTTP status of the last response, if one arrived.
    pub http_status: Option<u16>,
    /// The vendor's own error code (e.g. `DLF.0100`).
    pub vendor_code: Option<String>,
    /// The vendor's own error message.
    pub vendor_message: Option<String>,
    /// The vendor's request id, for support tickets.
    pub request_id: Option<String>,
    /// How long the vendor asked us to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// How many attempts (HTTP requests or polls) were made.
    pub attempts: Option<u32>,
    /// How long the operation ran before it failed.
    pub elapsed: Option<Duration>,
    /// The last state seen, for waits that timed out.
    pub last_state: Option<RunState>,
    /// Which bound ended a listing, for [`ErrorKind::EndlessListing`].
    pub list_bound: Option<ListBound>,
    /// An attempt of this call was sent and may have reached the vendor (and
    /// taken effect), but its answer never arrived: the connection died after
    /// the request was sent, or the attempt timed out. A later refusal of the
    /// same stop may then be the vendor refusing to stop what that attempt
    /// already stopped (see [`StopOutcome::after_refusal`](crate::StopOutcome::after_refusal)).
    pub unanswered_attempt: bool,
}

/// Which bound of a listing ([`ListLimits`](crate::ListLimits)) ended it with
/// [`ErrorKind::EndlessListing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListBound {
    /// The page budget: this many pages were read and the listing still
    /// named a next page.
    Pages(u64),
    /// The deadline: the listing had not ended this long after its first
    /// page was asked for.
    Deadline(Duration),
    /// A page made no progress: its next cursor is one the listing had
    /// already followed, or it held exactly the runs of the page before it.
    NoProgress,
}

impl ListBound {
    /// A short lowercase name: `pages`, `deadline` or `no_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListBound::Pages(_) => "pages",
            ListBound::Deadline(_) => "deadline",
            ListBound::NoProgress => "no_progress",
        }
    }
}

/// The error every jobstop operation returns.
///
/// `Display` is one line: where it happened, what kind of failure, the vendor's
/// status, code, message and request id. The underlying cause, if any, is in
/// [`source`](std::error::Error::source).
///
/// ```
/// use jobstop_core::{Error, ErrorKind, Operation, RunId, Vendor};
///
/// let err = Error::new(ErrorKind::NotFound, "no such workflow run")
///     .with_vendor(Vendor::AMPERITY)
///     .with_operation(Operation::Status)
///     .with_run_id(RunId::new("wf-1"))
///     .with_http_status(404);
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert!(!err.is_retryable());
/// assert_eq!(
///     err.to_string(),
///     "amperity status wf-1: not found: no such workflow run (HTTP 404)"
/// );
/// ```
#[derive(thiserror::Error)]
#[error("{}", OneLine::new(.kind, .message, .context))]
pub struct Error {
    kind: ErrorKind,
    message: String,
    retryable: bool,
    context: Box<ErrorContext>,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a short message (no secrets, no trailing period).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            retryable: kind.is_retryable(),
            context: Box::default(),
            source: None,
        }
    }

    /// Shorthand for an [`ErrorKind::InvalidInput`] error.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for an [`ErrorKind::InvalidResponse`] error.
    pub fn invalid_response(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidResponse, message)
    }

    /// Shorthand for an [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// Shorthand for an [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported, message)
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message given when the error was made.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the same call may succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// Where and how the error happened.
    pub fn context(&self) -> &ErrorContext {
        &self.context
    }

    /// The vendor, if known.
    pub fn vendor(&self) -> Option<&Vendor> {
        self.context.vendor.as_ref()
    }

    /// The operation, if known.
    pub fn operation(&self) -> Option<Operation> {
        self.context.operation
    }

    /// The run id, if the error is about one run.
    pub fn run_id(&self) -> Option<&RunId> {
        self.context.run_id.as_ref()
    }

    /// The HTTP status of the last response, if one arrived.
    pub fn http_status(&self) -> Option<u16> {
        self.context.http_status
    }

    /// The vendor's error code, if it sent one.
    pub fn vendor_code(&self) -> Option<&str> {
        self.context.vendor_code.as_deref()
    }

    /// The vendor's error message, if it sent one.
    pub fn vendor_message(&self) -> Option<&str> {
        self.context.vendor_message.as_deref()
    }

    /// The vendor's request id, if it sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.context.request_id.as_deref()
    }

    /// How long the vendor asked us to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.context.retry_after
    }

    /// Which bound ended a listing, for [`ErrorKind::EndlessListing`].
    pub fn list_bound(&self) -> Option<ListBound> {
        self.context.list_bound
    }

    /// Sets which bound ended a listing.
    pub fn with_list_bound(mut self, bound: ListBound) -> Self {
        self.context.list_bound = Some(bound);
        self
    }

    /// Overrides whether the error is retryable.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// Changes the kind (and resets the retryable flag to the kind's default).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self.retryable = kind.is_retryable();
        self
    }

    /// Sets the vendor.
    pub fn with_vendor(mut self, vendor: Vendor) -> Self {
        self.context.vendor = Some(vendor);
        self
    }

    /// Sets the operation.
    pub fn with_operation(mut self, operation: Operation) -> Self {
        self.context.operation = Some(operation);
        self
    }

    /// Sets the run id.
    pub fn with_run_id(mut self, id: RunId) -> Self {
        self.context.run_id = Some(id);
        self
    }

    /// Sets the HTTP status.
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.context.http_status = Some(status);
        self
    }

    /// Sets the vendor's error code.
    pub fn with_vendor_code(mut self, code: impl Into<String>) -> Self {
        self.context.vendor_code = Some(code.into());
        self
    }

    /// Sets the vendor's error message.
    pub fn with_vendor_message(mut self, message: impl Into<String>) -> Self {
        self.context.vendor_message = Some(message.into());
        self
    }

    /// Sets the vendor's request id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.context.request_id = Some(id.into());
        self
    }

    /// Sets the delay the vendor asked for.
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.context.retry_after = Some(delay);
        self
    }

    /// Sets how many attempts were made.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.context.attempts = Some(attempts);
        self
    }

    /// Sets how long the operation ran.
    pub fn with_elapsed(mut self, elapsed: Duration) -> Self {
        self.context.elapsed = Some(elapsed);
        self
    }

    /// Sets the last state seen.
    pub fn with_last_state(mut self, state: RunState) -> Self {
        self.context.last_state = Some(state);
        self
    }

    /// Fills in vendor, operation and run id where they are not set yet.
    ///
    /// Adapters call this once at their boundary so every error says where it
    /// happened without each call site repeating it.
    pub fn in_context(mut self, vendor: &Vendor, operation: Operation, id: Option<&RunId>) -> Self {
        if self.context.vendor.is_none() {
            self.context.vendor = Some(vendor.clone());
        }
        if self.context.operation.is_none() {
            self.context.operation = Some(operation);
        }
        if self.context.run_id.is_none() {
            self.context.run_id = id.cloned();
        }
        self
    }

    /// Sets the underlying cause, returned by `source()`.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Sets the underlying cause from a boxed error.
    pub fn with_boxed_source(mut self, source: Box<dyn StdError + Send + Sync + 'static>) -> Self {
        self.source = Some(source);
        self
    }
}

/// Lost answers and shared failures.
impl Error {
    /// Whether an attempt of this call was sent and may have reached the
    /// vendor without its answer arriving (see
    /// [`ErrorContext::unanswered_attempt`]).
    pub fn had_unanswered_attempt(&self) -> bool {
        self.context.unanswered_attempt
    }

    /// Marks that an attempt of this call may have reached the vendor and
    /// its answer was lost.
    pub fn with_unanswered_attempt(mut self) -> Self {
        self.context.unanswered_attempt = true;
        self
    }

    /// A copy of this error for another caller that waited on the same
    /// failed operation (one token fetch shared by concurrent calls): the
    /// same kind, message, retryable flag and context; the cause is kept as
    /// its text.
    pub fn shared_copy(&self) -> Error {
        Error {
            kind: self.kind,
            message: self.message.clone(),
            retryable: self.retryable,
            context: self.context.clone(),
            source: self
                .source
                .as_ref()
                .map(|s| Box::new(CauseText(s.to_string())) as Box<dyn StdError + Send + Sync>),
        }
    }
}

/// The text of a cause, for [`Error::shared_copy`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct CauseText(String);

/// The one-line rendering of an [`Error`], its `Display`: where it happened,
/// the kind and message, then the details in parentheses.
struct OneLine<'a> {
    kind: ErrorKind,
    message: &'a str,
    context: &'a ErrorContext,
}

impl<'a> OneLine<'a> {
    fn new(kind: &ErrorKind, message: &'a str, context: &'a ErrorContext) -> Self {
        OneLine {
            kind: *kind,
            message,
            context,
        }
    }
}

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.context;
        let mut wrote_where = false;
        if let Some(v) = &c.vendor {
            write!(f, "{v}")?;
            wrote_where = true;
        }
        if let Some(op) = c.operation {
            if wrote_where {
                f.write_str(" ")?;
            }
            write!(f, "{op}")?;
            wrote_where = true;
        }
        if let Some(id) = &c.run_id {
            if wrote_where {
                f.write_str(" ")?;
            }
            write!(f, "{}", id.escape_for_display())?;
            wrote_where = true;
        }
        if wrote_where {
            f.write_str(": ")?;
        }
        write!(f, "{}", self.kind)?;
        if !self.message.is_empty() {
            write!(f, ": {}", one_line(self.message))?;
        }
        let mut details: Vec<String> = Vec::new();
        if let Some(s) = c.http_status {
            details.push(format!("HTTP {s}"));
        }
        if let Some(code) = &c.vendor_code {
            details.push(format!("code {}", one_line(code)));
        }
        if let Some(m) = &c.vendor_message
            && m != self.message
        {
            details.push(format!("vendor says {:?}", one_line(m)));
        }
        if let Some(r) = &c.request_id {
            details.push(format!("request id {}", one_line(r)));
        }
        if let Some(d) = c.retry_after {
            details.push(format!("retry after {}", fmt_duration(d)));
        }
        if let Some(a) = c.attempts {
            details.push(format!("{a} attempt{}", if a == 1 { "" } else { "s" }));
        }
        if let Some(e) = c.elapsed {
            details.push(format!("after {}", fmt_duration(e)));
        }
        if let Some(s) = c.last_state {
            details.push(format!("last state {s}"));
        }
        if c.unanswered_attempt {
            details
                .push("an earlier attempt may have reached the vendor, its answer was lost".into());
        }
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind)
            .field("message", &self.message)
            .field("retryable", &self.retryable)
            .field("context", &self.context);
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        d.finish()
    }
}

/// Keeps `Display` on one line whatever a vendor put in its message.
fn one_line(s: &str) -> String {
    const MAX: usize = 300;
    let mut out = String::with_capacity(s.len().min(MAX));
    for (count, ch) in s.chars().enumerate() {
        if count >= MAX {
            out.push('…');
            break;
        }
        out.push(if ch.is_control() { ' ' } else { ch });
    }
    out
}

pub(crate) fn fmt_duration(d: Duration) -> String {
    if d.as_secs() >= 1 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}

impl From<ParseRunStateError> for Error {
    fn from(e: ParseRunStateError) -> Self {
        Error::invalid_input(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_context() {
        let e = Error::new(ErrorKind::RateLimited, "too many requests\nslow down")
            .with_vendor(Vendor::DATAARTS)
            .with_operation(Operation::Stop)
            .with_run_id(RunId::new("job/7"))
            .with_http_status(429)
            .with_vendor_code("APIGW.0308")
            .with_request_id("req-1")
            .with_retry_after(Duration::from_secs(2))
            .with_attempts(4);
        let s = e.to_string();
        assert!(!s.contains('\n'), "{s}");
        assert_eq!(
            s,
            "dataarts stop job/7: rate limited: too many requests slow down \
             (HTTP 429, code APIGW.0308, request id req-1, retry after 2.0s, 4 attempts)"
        );
        assert!(e.is_retryable());
    }

    #[test]
    fn run_id_with_control_chars_stays_on_one_line() {
        let e = Error::invalid_input("bad id").with_run_id(RunId::new("a\r\nb"));
        assert!(!e.to_string().contains('\n'));
        assert!(!e.to_string().contains('\r'));
    }

    #[test]
    fn source_is_kept() {
        let io = std::io::Error::other("boom");
        let e = Error::new(ErrorKind::Transport, "connection reset").with_source(io);
        assert_eq!(
            StdError::source(&e).map(|s| s.to_string()),
            Some("boom".into())
        );
    }

    #[test]
    fn the_source_chain_goes_through_nested_errors() {
        let inner = Error::new(ErrorKind::Transport, "connection reset")
            .with_source(std::io::Error::other("os error 104"));
        let outer = Error::new(ErrorKind::Unavailable, "gave up").with_source(inner);
        let mut chain = Vec::new();
        let mut next: Option<&(dyn StdError + 'static)> = Some(&outer);
        while let Some(e) = next {
            chain.push(e.to_string());
            next = e.source();
        }
        assert_eq!(
            chain,
            [
                "unavailable: gave up",
                "transport error: connection reset",
                "os error 104"
            ]
        );
        assert!(StdError::source(&Error::invalid_input("x")).is_none());
    }

    #[test]
    fn a_shared_copy_renders_the_same_and_keeps_its_cause_as_text() {
        let e = Error::new(ErrorKind::Unauthenticated, "login failed")
            .with_vendor(Vendor::CHORUS)
            .with_operation(Operation::Authenticate)
            .with_http_status(401)
            .with_source(std::io::Error::other("cause"));
        let copy = e.shared_copy();
        assert_eq!(copy.to_string(), e.to_string());
        let cause = StdError::source(&copy).expect("the cause is kept");
        assert_eq!(cause.to_string(), "cause");
        assert!(cause.source().is_none());
    }

    #[test]
    fn display_ignores_width_and_matches_the_one_line_rendering() {
        let e = Error::new(ErrorKind::NotFound, "no such run\r\n")
            .with_vendor(Vendor::AMPERITY)
            .with_vendor_message("Workflow not found")
            .with_unanswered_attempt();
        let s = e.to_string();
        assert_eq!(format!("{e:>200}"), s);
        assert_eq!(
            s,
            "amperity: not found: no such run   (vendor says \"Workflow not found\", \
             an earlier attempt may have reached the vendor, its answer was lost)"
        );
    }

    #[test]
    fn in_context_does_not_overwrite() {
        let e = Error::invalid_input("x")
            .with_operation(Operation::Authenticate)
            .in_context(&Vendor::CHORUS, Operation::Stop, Some(&RunId::new("5")));
        assert_eq!(e.operation(), Some(Operation::Authenticate));
        assert_eq!(e.vendor(), Some(&Vendor::CHORUS));
        assert_eq!(e.run_id().map(RunId::as_str), Some("5"));
    }

    #[test]
    fn retryable_defaults_by_kind() {
        for (k, r) in [
            (ErrorKind::Unauthenticated, false),
            (ErrorKind::PermissionDenied, false),
            (ErrorKind::NotFound, false),
            (ErrorKind::InvalidInput, false),
            (ErrorKind::Conflict, false),
            (ErrorKind::RateLimited, true),
            (ErrorKind::Unavailable, true),
            (ErrorKind::Timeout, true),
            (ErrorKind::Transport, true),
            (ErrorKind::InvalidResponse, false),
            (ErrorKind::Unsupported, false),
            (ErrorKind::Config, false),
            (ErrorKind::Refused, false),
            (ErrorKind::EndlessListing, false),
        ] {
            assert_eq!(Error::new(k, "x").is_retryable(), r, "{k:?}");
        }
    }
}
