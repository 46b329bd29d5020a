//! Chorus wire types and their mapping to [`Run`].
//!
//! A workfile is decoded once into [`Workfile`], borrowed from the answer's
//! bytes, and those bytes are kept undecoded as the run's raw JSON.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use jobstop_core::{Error, Result, Run, RunId, Vendor};
use jobstop_http::HttpResponse;
use jobstop_http::wire::{self, Scalar};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::state::map_state;

/// The `file_type` of workflow workfiles.
pub(crate) const WORKFLOW: &str = "work_flow";

/// Every success: `{"response": …}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    pub(crate) response: T,
}

/// A list: `{"response":[…], "pagination":{page, per_page, records, total}}`
/// where `total` is the number of **pages** (1 for an empty list; null when
/// `per_page` is 0). Each item stays as its bytes until it is mapped.
#[derive(Debug, Deserialize)]
pub(crate) struct ListEnvelope<'a> {
    #[serde(borrow)]
    pub(crate) response: Vec<&'a RawValue>,
    pub(crate) pagination: Pagination,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Pagination {
    pub(crate) page: u64,
    /// Read leniently: only a positive integer is used.
    #[serde(default, deserialize_with = "wire::integer")]
    pub(crate) per_page: Option<i64>,
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
            .and_then(|n| u64::try_from(n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(per_page);
        let pages_left = self.total.is_some_and(|pages| self.page < pages);
        let records_left = self
            .records
            .is_none_or(|records| self.page.saturating_mul(per_page) < records);
        pages_left && returned > 0 && records_left
    }
}

/// Decodes page `page` of a workfile listing; an answer for another page is
/// an invalid response.
pub(crate) fn decode_list(resp: &HttpResponse, page: u64) -> Result<ListEnvelope<'_>> {
    let list: ListEnvelope<'_> = resp.json()?;
    if list.pagination.page != page {
        return Err(Error::invalid_response(format!(
            "asked for page {page} and got page {}",
            list.pagination.page
        )));
    }
    Ok(list)
}

/// Decodes `{"response": <workfile>}` (a status or a stop answer).
pub(crate) fn decode_workfile(resp: &HttpResponse) -> Result<Seen> {
    let env: Envelope<&RawValue> = resp.json()?;
    to_run(env.response)
}

/// The login answer: `{"response":{"session_id":"…","user":{…}}}`.
#[derive(Deserialize)]
pub(crate) struct Session {
    pub(crate) session_id: String,
}

/// A workfile's fields this adapter reads. Every field is optional and
/// read whatever its JSON type; [`to_run`] judges them.
#[derive(Deserialize)]
struct Workfile {
    #[serde(default)]
    id: Scalar,
    #[serde(default)]
    status: Scalar,
    #[serde(default, deserialize_with = "wire::text")]
    file_name: Option<String>,
    #[serde(default, deserialize_with = "wire::text")]
    file_type: Option<String>,
    #[serde(default, deserialize_with = "object")]
    version_info: Option<VersionInfo>,
    #[serde(default, deserialize_with = "object")]
    owner: Option<Owner>,
    #[serde(default, deserialize_with = "object")]
    workspace: Option<Workspace>,
}

#[derive(Deserialize)]
struct VersionInfo {
    #[serde(default)]
    created_at: Scalar,
}

#[derive(Deserialize)]
struct Owner {
    #[serde(default, deserialize_with = "wire::text")]
    username: Option<String>,
}

/// A workspace, or any object of which only the `id` is read.
#[derive(Deserialize)]
struct Workspace {
    #[serde(default)]
    id: Scalar,
}

/// The `id` of a Chorus object as a string: Chorus sends an integer (a
/// string of digits is accepted too).
fn digits(id: &Scalar) -> Option<String> {
    match id {
        Scalar::Int(n) if *n >= 0 => Some(n.to_string()),
        Scalar::Uint(n) => Some(n.to_string()),
        Scalar::Text(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.clone())
        }
        _ => None,
    }
}

/// A nested object read leniently: any other JSON type (`null`, a string, …)
/// reads as `None`.
fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    d.deserialize_any(ObjectVisitor(PhantomData))
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Option<T>, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Option<T>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Option<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<Option<T>, E> {
        Ok(None)
    }
}

/// The `id` of a listed workfile, without mapping the rest of it (`None`
/// when the item is not an object with an integer id).
pub(crate) fn workfile_id(raw: &RawValue) -> Option<String> {
    digits(&decode_object::<Workspace>(raw).ok()??.id)
}

/// `raw` decoded as a `T` when it is a JSON object (serde would also take
/// an array for a struct), `None` when it is anything else.
fn decode_object<T: de::DeserializeOwned>(raw: &RawValue) -> serde_json::Result<Option<T>> {
    object(&mut serde_json::Deserializer::from_str(raw.get()))
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

/// The [`Location`] of a workfile: only for workflows (`file_type`
/// `work_flow`) with an integer `workspace.id` and a non-empty `file_name`.
fn location(w: &Workfile) -> Option<Location> {
    if w.file_type.as_deref() != Some(WORKFLOW) {
        return None;
    }
    Some(Location {
        workspace: digits(&w.workspace.as_ref()?.id)?,
        file_name: w.file_name.clone()?,
    })
}

/// The most workflow locations remembered at once; past it the memory starts
/// over (a later status of a forgotten workflow costs one event).
pub(crate) const MAX_REMEMBERED: usize = 65_536;

/// Where each workflow seen in an answer lives, by workfile id.
#[derive(Default)]
pub(crate) struct Locations(Mutex<HashMap<String, Location>>);

impl fmt::Debug for Locations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} remembered", self.map().len())
    }
}

impl Locations {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Location>> {
        // The map holds no invariant a panic could break.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn get(&self, id: &RunId) -> Option<Location> {
        self.map().get(id.as_str()).cloned()
    }

    pub(crate) fn forget(&self, id: &RunId) {
        self.map().remove(id.as_str());
    }

    /// Notes where a workflow lives, if the answer said; returns its run.
    pub(crate) fn remember(&self, seen: Seen) -> Run {
        if let Some(loc) = seen.location {
            let mut map = self.map();
            if map.len() >= MAX_REMEMBERED && !map.contains_key(seen.run.id.as_str()) {
                map.clear();
            }
            map.insert(seen.run.id.as_str().to_owned(), loc);
        }
        seen.run
    }
}

/// A workfile read from an answer: its run, and where it lives.
#[derive(Debug)]
pub(crate) struct Seen {
    pub(crate) run: Run,
    pub(crate) location: Option<Location>,
}

/// A workfile id is a decimal integer; anything else never reaches the server.
pub(crate) fn parse_id(id: &RunId) -> Result<()> {
    let s = id.as_str();
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_input(
            "a Chorus run id is a workfile id: a decimal integer such as 1000004",
        ));
    }
    Ok(())
}

/// Maps one workfile object to a [`Run`], keeping its bytes as the raw JSON.
///
/// `id` and `status` are required. The name is `file_name`, the kind
/// `file_type`, the creation time `version_info.created_at`, the owner
/// `owner.username`. Chorus records no start or end time for a run.
pub(crate) fn to_run(raw: &RawValue) -> Result<Seen> {
    let w: Workfile = decode_object(raw)
        .map_err(|e| Error::invalid_response(format!("a workfile is not readable: {e}")))?
        .ok_or_else(|| Error::invalid_response("a workfile is not a JSON object"))?;
    let id = RunId::new(
        digits(&w.id).ok_or_else(|| Error::invalid_response("a workfile has no integer id"))?,
    );
    let Scalar::Text(status) = &w.status else {
        return Err(Error::invalid_response("a workfile has no status").with_run_id(id));
    };
    let created_at = match w.version_info.as_ref().map(|v| &v.created_at) {
        None | Some(Scalar::Null) => None,
        Some(Scalar::Text(s)) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    Error::invalid_response(
                        "workfile field created_at is not an ISO-8601 timestamp",
                    )
                    .with_run_id(id.clone())
                })?
                .with_timezone(&Utc),
        ),
        Some(_) => {
            return Err(
                Error::invalid_response("workfile field created_at is not a string")
                    .with_run_id(id),
            );
        }
    };
    let location = location(&w);
    let mut run = Run::new(Vendor::CHORUS, id, map_state(status), status.as_str());
    run.created_at = created_at;
    run.name = w.file_name;
    run.kind = w.file_type;
    run.owner = w.owner.and_then(|o| o.username);
    Ok(Seen {
        run: run.with_raw_json(raw.to_owned()),
        location,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::{ErrorKind, RunState};
    use serde_json::{Value, json};

    fn pagination(v: Value) -> Pagination {
        serde_json::from_value(v).unwrap()
    }

    fn raw(v: &Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(v).unwrap()
    }

    fn location_of(v: &Value) -> Option<Location> {
        decode_object::<Workfile>(&raw(v))
            .ok()
            .flatten()
            .as_ref()
            .and_then(location)
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
        for odd in [json!("x"), json!(-4), json!(0), json!(2.5), json!({"n": 4})] {
            let odd = p(json!({"page": 1, "per_page": odd, "records": 8, "total": 2}));
            assert!(odd.has_next(5, 5));
        }
        assert!(!p(json!({"page": 1, "total": null})).has_next(5, 5));
    }

    #[test]
    fn maps_the_seed_page_object() {
        let v = json!({"id":1000004,"workspace":{"id":1000008,"name":"Public"},"file_name":"alpine_flow",
            "file_type":"work_flow","entity_subtype":"alpine","user_modified_at":"2019-04-03T22:09:35Z","status":"idle",
            "owner":{"id":1000006,"username":"owner"},"version_info":{"created_at":"2015-11-13T04:56:19Z","updated_at":"2015-11-13T04:56:20Z"},
            "complete_json":true});
        let bytes = raw(&v);
        let seen = to_run(&bytes).unwrap();
        let run = seen.run;
        assert_eq!(run.id.as_str(), "1000004");
        assert_eq!(run.state, RunState::Idle);
        assert_eq!(run.name.as_deref(), Some("alpine_flow"));
        assert_eq!(run.kind.as_deref(), Some("work_flow"));
        assert_eq!(run.owner.as_deref(), Some("owner"));
        assert_eq!(
            run.created_at.unwrap().to_rfc3339(),
            "2015-11-13T04:56:19+00:00"
        );
        assert_eq!(run.raw().map(RawValue::get), Some(bytes.get()));
        assert_eq!(run.raw_value(), v);
        assert_eq!(
            seen.location,
            Some(Location {
                workspace: "1000008".into(),
                file_name: "alpine_flow".into()
            })
        );
    }

    #[test]
    fn locations_of_workflows_only() {
        let v = json!({"id":1000004,"workspace":{"id":1000008,"name":"Public"},
            "file_name":"alpine_flow","file_type":"work_flow","status":"idle"});
        assert_eq!(
            location_of(&v),
            Some(Location {
                workspace: "1000008".into(),
                file_name: "alpine_flow".into()
            })
        );
        let v = json!({"id":1,"workspace":{"id":"8"},"file_name":"a","file_type":"work_flow"});
        assert_eq!(location_of(&v).map(|l| l.workspace).as_deref(), Some("8"));
        for bad in [
            json!({"id":1,"workspace":{"id":8},"file_name":"a.sql","file_type":"sql"}),
            json!({"id":1,"workspace":{"id":"x"},"file_name":"a","file_type":"work_flow"}),
            json!({"id":1,"workspace":null,"file_name":"a","file_type":"work_flow"}),
            json!({"id":1,"workspace":[8],"file_name":"a","file_type":"work_flow"}),
            json!({"id":1,"workspace":{"id":8},"file_name":"","file_type":"work_flow"}),
            json!({"id":1,"workspace":{"id":8},"file_type":"work_flow"}),
            json!("x"),
            json!([1, [8], "a", "work_flow"]),
        ] {
            assert_eq!(location_of(&bad), None, "{bad}");
        }
    }

    #[test]
    fn listed_ids_are_read_without_the_rest() {
        for (item, id) in [
            (json!({"id":7,"status":3}), Some("7")),
            (json!({"id":"7"}), Some("7")),
            (json!({"id":-7}), None),
            (json!({"id":"7a"}), None),
            (json!([7]), None),
            (json!(null), None),
        ] {
            assert_eq!(workfile_id(&raw(&item)).as_deref(), id, "{item}");
        }
    }

    #[test]
    fn malformed_workfiles() {
        for v in [
            json!(null),
            json!([1]),
            json!([1, "idle"]),
            json!({"status":"idle"}),
            json!({"id":-1,"status":"idle"}),
            json!({"id":"abc","status":"idle"}),
            json!({"id":1.5,"status":"idle"}),
            json!({"id":1}),
            json!({"id":1,"status":7}),
            json!({"id":1,"status":"idle","version_info":{"created_at":"soon"}}),
            json!({"id":1,"status":"idle","version_info":{"created_at":7}}),
        ] {
            assert_eq!(
                to_run(&raw(&v)).unwrap_err().kind(),
                ErrorKind::InvalidResponse,
                "{v}"
            );
        }
        // Optional parts of odd types are absent, not errors.
        let v = json!({"id":"7","status":"queued","owner":null,"file_name":3,
            "version_info":"x","workspace":{"id":[1]},"extra":{"a":[1,2]}});
        let run = to_run(&raw(&v)).unwrap().run;
        assert_eq!(run.state, RunState::Unknown);
        assert_eq!(run.vendor_state, "queued");
        assert_eq!((run.name, run.owner, run.created_at), (None, None, None));
        let v = json!({"id":1,"status":"idle","version_info":{"created_at":null},"owner":{"username":""}});
        let run = to_run(&raw(&v)).unwrap().run;
        assert_eq!((run.created_at, run.owner), (None, None));
    }
}
