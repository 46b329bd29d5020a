//! The decoders the controller applies to CenturyLink Runner's bytes,
//! callable without a server, for the fuzz targets in the repository's
//! `fuzz/` directory and their property-test twins. Not a stable API.

use jobstop_core::{Cursor, Operation, Result, Run, RunId, Vendor};
use jobstop_http::fuzzing::{error_response, ok_response, seed};

use crate::error::RunnerErrorParser;
use crate::model::{self, Job, LoginAnswer, parse_id};
use crate::state::map_state;

/// The decoders [`decode`] chooses from, by the input's first byte.
pub const DECODERS: [&str; 9] = [
    "job page",
    "execution page",
    "execution",
    "login",
    "error",
    "state",
    "id",
    "cursor",
    "job",
];

/// The job id the fuzzed documents are read under, as the controller passes
/// the job id of the request.
const JOB: &str = "1111505e-6773-494a-b2bf-d2cc2684710d";

/// Runs the decoder the first byte selects (modulo [`DECODERS`]) on the
/// rest of `data`, through the very functions the protocol calls on a
/// response body: a page of jobs (ids and names, as a listing reads them),
/// a page of executions (as a listing maps it, and as a status looks one
/// execution up in it), one execution (status and stop), the login answer,
/// an error answer, a state string, run ids, cursors and a job document
/// (its name, as a status reads it). Returns the runs decoded, or the error
/// the controller would return.
pub fn decode(data: &[u8]) -> Result<Vec<Run>> {
    let Some((selector, body)) = data.split_first() else {
        return Ok(Vec::new());
    };
    let text = || String::from_utf8_lossy(body).into_owned();
    let response = |op: Operation| ok_response(&Vendor::CENTURYLINK, op, body);
    match usize::from(*selector) % DECODERS.len() {
        0 => {
            let resp = response(Operation::List);
            for doc in model::page(&resp)?.results {
                let job = Job::decode(doc);
                let _ = (job.id.clone(), job.name());
            }
            Ok(Vec::new())
        }
        1 => {
            let resp = response(Operation::List);
            let page = model::page(&resp)?;
            let runs = model::runs(&page, JOB, Some("fuzz"))?;
            // Every listed execution is found by its id, as a status looks
            // it up.
            for doc in &page.results {
                let execution = model::execution_id_of(doc).unwrap_or_default();
                assert!(model::find_execution(&page, &execution)?.is_some());
            }
            Ok(runs)
        }
        2 => {
            let run = model::execution(&response(Operation::Status), JOB)?;
            assert_eq!(run.state, map_state(&run.vendor_state));
            Ok(vec![run])
        }
        3 => {
            let _login: LoginAnswer = response(Operation::Authenticate).json_redacted()?;
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
        7 => {
            crate::listing::ListCursor::parse(&Cursor::new(text()))?;
            Ok(Vec::new())
        }
        _ => {
            let _ = model::job(&response(Operation::Status))?.name();
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
        seed(
            8,
            r#"[{"id":"1111505e-6773-494a-b2bf-d2cc2684710d","name":"patch","description":"monthly patching"}]"#,
        ),
    ]
}
