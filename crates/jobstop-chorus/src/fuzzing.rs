//! The decoders the protocol applies to Chorus's bytes, callable without a
//! server, for the fuzz targets in the repository's `fuzz/` directory and
//! their property-test twins (feature `fuzzing`). Not a stable API.

use jobstop_core::{Operation, Result, Run, RunId, Vendor};
use jobstop_http::fuzzing::{error_response, ok_response, seed};

use crate::error::ChorusErrorParser;
use crate::model::{decode_list, decode_workfile, to_run, workfile_id};
use crate::state::map_state;

/// The decoders [`decode`] chooses from, by the input's first byte.
pub const DECODERS: [&str; 6] = ["list", "workfile", "login", "error", "state", "id"];

/// Runs the decoder the first byte selects (modulo [`DECODERS`]) on the
/// rest of `data`, with the functions the protocol calls on a response:
/// a workfile page (page 1: envelope, pagination, each item's id as a
/// status lookup reads it, each item as a listing maps it), a single
/// workfile (status and stop), the login answer, an error answer, a status
/// string and a run id check. Returns the runs decoded, or the error the
/// controller would return.
pub fn decode(data: &[u8]) -> Result<Vec<Run>> {
    let Some((selector, body)) = data.split_first() else {
        return Ok(Vec::new());
    };
    let vendor = Vendor::CHORUS;
    match usize::from(*selector) % DECODERS.len() {
        0 => {
            let resp = ok_response(&vendor, Operation::List, body);
            let list = decode_list(&resp, 1)?;
            let _next = list.pagination.has_next(list.response.len(), 50);
            let runs = list.response.iter().map(|item| {
                let seen = to_run(item)?;
                assert_eq!(workfile_id(item).as_deref(), Some(seen.run.id.as_str()));
                Ok(seen.run)
            });
            runs.collect()
        }
        1 => {
            let resp = ok_response(&vendor, Operation::Status, body);
            let run = decode_workfile(&resp)?.run;
            assert_eq!(run.state, map_state(&run.vendor_state));
            Ok(vec![run])
        }
        2 => {
            let resp = ok_response(&vendor, Operation::Authenticate, body);
            crate::session::session_id(&resp)?;
            Ok(Vec::new())
        }
        3 => Err(error_response(&vendor, body, &ChorusErrorParser)),
        4 => {
            let _ = map_state(&String::from_utf8_lossy(body));
            Ok(Vec::new())
        }
        _ => {
            let id = RunId::new(String::from_utf8_lossy(body).into_owned());
            crate::model::parse_id(&id)?;
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
