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
    run.created_at = millis(obj, "createTime").map_err(with_id)?;
    run.started_at = millis(obj, "startTime").map_err(with_id)?;
    run.ended_at = millis(obj, "endTime").map_err(with_id)?;
    run.owner = text(obj, "owner").or_else(|| text(obj, "createUser"));
    run.raw = value;
    Ok(run)
}

/// A real-time job's detail plus its `/status` answer → [`Run`]; `raw` holds
/// both as `{"job":…, "status":…}`.
pub(crate) fn realtime_to_run(job: Value, status: Value) -> Result<Run> {
    let st = object(&status, "job status")?;
    let raw_status =
        text(st, "status").ok_or_else(|| Error::invalid_response("a job status has no status"))?;
    let mut run = job_to_run(job.clone())?;
    run.state = realtime_job_state(&raw_status);
    run.vendor_state = raw_status;
    if let Some(t) = millis(st, "startTime")? {
        run.started_at = Some(t);
    }
    run.ended_at = millis(st, "endTime")?.or(run.ended_at);
    run.raw = serde_json::json!({ "job": job, "status": status });
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
    run.raw = value;
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
        let job = json!({"createTime":1680783636000u64,"createUser":"test_user","jobType":"BATCH","lastInstanceEndTime":1682519407000u64,
            "lastInstanceStatus":"success","name":"myJob","owner":"test_user","path":"/","priority":0,"singleNodeJobFlag":false,"status":"SCHEDULING"});
        let run = job_to_run(job).unwrap();
        assert_eq!(
            (run.id.as_str(), run.kind.as_deref(), run.state),
            ("myJob", Some(KIND_BATCH_JOB), RunState::Running)
        );
        assert_eq!(run.owner.as_deref(), Some("test_user"));
        assert_eq!(run.created_at.unwrap().timestamp_millis(), 1680783636000);

        let inst = json!({"endTime":1551671598000u64,"executeTime":0.3,"forceSuccess":false,"ignoreSuccess":false,"instanceId":34765,
            "instanceType":2,"jobId":608627,"jobName":"job_batch","jobInstanceName":"job_batch","planTime":1551671580000u64,
            "startTime":1551671580000u64,"status":"success","submitTime":1550910278706u64,"version":1});
        let run = instance_to_run(inst, None).unwrap();
        assert_eq!(
            (run.id.as_str(), run.state),
            ("job_batch/34765", RunState::Succeeded)
        );
        assert_eq!(run.ended_at.unwrap().timestamp_millis(), 1551671598000);

        let rt = json!({"name":"job_sms","jobType":"REAL_TIME","status":"NORMAL","createTime":1,"createUser":"u"});
        let status = json!({"name":"job_sms","nodes":[{"name":"MRS_Flink_Job_8635","LastInstanceStatus":"waiting","jobInstanceId":0}],"status":"STOPPING"});
        let run = realtime_to_run(rt, status).unwrap();
        assert_eq!(
            (run.kind.as_deref(), run.state, run.vendor_state.as_str()),
            (Some(KIND_REALTIME_JOB), RunState::Stopping, "STOPPING")
        );
        assert_eq!(run.raw["status"]["status"], "STOPPING");
    }

    #[test]
    fn malformed() {
        for v in [
            json!(null),
            json!({"status":"NORMAL"}),
            json!({"name":"a"}),
            json!({"name":"a","status":"NORMAL","jobType":"WEIRD"}),
            json!({"name":"a","status":"NORMAL","createTime":"yesterday"}),
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
