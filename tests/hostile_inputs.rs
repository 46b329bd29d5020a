#![allow(clippy::unwrap_used)]
//! Hostile inputs against every adapter, proven from what the simulators
//! actually received (their logs of raw request targets and headers).
//!
//! 1. `hostile_run_ids_are_refused_or_sent_as_one_segment`: run ids holding
//!    `/`, `.`/`..`, `?`, `#`, `%`, `%2F`, spaces, unicode (RTL override,
//!    line separator, fullwidth solidus, astral characters), CR/LF, NUL, tab,
//!    DEL and very long strings, shaped the way each vendor's ids are
//!    (Amperity `{h}`, Chorus `{h}`, DataArts `{h}` and `{job}/{h}`,
//!    CenturyLink `{h}/{execution}` and `{job}/{h}`), through `status` and a
//!    graceful `stop`. Each call must either be refused with `InvalidInput`
//!    with nothing reaching any simulator (no request, no connection), or
//!    send requests that match the same call with a benign id one for one:
//!    same method, same query, same number of path segments, every other
//!    segment identical, no `.`/`..` segment (raw or decoded), only
//!    unreserved characters and `%XX` escapes on the wire, and the id's
//!    segment percent-decoding back to exactly the hostile part. A call that
//!    sends must fail like the benign one (the runs do not exist); none may
//!    succeed, hang or panic. Which ids are refused is pinned by each
//!    vendor's documented id rules (see `Rule`).
//! 2. `header_values_with_crlf_or_nul_are_refused`: CR, LF, CRLF and NUL in
//!    every configuration value that becomes a header (Amperity tenant, API
//!    version and token; DataArts workspace, token and access key;
//!    CenturyLink token) are refused with `Config`/`InvalidInput` at build
//!    time or at the first call with nothing sent; values that do not become
//!    headers (Chorus session id, user names, passwords, secret keys) may be
//!    sent, and nothing any simulator received carries a broken or injected
//!    header.
//! 3. `base_urls_with_userinfo_or_remote_plain_http_are_refused`: every
//!    builder (and the DataArts IAM URL and CenturyLink login URL) refuses a
//!    URL with credentials always, and plain `http://` to a non-loopback host
//!    unless insecure HTTP is opted into.

#![cfg(feature = "full")]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use jobstop::amperity::AmperityBuilder;
use jobstop::centurylink::CenturyLinkBuilder;
use jobstop::chorus::ChorusBuilder;
use jobstop::dataarts::DataArtsBuilder;
use jobstop::http::{ClientConfig, RetryPolicy};
use jobstop::{ErrorKind, JobController, RunId, StopRequest};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::centurylink::CenturyLinkSim;
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::dataarts::{DataArtsSim, JobType};
use jobstop_sim::{LoggedRequest, SimServer};

/// A call that takes longer than this fails the test as hung.
const CALL_DEADLINE: Duration = Duration::from_secs(5);

/// The workspace the DataArts simulator's jobs live in (not `default`, so
/// every request carries the `workspace` header).
const DATAARTS_WORKSPACE: &str = "a1b2c3d4";

fn fast_config() -> ClientConfig {
    ClientConfig::default()
        .with_connect_timeout(Duration::from_secs(1))
        .with_attempt_timeout(Duration::from_secs(2))
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_budget(Duration::from_secs(3))
                .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
}

fn lookup(vars: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
    move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// The hostile values `h`, each put into a vendor-shaped id.
fn hostile_values() -> Vec<String> {
    let mut v: Vec<String> = [
        // Path structure.
        "/",
        "a/b",
        "../x",
        "a/../b",
        "/..",
        "..",
        ".",
        "...",
        "./",
        "..\\x",
        "a\\b",
        "a;b",
        "@",
        "a:b",
        // Query and fragment.
        "?",
        "a?view=overview",
        "a&view=overview",
        "a=b",
        "a+b",
        "#",
        "a#frag",
        // Percent signs and pre-encoded text.
        "%",
        "100%",
        "%2F",
        "a%2Fb",
        "%2e%2e",
        ".%2e",
        "%00",
        "%0d%0a",
        // Spaces.
        " ",
        "a b",
        " lead",
        "trail ",
        // Unicode.
        "é",
        "wf-é",
        "𝄞",
        "\u{202E}evil",
        "a\u{2028}b",
        "\u{FF0F}",
        "\u{FEFF}bom",
        // Control characters.
        "a\rb",
        "a\nb",
        "a\r\nX-Evil: 1",
        "\r\n",
        "a\0b",
        "\0",
        "a\tb",
        "\t",
        "a\u{7f}b",
        "a\u{85}b",
        // Empty.
        "",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Long: some within the vendors' limits when counted the way they count,
    // some far beyond any.
    v.push("é".repeat(100));
    v.push("𝄞".repeat(60));
    v.push("/".repeat(200));
    v.push("x".repeat(300));
    v.push("x".repeat(1025));
    v.push("é".repeat(300));
    v.push("x".repeat(70_000));
    v
}

/// A short, printable form of a value for failure messages.
fn show(s: &str) -> String {
    let mut out: String = s.chars().take(40).flat_map(char::escape_debug).collect();
    if s.chars().count() > 40 {
        let _ = write!(out, "…({} bytes)", s.len());
    }
    out
}

// ---------------------------------------------------------------------------
// Percent-encoding, checked independently of the code under test.

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Only unreserved characters and `%XX` escapes.
fn well_formed(segment: &str) -> bool {
    let b = segment.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else if is_unreserved(b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Percent-decodes a well-formed segment into UTF-8.
fn decode(segment: &str) -> Option<String> {
    let b = segment.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    }
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').collect()
}

fn short_target(r: &LoggedRequest) -> String {
    let t: String = r.target.chars().take(160).collect();
    if r.target.len() > 160 {
        format!("{} {t}…({} bytes)", r.method, r.target.len())
    } else {
        format!("{} {t}", r.method)
    }
}

/// Whether `got` is `benign` with the id part `benign_part` replaced by
/// `part`, as one well-formed segment: `Ok` with the number of segments
/// holding the id part (0 for a request that does not name the run, such as
/// CenturyLink's read of the job for its name, or 1), `Err` saying why not.
fn same_shape(
    benign: &LoggedRequest,
    benign_part: &str,
    got: &LoggedRequest,
    part: &str,
) -> Result<usize, String> {
    if got.method != benign.method {
        return Err(format!("method {} != {}", got.method, benign.method));
    }
    if got.target.contains('#') {
        return Err("a `#` reached the server".to_owned());
    }
    let (bpath, bquery) = split_target(&benign.target);
    let (gpath, gquery) = split_target(&got.target);
    if gquery != bquery {
        return Err(format!("query {gquery:?} != {bquery:?}"));
    }
    let (bsegs, gsegs) = (segments(bpath), segments(gpath));
    if gsegs.len() != bsegs.len() {
        return Err(format!(
            "{} path segments, the benign call had {}",
            gsegs.len(),
            bsegs.len()
        ));
    }
    let mut id_segments = 0;
    for (i, (b, g)) in bsegs.iter().zip(&gsegs).enumerate() {
        if !well_formed(g) {
            return Err(format!("segment {i} {g:?} is not percent-encoded"));
        }
        let decoded = decode(g).ok_or_else(|| format!("segment {i} does not decode"))?;
        if matches!(*g, "." | "..") || matches!(decoded.as_str(), "." | "..") {
            return Err(format!("segment {i} is a dot segment"));
        }
        if decode(b).as_deref() == Some(benign_part) {
            id_segments += 1;
            if decoded != part {
                return Err(format!(
                    "segment {i} decodes to {}, not the id part",
                    show(&decoded)
                ));
            }
        } else if g != b {
            return Err(format!("segment {i} {g:?} != {b:?}"));
        }
    }
    if id_segments > 1 {
        return Err(format!("{id_segments} segments hold the id part"));
    }
    Ok(id_segments)
}

// ---------------------------------------------------------------------------
// Vendors.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Status,
    Stop,
}

/// A call's result: `Ok` for any success, else the error kind.
type Outcome = Result<(), ErrorKind>;

/// Runs one call in its own task, so a panic is reported, not propagated.
async fn perform(ctrl: &Arc<dyn JobController>, op: Op, id: &str) -> Result<Outcome, String> {
    let ctrl = Arc::clone(ctrl);
    let id = RunId::new(id);
    let task = tokio::spawn(async move {
        let r = match op {
            Op::Status => ctrl.status(&id).await.map(drop),
            Op::Stop => ctrl.stop(&id, &StopRequest::graceful()).await.map(drop),
        };
        r.map_err(|e| e.kind())
    });
    match tokio::time::timeout(CALL_DEADLINE, task).await {
        Err(_) => Err("hung".to_owned()),
        Ok(Err(e)) if e.is_panic() => Err("panicked".to_owned()),
        Ok(Err(e)) => Err(format!("task failed: {e}")),
        Ok(Ok(outcome)) => Ok(outcome),
    }
}

/// Which hostile parts a vendor's documented id rules let through.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// Amperity workflow id: 1 to 256 bytes, no whitespace or control
    /// characters, and (as every path segment) not `.` or `..`.
    AmperityId,
    /// Chorus workfile id, DataArts instance id: 1 to 19 ASCII digits.
    Decimal,
    /// DataArts job name: 1 to 128 characters, no control characters, no
    /// surrounding whitespace, not `.` or `..`, and no `/` (which makes it
    /// `job/instance`).
    DataArtsJob,
    /// CenturyLink id part: 1 to 128 of `A-Za-z0-9-_.`, not `.` or `..`.
    CenturyLinkPart,
}

impl Rule {
    fn admits(self, h: &str) -> bool {
        let not_dots = h != "." && h != "..";
        match self {
            Rule::AmperityId => {
                !h.is_empty()
                    && h.len() <= 256
                    && not_dots
                    && !h.chars().any(|c| c.is_control() || c.is_whitespace())
            }
            Rule::Decimal => {
                !h.is_empty() && h.len() <= 19 && h.bytes().all(|b| b.is_ascii_digit())
            }
            Rule::DataArtsJob => {
                !h.is_empty()
                    && h.chars().count() <= 128
                    && not_dots
                    && h.trim() == h
                    && !h.contains('/')
                    && !h.chars().any(char::is_control)
            }
            Rule::CenturyLinkPart => {
                !h.is_empty()
                    && h.len() <= 128
                    && not_dots
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            }
        }
    }
}

/// How a vendor's ids are built around the hostile part.
struct Shape {
    prefix: String,
    suffix: String,
    /// A valid part naming no run.
    benign: &'static str,
    rule: Rule,
}

impl Shape {
    fn id(&self, part: &str) -> String {
        format!("{}{part}{}", self.prefix, self.suffix)
    }

    fn label(&self) -> String {
        self.id("{h}")
    }
}

enum Sims {
    Amperity(AmperitySim),
    Chorus(ChorusSim),
    DataArts(DataArtsSim),
    CenturyLink(CenturyLinkSim),
}

struct Vendor {
    name: &'static str,
    ctrl: Arc<dyn JobController>,
    sims: Sims,
    shapes: Vec<Shape>,
}

impl Vendor {
    /// Every server the adapter may talk to; the first one serves the runs.
    fn servers(&self) -> Vec<&SimServer> {
        match &self.sims {
            Sims::Amperity(s) => vec![s.server()],
            Sims::Chorus(s) => vec![s.server()],
            Sims::DataArts(s) => vec![s.server(), s.auth_server().expect("IAM")],
            Sims::CenturyLink(s) => vec![s.server(), s.login_server()],
        }
    }

    /// Requests and connections so far, per server: unchanged means nothing
    /// reached any simulator.
    fn fingerprint(&self) -> Vec<(usize, u64)> {
        self.servers()
            .iter()
            .map(|s| (s.requests().len(), s.connections()))
            .collect()
    }

    /// Runs `op` on `id`: the outcome, the run server's new requests, and
    /// whether anything reached any simulator.
    async fn call(&self, op: Op, id: &str) -> Result<(Outcome, Vec<LoggedRequest>, bool), String> {
        let before = self.fingerprint();
        let outcome = perform(&self.ctrl, op, id).await?;
        let after = self.fingerprint();
        let new = self.servers()[0].requests().split_off(before[0].0);
        Ok((outcome, new, after != before))
    }
}

async fn amperity() -> Vendor {
    let sim = AmperitySim::builder()
        .seed(31)
        .running(1)
        .start()
        .await
        .unwrap();
    let ctrl = AmperityBuilder::from_lookup(lookup(sim.env()))
        .with_client_config(fast_config())
        .build()
        .unwrap();
    Vendor {
        name: "amperity",
        ctrl: Arc::new(ctrl),
        sims: Sims::Amperity(sim),
        shapes: vec![Shape {
            prefix: String::new(),
            suffix: String::new(),
            benign: "wf-20240101-00000-NoSuchRun",
            rule: Rule::AmperityId,
        }],
    }
}

async fn chorus() -> Vendor {
    let sim = ChorusSim::builder()
        .seed(32)
        .running(1)
        .start()
        .await
        .unwrap();
    let ctrl = ChorusBuilder::from_lookup(lookup(sim.env()))
        .with_client_config(fast_config())
        .build()
        .unwrap();
    Vendor {
        name: "chorus",
        ctrl: Arc::new(ctrl),
        sims: Sims::Chorus(sim),
        shapes: vec![Shape {
            prefix: String::new(),
            suffix: String::new(),
            benign: "987654321",
            rule: Rule::Decimal,
        }],
    }
}

async fn dataarts() -> Vendor {
    let sim = DataArtsSim::builder()
        .seed(33)
        .workspace(DATAARTS_WORKSPACE)
        .batch_jobs(1)
        .realtime_jobs(1, 0)
        .instances(2)
        .start()
        .await
        .unwrap();
    // AK/SK: the signature covers the encoded path, so a mismatch between
    // how the adapter encodes and how the server reads would show up too.
    let ctrl = DataArtsBuilder::from_lookup(lookup(sim.env()))
        .with_client_config(fast_config())
        .build()
        .unwrap();
    let job = sim.job_names(JobType::Batch)[0].clone();
    Vendor {
        name: "dataarts",
        ctrl: Arc::new(ctrl),
        sims: Sims::DataArts(sim),
        shapes: vec![
            Shape {
                prefix: String::new(),
                suffix: String::new(),
                benign: "no_such_job_0",
                rule: Rule::DataArtsJob,
            },
            Shape {
                prefix: format!("{job}/"),
                suffix: String::new(),
                benign: "987654321",
                rule: Rule::Decimal,
            },
        ],
    }
}

async fn centurylink() -> Vendor {
    let sim = CenturyLinkSim::builder()
        .seed(34)
        .jobs(1)
        .executions_per_job(1)
        .start()
        .await
        .unwrap();
    let ctrl = CenturyLinkBuilder::from_lookup(lookup(sim.env()))
        .with_client_config(fast_config())
        .build()
        .unwrap();
    let id = sim.ids()[0].clone();
    let (job, execution) = id.split_once('/').unwrap();
    Vendor {
        name: "centurylink",
        ctrl: Arc::new(ctrl),
        shapes: vec![
            Shape {
                prefix: String::new(),
                suffix: format!("/{execution}"),
                benign: "no-such-job-0",
                rule: Rule::CenturyLinkPart,
            },
            Shape {
                prefix: format!("{job}/"),
                suffix: String::new(),
                benign: "no-such-execution-0",
                rule: Rule::CenturyLinkPart,
            },
        ],
        sims: Sims::CenturyLink(sim),
    }
}

/// What one vendor's cells came to.
#[derive(Debug, Default)]
struct Tally {
    calls: usize,
    refused: usize,
    sent: usize,
    problems: Vec<String>,
}

async fn run_vendor(v: Vendor, values: &[String]) -> (&'static str, Tally) {
    let mut t = Tally::default();
    for shape in &v.shapes {
        for op in [Op::Status, Op::Stop] {
            let cell = format!("{} {op:?} {}", v.name, shape.label());
            // The benign reference, after a warm-up call so that logins and
            // caches (CenturyLink remembers job names) are settled.
            let benign_id = shape.id(shape.benign);
            let (reference, reference_outcome) = match async {
                let _warm_up = v.call(op, &benign_id).await?;
                v.call(op, &benign_id).await
            }
            .await
            {
                Ok((outcome, reqs, _)) => (reqs, outcome),
                Err(e) => {
                    t.problems.push(format!("{cell}: benign call {e}"));
                    continue;
                }
            };
            if reference_outcome != Err(ErrorKind::NotFound) {
                t.problems.push(format!(
                    "{cell}: benign id {benign_id:?} gave {reference_outcome:?}, not NotFound"
                ));
            }
            if reference.is_empty() {
                t.problems
                    .push(format!("{cell}: the benign call sent no request"));
            }
            // Its own shape, trivially; this checks the requests are well
            // formed and name the id part at most once each, and that at
            // least one names it.
            let mut naming = 0;
            for r in &reference {
                match same_shape(r, shape.benign, r, shape.benign) {
                    Ok(n) => naming += n,
                    Err(e) => t
                        .problems
                        .push(format!("{cell}: benign {}: {e}", short_target(r))),
                }
            }
            if naming == 0 {
                t.problems
                    .push(format!("{cell}: no benign request names the id part"));
            }

            for h in values {
                t.calls += 1;
                let id = shape.id(h);
                let what = format!("{cell} h={}", show(h));
                let (outcome, got, touched) = match v.call(op, &id).await {
                    Ok(x) => x,
                    Err(e) => {
                        t.problems.push(format!("{what}: {e}"));
                        continue;
                    }
                };
                let expect_sent = shape.rule.admits(h);
                if !touched {
                    t.refused += 1;
                    if outcome != Err(ErrorKind::InvalidInput) {
                        t.problems.push(format!(
                            "{what}: nothing sent, yet the call gave {outcome:?} (want InvalidInput)"
                        ));
                    }
                    if expect_sent {
                        t.problems.push(format!(
                            "{what}: refused, but the vendor's id rules admit it"
                        ));
                    }
                    continue;
                }
                t.sent += 1;
                if !expect_sent {
                    t.problems
                        .push(format!("{what}: sent, but the vendor's id rules refuse it"));
                }
                match outcome {
                    Ok(()) => t
                        .problems
                        .push(format!("{what}: succeeded for a run that does not exist")),
                    Err(ErrorKind::InvalidInput) => t
                        .problems
                        .push(format!("{what}: InvalidInput although requests were sent")),
                    Err(k) if Err(k) != reference_outcome => t.problems.push(format!(
                        "{what}: gave {k:?}, the benign call {reference_outcome:?}"
                    )),
                    Err(_) => {}
                }
                if got.len() != reference.len() {
                    t.problems.push(format!(
                        "{what}: {} requests, the benign call made {}",
                        got.len(),
                        reference.len()
                    ));
                }
                // Match every request with one of the benign call's (the
                // order of concurrent requests may differ).
                let mut unmatched: Vec<&LoggedRequest> = reference.iter().collect();
                for g in &got {
                    let mut why = Vec::new();
                    let pos =
                        unmatched
                            .iter()
                            .position(|b| match same_shape(b, shape.benign, g, h) {
                                Ok(_) => true,
                                Err(e) => {
                                    why.push(e);
                                    false
                                }
                            });
                    match pos {
                        Some(i) => {
                            unmatched.remove(i);
                        }
                        None => t.problems.push(format!(
                            "{what}: {} matches no benign request: {}",
                            short_target(g),
                            why.join("; ")
                        )),
                    }
                }
                for r in &got {
                    if r.headers
                        .iter()
                        .any(|(k, val)| k.contains("evil") || val.contains(['\r', '\n', '\0']))
                    {
                        t.problems
                            .push(format!("{what}: a broken header reached the server"));
                    }
                }
            }
        }
    }
    (v.name, t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_run_ids_are_refused_or_sent_as_one_segment() {
    let values = hostile_values();
    let (a, c, d, l) = tokio::join!(amperity(), chorus(), dataarts(), centurylink());
    let shapes: usize = [&a, &c, &d, &l].iter().map(|v| v.shapes.len()).sum();
    let (ra, rc, rd, rl) = tokio::join!(
        run_vendor(a, &values),
        run_vendor(c, &values),
        run_vendor(d, &values),
        run_vendor(l, &values),
    );
    let tallies = [ra, rc, rd, rl];

    let problems: Vec<String> = tallies
        .iter()
        .flat_map(|(name, t)| t.problems.iter().map(move |p| format!("[{name}] {p}")))
        .collect();
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );

    // Every cell ran, and each landed on one side.
    let calls: usize = tallies.iter().map(|(_, t)| t.calls).sum();
    assert_eq!(calls, shapes * 2 * values.len());
    for (name, t) in &tallies {
        assert_eq!(t.refused + t.sent, t.calls, "{name}");
    }
    // The sending side is exercised where the vendor's ids allow it (the
    // rules above pin which ids; this pins that there are such ids), and
    // not where they do not.
    let sent = |name: &str| tallies.iter().find(|(n, _)| *n == name).unwrap().1.sent;
    assert_eq!(sent("chorus"), 0, "Chorus ids are decimal");
    assert_eq!(
        sent("centurylink"),
        2 * 2,
        "only `...` is a CenturyLink id part"
    );
    // 36 of the values are valid Amperity ids and 31 valid DataArts job
    // names (each through status and stop).
    assert_eq!(sent("amperity"), 2 * 36, "amperity");
    assert_eq!(sent("dataarts"), 2 * 31, "dataarts");
}

// ---------------------------------------------------------------------------
// Header values.

/// What a configuration case must come to.
enum Expect {
    /// A clean configuration: the call succeeds.
    Works,
    /// The value becomes a header: refused with `Config`/`InvalidInput` at
    /// build time or at the first call, nothing sent.
    Refused,
    /// Refused as above, or (surrounding whitespace trimmed) sent with this
    /// header holding exactly this value.
    RefusedOrTrimmed(&'static str, String),
    /// The value goes in a body or query, never a header: any typed result.
    NotAHeader,
}

struct HeaderCase {
    label: String,
    built: jobstop::Result<Arc<dyn JobController>>,
    expect: Expect,
}

fn case<C: JobController + 'static>(
    label: impl Into<String>,
    built: jobstop::Result<C>,
    expect: Expect,
) -> HeaderCase {
    HeaderCase {
        label: label.into(),
        built: built.map(|c| Arc::new(c) as Arc<dyn JobController>),
        expect,
    }
}

/// The injections: a header appended after CR, LF, CRLF or NUL.
const INJECTIONS: [&str; 4] = ["\r\nX-Evil: 1", "\nX-Evil: 1", "\rX-Evil: 1", "\0X-Evil: 1"];

fn refused(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Config | ErrorKind::InvalidInput)
}

async fn run_header_cases(
    vendor: &str,
    servers: &[&SimServer],
    run_id: &str,
    cases: Vec<HeaderCase>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let fingerprint = || -> Vec<(usize, u64)> {
        servers
            .iter()
            .map(|s| (s.requests().len(), s.connections()))
            .collect()
    };
    for c in cases {
        let what = format!("{vendor} {}", c.label);
        let ctrl = match (c.built, &c.expect) {
            (Ok(ctrl), _) => ctrl,
            (Err(e), Expect::Works) => {
                problems.push(format!("{what}: build failed: {e}"));
                continue;
            }
            (Err(e), _) => {
                if !refused(e.kind()) {
                    problems.push(format!("{what}: build failed with {:?}", e.kind()));
                }
                continue;
            }
        };
        let before = fingerprint();
        let outcome = match perform(&ctrl, Op::Status, run_id).await {
            Ok(o) => o,
            Err(e) => {
                problems.push(format!("{what}: {e}"));
                continue;
            }
        };
        let after = fingerprint();
        let new: Vec<LoggedRequest> = servers
            .iter()
            .zip(&before)
            .flat_map(|(s, (n, _))| s.requests().split_off(*n))
            .collect();
        let nothing_sent = after == before;
        let refused_cleanly = matches!(outcome, Err(k) if refused(k)) && nothing_sent;
        for r in &new {
            for (k, val) in &r.headers {
                if k.contains("evil") || val.contains("Evil") || val.contains(['\r', '\n', '\0']) {
                    problems.push(format!(
                        "{what}: {} carried a broken header {k}: {}",
                        short_target(r),
                        show(val)
                    ));
                }
            }
        }
        match &c.expect {
            Expect::Works => {
                if outcome.is_err() {
                    problems.push(format!("{what}: the clean configuration gave {outcome:?}"));
                }
            }
            Expect::Refused => {
                if !refused_cleanly {
                    problems.push(format!(
                        "{what}: gave {outcome:?} with {} request(s) sent; want Config or \
                         InvalidInput with nothing sent",
                        new.len()
                    ));
                }
            }
            Expect::RefusedOrTrimmed(header, value) => {
                if !refused_cleanly {
                    if new.is_empty() {
                        problems.push(format!("{what}: gave {outcome:?} with nothing sent"));
                    }
                    for r in &new {
                        if r.header(header) != Some(value.as_str()) {
                            problems.push(format!(
                                "{what}: {} sent {header}: {:?}, want {value:?}",
                                short_target(r),
                                r.header(header).map(show)
                            ));
                        }
                    }
                }
            }
            Expect::NotAHeader => {}
        }
    }
    problems
}

async fn amperity_header_problems() -> Vec<String> {
    let sim = AmperitySim::builder()
        .seed(41)
        .running(1)
        .start()
        .await
        .unwrap();
    let base = || {
        AmperityBuilder::new()
            .with_base_url(sim.base_url())
            .with_client_config(fast_config())
    };
    let token = || base().with_tenant(sim.tenant()).with_token(sim.token());
    let oauth = || {
        base()
            .with_tenant(sim.tenant())
            .with_client_credentials(sim.client_id(), sim.client_secret())
    };
    let mut cases = vec![
        case("clean token", token().build(), Expect::Works),
        case("clean oauth", oauth().build(), Expect::Works),
        case(
            "tenant with a trailing CRLF",
            token().with_tenant(format!("{}\r\n", sim.tenant())).build(),
            Expect::RefusedOrTrimmed("amperity-tenant", sim.tenant().to_owned()),
        ),
    ];
    for inj in INJECTIONS {
        let tenant = format!("{}{inj}", sim.tenant());
        cases.extend([
            case(
                format!("tenant {}", show(inj)),
                token().with_tenant(&tenant).build(),
                Expect::Refused,
            ),
            case(
                format!("tenant (oauth) {}", show(inj)),
                oauth().with_tenant(&tenant).build(),
                Expect::Refused,
            ),
            case(
                format!("api_version {}", show(inj)),
                token().with_api_version(format!("2024-04-01{inj}")).build(),
                Expect::Refused,
            ),
            case(
                format!("token {}", show(inj)),
                base()
                    .with_tenant(sim.tenant())
                    .with_token(format!("{}{inj}", sim.token()))
                    .build(),
                Expect::Refused,
            ),
            case(
                format!("client_id {}", show(inj)),
                base()
                    .with_tenant(sim.tenant())
                    .with_client_credentials(format!("{}{inj}", sim.client_id()), "s")
                    .build(),
                Expect::NotAHeader,
            ),
            case(
                format!("client_secret {}", show(inj)),
                base()
                    .with_tenant(sim.tenant())
                    .with_client_credentials(
                        sim.client_id(),
                        format!("{}{inj}", sim.client_secret()),
                    )
                    .build(),
                Expect::NotAHeader,
            ),
        ]);
    }
    let id = sim.ids()[0].clone();
    run_header_cases("amperity", &[sim.server()], &id, cases).await
}

async fn chorus_header_problems() -> Vec<String> {
    let sim = ChorusSim::builder()
        .seed(42)
        .running(1)
        .start()
        .await
        .unwrap();
    let base = || {
        ChorusBuilder::new()
            .with_base_url(sim.base_url())
            .with_client_config(fast_config())
    };
    let mut cases = vec![case(
        "clean",
        base()
            .with_password(sim.username(), sim.password())
            .with_workspace_id(sim.workspace_id().to_string())
            .build(),
        Expect::Works,
    )];
    // Chorus sends no configured value in a header: the session id goes in
    // the query (reads) or the form body (writes), the login in the body.
    for inj in INJECTIONS {
        cases.extend([
            case(
                format!("session_id {}", show(inj)),
                base().with_session_id(format!("abc{inj}")).build(),
                Expect::NotAHeader,
            ),
            case(
                format!("username {}", show(inj)),
                base()
                    .with_password(format!("{}{inj}", sim.username()), sim.password())
                    .build(),
                Expect::NotAHeader,
            ),
            case(
                format!("password {}", show(inj)),
                base()
                    .with_password(sim.username(), format!("{}{inj}", sim.password()))
                    .build(),
                Expect::NotAHeader,
            ),
            case(
                format!("workspace_id {}", show(inj)),
                base()
                    .with_password(sim.username(), sim.password())
                    .with_workspace_id(format!("{}{inj}", sim.workspace_id()))
                    .build(),
                Expect::Refused,
            ),
        ]);
    }
    let id = sim.ids()[0].clone();
    run_header_cases("chorus", &[sim.server()], &id, cases).await
}

async fn dataarts_header_problems() -> Vec<String> {
    let sim = DataArtsSim::builder()
        .seed(43)
        .workspace(DATAARTS_WORKSPACE)
        .batch_jobs(1)
        .instances(1)
        .start()
        .await
        .unwrap();
    let base = || {
        DataArtsBuilder::new()
            .with_base_url(sim.base_url())
            .with_project_id(sim.project_id())
            .with_workspace(DATAARTS_WORKSPACE)
            .with_client_config(fast_config())
    };
    let token = || base().with_token(sim.token());
    let iam = |user: String, password: String, domain: String| {
        base()
            .with_iam_url(sim.iam_url())
            .with_iam_user(user, password, domain)
            .build()
    };
    let (user, pw, dom) = (
        sim.username().to_owned(),
        sim.password().to_owned(),
        sim.domain().to_owned(),
    );
    let mut cases = vec![
        case("clean token", token().build(), Expect::Works),
        case(
            "clean ak/sk",
            base().with_access_key(sim.ak(), sim.sk()).build(),
            Expect::Works,
        ),
        case(
            "clean iam",
            iam(user.clone(), pw.clone(), dom.clone()),
            Expect::Works,
        ),
        case(
            "workspace with a trailing CRLF",
            token()
                .with_workspace(format!("{DATAARTS_WORKSPACE}\r\n"))
                .build(),
            Expect::RefusedOrTrimmed("workspace", DATAARTS_WORKSPACE.to_owned()),
        ),
    ];
    for inj in INJECTIONS {
        cases.extend([
            case(
                format!("workspace {}", show(inj)),
                token()
                    .with_workspace(format!("{DATAARTS_WORKSPACE}{inj}"))
                    .build(),
                Expect::Refused,
            ),
            case(
                format!("project_id {}", show(inj)),
                token()
                    .with_project_id(format!("{}{inj}", sim.project_id()))
                    .build(),
                Expect::Refused,
            ),
            case(
                format!("token {}", show(inj)),
                base().with_token(format!("{}{inj}", sim.token())).build(),
                Expect::Refused,
            ),
            case(
                format!("access key {}", show(inj)),
                base()
                    .with_access_key(format!("{}{inj}", sim.ak()), sim.sk())
                    .build(),
                Expect::Refused,
            ),
            case(
                format!("secret key {}", show(inj)),
                base()
                    .with_access_key(sim.ak(), format!("{}{inj}", sim.sk()))
                    .build(),
                Expect::NotAHeader,
            ),
            case(
                format!("iam username {}", show(inj)),
                iam(format!("{user}{inj}"), pw.clone(), dom.clone()),
                Expect::NotAHeader,
            ),
            case(
                format!("iam password {}", show(inj)),
                iam(user.clone(), format!("{pw}{inj}"), dom.clone()),
                Expect::NotAHeader,
            ),
            case(
                format!("iam domain {}", show(inj)),
                iam(user.clone(), pw.clone(), format!("{dom}{inj}")),
                Expect::NotAHeader,
            ),
        ]);
    }
    let id = sim.instance_ids(None)[0].clone();
    run_header_cases(
        "dataarts",
        &[sim.server(), sim.auth_server().expect("IAM")],
        &id,
        cases,
    )
    .await
}

async fn centurylink_header_problems() -> Vec<String> {
    let sim = CenturyLinkSim::builder()
        .seed(44)
        .jobs(1)
        .executions_per_job(1)
        .start()
        .await
        .unwrap();
    let base = || {
        CenturyLinkBuilder::new()
            .with_base_url(sim.base_url())
            .with_client_config(fast_config())
    };
    let token = || {
        base()
            .with_token(sim.token())
            .with_account_alias(sim.account_alias())
    };
    let login = |user: String, password: String| {
        base()
            .with_login_url(sim.login_url())
            .with_password(user, password)
            .build()
    };
    let (user, pw) = (sim.username().to_owned(), sim.password().to_owned());
    let mut cases = vec![
        case("clean token", token().build(), Expect::Works),
        case(
            "clean login",
            login(user.clone(), pw.clone()),
            Expect::Works,
        ),
    ];
    for inj in INJECTIONS {
        cases.extend([
            case(
                format!("token {}", show(inj)),
                base()
                    .with_token(format!("{}{inj}", sim.token()))
                    .with_account_alias(sim.account_alias())
                    .build(),
                Expect::Refused,
            ),
            case(
                format!("account_alias {}", show(inj)),
                token()
                    .with_account_alias(format!("{}{inj}", sim.account_alias()))
                    .build(),
                Expect::Refused,
            ),
            case(
                format!("username {}", show(inj)),
                login(format!("{user}{inj}"), pw.clone()),
                Expect::NotAHeader,
            ),
            case(
                format!("password {}", show(inj)),
                login(user.clone(), format!("{pw}{inj}")),
                Expect::NotAHeader,
            ),
        ]);
    }
    let id = sim.ids()[0].clone();
    run_header_cases(
        "centurylink",
        &[sim.server(), sim.login_server()],
        &id,
        cases,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_values_with_crlf_or_nul_are_refused() {
    let (a, c, d, l) = tokio::join!(
        amperity_header_problems(),
        chorus_header_problems(),
        dataarts_header_problems(),
        centurylink_header_problems(),
    );
    let problems: Vec<String> = [a, c, d, l].into_iter().flatten().collect();
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

// ---------------------------------------------------------------------------
// Base URLs.

#[test]
fn base_urls_with_userinfo_or_remote_plain_http_are_refused() {
    const SECRET: &str = "s3cr3t-pw";
    // Each builder with everything else valid, and the URL under test in one
    // URL setting.
    type Build = Box<dyn Fn(&str, bool) -> jobstop::Result<()>>;
    let builders: Vec<(&str, Build)> = vec![
        (
            "amperity base_url",
            Box::new(|u: &str, insecure| {
                AmperityBuilder::new()
                    .with_base_url(u)
                    .with_tenant("acme")
                    .with_token("t")
                    .with_insecure_http(insecure)
                    .build()
                    .map(drop)
            }),
        ),
        (
            "chorus base_url",
            Box::new(|u: &str, insecure| {
                ChorusBuilder::new()
                    .with_base_url(u)
                    .with_session_id("s")
                    .with_insecure_http(insecure)
                    .build()
                    .map(drop)
            }),
        ),
        (
            "dataarts base_url",
            Box::new(|u: &str, insecure| {
                DataArtsBuilder::new()
                    .with_base_url(u)
                    .with_project_id("p1")
                    .with_token("t")
                    .with_insecure_http(insecure)
                    .build()
                    .map(drop)
            }),
        ),
        (
            "dataarts iam_url",
            Box::new(|u: &str, insecure| {
                DataArtsBuilder::new()
                    .with_base_url("https://dlf.example")
                    .with_project_id("p1")
                    .with_iam_user("u", "p", "d")
                    .with_iam_url(u)
                    .with_insecure_http(insecure)
                    .build()
                    .map(drop)
            }),
        ),
        (
            "centurylink base_url",
            Box::new(|u: &str, insecure| {
                CenturyLinkBuilder::new()
                    .with_base_url(u)
                    .with_token("t")
                    .with_account_alias("ACME")
                    .with_insecure_http(insecure)
                    .build()
                    .map(drop)
            }),
        ),
        (
            "centurylink login_url",
            Box::new(|u: &str, insecure| {
                CenturyLinkBuilder::new()
                    .with_base_url("https://runner.example")
                    .with_login_url(u)
                    .with_password("u", "p")
                    .with_insecure_http(insecure)
                    .build()
                    .map(drop)
            }),
        ),
    ];
    let with_userinfo = [
        format!("https://user:{SECRET}@vendor.example"),
        format!("http://user:{SECRET}@127.0.0.1:1"),
        format!("https://:{SECRET}@vendor.example"),
        "https://user@vendor.example".to_owned(),
    ];
    let remote_http = [
        "http://vendor.example",
        "http://10.1.2.3:8080",
        "http://localhost.evil.example",
        "http://[2001:db8::1]",
    ];
    let mut problems = Vec::new();
    for (name, build) in &builders {
        for ok in [
            "https://vendor.example",
            "http://127.0.0.1:1",
            "http://[::1]:1",
        ] {
            if let Err(e) = build(ok, false) {
                problems.push(format!("{name}: {ok} refused: {e}"));
            }
        }
        for u in &with_userinfo {
            for insecure in [false, true] {
                match build(u, insecure) {
                    Ok(()) => problems.push(format!(
                        "{name}: a URL with userinfo accepted (insecure {insecure})"
                    )),
                    Err(e) if e.kind() != ErrorKind::Config => {
                        problems.push(format!("{name}: userinfo gave {:?}", e.kind()));
                    }
                    Err(e)
                        if e.to_string().contains(SECRET) || format!("{e:?}").contains(SECRET) =>
                    {
                        problems.push(format!("{name}: the error shows the password"));
                    }
                    Err(_) => {}
                }
            }
        }
        for u in remote_http {
            match build(u, false) {
                Ok(()) => problems.push(format!("{name}: {u} accepted without opt-in")),
                Err(e) if e.kind() != ErrorKind::Config => {
                    problems.push(format!("{name}: {u} gave {:?}", e.kind()));
                }
                Err(_) => {}
            }
            if let Err(e) = build(u, true) {
                problems.push(format!("{name}: {u} refused despite the opt-in: {e}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}
