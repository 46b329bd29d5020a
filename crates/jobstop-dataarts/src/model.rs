//! DataArts wire types, run ids, and their mapping to [`Run`].
//!
//! Answers decode into typed wire structs, each listed item once from its
//! bytes; a run keeps those bytes as its raw JSON, so no
//! `serde_json::Value` is built for a run. The functions that take an
//! [`HttpResponse`] are the ones the protocol calls on each answer (and the
//! fuzz targets call on theirs).

use chrono::{DateTime, TimeZone, Utc};
use jobstop_core::{Error, Result, Run, RunId, Vendor};
use jobstop_http::HttpResponse;
use jobstop_http::wire::{Scalar, text, text_or_empty};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny};
use serde_json::value::RawValue;

use crate::listing::{
    KIND_BATCH_INSTANCE, KIND_BATCH_JOB, KIND_REALTIME_JOB, Position, Source, fnv1a,
};
use crate::state::{batch_job_state, instance_state, realtime_job_state};

/// What a DataArts run id names: [`DataArtsProtocol`](crate::DataArtsProtocol)'s
/// parsed id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
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

/// A job name that can stand in a run id: [`check_name`]'s rules, and no
/// `/` (the separator of an instance id).
fn check_id_name(name: &str) -> Result<()> {
    check_name(name)?;
    if name.contains('/') {
        return Err(Error::invalid_input(
            "a DataArts job name in a run id must not contain `/` (it separates the instance id)",
        ));
    }
    Ok(())
}

/// The run id of instance `instance` of batch job `job`:
/// `{job}/{instance}`, the id
/// [`status`](jobstop_core::JobController::status) and
/// [`stop`](jobstop_core::JobController::stop) take for a job instance.
///
/// `job` is 1 to 128 characters without control characters, surrounding
/// spaces or `/`; anything else is refused with an `InvalidInput` error
/// (never encoded into the id). Other characters, `%` included, are kept as
/// they are in the id and percent-encoded as one path segment when a request
/// is built, so no job name can change the request target.
///
/// ```
/// let id = jobstop_dataarts::instance_id("job_batch", 34765)?;
/// assert_eq!(id.as_str(), "job_batch/34765");
/// assert!(jobstop_dataarts::instance_id("a/b", 1).is_err());
/// assert_eq!(jobstop_dataarts::instance_id("50%", 1)?.as_str(), "50%/1");
/// # Ok::<(), jobstop_core::Error>(())
/// ```
pub fn instance_id(job: &str, instance: u64) -> Result<RunId> {
    check_id_name(job)?;
    Ok(RunId::new(format!("{job}/{instance}")))
}

/// The run id of job `job` (real-time or batch): the name itself, under
/// [`instance_id`]'s rules for a job name.
///
/// ```
/// assert_eq!(jobstop_dataarts::job_id("nightly")?.as_str(), "nightly");
/// assert!(jobstop_dataarts::job_id("nightly/1").is_err());
/// # Ok::<(), jobstop_core::Error>(())
/// ```
pub fn job_id(job: &str) -> Result<RunId> {
    check_id_name(job)?;
    Ok(RunId::new(job))
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

/// `GET /jobs`: `{"total":N,"jobs":[…]}`, each job kept as its bytes.
#[derive(Debug, Deserialize)]
struct JobList<'a> {
    total: u64,
    #[serde(default, borrow)]
    jobs: Vec<&'a RawValue>,
}

/// `GET /jobs/instances/detail`: `{"total":N,"instances":[…]}`.
#[derive(Debug, Deserialize)]
struct InstanceList<'a> {
    total: u64,
    #[serde(default, borrow)]
    instances: Vec<&'a RawValue>,
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

/// A field whose presence matters (`null` included): `Some` when present.
fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Scalar>, D::Error> {
    Scalar::deserialize(d).map(Some)
}

/// A time that may be epoch milliseconds (a number or a numeric string) or
/// a date string (RFC 3339, or `YYYY-MM-DD HH:MM:SS` read as UTC). Anything
/// else, 0 included, is `None`: a time never fails a run (the raw answer
/// keeps it).
fn lenient_time(value: Option<&Scalar>) -> Option<DateTime<Utc>> {
    let ms = match value? {
        Scalar::Int(ms) => *ms,
        // As `serde_json` reads a number too large for `i64`: saturated.
        Scalar::Uint(_) => i64::MAX,
        Scalar::Float(f) => *f as i64,
        Scalar::Text(s) => {
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
        Scalar::Null | Scalar::Other => return None,
    };
    if ms == 0 {
        return None;
    }
    Utc.timestamp_millis_opt(ms).single()
}

/// Epoch milliseconds (integer or fractional); 0 and absent mean unknown;
/// anything else is an error.
fn millis(value: Option<&Scalar>, key: &str) -> Result<Option<DateTime<Utc>>> {
    let ms = match value {
        None | Some(Scalar::Null) => return Ok(None),
        Some(Scalar::Int(ms)) => *ms,
        Some(Scalar::Uint(_)) => i64::MAX,
        Some(Scalar::Float(f)) => *f as i64,
        Some(Scalar::Text(_) | Scalar::Other) => {
            return Err(Error::invalid_response(format!(
                "field {key} is not a number of milliseconds"
            )));
        }
    };
    if ms == 0 {
        return Ok(None);
    }
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(Some)
        .ok_or_else(|| {
            Error::invalid_response(format!("field {key} is not a valid epoch-millisecond time"))
        })
}

/// One document or listed item: its bytes, and its fields when it is a
/// JSON object of the expected shape.
pub(crate) struct Item<'a, W> {
    raw: &'a RawValue,
    /// The fields, or why they did not decode.
    wire: std::result::Result<W, String>,
}

impl<'a, W: Deserialize<'a>> Item<'a, W> {
    fn new(raw: &'a RawValue, what: &str) -> Self {
        // Checked first: a struct would also decode from an array.
        let wire = if raw.get().trim_start().starts_with('{') {
            serde_json::from_str(raw.get())
                .map_err(|e| format!("a {what} is not the expected JSON: {e}"))
        } else {
            Err(format!("a {what} is not a JSON object"))
        };
        Item { raw, wire }
    }

    fn fields(&self) -> Result<&W> {
        self.wire.as_ref().map_err(Error::invalid_response)
    }

    /// The bytes and the fields.
    fn into_parts(self) -> Result<(&'a RawValue, W)> {
        Ok((self.raw, self.wire.map_err(Error::invalid_response)?))
    }
}

/// A job, as listed (HSDK `job_result.py`; OTC `viewing_a_job_list.rst`).
#[derive(Debug, Deserialize)]
struct JobWire {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text_or_empty")]
    status: Option<String>,
    #[serde(default, rename = "jobType", deserialize_with = "text_or_empty")]
    job_type: Option<String>,
    #[serde(default, rename = "createTime")]
    create_time: Option<Scalar>,
    #[serde(default, rename = "startTime")]
    start_time: Option<Scalar>,
    #[serde(default, rename = "endTime")]
    end_time: Option<Scalar>,
    #[serde(default, deserialize_with = "text")]
    owner: Option<String>,
    #[serde(default, rename = "createUser", deserialize_with = "text")]
    create_user: Option<String>,
}

/// A job list item's key: its name.
fn job_key(item: &Item<'_, JobWire>) -> u64 {
    item.wire
        .as_ref()
        .ok()
        .and_then(|j| j.name.as_deref())
        .map_or(0, fnv1a)
}

/// A job's detail (HSDK `show_job_response.py`): no state.
#[derive(Debug, Deserialize)]
pub(crate) struct DetailWire<'a> {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, rename = "processType", deserialize_with = "present")]
    process_type: Option<Scalar>,
    #[serde(default, rename = "jobType")]
    job_type: Option<Scalar>,
    #[serde(default, rename = "createTime")]
    create_time: Option<Scalar>,
    #[serde(default, borrow, rename = "basicConfig")]
    basic_config: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
struct BasicConfig {
    #[serde(default, deserialize_with = "text_or_empty")]
    owner: Option<String>,
}

/// A job's detail, read from its answer.
pub(crate) type Detail<'a> = Item<'a, DetailWire<'a>>;

impl Detail<'_> {
    /// The detail's `processType`, or an older `jobType` when it has none.
    pub(crate) fn process_type(&self) -> Option<&str> {
        let d = self.wire.as_ref().ok()?;
        match d.process_type.as_ref().or(d.job_type.as_ref())? {
            Scalar::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// A real-time job's `/status` answer (HSDK `show_job_status_response.py`):
/// string times, the start spelled `starttime`.
#[derive(Debug, Deserialize)]
struct StatusWire {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "present")]
    starttime: Option<Scalar>,
    #[serde(default, rename = "startTime")]
    start_time: Option<Scalar>,
    #[serde(default, rename = "endTime")]
    end_time: Option<Scalar>,
    #[serde(default, rename = "createUser", deserialize_with = "text")]
    create_user: Option<String>,
}

/// A batch job instance (HSDK `job_instance.py`).
#[derive(Debug, Deserialize)]
struct InstanceWire {
    #[serde(default, rename = "jobName", deserialize_with = "text")]
    job_name: Option<String>,
    #[serde(default, rename = "instanceId")]
    instance_id: Option<Scalar>,
    #[serde(default, deserialize_with = "text_or_empty")]
    status: Option<String>,
    #[serde(default, rename = "planTime")]
    plan_time: Option<Scalar>,
    #[serde(default, rename = "startTime")]
    start_time: Option<Scalar>,
    #[serde(default, rename = "endTime")]
    end_time: Option<Scalar>,
}

impl InstanceWire {
    /// The instance id, when it is a non-negative integer (a number or a
    /// numeric string).
    fn id(&self) -> Option<u64> {
        match self.instance_id.as_ref()? {
            Scalar::Int(n) => u64::try_from(*n).ok(),
            Scalar::Uint(n) => Some(*n),
            Scalar::Text(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// The instance's key: its id as written.
    fn key(&self) -> u64 {
        match self.instance_id.as_ref() {
            Some(Scalar::Int(n)) => fnv1a(&n.to_string()),
            Some(Scalar::Uint(n)) => fnv1a(&n.to_string()),
            Some(Scalar::Float(f)) => {
                serde_json::Number::from_f64(*f).map_or(0, |n| fnv1a(&n.to_string()))
            }
            Some(Scalar::Text(s)) => fnv1a(s),
            _ => 0,
        }
    }
}

fn instance_key(item: &Item<'_, InstanceWire>) -> u64 {
    item.wire.as_ref().map_or(0, InstanceWire::key)
}

/// `{"k1":<raw>,"k2":<raw>}`, from the pieces' bytes.
fn composite(pieces: [(&str, &RawValue); 2]) -> Result<Box<RawValue>> {
    let [(k1, v1), (k2, v2)] = pieces;
    RawValue::from_string(format!(r#"{{"{k1}":{},"{k2}":{}}}"#, v1.get(), v2.get()))
        .map_err(|e| Error::invalid_response(format!("the run's JSON did not combine: {e}")))
}

/// One answer of a listing of `source`, taken into `pos`: the runs not
/// listed before, and whether the source (or window) is done.
pub(crate) fn page(
    source: Source,
    resp: &HttpResponse,
    pos: &mut Position,
) -> Result<(Vec<Run>, bool)> {
    if source == Source::Instances {
        let list: InstanceList<'_> = resp.json()?;
        let items = list
            .instances
            .into_iter()
            .map(|r| Item::new(r, "job instance"));
        let (fresh, done) = pos.absorb(items.collect(), list.total, instance_key);
        let runs = fresh.into_iter().map(|i| instance_to_run(i, None));
        Ok((runs.collect::<Result<_>>()?, done))
    } else {
        let list: JobList<'_> = resp.json()?;
        let items = list.jobs.into_iter().map(|r| Item::new(r, "job"));
        let (fresh, done) = pos.absorb(items.collect(), list.total, job_key);
        Ok((
            fresh.into_iter().map(job_to_run).collect::<Result<_>>()?,
            done,
        ))
    }
}

/// One answer of a batch job list searched for the job named exactly
/// `name` (`jobName` matches parts of names): the job with its `detail`,
/// if there, and whether the list is done.
pub(crate) fn find_batch(
    resp: &HttpResponse,
    pos: &mut Position,
    name: &str,
    detail: &Detail<'_>,
) -> Result<(Option<Run>, bool)> {
    let list: JobList<'_> = resp.json()?;
    let items = list.jobs.into_iter().map(|r| Item::new(r, "job"));
    let (fresh, done) = pos.absorb(items.collect(), list.total, job_key);
    let named = |j: &Item<'_, JobWire>| {
        j.wire
            .as_ref()
            .is_ok_and(|w| w.name.as_deref() == Some(name))
    };
    let found = fresh.into_iter().find(named);
    Ok((found.map(|j| batch_to_run(detail, j)).transpose()?, done))
}

/// A job's detail answer.
pub(crate) fn detail(resp: &HttpResponse) -> Result<Detail<'_>> {
    Ok(Item::new(resp.json()?, "job"))
}

/// A real-time job: its detail plus its `/status` answer.
pub(crate) fn realtime(detail: &Detail<'_>, status: &HttpResponse) -> Result<Run> {
    realtime_to_run(detail, Item::new(status.json()?, "job status"))
}

/// An instance's answer; `job` is the job named in the run id.
pub(crate) fn instance(resp: &HttpResponse, job: &str) -> Result<Run> {
    instance_to_run(Item::new(resp.json()?, "job instance"), Some(job))
}

/// Checks a stop's answer: DataArts answers an accepted stop 204 with no
/// body. Any other success must at least be JSON (an empty body, an HTML
/// page or text is refused): a proxy's 200 page does not mean the stop was
/// accepted, and reporting one would claim a stop that never happened.
pub(crate) fn stop_accepted(resp: &HttpResponse) -> Result<()> {
    if resp.status().as_u16() != 204 {
        resp.json::<IgnoredAny>()?;
    }
    Ok(())
}

/// A job list item → [`Run`]. Real-time jobs are runs of kind
/// `realtime_job`, batch jobs of kind `batch_job`.
fn job_to_run(item: Item<'_, JobWire>) -> Result<Run> {
    let (raw, job) = item.into_parts()?;
    let name = job
        .name
        .ok_or_else(|| Error::invalid_response("a job has no name"))?;
    let id = job_id(&name).map_err(|_| {
        Error::invalid_response(
            "a job name cannot stand in a run id (empty, too long, or with `/`)",
        )
    })?;
    let with_id = |e: Error| e.with_run_id(id.clone());
    let status = job
        .status
        .ok_or_else(|| with_id(Error::invalid_response("a job has no status")))?;
    let (kind, state) = match job.job_type.as_deref() {
        Some("REAL_TIME") => (KIND_REALTIME_JOB, realtime_job_state(&status)),
        Some("BATCH") | None => (KIND_BATCH_JOB, batch_job_state(&status)),
        Some(other) => {
            return Err(with_id(Error::invalid_response(format!(
                "unknown jobType {:?}",
                other.chars().take(40).collect::<String>()
            ))));
        }
    };
    let mut run = Run::new(Vendor::DATAARTS, id, state, status)
        .with_kind(kind)
        .with_name(name);
    run.created_at = lenient_time(job.create_time.as_ref());
    run.started_at = lenient_time(job.start_time.as_ref());
    run.ended_at = lenient_time(job.end_time.as_ref());
    run.owner = job.owner.or(job.create_user);
    Ok(run.with_raw_json(raw.to_owned()))
}

/// A real-time job's detail plus its `/status` answer → [`Run`]; the raw
/// JSON holds both as `{"job":…, "status":…}`.
///
/// The detail has no `status`; the status answer has the state and string
/// times. Times that cannot be read are left out; they never fail the
/// status.
fn realtime_to_run(detail: &Detail<'_>, status: Item<'_, StatusWire>) -> Result<Run> {
    let (status_raw, st) = status.into_parts()?;
    let job = detail.fields()?;
    let name = job
        .name
        .clone()
        .or(st.name)
        .ok_or_else(|| Error::invalid_response("a job has no name"))?;
    let id = job_id(&name).map_err(|_| {
        Error::invalid_response(
            "a job name cannot stand in a run id (empty, too long, or with `/`)",
        )
    })?;
    let raw_status = st.status.ok_or_else(|| {
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
    run.created_at = lenient_time(job.create_time.as_ref());
    run.started_at = lenient_time(st.starttime.as_ref().or(st.start_time.as_ref()));
    run.ended_at = lenient_time(st.end_time.as_ref());
    run.owner = st.create_user.or_else(|| {
        let config = Item::<BasicConfig>::new(job.basic_config?, "basicConfig");
        config.wire.ok()?.owner
    });
    let raw = composite([("job", detail.raw), ("status", status_raw)])?;
    Ok(run.with_raw_json(raw))
}

/// A batch job's detail plus its item in the job list (the only place its
/// schedule state is) → [`Run`]; the raw JSON holds both as
/// `{"job":…, "listed":…}`.
fn batch_to_run(detail: &Detail<'_>, listed: Item<'_, JobWire>) -> Result<Run> {
    let listed_raw = listed.raw;
    let mut run = job_to_run(listed)?;
    let created = detail.wire.as_ref().ok().map(|d| d.create_time.as_ref());
    if let Some(t) = lenient_time(created.flatten()) {
        run.created_at = Some(t);
    }
    let raw = composite([("job", detail.raw), ("listed", listed_raw)])?;
    Ok(run.with_raw_json(raw))
}

/// An instance (list item or detail) → [`Run`] of kind `batch_instance` with
/// id `{jobName}/{instanceId}`, named after its job, created at its plan time.
fn instance_to_run(item: Item<'_, InstanceWire>, job_hint: Option<&str>) -> Result<Run> {
    let (raw, inst) = item.into_parts()?;
    let job = inst
        .job_name
        .clone()
        .or_else(|| job_hint.map(str::to_owned))
        .ok_or_else(|| Error::invalid_response("a job instance has no jobName"))?;
    let n = inst
        .id()
        .ok_or_else(|| Error::invalid_response("a job instance has no numeric instanceId"))?;
    let id = instance_id(&job, n).map_err(|_| {
        Error::invalid_response(
            "a job name cannot stand in a run id (empty, too long, or with `/`)",
        )
    })?;
    let with_id = |e: Error| e.with_run_id(id.clone());
    let status = inst
        .status
        .ok_or_else(|| with_id(Error::invalid_response("a job instance has no status")))?;
    let mut run = Run::new(
        Vendor::DATAARTS,
        id.clone(),
        instance_state(&status),
        status,
    )
    .with_kind(KIND_BATCH_INSTANCE)
    .with_name(job);
    run.created_at = millis(inst.plan_time.as_ref(), "planTime").map_err(with_id)?;
    run.started_at = millis(inst.start_time.as_ref(), "startTime").map_err(with_id)?;
    run.ended_at = millis(inst.end_time.as_ref(), "endTime").map_err(with_id)?;
    Ok(run.with_raw_json(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobstop_core::{ErrorKind, RunState};
    use serde_json::{Value, json};

    fn raw(v: &Value) -> Box<RawValue> {
        RawValue::from_string(v.to_string()).unwrap()
    }

    fn job_to_run(v: Value) -> Result<Run> {
        super::job_to_run(Item::new(&raw(&v), "job"))
    }

    fn instance_to_run(v: Value, hint: Option<&str>) -> Result<Run> {
        super::instance_to_run(Item::new(&raw(&v), "job instance"), hint)
    }

    fn realtime_to_run(detail: Value, status: Value) -> Result<Run> {
        let (detail, status) = (raw(&detail), raw(&status));
        super::realtime_to_run(&Item::new(&detail, "job"), Item::new(&status, "job status"))
    }

    fn batch_to_run(detail: Value, listed: Value) -> Result<Run> {
        let (detail, listed) = (raw(&detail), raw(&listed));
        super::batch_to_run(&Item::new(&detail, "job"), Item::new(&listed, "job"))
    }

    fn process_type(detail: Value) -> Option<String> {
        let detail = raw(&detail);
        Item::<DetailWire<'_>>::new(&detail, "job")
            .process_type()
            .map(str::to_owned)
    }

    /// A field read as the wire structs read times.
    fn lenient_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
        let scalar: Option<Scalar> = serde_json::from_value(v.cloned()?).unwrap();
        super::lenient_time(scalar.as_ref())
    }

    #[test]
    fn constructed_ids_round_trip_and_refuse_a_slash() {
        for job in ["job_batch", "50%", "a%2Fb", "作业_1", "x?y#z"] {
            let id = instance_id(job, 34765).unwrap();
            assert_eq!(
                parse_id(&id).unwrap(),
                Target::Instance(job.into(), 34765),
                "{job:?}"
            );
            assert_eq!(
                parse_id(&job_id(job).unwrap()).unwrap(),
                Target::Job(job.into())
            );
        }
        for job in ["a/b", "a/1", "/", "", " a", "..", "a\n"] {
            assert_eq!(
                instance_id(job, 1).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{job:?}"
            );
            assert!(job_id(job).is_err(), "{job:?}");
        }
    }

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

    #[test]
    fn typed_decoding_keeps_every_leniency() {
        let ms = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp_millis());
        // Unknown fields pass, fields of another type read as absent, an
        // empty status is a status, times may be numeric strings.
        let run = job_to_run(
            json!({"name":"j","status":"","jobType":null,"owner":7,"createUser":"u",
            "createTime":"1680783636000","extra":{"a":[1]}}),
        )
        .unwrap();
        assert_eq!(
            (run.kind.as_deref(), run.vendor_state.as_str()),
            (Some(KIND_BATCH_JOB), "")
        );
        assert_eq!(run.owner.as_deref(), Some("u"));
        assert_eq!(ms(run.created_at), Some(1680783636000));
        // The raw JSON is the item's own bytes, unknown fields included.
        assert_eq!(run.raw_value()["extra"]["a"][0], 1);
        // An instance id may be a numeric string; instance times are epoch
        // milliseconds, fractional ones too, and nothing else.
        let inst = json!({"jobName":"j","instanceId":"42","status":"running","planTime":null,"startTime":1.5e12});
        let run = instance_to_run(inst, None).unwrap();
        assert_eq!(run.id.as_str(), "j/42");
        assert_eq!(
            (run.created_at, ms(run.started_at)),
            (None, Some(1_500_000_000_000))
        );
        let inst =
            json!({"jobName":"j","instanceId":1,"status":"running","planTime":"1680783636000"});
        let e = instance_to_run(inst, None).unwrap_err();
        assert!(e.to_string().contains("planTime"), "{e}");
        assert_eq!(e.run_id(), Some(&RunId::new("j/1")));
        // processType decides when present (a non-string one says nothing);
        // an older jobType only when it is absent.
        let pt = |v: Value| process_type(v);
        assert_eq!(
            pt(json!({"processType":"REAL_TIME","jobType":"BATCH"})).as_deref(),
            Some("REAL_TIME")
        );
        assert_eq!(pt(json!({"processType":null,"jobType":"BATCH"})), None);
        assert_eq!(pt(json!({"jobType":"BATCH"})).as_deref(), Some("BATCH"));
        assert_eq!(pt(json!(["BATCH"])), None);
        // `starttime` wins when present, even unreadable; else `startTime`.
        let started = |status: Value| {
            let run = realtime_to_run(json!({"name":"rt"}), status).unwrap();
            ms(run.started_at)
        };
        assert_eq!(
            started(json!({"status":"NORMAL","starttime":null,"startTime":1680783636000u64})),
            None
        );
        assert_eq!(
            started(json!({"status":"NORMAL","startTime":1680783636000u64})),
            Some(1680783636000)
        );
        // The owner from basicConfig, only when that is an object.
        let owner = |detail: Value| {
            let run = realtime_to_run(detail, json!({"status":"NORMAL"})).unwrap();
            run.owner
        };
        assert_eq!(
            owner(json!({"name":"rt","basicConfig":{"owner":"me"}})).as_deref(),
            Some("me")
        );
        assert_eq!(owner(json!({"name":"rt","basicConfig":["me"]})), None);
        // A batch job: the state from the list, the creation from the
        // detail, both kept raw.
        let run = batch_to_run(
            json!({"name":"b","createTime":1680783636000u64}),
            json!({"name":"b","status":"SCHEDULING","createTime":5}),
        )
        .unwrap();
        assert_eq!(
            (run.state, ms(run.created_at)),
            (RunState::Running, Some(1680783636000))
        );
        assert_eq!(run.raw_value()["listed"]["status"], "SCHEDULING");
        assert_eq!(run.raw_value()["job"]["createTime"], 1680783636000u64);
        // An array is not an item, although a struct could decode from one.
        for v in [json!(["j", "NORMAL"]), json!("j"), json!(7)] {
            let e = job_to_run(v).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse);
            assert!(e.to_string().contains("not a JSON object"), "{e}");
        }
    }
}
