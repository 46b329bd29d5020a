//! Chorus wire types and their mapping to [`Run`].

use chrono::{DateTime, Utc};
use jobstop_core::{Error, Run, RunId, Vendor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::state::map_state;

/// Every success: `{"response": …}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    pub(crate) response: T,
}

/// A list: `{"response":[…], "pagination":{page, per_page, records, total}}`
/// where `total` is the number of **pages** (1 for an empty list; null when
/// `per_page` is 0).
#[derive(Debug, Deserialize)]
pub(crate) struct ListEnvelope {
    pub(crate) response: Vec<Value>,
    pub(crate) pagination: Pagination,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Pagination {
    pub(crate) page: u64,
    /// Read leniently: only a positive integer is used.
    #[serde(default)]
    pub(crate) per_page: Option<Value>,
    #[serde(default)]
    pub(crate) records: Option<u64>,
    #[serde(default)]
    pub(crate) total: Option<u64>,
}

impl Pagination {
    /// Whether a page after this one holds anything, for a page that held
    /// `returned` items of `per_page` asked for. `total` (pages) alone is not
    /// trusted, so a server whose `total` never ends cannot hold a listing:
    /// an empty page is the last (a page-numbered list has no holes), and so
    /// is a page that reaches `records`, when the server says it.
    pub(crate) fn has_next(&self, returned: usize, per_page: u64) -> bool {
        let per_page = self
            .per_page
            .as_ref()
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
            .unwrap_or(per_page);
        let pages_left = self.total.is_some_and(|pages| self.page < pages);
        let records_left = self
            .records
            .is_none_or(|records| self.page.saturating_mul(per_page) < records);
        pages_left && returned > 0 && records_left
    }
}

/// The login answer: `{"response":{"session_id":"…","user":{…}}}`.
#[derive(Deserialize)]
pub(crate) struct Session {
    pub(crate) session_id: String,
}

fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn time(obj: &Map<String, Value>, key: &str) -> Result<Option<DateTime<Utc>>, Error> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                Error::invalid_response(format!(
                    "workfile field {key} is not an ISO-8601 timestamp"
                ))
            }),
        Some(_) => Err(Error::invalid_response(format!(
            "workfile field {key} is not a string"
        ))),
    }
}

/// The `id` of a Chorus object (a workfile, a workspace) as a string:
/// Chorus sends an integer (a string of digits is accepted too).
pub(crate) fn workfile_id(obj: &Map<String, Value>) -> Option<String> {
    match obj.get("id")? {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.clone())
        }
        _ => None,
    }
}

/// Where a workflow lives: enough to find it again in its workspace's
/// listing, which (unlike `GET /api/workfiles/:id`) writes no activity event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    /// `workspace.id`, decimal.
    pub(crate) workspace: String,
    /// `file_name`, as Chorus returned it.
    pub(crate) file_name: String,
}

/// The [`Location`] of a workfile object: only for workflows (`file_type`
/// `work_flow`) with an integer `workspace.id` and a non-empty `file_name`.
pub(crate) fn location(value: &Value) -> Option<Location> {
    let obj = value.as_object()?;
    if obj.get("file_type").and_then(Value::as_str) != Some(crate::client::WORKFLOW) {
        return None;
    }
    let workspace = obj.get("workspace")?.as_object()?;
    let workspace = workfile_id(workspace)?;
    let file_name = text(obj, "file_name")?;
    Some(Location {
        workspace,
        file_name,
    })
}

/// Maps one workfile object to a [`Run`], keeping it as `raw`.
///
/// `id` and `status` are required. The name is `file_name`, the kind
/// `file_type`, the creation time `version_info.created_at`, the owner
/// `owner.username`. Chorus records no start or end time for a run.
pub(crate) fn to_run(value: Value) -> Result<Run, Error> {
    let Value::Object(obj) = &value else {
        return Err(Error::invalid_response("a workfile is not a JSON object"));
    };
    let id =
        workfile_id(obj).ok_or_else(|| Error::invalid_response("a workfile has no integer id"))?;
    let status = obj.get("status").and_then(Value::as_str).ok_or_else(|| {
        Error::invalid_response("a workfile has no status").with_run_id(RunId::new(id.clone()))
    })?;
    let mut run = Run::new(
        Vendor::CHORUS,
        RunId::new(id.clone()),
        map_state(status),
        status,
    );
    run.name = text(obj, "file_name");
    run.kind = text(obj, "file_type");
    if let Some(Value::Object(vi)) = obj.get("version_info") {
        run.created_at =
            time(vi, "created_at").map_err(|e| e.with_run_id(RunId::new(id.clone())))?;
    }
    if let Some(Value::Object(owner)) = obj.get("owner") {
        run.owner = text(owner, "username");
    }
    run = run.with_raw(value);
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::{ErrorKind, RunState};
    use serde_json::json;

    fn pagination(v: Value) -> Pagination {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_total_that_never_ends_is_not_trusted() {
        let p = |v| pagination(v);
        // The normal case: page 1 of 2.
        let first = p(json!({"page": 1, "per_page": 5, "records": 8, "total": 2}));
        assert!(first.has_next(5, 5));
        let last = p(json!({"page": 2, "per_page": 5, "records": 8, "total": 2}));
        assert!(!last.has_next(3, 5));
        // `total` says more, but the page was empty.
        let endless = p(json!({"page": 3, "total": 1_000_000_000_u64}));
        assert!(!endless.has_next(0, 5));
        assert!(
            endless.has_next(5, 5),
            "without records, a full page goes on"
        );
        // `total` says more, but `records` are all listed (the server's
        // per_page counts, not the one asked for).
        let done = p(json!({"page": 2, "per_page": 4, "records": 8, "total": 1_000_000_000_u64}));
        assert!(!done.has_next(4, 5));
        // An odd per_page is ignored, not an error.
        let odd = p(json!({"page": 1, "per_page": "x", "records": 8, "total": 2}));
        assert!(odd.has_next(5, 5));
        assert!(!p(json!({"page": 1, "total": null})).has_next(5, 5));
    }

    #[test]
    fn maps_the_seed_page_object() {
        let v = json!({"id":1000004,"workspace":{"id":1000008,"name":"Public"},"file_name":"alpine_flow",
            "file_type":"work_flow","entity_subtype":"alpine","user_modified_at":"2019-04-03T22:09:35Z","status":"idle",
            "owner":{"id":1000006,"username":"owner"},"version_info":{"created_at":"2015-11-13T04:56:19Z","updated_at":"2015-11-13T04:56:20Z"},
            "complete_json":true});
        let run = to_run(v.clone()).unwrap();
        assert_eq!(run.id.as_str(), "1000004");
        assert_eq!(run.state, RunState::Idle);
        assert_eq!(run.name.as_deref(), Some("alpine_flow"));
        assert_eq!(run.kind.as_deref(), Some("work_flow"));
        assert_eq!(run.owner.as_deref(), Some("owner"));
        assert_eq!(
            run.created_at.unwrap().to_rfc3339(),
            "2015-11-13T04:56:19+00:00"
        );
        assert_eq!(run.raw_value(), v);
    }

    #[test]
    fn locations_of_workflows_only() {
        let v = json!({"id":1000004,"workspace":{"id":1000008,"name":"Public"},
            "file_name":"alpine_flow","file_type":"work_flow","status":"idle"});
        assert_eq!(
            location(&v),
            Some(Location {
                workspace: "1000008".into(),
                file_name: "alpine_flow".into()
            })
        );
        for bad in [
            json!({"id":1,"workspace":{"id":8},"file_name":"a.sql","file_type":"sql"}),
            json!({"id":1,"workspace":{"id":"x"},"file_name":"a","file_type":"work_flow"}),
            json!({"id":1,"workspace":null,"file_name":"a","file_type":"work_flow"}),
            json!({"id":1,"workspace":{"id":8},"file_name":"","file_type":"work_flow"}),
            json!({"id":1,"workspace":{"id":8},"file_type":"work_flow"}),
            json!("x"),
        ] {
            assert_eq!(location(&bad), None, "{bad}");
        }
    }

    #[test]
    fn malformed_workfiles() {
        for v in [
            json!(null),
            json!({"status":"idle"}),
            json!({"id":-1,"status":"idle"}),
            json!({"id":"abc","status":"idle"}),
            json!({"id":1.5,"status":"idle"}),
            json!({"id":1}),
            json!({"id":1,"status":"idle","version_info":{"created_at":"soon"}}),
        ] {
            assert_eq!(
                to_run(v.clone()).unwrap_err().kind(),
                ErrorKind::InvalidResponse,
                "{v}"
            );
        }
        let run = to_run(json!({"id":"7","status":"queued","owner":null})).unwrap();
        assert_eq!(run.state, RunState::Unknown);
        assert_eq!(run.vendor_state, "queued");
    }
}
