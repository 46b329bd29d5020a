//! The decoders the protocol applies to DataArts Factory's bytes, callable
//! without a server, for the fuzz targets in the repository's `fuzz/`
//! directory and their property-test twins: each entry wraps the fuzzer's
//! bytes as the response the HTTP client would hand over and calls the very
//! function the protocol calls on it. Behind the `fuzzing` feature; not a
//! stable API.

use jobstop_core::{Cursor, Operation, Result, Run, RunId, Vendor};
use jobstop_http::fuzzing::{cache_token, error_response, ok_response, seed};
use jobstop_http::{HttpResponse, SecretString, Token};

use crate::error::DataArtsErrorParser;
use crate::listing::{MAX_INSTANCE_PAGE, MAX_JOB_PAGE, Position, Source};
use crate::model;
use crate::state::{batch_job_state, instance_state, realtime_job_state};

/// The decoders [`decode`] chooses from, by the input's first byte.
pub const DECODERS: [&str; 11] = [
    "job list",
    "instance list",
    "batch job (name, detail and job list)",
    "real-time job (detail and status)",
    "instance",
    "iam token",
    "error",
    "state",
    "id",
    "cursor",
    "stop answer",
];

fn ok(body: &[u8], op: Operation) -> HttpResponse {
    ok_response(&Vendor::DATAARTS, op, body)
}

/// `body` cut at its first newline (the second part empty without one).
fn split_line(body: &[u8]) -> (&[u8], &[u8]) {
    let at = body.iter().position(|b| *b == b'\n').unwrap_or(body.len());
    let (first, rest) = body.split_at(at);
    (first, rest.get(1..).unwrap_or_default())
}

/// Runs the decoder the first byte selects (modulo [`DECODERS`]) on the
/// rest of `data`, through the functions the protocol calls: a page of the
/// job and of the instance list, a batch job (its name, its detail and a
/// page of the job list searched for it, on three lines), a real-time job
/// (its detail and its status, on two lines), an instance, the IAM token
/// answer, an error answer, state strings, run ids, cursors and a stop's
/// answer. Returns the runs decoded, or the error the protocol would return.
pub fn decode(data: &[u8]) -> Result<Vec<Run>> {
    let Some((selector, body)) = data.split_first() else {
        return Ok(Vec::new());
    };
    let text = || String::from_utf8_lossy(body).into_owned();
    match usize::from(*selector) % DECODERS.len() {
        0 => {
            let mut pos = Position::start(0, MAX_JOB_PAGE, None);
            Ok(model::page(Source::BatchJobs, &ok(body, Operation::List), &mut pos)?.0)
        }
        1 => {
            let mut pos = Position::start(1, MAX_INSTANCE_PAGE, None);
            Ok(model::page(Source::Instances, &ok(body, Operation::List), &mut pos)?.0)
        }
        2 => {
            let (name, rest) = split_line(body);
            let (detail, list) = split_line(rest);
            let detail = ok(detail, Operation::Status);
            let detail = model::detail(&detail)?;
            let mut pos = Position::start(0, MAX_JOB_PAGE, None);
            let list = ok(list, Operation::Status);
            let name = String::from_utf8_lossy(name);
            Ok(model::find_batch(&list, &mut pos, &name, &detail)?
                .0
                .into_iter()
                .collect())
        }
        3 => {
            let (detail, status) = split_line(body);
            let detail = ok(detail, Operation::Status);
            let detail = model::detail(&detail)?;
            Ok(vec![model::realtime(
                &detail,
                &ok(status, Operation::Status),
            )?])
        }
        4 => Ok(vec![model::instance(
            &ok(body, Operation::Status),
            "fuzz_job",
        )?]),
        5 => {
            let life = crate::auth::iam_lifetime(&ok(body, Operation::Authenticate))?;
            // As a fetch hands it to the token cache.
            cache_token(&Token::expiring(SecretString::new("fuzz"), life));
            Ok(Vec::new())
        }
        6 => Err(error_response(
            &Vendor::DATAARTS,
            body,
            &DataArtsErrorParser,
        )),
        7 => {
            let raw = text();
            let _ = (
                instance_state(&raw),
                realtime_job_state(&raw),
                batch_job_state(&raw),
            );
            Ok(Vec::new())
        }
        8 => {
            model::parse_id(&RunId::new(text()))?;
            Ok(Vec::new())
        }
        9 => {
            let cursor = Cursor::new(text());
            for kind in [None, Some("batch_instance")] {
                let sources = Source::for_kind(kind);
                if let Ok(p) = Position::parse(&cursor, sources) {
                    assert!(p.source < sources.len());
                    assert_eq!(Position::parse(&p.to_cursor(), sources).ok(), Some(p));
                }
            }
            Ok(Vec::new())
        }
        _ => {
            model::stop_accepted(&ok(body, Operation::Stop))?;
            Ok(Vec::new())
        }
    }
}

/// Documented examples, one or more per decoder, as `[selector] ++ body`:
/// the seeds of the fuzz corpus and of the near-valid twin.
pub fn seeds() -> Vec<Vec<u8>> {
    // A job list item (OTC viewing_a_job_list.rst; HSDK job_result.py).
    let job = r#"{"name":"job_batch","jobType":"BATCH","status":"NORMAL","createUser":"ei_dlf_l00341563","createTime":1536821256000,"lastUpdateUser":"ei_dlf_l00341563","priority":0,"owner":"ei_dlf_l00341563","directory":"/","processType":"BATCH","singleNodeJobFlag":false}"#;
    let rt = r#"{"name":"job_rt","jobType":"REAL_TIME","status":"RUNNING","createTime":1536821256000,"owner":"me"}"#;
    // HSDK show_job_status_response.py: string times, `starttime`.
    let status = r#"{"name":"job_rt","status":"NORMAL","starttime":"1536821256000","endTime":"2018-09-13 06:47:36","lastUpdateTime":"1536821256000","nodes":[{"name":"n1","status":"RUNNING"}],"createUser":"me","lastModifiyUser":"me"}"#;
    // An instance (OTC viewing_a_job_instance_list.rst; HSDK job_instance.py).
    let instance = r#"{"jobName":"job_batch","instanceId":34765,"status":"running","planTime":1536821256000,"startTime":1536821257000,"endTime":null,"executeTime":0,"submitTime":1536821256000,"instanceType":0,"jobId":"38f56893b2c84c1d9b7d3e2ef4b0c9e6","submitUser":"me"}"#;
    vec![
        seed(0, &format!(r#"{{"total":2,"jobs":[{job},{rt}]}}"#)),
        seed(1, &format!(r#"{{"total":1,"instances":[{instance}]}}"#)),
        seed(
            2,
            &format!("job_batch\n{job}\n{{\"total\":2,\"jobs\":[{rt},{job}]}}"),
        ),
        seed(3, &format!("{rt}\n{status}")),
        seed(4, instance),
        seed(
            5,
            r#"{"token":{"expires_at":"2026-11-27T06:00:00.000000Z","issued_at":"2026-11-26T06:00:00.000000Z","methods":["password"]}}"#,
        ),
        // A lifetime of eight thousand years, for the token cache's arithmetic.
        seed(
            5,
            r#"{"token":{"expires_at":"9999-12-31T23:59:59.999999Z","issued_at":"2026-11-26T06:00:00.000000Z","methods":["password"]}}"#,
        ),
        seed(
            6,
            "\x00{\"error_code\":\"DLF.0100\",\"error_msg\":\"The job does not exist.\"}",
        ),
        seed(7, "RUNNING"),
        seed(8, "job_batch/34765"),
        seed(9, "d2:1:0:u:100:100:1a2b:1718769600999"),
        seed(10, r#"{"result":"ok"}"#),
    ]
}
