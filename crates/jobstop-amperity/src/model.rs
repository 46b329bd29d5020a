//! Amperity's wire types and their mapping to [`Run`].

use chrono::{DateTime, NaiveDateTime, Utc};
use jobstop_core::{Attribution, Error, Run, RunError, RunId, Vendor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::state::map_state;

/// `GET /workflow/runs`: `{"data":[…], "next_token":"…", "total":N}`
/// (`total` is only sent with `with_total=true`, which this adapter does not ask for).
#[derive(Debug, Deserialize)]
pub(crate) struct WorkflowList {
    pub(crate) data: Vec<Value>,
    #[serde(default)]
    pub(crate) next_token: Option<String>,
}

/// `POST /v0/oauth2/token`.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
}

fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Parses an Amperity timestamp: RFC 3339 (`2024-06-19T04:00:18.764Z`), or
/// the same without an offset, read as UTC.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

fn time(obj: &Map<String, Value>, key: &str) -> Result<Option<DateTime<Utc>>, Error> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => parse_time(s).map(Some).ok_or_else(|| {
            Error::invalid_response(format!("workflow field {key} is not an ISO-8601 timestamp"))
        }),
        Some(_) => Err(Error::invalid_response(format!(
            "workflow field {key} is not a string"
        ))),
    }
}

/// Maps one workflow object to a [`Run`], keeping the object as `raw`.
///
/// `id` is required (falling back to `workflow_id`), and so is `state`; every
/// other field is optional. A present timestamp that does not parse is an
/// error rather than silently dropped.
pub(crate) fn to_run(value: Value) -> Result<Run, Error> {
    let Value::Object(obj) = &value else {
        return Err(Error::invalid_response("a workflow is not a JSON object"));
    };
    let id = text(obj, "id")
        .or_else(|| text(obj, "workflow_id"))
        .ok_or_else(|| Error::invalid_response("a workflow has no id (nor workflow_id)"))?;
    let vendor_state = obj
        .get("state")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::invalid_response("a workflow has no state").with_run_id(RunId::new(id.clone()))
        })?
        .to_owned();
    let with_id = |e: Error| e.with_run_id(RunId::new(id.clone()));
    let mut run = Run::new(
        Vendor::AMPERITY,
        RunId::new(id.clone()),
        map_state(&vendor_state),
        vendor_state,
    );
    run.name = text(obj, "name");
    run.kind = text(obj, "type");
    run.created_at = time(obj, "created_at").map_err(with_id)?;
    run.ended_at = time(obj, "ended_at").map_err(with_id)?;
    run.owner = text(obj, "principal_name")
        .or_else(|| text(obj, "principal_email"))
        .or_else(|| text(obj, "principal_id"));
    if let Some(Value::Object(e)) = obj.get("error") {
        let mut err = RunError::default();
        err.message = text(e, "message");
        err.code = text(e, "type");
        err.attribution = match text(e, "attribution").as_deref() {
            Some("customer") => Some(Attribution::User),
            Some("platform") => Some(Attribution::Platform),
            _ => None,
        };
        run.error = Some(err);
    }
    run = run.with_raw(value);
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::{ErrorKind, RunState};
    use serde_json::json;

    #[test]
    fn maps_the_documented_fetch_example() {
        // amperity/amperity-docs amperity_api/source/endpoint_get_workflows_fetch.rst,
        // the verbose 200 example.
        let v = json!({"task_instances":[],"error":{"attribution":"customer","type":"amperity.workflow.workflow.repository.core/cancel","message":"Workflow manually stopped"},
            "id":"wf-20240603-12345-MNabc","ended_at":"2026-02-10T17:29:32.687Z","name":"Braze","principal_name":"Justin Scott",
            "type":"amperity.orchestration.orchestration/run","launched_version":"etv-20240210-12345-6AbCDE","state":"canceled",
            "created_at":"2026-02-10T17:29:22.454Z","tenant":"socktown","current_version":"etv-20240210-12345-6AbCDE"});
        let run = to_run(v.clone()).unwrap();
        assert_eq!(run.id.as_str(), "wf-20240603-12345-MNabc");
        assert_eq!(run.state, RunState::Stopped);
        assert_eq!(run.vendor_state, "canceled");
        assert_eq!(run.name.as_deref(), Some("Braze"));
        assert_eq!(
            run.kind.as_deref(),
            Some("amperity.orchestration.orchestration/run")
        );
        assert_eq!(run.owner.as_deref(), Some("Justin Scott"));
        assert_eq!(
            run.created_at
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "2026-02-10T17:29:22.454Z"
        );
        let err = run.error.as_ref().unwrap();
        assert_eq!(err.attribution, Some(Attribution::User));
        assert_eq!(err.message.as_deref(), Some("Workflow manually stopped"));
        assert_eq!(run.raw_value(), v);
    }

    #[test]
    fn workflow_id_is_a_fallback() {
        let run = to_run(json!({"workflow_id":"wf-1","state":"running"})).unwrap();
        assert_eq!(run.id.as_str(), "wf-1");
        let run = to_run(json!({"id":"wf-2","workflow_id":"wf-1","state":"running"})).unwrap();
        assert_eq!(run.id.as_str(), "wf-2");
    }

    #[test]
    fn malformed_objects_are_invalid_responses() {
        for v in [
            json!(null),
            json!([]),
            json!({"state":"running"}),
            json!({"id":"wf-1"}),
            json!({"id":"wf-1","state":7}),
            json!({"id":"wf-1","state":"running","created_at":"yesterday"}),
            json!({"id":"wf-1","state":"running","ended_at":12}),
        ] {
            let e = to_run(v.clone()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{v}");
        }
    }

    #[test]
    fn tolerant_of_nulls_extras_and_offsetless_times() {
        let run = to_run(
            json!({"id":"wf-1","state":"Running with failures","name":null,"error":null,
            "created_at":"2024-06-19T04:00:18.764","extra":{"x":1}}),
        )
        .unwrap();
        assert_eq!(run.state, RunState::Running);
        assert_eq!(run.name, None);
        assert!(run.created_at.is_some());
        assert!(run.error.is_none());
    }
}
