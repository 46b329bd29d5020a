//! The decoders the controller applies to Amperity's bytes, callable without
//! a server, for the fuzz targets in the repository's `fuzz/` directory and
//! their property-test twins. Not a stable API.

use jobstop_core::{Operation, Result, Run, RunId, Vendor};
use jobstop_http::fuzzing::{cache_token, error_response, ok_response, seed};

use crate::error::AmperityErrorParser;
use crate::model::{TokenResponse, page_from, to_run};
use crate::state::map_state;

/// The decoders [`decode`] chooses from, by the input's first byte.
pub const DECODERS: [&str; 6] = ["list", "run", "token", "error", "state", "id"];

/// Runs the decoder the first byte selects (modulo [`DECODERS`]) on the
/// rest of `data`, exactly as the controller decodes a response: the list
/// page (with its `next_token`), a single workflow (status and stop), the
/// OAuth token answer, an error answer, a state string and a run id check.
/// Returns the runs decoded, or the error the controller would return.
pub fn decode(data: &[u8]) -> Result<Vec<Run>> {
    let Some((selector, body)) = data.split_first() else {
        return Ok(Vec::new());
    };
    let vendor = Vendor::AMPERITY;
    match usize::from(*selector) % DECODERS.len() {
        0 => Ok(page_from(&ok_response(&vendor, Operation::List, body))?.runs),
        1 => {
            let run = to_run(ok_response(&vendor, Operation::Status, body).json()?)?;
            assert_eq!(run.state, map_state(&run.vendor_state));
            Ok(vec![run])
        }
        2 => {
            let token: TokenResponse =
                ok_response(&vendor, Operation::Authenticate, body).json_redacted()?;
            // As a fetch hands it to the token cache.
            cache_token(&crate::client::to_token(token)?);
            Ok(Vec::new())
        }
        3 => Err(error_response(&vendor, body, &AmperityErrorParser)),
        4 => {
            let raw = String::from_utf8_lossy(body);
            let state = map_state(&raw);
            assert_eq!(
                state,
                map_state(&raw.to_ascii_uppercase()),
                "state case matters: {raw:?}"
            );
            Ok(Vec::new())
        }
        _ => {
            let id = RunId::new(String::from_utf8_lossy(body).into_owned());
            crate::client::check_id(&id)?;
            Ok(Vec::new())
        }
    }
}

/// Documented examples, one or more per decoder, as `[selector] ++ body`:
/// the seeds of the fuzz corpus and of the near-valid twin.
pub fn seeds() -> Vec<Vec<u8>> {
    vec![
        seed(
            0,
            r#"{"data":[{"id":"wf-20240619-14418-6UhqSe","name":"Daily","state":"running","type":"amperity.orchestration.orchestration/run","created_at":"2024-06-19T04:00:18.764Z","principal_name":"Ops"},{"workflow_id":"wf-2","state":"Running with failures","ended_at":null}],"next_token":"eyJ0IjoxfQ"}"#,
        ),
        seed(
            1,
            r#"{"task_instances":[],"error":{"attribution":"customer","type":"amperity.workflow/cancel","message":"Workflow manually stopped"},"id":"wf-20240603-12345-MNabc","ended_at":"2026-02-10T17:29:32.687Z","name":"Braze","principal_name":"Justin Scott","type":"amperity.orchestration.orchestration/run","state":"canceled","created_at":"2026-02-10T17:29:22.454","tenant":"socktown"}"#,
        ),
        seed(
            2,
            r#"{"access_token":"eyJhbGciOi","token_type":"Bearer","expires_in":3600}"#,
        ),
        // Lifetimes at the edges: now, and past what the clock can hold
        // (the second panicked in the token cache).
        seed(
            2,
            r#"{"access_token":"eyJhbGciOi","token_type":"Bearer","expires_in":0}"#,
        ),
        seed(
            2,
            r#"{"access_token":"eyJhbGciOi","token_type":"Bearer","expires_in":10000000000000000000}"#,
        ),
        seed(
            3,
            "\x09{\"status\":409,\"message\":\"Workflow is not running\",\"request_id\":\"1ab23456\"}",
        ),
        seed(4, "In progress"),
        seed(5, "wf-20240619-14418-6UhqSe"),
    ]
}
