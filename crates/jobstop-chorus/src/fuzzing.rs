//! The decoders the controller applies to Chorus's bytes, callable without a
//! server, for the fuzz targets in the repository's `fuzz/` directory and
//! their property-test twins. Not a stable API.

use jobstop_core::{Operation, Result, Run, RunId, Vendor};
use jobstop_http::fuzzing::{error_response, ok_response, seed};

use crate::error::ChorusErrorParser;
use crate::model::{Envelope, ListEnvelope, Session, to_run};
use crate::state::map_state;

/// The decoders [`decode`] chooses from, by the input's first byte.
pub const DECODERS: [&str; 6] = ["list", "workfile", "login", "error", "state", "id"];

/// Runs the decoder the first byte selects (modulo [`DECODERS`]) on the
/// rest of `data`, exactly as the controller decodes a response: a workfile
/// page (envelope and pagination), a single workfile (status and stop), the
/// login answer, an error answer, a status string and a run id check.
/// Returns the runs decoded, or the error the controller would return.
pub fn decode(data: &[u8]) -> Result<Vec<Run>> {
    let Some((selector, body)) = data.split_first() else {
        return Ok(Vec::new());
    };
    let vendor = Vendor::CHORUS;
    match usize::from(*selector) % DECODERS.len() {
        0 => {
            let list: ListEnvelope = ok_response(&vendor, Operation::List, body).json()?;
            let _pages = (list.pagination.page, list.pagination.total);
            list.response.into_iter().map(to_run).collect()
        }
        1 => {
            let env: Envelope<serde_json::Value> =
                ok_response(&vendor, Operation::Status, body).json()?;
            let run = to_run(env.response)?;
            assert_eq!(run.state, map_state(&run.vendor_state));
            Ok(vec![run])
        }
        2 => {
            let _session: Envelope<Session> =
                ok_response(&vendor, Operation::Authenticate, body).json_redacted()?;
            Ok(Vec::new())
        }
        3 => Err(error_response(&vendor, body, &ChorusErrorParser)),
        4 => {
            let _ = map_state(&String::from_utf8_lossy(body));
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
    let workfile = r#"{"id":1000004,"workspace":{"id":1000008,"name":"Public"},"file_name":"alpine_flow","file_type":"work_flow","entity_subtype":"alpine","user_modified_at":"2019-04-03T22:09:35Z","status":"running","owner":{"id":1000006,"username":"owner"},"version_info":{"created_at":"2015-11-13T04:56:19Z","updated_at":"2015-11-13T04:56:20Z"},"complete_json":true}"#;
    vec![
        seed(
            0,
            &format!(
                r#"{{"response":[{workfile},{{"id":"1000005","status":"idle","file_name":"b"}}],"pagination":{{"page":1,"per_page":50,"records":2,"total":1}}}}"#
            ),
        ),
        seed(1, &format!(r#"{{"response":{workfile}}}"#)),
        seed(
            2,
            r#"{"response":{"session_id":"4f1c2a","user":{"id":1,"username":"chorusadmin"}}}"#,
        ),
        seed(
            3,
            "\x16{\"errors\":{\"record\":\"NOT_FOUND\",\"message\":\"Workfile not found\"}}",
        ),
        seed(4, "running"),
        seed(5, "1000004"),
    ]
}
