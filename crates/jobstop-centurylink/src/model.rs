//! Runner wire types, run ids, and their mapping to [`Run`].

use chrono::{DateTime, TimeZone, Utc};
use jobstop_core::{Error, Result, Run, RunId, StopRequest, Vendor};
use jobstop_http::HttpResponse;
use jobstop_http::wire::{text, text_or_empty};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::state::map_state;

/// The kind of every run this adapter returns.
pub const KIND_EXECUTION: &str = "execution";

/// A run id `{jobId}/{executionId}`, split: what
/// [`CenturyLinkProtocol`](crate::CenturyLinkProtocol) addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionRef {
    pub(crate) job: String,
    pub(crate) execution: String,
}

impl ExecutionRef {
    /// The job id.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// The execution id.
    pub fn execution(&self) -> &str {
        &self.execution
    }
}

fn id_part_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The run id of execution `execution` of job `job`: `{job}/{execution}`,
/// the id [`status`](jobstop_core::JobController::status) and
/// [`stop`](jobstop_core::JobController::stop) take for a Runner execution.
///
/// Each part is 1 to 128 letters, digits, `-`, `_` or `.` (not `.` or `..`;
/// Runner ids are UUIDs). A part with anything else, `/` and `%` included,
/// is refused with an `InvalidInput` error rather than encoded: the parts go
/// into the request path as they are, so a part can never add a path
/// segment or change the request target.
///
/// ```
/// let id = jobstop_centurylink::execution_id(
///     "1111505e-6773-494a-b2bf-d2cc2684710d",
///     "44fdcfa2-6a7f-46d3-9f71-22e629e2358a",
/// )?;
/// assert_eq!(
///     id.as_str(),
///     "1111505e-6773-494a-b2bf-d2cc2684710d/44fdcfa2-6a7f-46d3-9f71-22e629e2358a"
/// );
/// assert!(jobstop_centurylink::execution_id("job/x", "1").is_err());
/// assert!(jobstop_centurylink::execution_id("job", "%2F").is_err());
/// # Ok::<(), jobstop_core::Error>(())
/// ```
pub fn execution_id(job: &str, execution: &str) -> Result<RunId> {
    if id_part_ok(job) && id_part_ok(execution) {
        Ok(RunId::new(format!("{job}/{execution}")))
    } else {
        Err(Error::invalid_input(
            "a CenturyLink job id and execution id are each 1 to 128 letters, digits, `-`, \
             `_` or `.` (Runner ids are UUIDs)",
        ))
    }
}

/// Parses `{jobId}/{executionId}`: two non-empty parts of letters, digits,
/// `-`, `_` and `.` (Runner ids are UUIDs).
pub(crate) fn parse_id(id: &RunId) -> Result<ExecutionRef> {
    let mut parts = id.as_str().split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(job), Some(execution), None) if id_part_ok(job) && id_part_ok(execution) => {
            Ok(ExecutionRef {
                job: job.to_owned(),
                execution: execution.to_owned(),
            })
        }
        _ => Err(Error::invalid_input(
            "a CenturyLink run id is `{jobId}/{executionId}`, e.g. \
             `1111505e-6773-494a-b2bf-d2cc2684710d/44fdcfa2-6a7f-46d3-9f71-22e629e2358a`",
        )),
    }
}

/// Whether a list goes on past page `page` of `size` items, given its
/// `totalSize` (a cursor's page numbers can be anything: no overflow).
pub(crate) fn more_after(page: u64, size: u64, total_size: u64) -> bool {
    page.saturating_add(1).saturating_mul(size) < total_size
}

/// The stop body: `{"expiryDuration":N}`, N from the request's
/// `expiryDuration` option (whole seconds, default 0).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StopBody {
    expiry_duration: u64,
}

impl StopBody {
    pub(crate) fn new(request: &StopRequest) -> Result<Self> {
        let expiry_duration = match request.options.get("expiryDuration") {
            None => 0,
            Some(v) => v.as_u64().ok_or_else(|| {
                Error::invalid_input("the expiryDuration stop option is a whole number of seconds")
            })?,
        };
        Ok(StopBody { expiry_duration })
    }
}

/// A page: `{"totalSize":N,"page":P,"size":S,"results":[…]}`, its items
/// kept as the body's bytes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunnerPage<'a> {
    pub(crate) total_size: u64,
    #[serde(default, borrow)]
    pub(crate) results: Vec<&'a RawValue>,
}

/// The login answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginAnswer {
    pub(crate) bearer_token: String,
    #[serde(default)]
    pub(crate) account_alias: Option<String>,
}

/// A Job object. Fields of another type than a string read as absent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Job {
    #[serde(default, deserialize_with = "text")]
    pub(crate) id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    description: Option<String>,
}

impl Job {
    /// A job document: a Job object, or a one-element array holding one (the
    /// shape of the "Get Job" example in `CenturyLinkCloud/PublicKB`
    /// `Runner/job-service.md`). Anything else is a job without fields.
    pub(crate) fn decode(doc: &RawValue) -> Job {
        let object = match doc.get().as_bytes().first() {
            Some(b'{') => Some(doc),
            Some(b'[') => match serde_json::from_str::<Vec<&RawValue>>(doc.get()) {
                Ok(items) => match items.as_slice() {
                    [one] if one.get().starts_with('{') => Some(*one),
                    _ => None,
                },
                Err(_) => None,
            },
            _ => None,
        };
        object
            .and_then(|o| serde_json::from_str(o.get()).ok())
            .unwrap_or_default()
    }

    /// The job's display name: `name`, else `description`.
    pub(crate) fn name(self) -> Option<String> {
        self.name.or(self.description)
    }
}

/// An execution document. Both key spellings are read (`execution_id` as in
/// the knowledge base, `executionId` as in the Runner JS SDK, or the list
/// example's `id`); times are kept undecoded until used, as only one of the
/// two timer shapes counts.
#[derive(Debug, Deserialize)]
struct Execution<'a> {
    #[serde(default, deserialize_with = "text")]
    execution_id: Option<String>,
    #[serde(default, rename = "executionId", deserialize_with = "text")]
    execution_id_camel: Option<String>,
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    job_id: Option<String>,
    #[serde(default, rename = "jobId", deserialize_with = "text")]
    job_id_camel: Option<String>,
    #[serde(default, deserialize_with = "text_or_empty")]
    status: Option<String>,
    #[serde(default, borrow)]
    timers: Option<&'a RawValue>,
    #[serde(default, borrow)]
    start: Option<&'a RawValue>,
    #[serde(default, borrow)]
    end: Option<&'a RawValue>,
}

type Time = DateTime<Utc>;

/// One timer: `{"start":ms,"end":ms}`.
#[derive(Debug, Default, Deserialize)]
struct Timer<'a> {
    #[serde(default, borrow)]
    start: Option<&'a RawValue>,
    #[serde(default, borrow)]
    end: Option<&'a RawValue>,
}

impl<'a> Execution<'a> {
    fn decode(doc: &'a RawValue) -> Result<Self> {
        if !doc.get().starts_with('{') {
            return Err(Error::invalid_response("an execution is not a JSON object"));
        }
        serde_json::from_str(doc.get()).map_err(|e| {
            Error::invalid_response(format!("an execution is not the expected JSON: {e}"))
        })
    }

    fn execution_id(&mut self) -> Option<String> {
        self.execution_id
            .take()
            .or(self.execution_id_camel.take())
            .or(self.id.take())
    }

    /// Creation and start are the first timer's start, the end is the last
    /// timer's end; without timers (absent, `null` or `[]`), the top-level
    /// `start` and `end`.
    fn times(&self) -> Result<(Option<Time>, Option<Time>)> {
        let Some(timers) = self.timers.filter(|t| t.get() != "null") else {
            return Ok((millis(self.start, "start")?, millis(self.end, "end")?));
        };
        let timers: Vec<&RawValue> = match timers.get().starts_with('[') {
            true => serde_json::from_str(timers.get()).map_err(|e| {
                Error::invalid_response(format!("execution timers are not the expected JSON: {e}"))
            })?,
            false => return Err(Error::invalid_response("execution timers is not an array")),
        };
        let (Some(first), Some(last)) = (timers.first(), timers.last()) else {
            return Ok((millis(self.start, "start")?, millis(self.end, "end")?));
        };
        Ok((
            millis(timer(first)?.start, "timer start")?,
            millis(timer(last)?.end, "timer end")?,
        ))
    }
}

/// A timer: an element that is not an object has no times.
fn timer(doc: &RawValue) -> Result<Timer<'_>> {
    if !doc.get().starts_with('{') {
        return Ok(Timer::default());
    }
    serde_json::from_str(doc.get()).map_err(|e| {
        Error::invalid_response(format!("an execution timer is not the expected JSON: {e}"))
    })
}

/// Epoch milliseconds: a JSON number (a fraction is cut off), absent or
/// `null`; anything else is an invalid answer.
fn millis(v: Option<&RawValue>, what: &str) -> Result<Option<DateTime<Utc>>> {
    let Some(v) = v else { return Ok(None) };
    let ms = serde_json::from_str::<Option<serde_json::Number>>(v.get())
        .ok()
        .map(|n| n.map(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))));
    let ms = match ms {
        Some(None) => return Ok(None),
        Some(Some(ms)) => ms,
        None => None,
    };
    let ms = ms.ok_or_else(|| {
        Error::invalid_response(format!("execution {what} is not epoch milliseconds"))
    })?;
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(Some)
        .ok_or_else(|| Error::invalid_response(format!("execution {what} is out of range")))
}

/// The execution id of an execution document (either spelling, or the
/// list example's `id`); `None` for a document that is not an execution.
pub(crate) fn execution_id_of(doc: &RawValue) -> Option<String> {
    Execution::decode(doc).ok()?.execution_id()
}

/// An execution document → [`Run`], its bytes kept as the run's raw JSON.
/// Only the execution id and the status are required. `job_hint` is the job
/// id from the request, used when the document does not name it.
pub(crate) fn execution_to_run(
    doc: &RawValue,
    job_hint: &str,
    job_name: Option<String>,
) -> Result<Run> {
    let mut e = Execution::decode(doc)?;
    let execution = e
        .execution_id()
        .ok_or_else(|| Error::invalid_response("an execution has no execution_id"))?;
    let job = e.job_id.take().or(e.job_id_camel.take());
    let id = execution_id(job.as_deref().unwrap_or(job_hint), &execution).map_err(|_| {
        Error::invalid_response("an execution's job_id or execution_id is not a Runner id")
    })?;
    let with_id = |err: Error| err.with_run_id(id.clone());
    let Some(status) = e.status.take() else {
        return Err(with_id(Error::invalid_response(
            "an execution has no status",
        )));
    };
    let (started, ended) = e.times().map_err(with_id)?;
    let mut run = Run::new(Vendor::CENTURYLINK, id, map_state(&status), status)
        .with_kind(KIND_EXECUTION)
        .with_raw_json(doc.to_owned());
    run.started_at = started;
    run.created_at = started;
    run.ended_at = ended;
    run.name = job_name;
    Ok(run)
}

/// A Runner page, borrowed from the response's body.
pub(crate) fn page(resp: &HttpResponse) -> Result<RunnerPage<'_>> {
    resp.json()
}

/// A page of one job's executions → runs named `job_name`.
pub(crate) fn runs(page: &RunnerPage<'_>, job: &str, job_name: Option<&str>) -> Result<Vec<Run>> {
    page.results
        .iter()
        .map(|doc| execution_to_run(doc, job, job_name.map(str::to_owned)))
        .collect()
}

/// The execution `execution` in a page of its job's executions. A listed
/// execution without an id is a damaged answer, not a reason to say the
/// execution is not there.
pub(crate) fn find_execution<'a>(
    page: &RunnerPage<'a>,
    execution: &str,
) -> Result<Option<&'a RawValue>> {
    for doc in &page.results {
        match execution_id_of(doc) {
            Some(id) if id == execution => return Ok(Some(doc)),
            Some(_) => {}
            None => return Err(Error::invalid_response("an execution has no execution_id")),
        }
    }
    Ok(None)
}

/// An answer holding one execution (a read, a stop) → [`Run`].
pub(crate) fn execution(resp: &HttpResponse, job_hint: &str) -> Result<Run> {
    execution_to_run(resp.json()?, job_hint, None)
}

/// An answer holding one job document.
pub(crate) fn job(resp: &HttpResponse) -> Result<Job> {
    resp.json().map(Job::decode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::{ErrorKind, RunState};
    use serde_json::{Value, json};

    fn raw(v: Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(&v).unwrap()
    }

    fn job_name(v: &Value) -> Option<String> {
        Job::decode(&raw(v.clone())).name()
    }

    const JOB: &str = "1111505e-6773-494a-b2bf-d2cc2684710d";
    const EXE: &str = "44fdcfa2-6a7f-46d3-9f71-22e629e2358a";

    #[test]
    fn every_documented_variant_is_the_same_run() {
        // CenturyLinkCloud/PublicKB Runner/job-service.md: the execution of the
        // stop example (snake_case), the list example (flat start/end, an id,
        // repository_log as an object, failed_hosts [0]); camelCase as in the
        // Runner JS SDK; and the fewest fields this adapter needs.
        let documented = json!({"timers":[{"start":1445359386400u64,"end":1445359388219u64}],"job_id":JOB,"execution_id":EXE,
            "account_alias":"XXXX","status":"STOPPED","repository_log":null,"failed_hosts":[],"is_vpn_established":false});
        let camel = json!({"timers":[{"start":1445359386400u64,"end":1445359388219u64}],"jobId":JOB,"executionId":EXE,
            "accountAlias":"XXXX","status":"STOPPED","repositoryLog":null,"failedHosts":[],"isVpnEstablished":false});
        let flat = json!({"start":1445359386400u64,"end":1445359388219u64,"id":EXE,"job_id":JOB,"execution_id":EXE,
            "account_alias":"XXXX","status":"STOPPED","repository_log":{"recent_commit":[{"commit":"abc"}],"tags":[]},"failed_hosts":[0]});
        let minimal = json!({"execution_id":EXE,"status":"STOPPED","timers":[{"start":1445359386400u64,"end":1445359388219u64}]});
        let runs: Vec<Run> = [documented, camel, flat, minimal]
            .into_iter()
            .map(|v| execution_to_run(&raw(v), JOB, None).unwrap())
            .collect();
        for r in &runs {
            assert_eq!(r.id.as_str(), format!("{JOB}/{EXE}"));
            assert_eq!(r.state, RunState::Stopped);
            assert_eq!(
                r.started_at.unwrap().to_rfc3339(),
                "2015-10-20T16:43:06.400+00:00"
            );
            assert_eq!(
                r.ended_at.unwrap().to_rfc3339(),
                "2015-10-20T16:43:08.219+00:00"
            );
            assert_eq!(r.created_at, r.started_at);
        }
    }

    #[test]
    fn running_and_restarted() {
        let running = json!({"execution_id":EXE,"job_id":JOB,"status":"RUNNING","timers":[{"start":1000,"end":null}]});
        let r = execution_to_run(&raw(running), JOB, Some("patch".into())).unwrap();
        assert_eq!(
            (r.state, r.ended_at, r.name.as_deref()),
            (RunState::Running, None, Some("patch"))
        );
        let restarted = json!({"execution_id":EXE,"status":"SUCCESS","timers":[{"start":1000,"end":2000},{"start":3000,"end":4000}]});
        let r = execution_to_run(&raw(restarted), JOB, None).unwrap();
        assert_eq!(r.started_at.unwrap().timestamp_millis(), 1000);
        assert_eq!(r.ended_at.unwrap().timestamp_millis(), 4000);
    }

    #[test]
    fn the_run_keeps_the_documents_bytes_and_what_was_tolerated_still_is() {
        // The bytes as served (spacing, key order, unknown fields), not a
        // re-encoding.
        let doc = r#"{ "status" : "RUNNING", "execution_id":"e", "extra": {"a": [1, 2.5]}, "timers": [ {"start": 1000.9} ] }"#;
        let doc = RawValue::from_string(doc.to_owned()).unwrap();
        let r = execution_to_run(&doc, JOB, None).unwrap();
        assert_eq!(r.raw().unwrap().get(), doc.get());
        assert_eq!(r.id.as_str(), format!("{JOB}/e"));
        // A fraction of a millisecond is cut off; a missing end is no end.
        assert_eq!(r.started_at.unwrap().timestamp_millis(), 1000);
        assert_eq!(r.ended_at, None);
        let lenient = [
            // With timers, the top-level times are not read, whatever they hold.
            json!({"execution_id":EXE,"status":"RUNNING","start":"soon","timers":[{"start":1000}]}),
            // A timer that is not an object has no times; null timers are none.
            json!({"execution_id":EXE,"status":"RUNNING","timers":[7,{"end":null}]}),
            json!({"execution_id":EXE,"status":"RUNNING","timers":null,"start":null}),
            // An empty status is a status; ids of another type are absent.
            json!({"execution_id":5,"executionId":EXE,"job_id":[],"status":""}),
        ];
        for v in lenient {
            let r = execution_to_run(&raw(v.clone()), JOB, None).unwrap();
            assert_eq!(r.id.as_str(), format!("{JOB}/{EXE}"), "{v}");
        }
    }

    #[test]
    fn malformed() {
        for v in [
            json!(null),
            json!({"status":"RUNNING"}),
            json!({"execution_id":EXE}),
            json!({"execution_id":EXE,"status":"RUNNING","timers":{"start":1}}),
            json!({"execution_id":EXE,"status":"RUNNING","timers":[{"start":"soon"}]}),
            json!({"execution_id":EXE,"status":"RUNNING","timers":[{"end":1},{"end":true}]}),
            json!({"execution_id":EXE,"status":"RUNNING","start":[1]}),
            json!({"execution_id":EXE,"status":"RUNNING","end":1e300}),
            json!({"execution_id":EXE,"status":7}),
            json!([{"execution_id":EXE,"status":"RUNNING"}]),
        ] {
            assert_eq!(
                execution_to_run(&raw(v.clone()), JOB, None)
                    .unwrap_err()
                    .kind(),
                ErrorKind::InvalidResponse,
                "{v}"
            );
        }
    }

    #[test]
    fn job_documents_as_objects_or_one_element_arrays() {
        let job = json!({"id": JOB, "name": "patch", "description": "d"});
        assert_eq!(job_name(&job).as_deref(), Some("patch"));
        assert_eq!(job_name(&json!([job.clone()])).as_deref(), Some("patch"));
        assert_eq!(
            Job::decode(&raw(json!([job.clone()]))).id.as_deref(),
            Some(JOB)
        );
        assert_eq!(
            job_name(&json!([{"description": "d"}])).as_deref(),
            Some("d")
        );
        for not_one in [
            json!([]),
            json!([job.clone(), job]),
            json!("x"),
            json!(null),
        ] {
            assert_eq!(job_name(&not_one), None, "{not_one}");
        }
        assert_eq!(
            execution_id_of(&raw(json!({"executionId": EXE}))).as_deref(),
            Some(EXE)
        );
        assert_eq!(execution_id_of(&raw(json!({"status": "RUNNING"}))), None);
    }

    #[test]
    fn paging_and_bodies() {
        assert!(more_after(0, 100, 101) && !more_after(1, 100, 200));
        assert!(!more_after(u64::MAX, 100, u64::MAX));
        let body = |r: StopRequest| StopBody::new(&r).map(|b| serde_json::to_value(b).unwrap());
        assert_eq!(
            body(StopRequest::graceful()).unwrap(),
            json!({"expiryDuration": 0})
        );
        assert_eq!(
            body(StopRequest::force().with_option("expiryDuration", 5)).unwrap(),
            json!({"expiryDuration": 5})
        );
        assert!(body(StopRequest::graceful().with_option("expiryDuration", -1)).is_err());
        assert!(body(StopRequest::graceful().with_option("expiryDuration", "5")).is_err());
    }

    #[test]
    fn execution_ids_round_trip_and_refuse_what_would_change_the_path() {
        let id = execution_id(JOB, EXE).unwrap();
        let r = parse_id(&id).unwrap();
        assert_eq!((r.job(), r.execution()), (JOB, EXE));
        for (job, execution) in [
            ("a/b", EXE),
            (JOB, "x/y"),
            (JOB, "%2F"),
            ("a%2Fb", EXE),
            ("..", EXE),
            ("", EXE),
            (JOB, "a?b"),
            (JOB, "a#b"),
        ] {
            assert_eq!(
                execution_id(job, execution).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{job:?} {execution:?}"
            );
        }
    }

    #[test]
    fn ids() {
        assert!(parse_id(&RunId::new(format!("{JOB}/{EXE}"))).is_ok());
        for bad in [
            "", JOB, "a/", "/b", "a/b/c", "a b/c", "a/b?c", "../x", "a/%2F", "é/x",
        ] {
            assert_eq!(
                parse_id(&RunId::new(bad)).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
    }
}
