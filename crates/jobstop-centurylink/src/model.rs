//! Runner wire types, run ids, and their mapping to [`Run`].

use chrono::{DateTime, TimeZone, Utc};
use jobstop_core::{Error, Result, Run, RunId, Vendor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::state::map_state;

/// The kind of every run this adapter returns.
pub const KIND_EXECUTION: &str = "execution";

/// A run id `{jobId}/{executionId}`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecutionRef {
    pub(crate) job: String,
    pub(crate) execution: String,
}

fn id_part_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
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

/// A page: `{"totalSize":N,"page":P,"size":S,"results":[…]}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunnerPage {
    pub(crate) total_size: u64,
    #[serde(default)]
    pub(crate) results: Vec<Value>,
}

/// The login answer.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginAnswer {
    pub(crate) bearer_token: String,
    #[serde(default)]
    pub(crate) account_alias: Option<String>,
}

fn text(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        obj.get(*k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    })
}

fn millis(v: Option<&Value>, what: &str) -> Result<Option<DateTime<Utc>>> {
    let ms = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(_) => None,
    };
    let ms = ms.ok_or_else(|| {
        Error::invalid_response(format!("execution {what} is not epoch milliseconds"))
    })?;
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(Some)
        .ok_or_else(|| Error::invalid_response(format!("execution {what} is out of range")))
}

/// A job document: a Job object, or a one-element array holding one (the
/// shape of the "Get Job" example in `CenturyLinkCloud/PublicKB`
/// `Runner/job-service.md`).
fn job_object(job: &Value) -> Option<&Map<String, Value>> {
    match job {
        Value::Object(o) => Some(o),
        Value::Array(items) if items.len() == 1 => items.first().and_then(Value::as_object),
        _ => None,
    }
}

/// The job's display name: `name`, else `description`.
pub(crate) fn job_name(job: &Value) -> Option<String> {
    job_object(job).and_then(|o| text(o, &["name", "description"]))
}

/// The job id of a job document.
pub(crate) fn job_id(job: &Value) -> Option<String> {
    job_object(job).and_then(|o| text(o, &["id"]))
}

/// The execution id of an execution document (either spelling, or the
/// list example's `id`).
pub(crate) fn execution_id(execution: &Value) -> Option<String> {
    execution
        .as_object()
        .and_then(|o| text(o, &["execution_id", "executionId", "id"]))
}

/// An execution document → [`Run`]. Only the execution id and the status are
/// required. Both key spellings (`execution_id`, `executionId`, …) and both
/// timer shapes (`timers:[{start,end}]`, top-level `start`/`end`) are read:
/// creation and start are the first timer's start, the end is the last
/// timer's end (absent while running). `job_hint` is the job id from the
/// request, used when the document does not name it.
pub(crate) fn execution_to_run(
    value: Value,
    job_hint: &str,
    job_name: Option<String>,
) -> Result<Run> {
    let Value::Object(obj) = &value else {
        return Err(Error::invalid_response("an execution is not a JSON object"));
    };
    let execution = execution_id(&value)
        .ok_or_else(|| Error::invalid_response("an execution has no execution_id"))?;
    let job = text(obj, &["job_id", "jobId"]).unwrap_or_else(|| job_hint.to_owned());
    let id = RunId::new(format!("{job}/{execution}"));
    let with_id = |e: Error| e.with_run_id(id.clone());
    let status = obj
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| with_id(Error::invalid_response("an execution has no status")))?;
    let (start, end) = match obj.get("timers") {
        Some(Value::Array(timers)) if !timers.is_empty() => {
            let first = timers.first().and_then(|t| t.get("start"));
            let last = timers.last().and_then(|t| t.get("end"));
            (millis(first, "timer start"), millis(last, "timer end"))
        }
        Some(Value::Array(_)) | Some(Value::Null) | None => (
            millis(obj.get("start"), "start"),
            millis(obj.get("end"), "end"),
        ),
        Some(_) => {
            return Err(with_id(Error::invalid_response(
                "execution timers is not an array",
            )));
        }
    };
    let mut run = Run::new(Vendor::CENTURYLINK, id.clone(), map_state(status), status)
        .with_kind(KIND_EXECUTION);
    run.started_at = start.map_err(with_id)?;
    run.created_at = run.started_at;
    run.ended_at = end.map_err(with_id)?;
    run.name = job_name;
    run = run.with_raw(value);
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::{ErrorKind, RunState};
    use serde_json::json;

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
            .map(|v| execution_to_run(v, JOB, None).unwrap())
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
        let r = execution_to_run(running, JOB, Some("patch".into())).unwrap();
        assert_eq!(
            (r.state, r.ended_at, r.name.as_deref()),
            (RunState::Running, None, Some("patch"))
        );
        let restarted = json!({"execution_id":EXE,"status":"SUCCESS","timers":[{"start":1000,"end":2000},{"start":3000,"end":4000}]});
        let r = execution_to_run(restarted, JOB, None).unwrap();
        assert_eq!(r.started_at.unwrap().timestamp_millis(), 1000);
        assert_eq!(r.ended_at.unwrap().timestamp_millis(), 4000);
    }

    #[test]
    fn malformed() {
        for v in [
            json!(null),
            json!({"status":"RUNNING"}),
            json!({"execution_id":EXE}),
            json!({"execution_id":EXE,"status":"RUNNING","timers":{"start":1}}),
            json!({"execution_id":EXE,"status":"RUNNING","timers":[{"start":"soon"}]}),
        ] {
            assert_eq!(
                execution_to_run(v.clone(), JOB, None).unwrap_err().kind(),
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
        assert_eq!(job_id(&json!([job.clone()])).as_deref(), Some(JOB));
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
            execution_id(&json!({"executionId": EXE})).as_deref(),
            Some(EXE)
        );
        assert_eq!(execution_id(&json!({"status": "RUNNING"})), None);
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
