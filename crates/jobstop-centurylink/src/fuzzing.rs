//! The decoders the controller applies to CenturyLink Runner's bytes,
//! callable without a server, for the fuzz targets in the repository's
//! `fuzz/` directory and their property-test twins. Not a stable API.

use jobstop_core::{Cursor, Error, Operation, Result, Run, RunId, Vendor};
use jobstop_http::fuzzing::{error_response, ok_response, seed};
use serde_json::Value;

use crate::error::RunnerErrorParser;
use crate::model::{LoginAnswer, RunnerPage, execution_to_run, job_id, job_name, parse_id};
use crate::state::map_state;

/// The decoders [`decode`] chooses from, by the input's first byte.
pub const DECODERS: [&str; 8] = [
    "job page",
    "execution page",
    "execution",
    "login",
    "error",
    "state",
    "id",
    "cursor",
];

/// The job id the fuzzed documents are read under, as the controller passes
/// the job id of the request.
const JOB: &str = "1111505e-6773-494a-b2bf-d2cc2684710d";

fn page(body: &[u8]) -> Result<RunnerPage> {
    let v: Value = ok_response(&Vendor::CENTURYLINK, Operation::List, body).json()?;
    serde_json::from_value(v).map_err(|e| {
        Error::invalid_response(format!("a Runner page is not the expected JSON: {e}"))
    })
}

/// Runs the decoder the first byte selects (modulo [`DECODERS`]) on the
/// rest of `data`, exactly as the controller decodes a response: a page of
/// jobs (ids and names), a page of executions, one execution (status and
/// stop), the login answer, an error answer, a state string, run ids and
/// cursors. Returns the runs decoded, or the error the controller would
/// return.
pub fn decode(data: &[u8]) -> Result<Vec<Run>> {
    let Some((selector, body)) = data.split_first() else {
        return Ok(Vec::new());
    };
    let text = || String::from_utf8_lossy(body).into_owned();
    match usize::from(*selector) % DECODERS.len() {
        0 => {
            for job in page(body)?.results {
                let _ = (job_id(&job), job_name(&job));
            }
            Ok(Vec::new())
        }
        1 => page(body)?
            .results
            .into_iter()
            .map(|e| execution_to_run(e, JOB, Some("fuzz".to_owned())))
            .collect(),
        2 => {
            let v: Value = ok_response(&Vendor::CENTURYLINK, Operation::Status, body).json()?;
            let run = execution_to_run(v, JOB, None)?;
            assert_eq!(run.state, map_state(&run.vendor_state));
            Ok(vec![run])
        }
        3 => {
            let _login: LoginAnswer =
                ok_response(&Vendor::CENTURYLINK, Operation::Authenticate, body).json_redacted()?;
            Ok(Vec::new())
        }
        4 => Err(error_response(
            &Vendor::CENTURYLINK,
            body,
            &RunnerErrorParser,
        )),
        5 => {
            let _ = map_state(&text());
            Ok(Vec::new())
        }
        6 => {
            let r = parse_id(&RunId::new(text()))?;
            assert!(!r.job.contains('/') && !r.execution.contains('/'));
            Ok(Vec::new())
        }
        _ => {
            crate::client::parse_cursor(&Cursor::new(text()))?;
            Ok(Vec::new())
        }
    }
}

/// Documented examples, one or more per decoder, as `[selector] ++ body`:
/// the seeds of the fuzz corpus and of the near-valid twin.
pub fn seeds() -> Vec<Vec<u8>> {
    let execution = r#"{"timers":[{"start":1445359386400,"end":1445359388219}],"job_id":"1111505e-6773-494a-b2bf-d2cc2684710d","execution_id":"44fdcfa2-6a7f-46d3-9f71-22e629e2358a","account_alias":"XXXX","status":"STOPPED","repository_log":null,"failed_hosts":[],"is_vpn_established":false}"#;
    vec![
        seed(
            0,
            r#"{"totalSize":1,"page":0,"size":50,"results":[{"id":"1111505e-6773-494a-b2bf-d2cc2684710d","name":"patch","description":"monthly patching","accountAlias":"XXXX"}]}"#,
        ),
        seed(
            1,
            &format!(
                r#"{{"totalSize":2,"page":0,"size":100,"results":[{execution},{{"start":1445359386400,"end":null,"jobId":"j","executionId":"e","status":"RUNNING"}}]}}"#
            ),
        ),
        seed(2, execution),
        seed(
            3,
            r#"{"userName":"user@example.com","accountAlias":"XXXX","locationAlias":"WA1","roles":["AccountAdmin"],"bearerToken":"eyJhbGciOi"}"#,
        ),
        seed(
            4,
            "\x00{\"message\":\"The request is invalid.\",\"modelState\":{\"body\":[\"bad\"]}}",
        ),
        seed(5, "RUNNING"),
        seed(
            6,
            "1111505e-6773-494a-b2bf-d2cc2684710d/44fdcfa2-6a7f-46d3-9f71-22e629e2358a",
        ),
        seed(7, "0:1:2"),
    ]
}
