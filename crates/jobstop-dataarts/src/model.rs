//! DataArts wire types, run ids, and their mapping to [`Run`].

use chrono::{DateTime, TimeZone, Utc};
use jobstop_core::{Error, Result, Run, RunId, Vendor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::state::{batch_job_state, instance_state, realtime_job_state};

/// The kind of a real-time job (one long-running run).
pub const KIND_REALTIME_JOB: &str = "realtime_job";
/// The kind of a batch job (a schedule; listed only on request).
pub const KIND_BATCH_JOB: &str = "batch_job";
/// The kind of a batch job instance (one run of a batch job).
pub const KIND_BATCH_INSTANCE: &str = "batch_instance";

/// What a run id names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `{job_name}`: a real-time or batch job.
    Job(String),
    /// `{job_name}/{instance_id}`: a batch job instance.
    Instance(String, u64),
}

/// The longest job name accepted.
const MAX_NAME: usize = 128;

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME
        && name != "."
        && name != ".."
        && name.trim() == name
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "a DataArts job name is 1 to 128 characters, without control characters or \
             surrounding spaces",
        ))
    }
}

/// Parses `job_name` or `job_name/instance_id`.
pub(crate) fn parse_id(id: &RunId) -> Result<Target> {
    let bad = || {
        Error::invalid_input(
            "a DataArts run id is a job name (`my_job`) or a job name and an instance id \
             (`my_job/34765`)",
        )
    };
    let mut parts = id.as_str().split('/');
    let (Some(job), second, None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    check_name(job).map_err(|_| bad())?;
    match second {
        None => Ok(Target::Job(job.to_owned())),
        Some(n) if !n.is_empty() && n.len() <= 19 && n.bytes().all(|b| b.is_ascii_digit()) => n
            .parse()
            .map(|n| Target::Instance(job.to_owned(), n))
            .map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// `GET /jobs`: `{"total":N,"jobs":[…]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct JobList {
    pub(crate) total: u64,
    #[serde(default)]
    pub(crate) jobs: Vec<Value>,
}

/// `GET /jobs/instances/detail`: `{"total":N,"instances":[…]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct InstanceList {
    pub(crate) total: u64,
    #[serde(default)]
    pub(crate) instances: Vec<Value>,
}

/// IAM `POST /v3/auth/tokens` body (the token itself is a header).
#[derive(Deserialize)]
pub(crate) struct IamToken {
    pub(crate) token: IamTokenBody,
}

#[derive(Deserialize)]
pub(crate) struct IamTokenBody {
    pub(crate) expires_at: String,
}

fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A time that may be epoch milliseconds (a number or a numeric string) or
/// a date string (RFC 3339, or `YYYY-MM-DD HH:MM:SS` read as UTC). Anything
/// else, 0 included, is `None`: a time never fails a run (the raw answer
/// keeps it).
pub(crate) fn lenient_time(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let ms = match value? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse::<i64>().ok()?
            } else if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.with_timezone(&Utc));
            } else {
                let naive = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                    .iter()
                    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())?;
                return Some(naive.and_utc());
            }
        }
        _ => return None,
    };
    if ms == 0 {
        return None;
    }
    Utc.timestamp_millis_opt(ms).single()
}

/// Epoch milliseconds (integer or fractional); 0 and absent mean unknown.
fn millis(obj: &Map<String, Value>, key: &str) -> Result<Option<DateTime<Utc>>> {
    let ms = match obj.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Some(_) => None,
    };
    match ms {
        Some(0) => Ok(None),
        Some(ms) => Utc
            .timestamp_millis_opt(ms)
            .single()
            .map(Some)
            .ok_or_else(|| {
                Error::invalid_response(format!(
                    "field {key} is not a valid epoch-millisecond time"
                ))
            }),
        None => Err(Error::invalid_response(format!(
            "field {key} is not a number of milliseconds"
        ))),
    }
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    match value {
        Value::Object(m) => Ok(m),
        _ => Err(Error::invalid_response(format!(
            "a {what} is not a JSON object"
        ))),
    }
}

/// A job (list item or detail) → [`Run`]. Real-time jobs are runs of kind
/// `realtime_job`, batch jobs of kind `batch_job`.
pub(crate) fn job_to_run(value: Value) -> Result<Run> {
    let obj = object(&value, "job")?;
    let name = text(obj, "name").ok_or_else(|| Error::invalid_response("a job has no name"))?;
    let id = RunId::new(name.clone());
    let with_id = |e: Error| e.with_run_id(id.clone());
    let status = obj
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| with_id(Error::invalid_response("a job has no status")))?;
    let (kind, state) = match obj.get("jobType").and_then(Value::as_str) {
        Some("REAL_TIME") => (KIND_REALTIME_JOB, realtime_job_state(status)),
        Some("BATCH") | None => (KIND_BATCH_JOB, batch_job_state(status)),
        Some(other) => {
            return Err(with_id(Error::invalid_response(format!(
                "unknown jobType {:?}",
                other.chars().take(40).collect::<String>()
            ))));
        }
    };
    let mut run = Run::new(Vendor::DATAARTS, id.clone(), state, status)
        .with_kind(kind)
        .with_name(name);
    run.created_at = lenient_time(obj.get("createTime"));
    run.started_at = lenient_time(obj.get("startTime"));
    run.ended_at = lenient_time(obj.get("endTime"));
    run.owner = text(obj, "owner").or_else(|| text(obj, "createUser"));
    run = run.with_raw(value);
    Ok(run)
}

/// The job detail's `processType` (HSDK `show_job_response.py`), or an older
/// `jobType`.
pub(crate) fn process_type(detail: &Value) -> Option<&str> {
    detail
        .get("processType")
        .or_else(|| detail.get("jobType"))
        .and_then(Value::as_str)
}

/// A real-time job's detail plus its `/status` answer → [`Run`]; `raw` holds
/// both as `{"job":…, "status":…}`.
///
/// The detail (HSDK `show_job_response.py`) has no `status`; the status
/// answer (HSDK `show_job_status_response.py`) has the state and string
/// times, the start spelled `starttime`. Times that cannot be read are left
/// out; they never fail the status.
pub(crate) fn realtime_to_run(job: Value, status: Value) -> Result<Run> {
    let st = object(&status, "job status")?;
    let detail = object(&job, "job")?;
    let name = text(detail, "name")
        .or_else(|| text(st, "name"))
        .ok_or_else(|| Error::invalid_response("a job has no name"))?;
    let id = RunId::new(name.clone());
    let raw_status = text(st, "status").ok_or_else(|| {
        Error::invalid_response("a job status has no status").with_run_id(id.clone())
    })?;
    let mut run = Run::new(
        Vendor::DATAARTS,
        id,
        realtime_job_state(&raw_status),
        raw_status,
    )
    .with_kind(KIND_REALTIME_JOB)
    .with_name(name);
    run.created_at = lenient_time(detail.get("createTime"));
    run.started_at = lenient_time(st.get("starttime").or_else(|| st.get("startTime")));
    run.ended_at = lenient_time(st.get("endTime"));
    run.owner = text(st, "createUser").or_else(|| {
        detail
            .get("basicConfig")
            .and_then(|b| b.get("owner"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    run = run.with_raw(serde_json::json!({ "job": job, "status": status }));
    Ok(run)
}

/// A batch job's detail plus its item in the job list (the only place its
/// schedule state is) → [`Run`]; `raw` holds both as `{"job":…, "listed":…}`.
pub(crate) fn batch_to_run(job: Value, listed: Value) -> Result<Run> {
    let mut run = job_to_run(listed.clone())?;
    if let Value::Object(detail) = &job {
        if let Some(t) = lenient_time(detail.get("createTime")) {
            run.created_at = Some(t);
        }
    }
    run = run.with_raw(serde_json::json!({ "job": job, "listed": listed }));
    Ok(run)
}

/// An instance (list item or detail) → [`Run`] of kind `batch_instance` with
/// id `{jobName}/{instanceId}`, named after its job, created at its plan time.
pub(crate) fn instance_to_run(value: Value, job_hint: Option<&str>) -> Result<Run> {
    let obj = object(&value, "job instance")?;
    let job = text(obj, "jobName")
        .or_else(|| job_hint.map(str::to_owned))
        .ok_or_else(|| Error::invalid_response("a job instance has no jobName"))?;
    let instance = match obj.get("instanceId") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| Error::invalid_response("a job instance has no numeric instanceId"))?;
    let id = RunId::new(format!("{job}/{instance}"));
    let with_id = |e: Error| e.with_run_id(id.clone());
    let status = obj
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| with_id(Error::invalid_response("a job instance has no status")))?;
    let mut run = Run::new(Vendor::DATAARTS, id.clone(), instance_state(status), status)
        .with_kind(KIND_BATCH_INSTANCE)
        .with_name(job);
    run.created_at = millis(obj, "planTime").map_err(with_id)?;
    run.started_at = millis(obj, "startTime").map_err(with_id)?;
    run.ended_at = millis(obj, "endTime").map_err(with_id)?;
    run = run.with_raw(value);
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::{ErrorKind, RunState};
    use serde_json::json;

    #[test]
    fn ids() {
        assert_eq!(
            parse_id(&RunId::new("myJob")).unwrap(),
            Target::Job("myJob".into())
        );
        assert_eq!(
            parse_id(&RunId::new("job_batch/34765")).unwrap(),
            Target::Instance("job_batch".into(), 34765)
        );
        for bad in [
            "",
            "/",
            "a/",
            "/1",
            "a/b",
            "a/1/2",
            "a/-1",
            "a/1.5",
            "a/ 1",
            " a",
            "a\n",
            "..",
            "a/99999999999999999999",
        ] {
            assert_eq!(
                parse_id(&RunId::new(bad)).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
        assert!(parse_id(&RunId::new("x".repeat(129))).is_err());
        assert!(parse_id(&RunId::new("作业_1")).is_ok());
    }

    #[test]
    fn documented_examples() {
        // OTC viewing_a_job_list.rst, the example item.
        let job = json!({"createTime":1680783636000u64,"createUser":"test_user","jobType":"BATCH","lastInstanceEndTime":1682519407000u64,
            "lastInstanceStatus":"success","name":"myJob","owner":"test_user","path":"/","priority":0,"singleNodeJobFlag":false,"status":"SCHEDULING"});
        let run = job_to_run(job).unwrap();
        assert_eq!(
            (run.id.as_str(), run.kind.as_deref(), run.state),
            ("myJob", Some(KIND_BATCH_JOB), RunState::Running)
        );
        assert_eq!(run.owner.as_deref(), Some("test_user"));
        assert_eq!(run.created_at.unwrap().timestamp_millis(), 1680783636000);

        // OTC viewing_a_job_instance_list.rst, the example item.
        let inst = json!({"endTime":1551671598000u64,"executeTime":0.3,"forceSuccess":false,"ignoreSuccess":false,"instanceId":34765,
            "instanceType":2,"jobId":608627,"jobName":"job_batch","jobInstanceName":"job_batch","planTime":1551671580000u64,
            "startTime":1551671580000u64,"status":"success","submitTime":1550910278706u64,"version":1});
        let run = instance_to_run(inst, None).unwrap();
        assert_eq!(
            (run.id.as_str(), run.state),
            ("job_batch/34765", RunState::Succeeded)
        );
        assert_eq!(run.ended_at.unwrap().timestamp_millis(), 1551671598000);

        // OTC viewing_job_details.rst: createTime as a numeric string.
        let rt =
            json!({"name":"job_sms","processType":"REAL_TIME","id":1,"createTime":"1695642745000"});
        // HSDK show_job_status_response.py: string times, `starttime`.
        let status = json!({"name":"job_sms","nodes":[{"name":"MRS_Flink_Job_8635","LastInstanceStatus":"waiting","jobInstanceId":0}],
            "status":"STOPPING","starttime":"1695642745000","endTime":"2023-09-25 12:00:00","lastUpdateTime":"yesterday"});
        let run = realtime_to_run(rt, status).unwrap();
        assert_eq!(
            (run.kind.as_deref(), run.state, run.vendor_state.as_str()),
            (Some(KIND_REALTIME_JOB), RunState::Stopping, "STOPPING")
        );
        assert_eq!(run.raw_value()["status"]["status"], "STOPPING");
        assert_eq!(run.created_at.unwrap().timestamp_millis(), 1695642745000);
        assert_eq!(run.started_at.unwrap().timestamp_millis(), 1695642745000);
        assert_eq!(
            run.ended_at.unwrap().to_rfc3339(),
            "2023-09-25T12:00:00+00:00"
        );
    }

    #[test]
    fn odd_times_are_absent_never_errors() {
        for (v, want) in [
            (json!(1718769600000u64), Some(1718769600000)),
            (json!("1718769600000"), Some(1718769600000)),
            (json!("2024-06-19T04:00:00Z"), Some(1718769600000)),
            (json!("2024-06-19T12:00:00+08:00"), Some(1718769600000)),
            (json!("2024-06-19 04:00:00"), Some(1718769600000)),
            (json!(0), None),
            (json!("0"), None),
            (json!(""), None),
            (json!("yesterday"), None),
            (json!("99999999999999999999"), None),
            (json!(true), None),
            (json!({"t":1}), None),
            (json!(null), None),
        ] {
            assert_eq!(
                lenient_time(Some(&v)).map(|t| t.timestamp_millis()),
                want,
                "{v}"
            );
        }
        let status = json!({"name":"rt","status":"NORMAL","starttime":"soon","endTime":[1]});
        let run = realtime_to_run(json!({"name":"rt"}), status).unwrap();
        assert_eq!((run.started_at, run.ended_at), (None, None));
        assert_eq!(run.raw_value()["status"]["starttime"], "soon");
    }

    #[test]
    fn malformed() {
        for v in [
            json!(null),
            json!({"status":"NORMAL"}),
            json!({"name":"a"}),
            json!({"name":"a","status":"NORMAL","jobType":"WEIRD"}),
        ] {
            assert_eq!(
                job_to_run(v.clone()).unwrap_err().kind(),
                ErrorKind::InvalidResponse,
                "{v}"
            );
        }
        for v in [
            json!({"jobName":"a","status":"running"}),
            json!({"jobName":"a","instanceId":-3,"status":"running"}),
            json!({"instanceId":1,"status":"x"}),
        ] {
            assert_eq!(
                instance_to_run(v.clone(), None).unwrap_err().kind(),
                ErrorKind::InvalidResponse,
                "{v}"
            );
        }
    }
}
