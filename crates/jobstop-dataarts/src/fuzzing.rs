//! The decoders the controller applies to DataArts Factory's bytes, callable
//! without a server, for the fuzz targets in the repository's `fuzz/`
//! directory and their property-test twins. Not a stable API.

use jobstop_core::{Cursor, Operation, Result, Run, RunId, Vendor};
use jobstop_http::fuzzing::{cache_token, error_response, ok_response, seed};
use jobstop_http::{SecretString, Token};
use serde_json::Value;

use crate::error::DataArtsErrorParser;
use crate::model::{
    IamToken, InstanceList, JobList, instance_to_run, job_to_run, parse_id, realtime_to_run,
};
use crate::state::{batch_job_state, instance_state, realtime_job_state};

/// The decoders [`decode`] chooses from, by the input's first byte.
pub const DECODERS: [&str; 10] = [
    "job list",
    "instance list",
    "job",
    "real-time job and status",
    "instance",
    "iam token",
    "error",
    "state",
    "id",
    "cursor",
];

fn json(body: &[u8], op: Operation) -> Result<Value> {
    ok_response(&Vendor::DATAARTS, op, body).json()
}

/// Runs the decoder the first byte selects (modulo [`DECODERS`]) on the
/// rest of `data`, exactly as the controller decodes a response: the job and
/// instance lists, a job's detail, a real-time job's detail and status (two
/// documents separated by a newline), an instance, the IAM token answer, an
/// error answer, state strings, run ids and cursors. Returns the runs
/// decoded, or the error the controller would return.
pub fn decode(data: &[u8]) -> Result<Vec<Run>> {
    let Some((selector, body)) = data.split_first() else {
        return Ok(Vec::new());
    };
    let text = || String::from_utf8_lossy(body).into_owned();
    match usize::from(*selector) % DECODERS.len() {
        0 => {
            let list: JobList = serde_json::from_value(json(body, Operation::List)?)
                .map_err(|e| jobstop_core::Error::invalid_response(e.to_string()))?;
            list.jobs.into_iter().map(job_to_run).collect()
        }
        1 => {
            let list: InstanceList = serde_json::from_value(json(body, Operation::List)?)
                .map_err(|e| jobstop_core::Error::invalid_response(e.to_string()))?;
            list.instances
                .into_iter()
                .map(|i| instance_to_run(i, None))
                .collect()
        }
        2 => Ok(vec![job_to_run(json(body, Operation::Status)?)?]),
        3 => {
            let split = body.iter().position(|b| *b == b'\n').unwrap_or(body.len());
            let (job, status) = body.split_at(split);
            let status = status.get(1..).unwrap_or_default();
            Ok(vec![realtime_to_run(
                json(job, Operation::Status)?,
                json(status, Operation::Status)?,
            )?])
        }
        4 => Ok(vec![instance_to_run(
            json(body, Operation::Status)?,
            Some("fuzz_job"),
        )?]),
        5 => {
            let token: IamToken =
                ok_response(&Vendor::DATAARTS, Operation::Authenticate, body).json_redacted()?;
            // As a fetch hands it to the token cache.
            let life = crate::auth::iam_lifetime(&token, chrono::Utc::now())?;
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
            parse_id(&RunId::new(text()))?;
            Ok(Vec::new())
        }
        _ => {
            let cursor = Cursor::new(text());
            for kind in [None, Some("batch_instance")] {
                let sources = crate::client::sources_for(kind);
                if let Ok(p) = crate::client::Position::parse(&cursor, sources) {
                    assert!(p.source < sources.len());
                    assert_eq!(
                        crate::client::Position::parse(&p.to_cursor(), sources).ok(),
                        Some(p)
                    );
                }
            }
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
        seed(2, job),
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
    ]
}
