//! Amperity's wire types and their mapping to [`Run`].

use chrono::{DateTime, NaiveDateTime, Utc};
use jobstop_core::{Attribution, Cursor, Error, Page, Result, Run, RunError, RunId, Vendor};
use jobstop_http::HttpResponse;
use jobstop_http::wire::text;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::state::map_state;

/// `GET /workflow/runs`: `{"data":[…], "next_token":"…", "total":N}`
/// (`total` is only sent with `with_total=true`, which this adapter does not
/// ask for). Items stay undecoded until [`to_run`] reads each once.
#[derive(Debug, Deserialize)]
struct WorkflowList<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    #[serde(default, deserialize_with = "text")]
    next_token: Option<String>,
}

/// `POST /v0/oauth2/token`.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
}

/// One workflow (list item, verbose fetch, stop answer): what jobstop
/// reads of it. Every field is optional on the wire; [`to_run`] says which
/// it requires.
#[derive(Deserialize)]
struct Workflow<'a> {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    workflow_id: Option<String>,
    #[serde(default, borrow)]
    state: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "text")]
    kind: Option<String>,
    #[serde(default, borrow)]
    created_at: Option<&'a RawValue>,
    #[serde(default, borrow)]
    ended_at: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "text")]
    principal_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    principal_email: Option<String>,
    #[serde(default, deserialize_with = "text")]
    principal_id: Option<String>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// A workflow's `error` object.
#[derive(Deserialize)]
struct WorkflowError {
    #[serde(default, deserialize_with = "text")]
    message: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "text")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "text")]
    attribution: Option<String>,
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

/// A JSON string field, or `None` when it is absent or `null`; any other
/// type is `Err(())`.
fn string(raw: Option<&RawValue>) -> std::result::Result<Option<String>, ()> {
    match raw.map(RawValue::get) {
        None | Some("null") => Ok(None),
        Some(json) => serde_json::from_str::<String>(json).map(Some).map_err(drop),
    }
}

fn time(raw: Option<&RawValue>, key: &str) -> Result<Option<DateTime<Utc>>> {
    match string(raw) {
        Ok(None) => Ok(None),
        Ok(Some(s)) if s.is_empty() => Ok(None),
        Ok(Some(s)) => parse_time(&s).map(Some).ok_or_else(|| {
            Error::invalid_response(format!("workflow field {key} is not an ISO-8601 timestamp"))
        }),
        Err(()) => Err(Error::invalid_response(format!(
            "workflow field {key} is not a string"
        ))),
    }
}

/// One page of `GET /workflow/runs`, as the controller reads it.
pub(crate) fn page_from(resp: &HttpResponse) -> Result<Page> {
    let list: WorkflowList<'_> = resp.json()?;
    let runs = list.data.into_iter().map(to_run).collect::<Result<_>>()?;
    Ok(Page::new(runs, list.next_token.map(Cursor::new)))
}

/// Maps one workflow object to a [`Run`], keeping the object's bytes as its
/// raw JSON.
///
/// `id` is required (falling back to `workflow_id`), and so is `state`; every
/// other field is optional. A present timestamp that does not parse is an
/// error rather than silently dropped.
pub(crate) fn to_run(raw: &RawValue) -> Result<Run> {
    let w: Workflow<'_> = serde_json::from_str(raw.get())
        .map_err(|e| Error::invalid_response(format!("a workflow is not a JSON object: {e}")))?;
    let id =
        w.id.or(w.workflow_id)
            .ok_or_else(|| Error::invalid_response("a workflow has no id (nor workflow_id)"))?;
    let with_id = |e: Error| e.with_run_id(RunId::new(id.clone()));
    let vendor_state = match string(w.state) {
        Ok(Some(s)) => s,
        _ => return Err(with_id(Error::invalid_response("a workflow has no state"))),
    };
    let mut run = Run::new(
        Vendor::AMPERITY,
        RunId::new(id.clone()),
        map_state(&vendor_state),
        vendor_state,
    );
    run.name = w.name;
    run.kind = w.kind;
    run.created_at = time(w.created_at, "created_at").map_err(with_id)?;
    run.ended_at = time(w.ended_at, "ended_at").map_err(with_id)?;
    run.owner = w.principal_name.or(w.principal_email).or(w.principal_id);
    // An `error` that is not an object is no error description.
    if let Some(e) = w
        .error
        .and_then(|e| serde_json::from_str::<WorkflowError>(e.get()).ok())
    {
        let mut err = RunError::default();
        err.message = e.message;
        err.code = e.kind;
        err.attribution = match e.attribution.as_deref() {
            Some("customer") => Some(Attribution::User),
            Some("platform") => Some(Attribution::Platform),
            _ => None,
        };
        run.error = Some(err);
    }
    Ok(run.with_raw_json(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::{ErrorKind, RunState};
    use serde_json::{Value, json};

    fn to_run(v: Value) -> Result<Run> {
        super::to_run(&serde_json::value::to_raw_value(&v).expect("raw"))
    }

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
