//! The jobstop benchmark suite, against the simulators on loopback.
//!
//! ```sh
//! cargo bench -p jobstop-bench                 # everything (about 75 s on 2 CPUs)
//! cargo bench -p jobstop-bench -- overhead     # one (or several) of:
//!                                              # overhead bulk ratelimit reuse cli
//! ```
//!
//! Every simulator runs in this process, on the same tokio runtime as the
//! clients. Each benchmark prints one markdown table of medians (plus, for
//! some, a table or rows of diagnostics); every ratio compares two sides
//! measured in the same run, interleaved round by round with the order
//! alternating, so drift affects both. Targets are reported as met or
//! missed; nothing here fails on a timing.
//!
//! `cli` uses `target/release/jobstop`, building it first when it is
//! missing (or always, with `JOBSTOP_BENCH_BUILD_CLI=1`), and says so when
//! the binary is older than the sources.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use jobstop::amperity::AmperityBuilder;
use jobstop::centurylink::CenturyLinkBuilder;
use jobstop::chorus::ChorusBuilder;
use jobstop::dataarts::DataArtsBuilder;
use jobstop::http::{HttpClient, HttpRequest};
use jobstop::ops::{BulkOptions, BulkResult, Selector, execute_stops, list_accounts, plan_stops};
use jobstop::{
    JobController, JobControllerExt, Registry, RunId, RunState, StopOutcome, StopRequest,
    StopResult,
};
use jobstop_bench::median;
use jobstop_sim::amperity::{Amperity, AmperitySim};
use jobstop_sim::centurylink::CenturyLink;
use jobstop_sim::chorus::Chorus;
use jobstop_sim::dataarts::DataArts;
use jobstop_sim::{Fault, FaultRule, LoggedRequest, Route, SimServer};
use jobstop_sim::{Sims, SimsOptions};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

const BENCHES: [&str; 5] = ["overhead", "bulk", "ratelimit", "reuse", "cli"];

fn main() -> Res<()> {
    // `cargo bench` passes `--bench`; anything else not starting with `-`
    // names a benchmark.
    let chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if let Some(bad) = chosen.iter().find(|c| !BENCHES.contains(&c.as_str())) {
        return Err(format!(
            "unknown benchmark {bad:?}; choose from: {}",
            BENCHES.join(", ")
        )
        .into());
    }
    // Always in the suite's order, each once.
    let chosen: Vec<String> = BENCHES
        .iter()
        .filter(|b| chosen.is_empty() || chosen.iter().any(|c| c == *b))
        .map(|s| (*s).to_owned())
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(&chosen))
}

async fn run(chosen: &[String]) -> Res<()> {
    print_header();
    let started = Instant::now();
    let mut verdicts = Vec::new();
    for name in chosen {
        let t = Instant::now();
        match name.as_str() {
            "overhead" => overhead(&mut verdicts).await?,
            "bulk" => bulk(&mut verdicts).await?,
            "ratelimit" => ratelimit(&mut verdicts).await?,
            "reuse" => reuse(&mut verdicts).await?,
            "cli" => cli().await?,
            _ => unreachable!("names are checked in main"),
        }
        println!("_{name} took {:.1} s._\n", t.elapsed().as_secs_f64());
    }
    if !verdicts.is_empty() {
        println!("## Targets\n");
        let mut t = Table::new(&["benchmark", "what", "measured", "target", "met"]);
        for v in &verdicts {
            t.row(vec![
                v.bench.to_owned(),
                v.what.clone(),
                v.measured.clone(),
                v.target.to_owned(),
                if v.met { "yes" } else { "**no**" }.to_owned(),
            ]);
        }
        t.print();
    }
    println!("_Whole suite: {:.1} s._", started.elapsed().as_secs_f64());
    Ok(())
}

// ---------------------------------------------------------------------------
// Reporting

/// One target, met or not.
struct Verdict {
    bench: &'static str,
    what: String,
    measured: String,
    target: &'static str,
    met: bool,
}

/// A markdown table.
struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(head: &[&str]) -> Self {
        Table {
            head: head.iter().map(|s| (*s).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn print(&self) {
        println!("| {} |", self.head.join(" | "));
        println!("|{}", "---|".repeat(self.head.len()));
        for r in &self.rows {
            println!("| {} |", r.join(" | "));
        }
        println!();
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

/// The median of `xs` (the upper one for an even count, like [`median`]).
fn median_f64(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn print_header() {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let rustc =
        std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("# jobstop benchmarks\n");
    println!(
        "- date: {}",
        jobstop::chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    println!("- machine: {cpus} CPUs (nproc), {model}");
    println!(
        "- {rustc}; release build; tokio multi-thread runtime with {cpus} workers \
         (`overhead` also on a current-thread runtime)"
    );
    println!("- load average (1 min) at start: {load}");
    println!(
        "- the simulators run in this process, on loopback, on the clients' runtime; \
         every number is a median\n"
    );
}

// ---------------------------------------------------------------------------
// Helpers

fn lookup(env: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
    move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// A reqwest client configured like the HTTP layer's (user agent, no
/// redirects, `TCP_NODELAY`), keep-alive by default.
fn raw_client() -> Res<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .user_agent(jobstop::http::USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .build()?)
}

fn headers(pairs: &[(&'static str, String)]) -> Res<HeaderMap> {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.insert(HeaderName::from_static(name), HeaderValue::from_str(value)?);
    }
    Ok(h)
}

async fn get_json<T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    headers: &HeaderMap,
) -> Res<T> {
    let resp = client
        .get(url)
        .headers(headers.clone())
        .send()
        .await?
        .error_for_status()?;
    Ok(resp.json::<T>().await?)
}

/// A request as the simulator logged it (secrets masked), headers sorted,
/// for comparing what two clients sent.
fn wire(r: &LoggedRequest) -> String {
    let mut h: Vec<String> = r.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    h.sort();
    format!("{} {} [{}]", r.method, r.target, h.join("; "))
}

// ---------------------------------------------------------------------------
// 1. overhead

#[derive(Deserialize)]
struct AmperityRun {
    id: String,
    state: String,
}

#[derive(Deserialize)]
struct ChorusEnvelope {
    response: Vec<ChorusWorkfile>,
}

#[derive(Deserialize)]
struct ChorusWorkfile {
    id: u64,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataArtsInstance {
    job_name: String,
    instance_id: u64,
    status: String,
}

#[derive(Deserialize)]
struct RunnerExecution {
    execution_id: String,
    status: String,
}

#[derive(Deserialize)]
struct RunnerJob {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Vendor {
    Amperity,
    Chorus,
    DataArts,
    Runner,
}

/// The hand-written side of one comparison: the endpoint the adapter reads,
/// with the headers and credentials it sends. `job_url` is a second read
/// done concurrently (the CenturyLink job, for its name) when the adapter
/// makes it too.
struct RawSpec {
    vendor: Vendor,
    url: String,
    job_url: Option<String>,
    headers: HeaderMap,
    /// The item to find when `url` is a listing (Chorus).
    find: Option<u64>,
}

/// The four ways one status is read, from the bare minimum up.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    /// reqwest, decoded into a small struct: the baseline.
    RawStruct,
    /// reqwest, decoded into a `serde_json::Value`.
    RawValue,
    /// jobstop-http's `HttpClient` (retry loop, timeouts, body cap, error
    /// mapping), decoded into a `Value`; headers as the raw side's.
    Http,
    /// The adapter's `status()`.
    Adapter,
}

const SIDES: [Side; 4] = [Side::RawStruct, Side::RawValue, Side::Http, Side::Adapter];

struct OverheadCase<'a> {
    label: String,
    adapter: Arc<dyn JobController>,
    id: RunId,
    raw: RawSpec,
    server: &'a SimServer,
}

struct Clients {
    raw: reqwest::Client,
    http: HttpClient,
}

impl RawSpec {
    /// One read decoded into the small struct; returns the raw state.
    async fn read_struct(&self, client: &reqwest::Client) -> Res<String> {
        let h = &self.headers;
        let (state, job) = futures::join!(
            async {
                Res::Ok(match self.vendor {
                    Vendor::Amperity => {
                        let r: AmperityRun = get_json(client, &self.url, h).await?;
                        debug_assert!(!r.id.is_empty());
                        r.state
                    }
                    Vendor::Chorus => {
                        let r: ChorusEnvelope = get_json(client, &self.url, h).await?;
                        r.response
                            .into_iter()
                            .find(|w| Some(w.id) == self.find)
                            .ok_or("the workflow is not in its listing")?
                            .status
                    }
                    Vendor::DataArts => {
                        let r: DataArtsInstance = get_json(client, &self.url, h).await?;
                        debug_assert!(!r.job_name.is_empty() && r.instance_id > 0);
                        r.status
                    }
                    Vendor::Runner => {
                        let r: RunnerExecution = get_json(client, &self.url, h).await?;
                        debug_assert!(!r.execution_id.is_empty());
                        r.status
                    }
                })
            },
            async {
                match &self.job_url {
                    Some(u) => get_json::<RunnerJob>(client, u, h).await.map(|j| j.name),
                    None => Ok(None),
                }
            }
        );
        job?;
        state
    }

    /// One read decoded into a `serde_json::Value`.
    async fn read_value(&self, client: &reqwest::Client) -> Res<()> {
        let (a, b) = futures::join!(
            get_json::<serde_json::Value>(client, &self.url, &self.headers),
            async {
                match &self.job_url {
                    Some(u) => get_json::<serde_json::Value>(client, u, &self.headers)
                        .await
                        .map(Some),
                    None => Ok(None),
                }
            }
        );
        a?;
        b?;
        Ok(())
    }

    /// One read through jobstop-http's client, decoded into a `Value`.
    async fn read_http(&self, http: &HttpClient) -> Res<()> {
        let send = |url: &str| {
            let url = jobstop::http::Url::parse(url);
            let headers = self.headers.clone();
            async move {
                let mut req = HttpRequest::get(url?, jobstop::Operation::Status);
                for (name, value) in &headers {
                    req = req.header(name.as_str(), value.to_str()?)?;
                }
                let v: serde_json::Value = http.send(req).await?.json_value()?;
                Res::Ok(v)
            }
        };
        let (a, b) = futures::join!(send(&self.url), async {
            match &self.job_url {
                Some(u) => send(u).await.map(Some),
                None => Ok(None),
            }
        });
        a?;
        b?;
        Ok(())
    }

    /// The primary response's body size.
    async fn body_bytes(&self, client: &reqwest::Client) -> Res<usize> {
        let resp = client
            .get(&self.url)
            .headers(self.headers.clone())
            .send()
            .await?
            .error_for_status()?;
        Ok(resp.bytes().await?.len())
    }
}

impl OverheadCase<'_> {
    async fn call(&self, side: Side, clients: &Clients) -> Res<()> {
        match side {
            Side::RawStruct => self.raw.read_struct(&clients.raw).await.map(drop),
            Side::RawValue => self.raw.read_value(&clients.raw).await,
            Side::Http => self.raw.read_http(&clients.http).await,
            Side::Adapter => self
                .adapter
                .status(&self.id)
                .await
                .map(drop)
                .map_err(Into::into),
        }
    }

    /// Per-call latency over `OVERHEAD_CALLS` sequential calls.
    async fn time(&self, side: Side, clients: &Clients) -> Res<Duration> {
        let t = Instant::now();
        for _ in 0..OVERHEAD_CALLS {
            self.call(side, clients).await?;
        }
        Ok(t.elapsed() / OVERHEAD_CALLS)
    }

    /// The requests one call of `side` makes, as the simulator logged them.
    async fn wire(&self, side: Side, clients: &Clients) -> Res<Vec<String>> {
        self.server.clear_requests();
        self.call(side, clients).await?;
        let w = self.server.requests().iter().map(wire).collect();
        self.server.clear_requests();
        Ok(w)
    }
}

const OVERHEAD_WARMUP: u32 = 200;
const OVERHEAD_ROUNDS: usize = 25;
const OVERHEAD_CALLS: u32 = 300;

/// One adapter's overhead numbers on one runtime.
struct CaseResult {
    label: String,
    requests: (usize, usize),
    same: bool,
    note: Option<String>,
    body: usize,
    /// Median µs per call of each side, in [`SIDES`] order.
    med: [Duration; 4],
    /// Median of the per-round adapter / raw → struct ratios.
    ratio: f64,
}

struct OverheadRun {
    cases: Vec<CaseResult>,
    runner_repeat: usize,
}

/// Starts the four simulators and measures every case, on the runtime it
/// is called from.
async fn measure_overhead() -> Res<OverheadRun> {
    let clients = Clients {
        raw: raw_client()?,
        http: HttpClient::new(jobstop::Vendor::new("bench"))?,
    };
    let client = &clients.raw;

    // The four simulators as `jobstop sim` starts them (3 running and 20
    // finished runs each, by each vendor's own mapping).
    let sims = Sims::start(
        Sims::vendors(),
        &SimsOptions::default().with_seed(1).with_population(3, 20),
    )
    .await?;
    let amperity = sims.get::<Amperity>().ok_or("no Amperity simulator")?;
    let chorus = sims.get::<Chorus>().ok_or("no Chorus simulator")?;
    let dataarts = sims.get::<DataArts>().ok_or("no DataArts simulator")?;
    let runner = sims
        .get::<CenturyLink>()
        .ok_or("no CenturyLink simulator")?;

    let mut cases = Vec::new();
    {
        let id = sim_first(amperity.ids(), "amperity")?;
        cases.push(OverheadCase {
            label: "Amperity (static token)".into(),
            adapter: Arc::new(AmperityBuilder::from_lookup(lookup(amperity.env())).build()?),
            raw: RawSpec {
                vendor: Vendor::Amperity,
                find: None,
                url: format!("{}/workflow/runs/{id}?view=verbose", amperity.base_url()),
                job_url: None,
                headers: headers(&[
                    ("authorization", format!("Bearer {}", amperity.token())),
                    ("amperity-tenant", amperity.tenant().to_owned()),
                    ("api-version", "2024-04-01".to_owned()),
                    ("accept", "application/json".to_owned()),
                ])?,
            },
            id: RunId::new(id),
            server: amperity.server(),
        });
    }
    {
        let id = sim_first(chorus.ids_with_status("running"), "chorus")?;
        // The raw side logs in by hand, as the adapter does on its first call.
        let login: serde_json::Value = client
            .post(format!(
                "{}/api/sessions?session_id=NULL",
                chorus.base_url()
            ))
            .form(&[
                ("username", chorus.username()),
                ("password", chorus.password()),
            ])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let session = login["response"]["session_id"]
            .as_str()
            .ok_or("the Chorus login answered without a session id")?
            .to_owned();
        // After its first read of a workflow the adapter reads it from its
        // workspace's listing filtered by name (no activity event): the
        // raw side reads the same page.
        let file = chorus
            .workfile_json(&id)
            .ok_or("the Chorus simulator does not show its own workfile")?;
        let name = file["file_name"]
            .as_str()
            .ok_or("a Chorus workfile without a file_name")?;
        let mut url = reqwest::Url::parse(&format!(
            "{}/api/workspaces/{}/workfiles",
            chorus.base_url(),
            chorus.workspace_id()
        ))?;
        url.query_pairs_mut()
            .append_pair("file_type", "work_flow")
            .append_pair("name_pattern", name)
            .append_pair("page", "1")
            .append_pair("per_page", "100")
            .append_pair("session_id", &session);
        cases.push(OverheadCase {
            label: "Chorus (username/password, after login)".into(),
            adapter: Arc::new(ChorusBuilder::from_lookup(lookup(chorus.env())).build()?),
            raw: RawSpec {
                vendor: Vendor::Chorus,
                find: Some(id.parse()?),
                url: url.to_string(),
                job_url: None,
                headers: headers(&[("accept", "application/json".to_owned())])?,
            },
            id: RunId::new(id),
            server: chorus.server(),
        });
    }
    {
        let id = sim_first(dataarts.instance_ids(Some("running")), "dataarts")?;
        let (job, n) = id
            .split_once('/')
            .ok_or("a DataArts instance id without a slash")?;
        cases.push(OverheadCase {
            label: "DataArts (X-Auth-Token, batch instance)".into(),
            adapter: Arc::new(DataArtsBuilder::from_lookup(lookup(dataarts.env_token())).build()?),
            raw: RawSpec {
                vendor: Vendor::DataArts,
                find: None,
                url: format!(
                    "{}/v1/{}/jobs/{job}/instances/{n}",
                    dataarts.base_url(),
                    dataarts.project_id()
                ),
                job_url: None,
                headers: headers(&[
                    ("x-auth-token", dataarts.token().to_owned()),
                    ("x-project-id", dataarts.project_id().to_owned()),
                    ("content-type", "application/json".to_owned()),
                    ("accept", "application/json".to_owned()),
                ])?,
            },
            id: RunId::new(id.clone()),
            server: dataarts.server(),
        });
    }
    let runner_id = RunId::new(sim_first(
        runner.execution_ids_with_status("RUNNING"),
        "centurylink",
    )?);
    let (job, execution) = runner_id
        .as_str()
        .split_once('/')
        .ok_or("a Runner execution id without a slash")?;
    let runner_headers = headers(&[
        ("authorization", format!("Bearer {}", runner.token())),
        ("accept", "application/json".to_owned()),
    ])?;
    let execution_url = format!(
        "{}/jobs/{}/{job}/executions/{execution}",
        runner.base_url(),
        runner.account_alias()
    );
    let job_url = format!(
        "{}/jobs/{}/{job}",
        runner.base_url(),
        runner.account_alias()
    );
    let runner_adapter: Arc<dyn JobController> =
        Arc::new(CenturyLinkBuilder::from_lookup(lookup(runner.env_token())).build()?);
    // How many requests a repeated status makes (two without a job-name
    // cache: the execution and its job).
    runner_adapter.status(&runner_id).await?;
    runner.server().clear_requests();
    runner_adapter.status(&runner_id).await?;
    let runner_repeat = runner.server().requests().len();
    cases.push(OverheadCase {
        label: "CenturyLink (token)".into(),
        adapter: runner_adapter.clone(),
        raw: RawSpec {
            vendor: Vendor::Runner,
            find: None,
            url: execution_url.clone(),
            job_url: None,
            headers: runner_headers.clone(),
        },
        id: runner_id.clone(),
        server: runner.server(),
    });
    if runner_repeat > 1 {
        cases.push(OverheadCase {
            label: "CenturyLink (token), raw also reads the job".into(),
            adapter: runner_adapter,
            raw: RawSpec {
                vendor: Vendor::Runner,
                find: None,
                url: execution_url,
                job_url: Some(job_url),
                headers: runner_headers,
            },
            id: runner_id,
            server: runner.server(),
        });
    }

    let mut results = Vec::new();
    for case in &cases {
        // Warm up every side (the Chorus adapter logs in here), then check
        // the adapter and the raw client read the same state with the same
        // requests.
        for _ in 0..OVERHEAD_WARMUP {
            for side in SIDES {
                case.call(side, &clients).await?;
            }
        }
        let run = case.adapter.status(&case.id).await?;
        let raw_state = case.raw.read_struct(client).await?;
        if run.vendor_state != raw_state {
            return Err(format!(
                "{}: the adapter read {:?}, the raw client {raw_state:?}",
                case.label, run.vendor_state
            )
            .into());
        }
        let adapter_wire = case.wire(Side::Adapter, &clients).await?;
        let raw_wire = case.wire(Side::RawStruct, &clients).await?;
        let mut sorted = (adapter_wire.clone(), raw_wire.clone());
        sorted.0.sort();
        sorted.1.sort();
        let same = sorted.0 == sorted.1;
        let note = (!same).then(|| {
            format!(
                "- {}: adapter sent `{}`; raw sent `{}`",
                case.label,
                adapter_wire.join("` + `"),
                raw_wire.join("` + `")
            )
        });
        let body = case.raw.body_bytes(client).await?;

        let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); SIDES.len()];
        let mut ratios = Vec::new();
        for round in 0..OVERHEAD_ROUNDS {
            let mut this = [Duration::ZERO; SIDES.len()];
            for k in 0..SIDES.len() {
                // Rotate the order every round.
                let i = (k + round) % SIDES.len();
                this[i] = case.time(SIDES[i], &clients).await?;
            }
            ratios.push(ratio(this[3], this[0]));
            for (s, t) in samples.iter_mut().zip(this) {
                s.push(t);
            }
            case.server.clear_requests();
        }
        let mut med = [Duration::ZERO; 4];
        for (m, s) in med.iter_mut().zip(samples.iter_mut()) {
            *m = median(s);
        }
        results.push(CaseResult {
            label: case.label.clone(),
            requests: (adapter_wire.len(), raw_wire.len()),
            same,
            note,
            body,
            med,
            ratio: median_f64(&ratios),
        });
    }
    Ok(OverheadRun {
        cases: results,
        runner_repeat,
    })
}

async fn overhead(verdicts: &mut Vec<Verdict>) -> Res<()> {
    let multi = measure_overhead().await?;
    // The same on a single-threaded runtime (simulators included), in a
    // thread of its own: no cross-thread wake-ups, so the round trip is
    // mostly CPU and the adapter's own cost shows at full scale.
    let single = std::thread::spawn(|| -> Res<OverheadRun> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(measure_overhead())
    })
    .join()
    .map_err(|_| "the single-threaded overhead run panicked")??;

    let mut table = Table::new(&[
        "adapter",
        "requests per status (adapter, raw)",
        "same requests on the wire",
        "adapter µs/call",
        "raw µs/call",
        "ratio adapter/raw",
        "target",
        "1-thread runtime: adapter, raw, ratio",
    ]);
    for (m, s) in multi.cases.iter().zip(&single.cases) {
        let met = m.ratio <= 1.10;
        table.row(vec![
            m.label.clone(),
            format!("{}, {}", m.requests.0, m.requests.1),
            if m.same { "yes" } else { "no (below)" }.to_owned(),
            us(m.med[3]),
            us(m.med[0]),
            format!("{:.3}", m.ratio),
            format!("≤ 1.10: {}", if met { "met" } else { "**missed**" }),
            format!("{}, {}, {:.3}", us(s.med[3]), us(s.med[0]), s.ratio),
        ]);
        verdicts.push(Verdict {
            bench: "overhead",
            what: m.label.clone(),
            measured: format!("{:.3}", m.ratio),
            target: "≤ 1.10",
            met,
        });
    }
    println!(
        "## overhead: `status()` through the adapter vs a hand-written reqwest GET\n\n\
         The same simulator endpoint with the same headers and credentials as the adapter \
         sends (checked against the simulator's request log), decoded with `serde_json` into a \
         small struct, over one shared keep-alive `reqwest::Client` configured like the HTTP \
         layer's. {OVERHEAD_WARMUP} warm-up calls per side, then {OVERHEAD_ROUNDS} rounds of \
         {OVERHEAD_CALLS} sequential calls per side, the sides' order rotating every round; \
         per-call latency = round time / {OVERHEAD_CALLS}; the ratio is the median of the \
         per-round ratios. A repeated CenturyLink `status()` made {} request(s). The target is \
         judged on the suite's runtime (multi-thread, one worker per CPU, simulators on the same \
         workers); the last column repeats the measurement on a single-threaded runtime, where \
         no thread has to be woken per request and the round trip is nearly all CPU.\n",
        multi.runner_repeat
    );
    table.print();
    let notes: Vec<&String> = multi.cases.iter().filter_map(|c| c.note.as_ref()).collect();
    if !notes.is_empty() {
        println!("Requests that differ (as the simulator logged them, secrets masked):\n");
        for n in notes {
            println!("{n}");
        }
        println!();
    }
    println!(
        "Where the time goes: median µs per call of four sides measured in the same rounds, \
         each with its difference from the column to its left: decoding the whole body into a \
         `serde_json::Value` instead of a small struct, then jobstop-http's `HttpClient` \
         (retry loop, timeouts, body cap, error mapping; same headers, no authenticator), then \
         the adapter on top (authenticator, URL building, mapping the `Value` to a `Run`).\n"
    );
    let mut breakdown = Table::new(&[
        "adapter",
        "runtime",
        "body bytes",
        "raw → struct",
        "raw → `Value`",
        "`HttpClient` → `Value`",
        "adapter `status()`",
    ]);
    let delta = |a: Duration, b: Duration| {
        let d = a.as_secs_f64() - b.as_secs_f64();
        format!("{} ({:+.1})", us(a), d * 1e6)
    };
    for (m, s) in multi.cases.iter().zip(&single.cases) {
        for (c, rt) in [(m, "multi-thread"), (s, "1 thread")] {
            breakdown.row(vec![
                c.label.clone(),
                rt.to_owned(),
                c.body.to_string(),
                us(c.med[0]),
                delta(c.med[1], c.med[0]),
                delta(c.med[2], c.med[1]),
                delta(c.med[3], c.med[2]),
            ]);
        }
    }
    breakdown.print();
    Ok(())
}

fn sim_first(ids: Vec<String>, what: &str) -> Res<String> {
    ids.into_iter()
        .next()
        .ok_or_else(|| format!("the {what} simulator has no run to read").into())
}

// ---------------------------------------------------------------------------
// 2. bulk

const BULK_RUNS: usize = 2000;
const BULK_LATENCY: Duration = Duration::from_millis(20);
const BULK_CONCURRENCY: usize = 64;
const BULK_SEQUENTIAL: usize = 100;
const BULK_ROUNDS: usize = 5;

/// What one parallel bulk side answered.
#[derive(Default)]
struct Answered {
    results: usize,
    distinct: usize,
    errors: usize,
    outcomes: BTreeMap<&'static str, usize>,
    /// Ids whose server-side stop count went up by exactly one.
    server_once: usize,
}

impl Answered {
    fn ok(&self, n: usize) -> bool {
        self.results == n && self.distinct == n && self.errors == 0 && self.server_once == n
    }

    fn describe(&self) -> String {
        let outcomes: Vec<String> = self
            .outcomes
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        format!(
            "{} results, {} distinct ids, {} errors ({}); the simulator saw {} ids stopped exactly once",
            self.results,
            self.distinct,
            self.errors,
            outcomes.join(", "),
            self.server_once
        )
    }
}

fn reset_running(sim: &AmperitySim, ids: &[String]) -> Res<()> {
    for id in ids {
        if !sim.set_state(id, "running") {
            return Err(format!("the simulator lost run {id}").into());
        }
    }
    sim.server().clear_requests();
    Ok(())
}

fn outcome_name(r: &jobstop::Result<StopOutcome>) -> &'static str {
    match r {
        Ok(o) => o.as_str(),
        Err(_) => "error",
    }
}

async fn bulk(verdicts: &mut Vec<Verdict>) -> Res<()> {
    let sim = AmperitySim::builder()
        .seed(21)
        .running(BULK_RUNS)
        .start()
        .await?;
    let ids = sim.ids();
    if ids.len() != BULK_RUNS {
        return Err(format!("the simulator has {} runs, not {BULK_RUNS}", ids.len()).into());
    }
    let adapter = AmperityBuilder::from_lookup(lookup(sim.env())).build()?;
    let registry = Registry::from_lookup(lookup(sim.env()))?;
    let accounts = registry.all();
    let plan = plan_stops(&accounts, &Selector::new().with_state(RunState::Running)).await;
    if plan.stops.len() != BULK_RUNS || !plan.errors.is_empty() {
        return Err(format!(
            "the plan has {} stops and {} errors",
            plan.stops.len(),
            plan.errors.len()
        )
        .into());
    }
    let add_latency = |sim: &AmperitySim| {
        sim.faults().add(FaultRule::new(
            Route::post_prefix("/workflow/runs/"),
            Fault::Latency(BULK_LATENCY),
        ));
    };
    add_latency(&sim);
    let request = StopRequest::graceful();
    let options = BulkOptions::default().with_concurrency(BULK_CONCURRENCY);
    let ideal = BULK_LATENCY * BULK_RUNS as u32 / BULK_CONCURRENCY as u32;
    let scale = (BULK_RUNS / BULK_SEQUENTIAL) as u32;

    let counts =
        |sim: &AmperitySim| -> Vec<u64> { ids.iter().map(|i| sim.stop_requests(i)).collect() };

    // One side each: `stop_many` on the adapter, `execute_stops` on the
    // registry's controller, a sequential loop over the first 100 runs.
    let (simr, adapter, request, ids_r) = (&sim, &adapter, &request, &ids);
    let (registry_r, plan_r, options_r) = (&registry, &plan, &options);
    let counts = &counts;
    let stop_many_round = move || {
        let (sim, ids) = (simr, ids_r);
        async move {
            let before = counts(sim);
            reset_running(sim, ids)?;
            let t = Instant::now();
            let results: Vec<StopResult> = adapter
                .stop_many(
                    ids.iter().map(|i| RunId::new(i.clone())),
                    request,
                    BULK_CONCURRENCY,
                )
                .collect()
                .await;
            let wall = t.elapsed();
            let after = counts(sim);
            let mut a = Answered {
                results: results.len(),
                ..Answered::default()
            };
            a.distinct = results
                .iter()
                .map(|r| r.id.as_str())
                .collect::<HashSet<_>>()
                .len();
            for r in &results {
                *a.outcomes.entry(outcome_name(&r.result)).or_default() += 1;
                a.errors += usize::from(r.result.is_err());
            }
            a.server_once = before
                .iter()
                .zip(&after)
                .filter(|(b, a)| **a == **b + 1)
                .count();
            Res::Ok((wall, a))
        }
    };
    let execute_round = move || {
        let (sim, ids, registry, plan, options) = (simr, ids_r, registry_r, plan_r, options_r);
        async move {
            let before = counts(sim);
            reset_running(sim, ids)?;
            let t = Instant::now();
            let results: Vec<BulkResult> = execute_stops(registry, plan, options).collect().await;
            let wall = t.elapsed();
            let after = counts(sim);
            let mut a = Answered {
                results: results.len(),
                ..Answered::default()
            };
            a.distinct = results
                .iter()
                .map(|r| (r.account.as_str(), r.run_id().as_str()))
                .collect::<HashSet<_>>()
                .len();
            for r in &results {
                *a.outcomes.entry(outcome_name(&r.result)).or_default() += 1;
                a.errors += usize::from(r.result.is_err());
            }
            a.server_once = before
                .iter()
                .zip(&after)
                .filter(|(b, a)| **a == **b + 1)
                .count();
            Res::Ok((wall, a))
        }
    };
    let sequential_round = move || {
        let (sim, ids) = (simr, ids_r);
        async move {
            reset_running(sim, ids)?;
            let mut errors = 0usize;
            let t = Instant::now();
            for id in &ids[..BULK_SEQUENTIAL] {
                errors += usize::from(
                    adapter
                        .stop(&RunId::new(id.clone()), request)
                        .await
                        .is_err(),
                );
            }
            Res::Ok((t.elapsed(), errors))
        }
    };

    // The same `stop_many` with the added latency switched off: what the
    // CPU (client and simulator on the same cores) alone costs.
    let unlatent_round = move || async move {
        simr.faults().clear();
        let r = stop_many_round().await;
        add_latency(simr);
        r
    };

    // Warm-up: connections and allocator, untimed.
    stop_many_round().await?;
    execute_round().await?;

    let mut many = Vec::new();
    let mut exec = Vec::new();
    let mut seq = Vec::new();
    let mut speedups = Vec::new();
    let mut exec_speedups = Vec::new();
    let mut many_answers = Vec::new();
    let mut exec_answers = Vec::new();
    let mut seq_errors = 0;
    let mut unlatent = Vec::new();
    for round in 0..BULK_ROUNDS {
        let (m, e, s) = if round % 2 == 0 {
            let m = stop_many_round().await?;
            let e = execute_round().await?;
            let s = sequential_round().await?;
            unlatent.push(unlatent_round().await?.0);
            (m, e, s)
        } else {
            unlatent.push(unlatent_round().await?.0);
            let s = sequential_round().await?;
            let e = execute_round().await?;
            (stop_many_round().await?, e, s)
        };
        let scaled = s.0 * scale;
        speedups.push(ratio(scaled, m.0));
        exec_speedups.push(ratio(scaled, e.0));
        many.push(m.0);
        exec.push(e.0);
        seq.push(s.0);
        many_answers.push(m.1);
        exec_answers.push(e.1);
        seq_errors += s.1;
    }
    let many_ok = many_answers.iter().all(|a| a.ok(BULK_RUNS));
    let exec_ok = exec_answers.iter().all(|a| a.ok(BULK_RUNS));
    let m = median(&mut many);
    let e = median(&mut exec);
    let s = median(&mut seq);
    let m_ratio = ratio(m, ideal);
    let e_ratio = ratio(e, ideal);
    let met = m_ratio <= 1.15;
    let floor = median(&mut unlatent);
    // What the simulator's 20 ms really is: a tokio sleep, rounded up to
    // the timer's millisecond ticks.
    let mut slept = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        tokio::time::sleep(BULK_LATENCY).await;
        slept.push(t.elapsed());
    }
    let slept = median(&mut slept);
    let per_stop = s / BULK_SEQUENTIAL as u32;
    // Whole waves: the last, partial one still takes a full latency.
    let waves = BULK_RUNS.div_ceil(BULK_CONCURRENCY) as u32;
    let measured_ideal = per_stop * waves;

    println!(
        "## bulk: stopping {BULK_RUNS} running Amperity runs, {} ms added to every stop, concurrency {BULK_CONCURRENCY}\n\n\
         Ideal = N × latency / concurrency = {}. The simulator's runs are reset to `running` \
         before every side, so every stop hits a running run. {BULK_ROUNDS} rounds after one \
         untimed warm-up of each parallel side; the sides' order alternates. The sequential side \
         stops the first {BULK_SEQUENTIAL} runs one after the other and is **scaled ×{scale} to {BULK_RUNS}** \
         (measured {} for {BULK_SEQUENTIAL}); speed-up = scaled sequential / parallel, per round.\n",
        BULK_LATENCY.as_millis(),
        ms(ideal),
        secs(s),
    );
    let mut t = Table::new(&[
        "side",
        "wall time",
        "ratio to ideal",
        "speed-up over sequential",
        "every id answered once",
        "target",
    ]);
    t.row(vec![
        format!("`stop_many` on the adapter ({BULK_CONCURRENCY})"),
        ms(m),
        format!("{m_ratio:.3}"),
        format!("{:.1}×", median_f64(&speedups)),
        format!(
            "{} ({} rounds)",
            if many_ok { "yes" } else { "**no**" },
            many_answers.len()
        ),
        format!("≤ 1.15: {}", if met { "met" } else { "**missed**" }),
    ]);
    t.row(vec![
        format!("`ops::execute_stops` ({BULK_CONCURRENCY})"),
        ms(e),
        format!("{e_ratio:.3}"),
        format!("{:.1}×", median_f64(&exec_speedups)),
        format!(
            "{} ({} rounds)",
            if exec_ok { "yes" } else { "**no**" },
            exec_answers.len()
        ),
        format!(
            "≤ 1.15: {}",
            if e_ratio <= 1.15 { "met" } else { "**missed**" }
        ),
    ]);
    t.row(vec![
        format!("sequential, {BULK_SEQUENTIAL} runs × {scale} (scaled)"),
        format!("{} (scaled)", secs(s * scale)),
        format!("{:.1}", ratio(s * scale, ideal)),
        "1×".to_owned(),
        format!("{} errors", seq_errors),
        "".to_owned(),
    ]);
    t.row(vec![
        "ideal".to_owned(),
        ms(ideal),
        "1.000".to_owned(),
        format!("{:.1}×", ratio(s * scale, ideal)),
        "".to_owned(),
        "".to_owned(),
    ]);
    t.row(vec![
        format!(
            "diagnostic: floor with the per-stop time measured sequentially, \
             ⌈{BULK_RUNS}/{BULK_CONCURRENCY}⌉ = {waves} waves × {}",
            ms(per_stop)
        ),
        ms(measured_ideal),
        format!("{:.3}", ratio(measured_ideal, ideal)),
        "".to_owned(),
        "".to_owned(),
        format!("`stop_many` / this: {:.3}", ratio(m, measured_ideal)),
    ]);
    t.row(vec![
        "diagnostic: `stop_many` with no added latency (CPU-bound floor)".to_owned(),
        ms(floor),
        format!("{:.3}", ratio(floor, ideal)),
        "".to_owned(),
        "".to_owned(),
        "".to_owned(),
    ]);
    t.print();
    println!(
        "- `tokio::time::sleep({} ms)`, which is how the simulator adds the latency, took a median of {} here",
        BULK_LATENCY.as_millis(),
        ms(slept)
    );
    if let Some(a) = many_answers.last() {
        println!("- `stop_many`, last round: {}", a.describe());
    }
    if let Some(a) = exec_answers.last() {
        println!("- `execute_stops`, last round: {}", a.describe());
    }
    println!();
    verdicts.push(Verdict {
        bench: "bulk",
        what: "`stop_many` wall / ideal".into(),
        measured: format!("{m_ratio:.3} ({})", ms(m)),
        target: "≤ 1.15",
        met,
    });
    verdicts.push(Verdict {
        bench: "bulk",
        what: "`execute_stops` wall / ideal".into(),
        measured: format!("{e_ratio:.3} ({})", ms(e)),
        target: "≤ 1.15",
        met: e_ratio <= 1.15,
    });
    verdicts.push(Verdict {
        bench: "bulk",
        what: "every id answered exactly once".into(),
        measured: if many_ok && exec_ok { "yes" } else { "no" }.to_owned(),
        target: "yes",
        met: many_ok && exec_ok,
    });
    Ok(())
}

// ---------------------------------------------------------------------------
// 3. ratelimit

const RATE_RUNS: usize = 60;
const RATE_LIMIT: u32 = 10;
const RATE_ROUNDS: usize = 3;

struct RateOutcome {
    wall: Duration,
    too_many: usize,
    /// Stops that got at least one 429.
    hit: usize,
    requests: usize,
    failures: BTreeMap<String, usize>,
    results: usize,
}

async fn ratelimit(verdicts: &mut Vec<Verdict>) -> Res<()> {
    let sim = AmperitySim::builder()
        .seed(31)
        .running(RATE_RUNS)
        .start()
        .await?;
    let ids = sim.ids();
    let registry = Registry::from_lookup(lookup(sim.env()))?;
    let accounts = registry.all();
    // Planned before the limit is switched on: only the stops are measured.
    let plan = plan_stops(&accounts, &Selector::new().with_state(RunState::Running)).await;
    if plan.stops.len() != RATE_RUNS {
        return Err(format!("the plan has {} stops, not {RATE_RUNS}", plan.stops.len()).into());
    }
    let paced = BulkOptions::default()
        .with_concurrency(16)
        .with_per_account_rate(RATE_LIMIT);
    let unpaced = BulkOptions::default().with_concurrency(16);
    let ideal = Duration::from_secs(RATE_RUNS as u64 / u64::from(RATE_LIMIT));

    let side = |options: &BulkOptions| {
        let (sim, ids, registry, plan) = (&sim, &ids, &registry, &plan);
        let options = options.clone();
        async move {
            reset_running(sim, ids)?;
            // Switching the limit on (again) empties its windows.
            sim.faults().rate_limit(RATE_LIMIT);
            let t = Instant::now();
            let results: Vec<BulkResult> = execute_stops(registry, plan, &options).collect().await;
            let wall = t.elapsed();
            let log = sim.server().requests();
            let mut failures = BTreeMap::new();
            for r in &results {
                if let Err(e) = &r.result {
                    *failures.entry(format!("{:?}", e.kind())).or_default() += 1;
                }
            }
            Res::Ok(RateOutcome {
                wall,
                too_many: log.iter().filter(|r| r.status == Some(429)).count(),
                hit: log
                    .iter()
                    .filter(|r| r.status == Some(429))
                    .map(LoggedRequest::path)
                    .collect::<HashSet<_>>()
                    .len(),
                requests: log.len(),
                failures,
                results: results.len(),
            })
        }
    };

    let mut paced_runs = Vec::new();
    let mut unpaced_runs = Vec::new();
    for round in 0..RATE_ROUNDS {
        if round % 2 == 0 {
            paced_runs.push(side(&paced).await?);
            unpaced_runs.push(side(&unpaced).await?);
        } else {
            unpaced_runs.push(side(&unpaced).await?);
            paced_runs.push(side(&paced).await?);
        }
    }
    // Diagnostic, one round: pacing with a margin below the server's limit.
    let margin = BulkOptions::default()
        .with_concurrency(16)
        .with_per_account_rate(RATE_LIMIT - 1);
    let margin_run = side(&margin).await?;
    sim.faults().set_rate_limit(None);

    let summarize = |runs: &[RateOutcome]| {
        let mut walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
        let wall = median(&mut walls);
        let list =
            |f: &dyn Fn(&RateOutcome) -> String| runs.iter().map(f).collect::<Vec<_>>().join(", ");
        let too_many = list(&|r| format!("{} ({} stops)", r.too_many, r.hit));
        let requests = list(&|r| r.requests.to_string());
        let failures = list(&|r| {
            if r.failures.is_empty() {
                "0".to_owned()
            } else {
                r.failures
                    .iter()
                    .map(|(k, v)| format!("{v} {k}"))
                    .collect::<Vec<_>>()
                    .join(" + ")
            }
        });
        let answered = runs.iter().all(|r| r.results == RATE_RUNS);
        (wall, too_many, requests, failures, answered)
    };
    let (pw, p429, preq, pfail, pans) = summarize(&paced_runs);
    let (uw, u429, ureq, ufail, uans) = summarize(&unpaced_runs);
    let (mw, m429, mreq, mfail, mans) = summarize(std::slice::from_ref(&margin_run));
    let p_ratio = ratio(pw, ideal);
    let max_429 = paced_runs.iter().map(|r| r.too_many).max().unwrap_or(0);
    let met_time = p_ratio <= 1.15;
    let met_429 = max_429 == 0;

    println!(
        "## ratelimit: {RATE_RUNS} Amperity stops against the documented {RATE_LIMIT} requests/second limit\n\n\
         `sim.faults().rate_limit({RATE_LIMIT})` (rolling second per tenant, 429 without \
         `Retry-After`); `ops::execute_stops` with concurrency 16 over a one-account registry \
         (`Registry::from_lookup(sim.env())`), the adapter's default retry policy (5 attempts, \
         200 ms → 5 s backoff with jitter, 30 s budget). The plan is made before the limit is \
         switched on; runs are reset and the limit's windows emptied before every side. \
         {RATE_ROUNDS} rounds, sides alternating; per-round values are listed in round order. \
         Ideal = {RATE_RUNS} / {RATE_LIMIT} per second = {}.\n",
        secs(ideal)
    );
    let mut t = Table::new(&[
        "side",
        "wall time",
        "ratio to 6 s ideal",
        "429s sent (stops hit), per round",
        "requests (per round)",
        "failed stops (per round)",
        "all answered",
        "targets",
    ]);
    t.row(vec![
        format!("`with_per_account_rate({RATE_LIMIT})`"),
        secs(pw),
        format!("{p_ratio:.3}"),
        p429,
        preq,
        pfail,
        if pans { "yes" } else { "**no**" }.to_owned(),
        format!(
            "≤ 1.15: {}; zero 429s: {}",
            if met_time { "met" } else { "**missed**" },
            if met_429 { "met" } else { "**missed**" }
        ),
    ]);
    t.row(vec![
        "no configured rate".to_owned(),
        secs(uw),
        format!("{:.3}", ratio(uw, ideal)),
        u429,
        ureq,
        ufail,
        if uans { "yes" } else { "**no**" }.to_owned(),
        "report only".to_owned(),
    ]);
    t.row(vec![
        format!(
            "diagnostic, 1 round: `with_per_account_rate({})`",
            RATE_LIMIT - 1
        ),
        secs(mw),
        format!("{:.3}", ratio(mw, ideal)),
        m429,
        mreq,
        mfail,
        if mans { "yes" } else { "**no**" }.to_owned(),
        "report only".to_owned(),
    ]);
    t.print();
    if max_429 > 0 {
        println!(
            "The paced side got 429s. It starts one stop every {} ms, exactly the server's budget, with no \
             margin: a stop that reaches the simulator a fraction of a millisecond less than a \
             second after the one ten before it is refused, and the HTTP layer's retry of it is \
             not paced, so it takes a slot of the next second and pushes later stops over the \
             limit too. The diagnostic row paces at {}/s instead.\n",
            1000 / RATE_LIMIT,
            RATE_LIMIT - 1
        );
    }
    verdicts.push(Verdict {
        bench: "ratelimit",
        what: "paced wall / 6 s".into(),
        measured: format!("{p_ratio:.3} ({})", secs(pw)),
        target: "≤ 1.15",
        met: met_time,
    });
    verdicts.push(Verdict {
        bench: "ratelimit",
        what: "429s with the configured rate (worst round)".into(),
        measured: max_429.to_string(),
        target: "0",
        met: met_429,
    });
    Ok(())
}

// ---------------------------------------------------------------------------
// 4. reuse

const REUSE_CALLS: usize = 1000;
const REUSE_ROUNDS: usize = 7;
/// Stops sent at once by `stop_many` in the concurrent part of `reuse`.
const REUSE_CONCURRENCY: usize = 256;
/// Runs stopped in each concurrent round.
const REUSE_STOPS: usize = 2000;

/// One round of `REUSE_CALLS` sequential reads on a fresh client (so a
/// fresh connection pool): connections accepted, requests per connection
/// (in connection order), wall time.
struct ReuseRound {
    connections: u64,
    per_connection: Vec<usize>,
    wall: Duration,
}

async fn reuse_round<F, Fut>(server: &SimServer, mut call: F) -> Res<ReuseRound>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Res<()>>,
{
    server.clear_requests();
    let before = server.connections();
    let t = Instant::now();
    for _ in 0..REUSE_CALLS {
        call().await?;
    }
    let wall = t.elapsed();
    let connections = server.connections() - before;
    let mut per: BTreeMap<u64, usize> = BTreeMap::new();
    for r in server.requests() {
        *per.entry(r.connection).or_default() += 1;
    }
    Ok(ReuseRound {
        connections,
        per_connection: per.into_values().collect(),
        wall,
    })
}

async fn reuse(verdicts: &mut Vec<Verdict>) -> Res<()> {
    let sim = AmperitySim::builder().seed(41).running(3).start().await?;
    let id = RunId::new(sim_first(sim.ids(), "amperity")?);
    let url = format!("{}/workflow/runs/{id}?view=verbose", sim.base_url());
    let h = headers(&[
        ("authorization", format!("Bearer {}", sim.token())),
        ("amperity-tenant", sim.tenant().to_owned()),
        ("api-version", "2024-04-01".to_owned()),
        ("accept", "application/json".to_owned()),
    ])?;
    let adapter_round = || async {
        // A new adapter each round: a new, empty connection pool.
        let adapter = AmperityBuilder::from_lookup(lookup(sim.env())).build()?;
        let (adapter, id) = (&adapter, &id);
        reuse_round(sim.server(), || async move {
            adapter.status(id).await.map(drop).map_err(Into::into)
        })
        .await
    };
    let raw_round = || async {
        let client = raw_client()?;
        let (client, url, h) = (&client, &url, &h);
        reuse_round(sim.server(), || async move {
            get_json::<AmperityRun>(client, url, h).await.map(drop)
        })
        .await
    };
    let mut adapter_rounds = Vec::new();
    let mut raw_rounds = Vec::new();
    for round in 0..REUSE_ROUNDS {
        if round % 2 == 0 {
            adapter_rounds.push(adapter_round().await?);
            raw_rounds.push(raw_round().await?);
        } else {
            raw_rounds.push(raw_round().await?);
            adapter_rounds.push(adapter_round().await?);
        }
    }
    let describe = |rounds: &[ReuseRound]| {
        let counts: Vec<String> = rounds.iter().map(|r| r.connections.to_string()).collect();
        let per: Vec<String> = rounds
            .iter()
            .map(|r| {
                r.per_connection
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect();
        let mut walls: Vec<Duration> = rounds.iter().map(|r| r.wall).collect();
        let mut conns: Vec<u64> = rounds.iter().map(|r| r.connections).collect();
        conns.sort_unstable();
        let median_conns = conns.get(conns.len() / 2).copied().unwrap_or(0);
        let worst = conns.last().copied().unwrap_or(0);
        (
            counts.join(", "),
            per.join(", "),
            median(&mut walls),
            median_conns,
            worst,
        )
    };
    let (a_counts, a_per, a_wall, a_median, a_worst) = describe(&adapter_rounds);
    let (r_counts, r_per, r_wall, r_median, r_worst) = describe(&raw_rounds);
    let met = a_worst <= 2;
    println!(
        "## reuse: {REUSE_CALLS} sequential `status()` calls on one Amperity adapter\n\n\
         {REUSE_ROUNDS} rounds, each on a new adapter (a new connection pool), alternating \
         with the same {REUSE_CALLS} GETs on a new plain reqwest client for comparison; \
         connections = what the simulator accepted during the round. The target is judged \
         on the worst round.\n"
    );
    let mut t = Table::new(&[
        "client",
        "connections per round",
        "requests per connection, per round",
        "median",
        "worst",
        "median wall time",
        "target",
    ]);
    t.row(vec![
        "adapter `status()`".to_owned(),
        a_counts,
        a_per,
        a_median.to_string(),
        a_worst.to_string(),
        ms(a_wall),
        format!("≤ 2: {}", if met { "met" } else { "**missed**" }),
    ]);
    t.row(vec![
        "plain reqwest GET (comparison)".to_owned(),
        r_counts,
        r_per,
        r_median.to_string(),
        r_worst.to_string(),
        ms(r_wall),
        "".to_owned(),
    ]);
    t.print();
    if a_worst > 1 || r_worst > 1 {
        println!(
            "More than one connection for strictly sequential calls comes from the connection \
             pool of hyper-util (under reqwest and jobstop-http): when a request finds no idle connection because \
             the previous one has not been handed back yet, it starts connecting and takes \
             whichever is ready first; a connection opened that way joins the pool and later \
             requests use either.\n"
        );
    }
    verdicts.push(Verdict {
        bench: "reuse",
        what: format!("connections for {REUSE_CALLS} statuses (worst of {REUSE_ROUNDS})"),
        measured: format!("{a_worst} (median {a_median})"),
        target: "≤ 2",
        met,
    });
    reuse_concurrent(verdicts).await
}

/// `stop_many` of `REUSE_STOPS` runs at `REUSE_CONCURRENCY` on a new
/// adapter per round: the connections the simulator accepted, against the
/// requests the HTTP layer lets in flight to one host plus two.
async fn reuse_concurrent(verdicts: &mut Vec<Verdict>) -> Res<()> {
    let cap = jobstop::http::DEFAULT_MAX_CONNECTIONS_PER_HOST;
    let sim = AmperitySim::builder()
        .seed(43)
        .running(REUSE_STOPS)
        .start()
        .await?;
    let ids = sim.ids();
    if ids.len() != REUSE_STOPS {
        return Err(format!("the simulator has {} runs, not {REUSE_STOPS}", ids.len()).into());
    }
    let request = StopRequest::graceful();
    let mut rounds = Vec::new();
    for _ in 0..REUSE_ROUNDS {
        reset_running(&sim, &ids)?;
        let adapter = AmperityBuilder::from_lookup(lookup(sim.env())).build()?;
        let before = sim.server().connections();
        let t = Instant::now();
        let results: Vec<StopResult> = adapter
            .stop_many(
                ids.iter().map(|i| RunId::new(i.clone())),
                &request,
                REUSE_CONCURRENCY,
            )
            .collect()
            .await;
        let wall = t.elapsed();
        let failed = results.iter().filter(|r| r.result.is_err()).count();
        if results.len() != REUSE_STOPS || failed > 0 {
            return Err(format!(
                "stop_many answered {} of {REUSE_STOPS} stops, {failed} failed",
                results.len()
            )
            .into());
        }
        rounds.push((sim.server().connections() - before, wall));
    }
    let mut conns: Vec<u64> = rounds.iter().map(|r| r.0).collect();
    let counts: Vec<String> = conns.iter().map(u64::to_string).collect();
    conns.sort_unstable();
    let worst = conns.last().copied().unwrap_or(0);
    let median_conns = conns.get(conns.len() / 2).copied().unwrap_or(0);
    let mut walls: Vec<Duration> = rounds.iter().map(|r| r.1).collect();
    let bound = cap as u64 + 2;
    let met = worst <= bound;
    println!(
        "### connections under {REUSE_CONCURRENCY} concurrent stops\n\n\
         {REUSE_ROUNDS} rounds of `stop_many` of {REUSE_STOPS} running Amperity runs at \
         concurrency {REUSE_CONCURRENCY}, each on a new adapter (default client config: at most \
         {cap} requests in flight per host); connections = what the simulator accepted during \
         the round (so at least the most open at once). The target is the requests in flight \
         plus two, judged on the worst round.\n"
    );
    let mut t = Table::new(&[
        "client",
        "connections per round",
        "median",
        "worst",
        "median wall time",
        "target",
    ]);
    t.row(vec![
        format!("adapter `stop_many` ({REUSE_CONCURRENCY})"),
        counts.join(", "),
        median_conns.to_string(),
        worst.to_string(),
        ms(median(&mut walls)),
        format!("≤ {bound}: {}", if met { "met" } else { "**missed**" }),
    ]);
    t.print();
    verdicts.push(Verdict {
        bench: "reuse",
        what: format!(
            "connections for {REUSE_STOPS} stops at {REUSE_CONCURRENCY} (worst of {REUSE_ROUNDS})"
        ),
        measured: format!("{worst} (median {median_conns})"),
        target: "≤ in flight + 2",
        met,
    });
    Ok(())
}

// ---------------------------------------------------------------------------
// 5. cli

const CLI_RUNS: usize = 15;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `jobstop` binary, built (release) if it is not there.
async fn jobstop_binary() -> Res<(PathBuf, &'static str)> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let bin = target.join("release").join("jobstop");
    if bin.exists() && std::env::var_os("JOBSTOP_BENCH_BUILD_CLI").is_none() {
        return Ok((bin.canonicalize()?, "existing"));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = tokio::process::Command::new(cargo)
        .args(["build", "--release", "-p", "jobstop-cli"])
        .current_dir(workspace_root())
        .stdout(Stdio::null())
        .status()
        .await?;
    if !status.success() || !bin.exists() {
        return Err(format!("`cargo build --release -p jobstop-cli` failed ({status})").into());
    }
    Ok((bin.canonicalize()?, "built now"))
}

/// The newest `.rs` file under the workspace's `src` folders, if it is newer
/// than `bin`: the binary may not be what the sources say.
fn newer_source_than(bin: &Path) -> Option<PathBuf> {
    fn walk(dir: &Path, newest: &mut Option<(std::time::SystemTime, PathBuf)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, newest);
            } else if path.extension().is_some_and(|x| x == "rs")
                && let Ok(t) = e.metadata().and_then(|m| m.modified())
                && newest.as_ref().is_none_or(|(n, _)| t > *n)
            {
                *newest = Some((t, path));
            }
        }
    }
    let built = std::fs::metadata(bin).and_then(|m| m.modified()).ok()?;
    let root = workspace_root();
    let mut newest = None;
    walk(&root.join("src"), &mut newest);
    for c in [
        "jobstop-cli",
        "jobstop-core",
        "jobstop-http",
        "jobstop-runtime",
        "jobstop-amperity",
    ] {
        walk(&root.join("crates").join(c).join("src"), &mut newest);
    }
    newest.filter(|(t, _)| *t > built).map(|(_, p)| p)
}

async fn run_cli(
    bin: &Path,
    args: &[&str],
    env: &[(String, String)],
    config_home: &Path,
) -> Res<(Duration, usize)> {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("JOBSTOP_") {
            cmd.env_remove(&k);
        }
    }
    // No config file either: only the simulator's variables configure it.
    cmd.env("XDG_CONFIG_HOME", config_home);
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let t = Instant::now();
    let out = cmd.output().await?;
    let wall = t.elapsed();
    if !out.status.success() {
        return Err(format!(
            "`jobstop {}` exited with {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok((wall, out.stdout.iter().filter(|b| **b == b'\n').count()))
}

async fn cli() -> Res<()> {
    let (bin, how) = jobstop_binary().await?;
    let stale = newer_source_than(&bin);
    let sim = AmperitySim::builder()
        .seed(51)
        .running(10)
        .finished(40)
        .start()
        .await?;
    let env = sim.env();
    let config_home = std::env::temp_dir().join(format!("jobstop-bench-{}", std::process::id()));
    std::fs::create_dir_all(&config_home)?;

    // Warm-up (page cache), and the list request(s) the CLI sends.
    run_cli(&bin, &["--help"], &env, &config_home).await?;
    sim.server().clear_requests();
    let (_, lines) = run_cli(&bin, &["list", "--account", "amperity"], &env, &config_home).await?;
    let targets: Vec<String> = sim
        .server()
        .requests()
        .iter()
        .map(|r| r.target.clone())
        .collect();

    let mut help = Vec::new();
    let mut list = Vec::new();
    let mut cold = Vec::new();
    let mut replay = Vec::new();
    let client = raw_client()?;
    let h = headers(&[
        ("authorization", format!("Bearer {}", sim.token())),
        ("amperity-tenant", sim.tenant().to_owned()),
        ("api-version", "2024-04-01".to_owned()),
        ("accept", "application/json".to_owned()),
    ])?;
    let origin = sim
        .base_url()
        .split("/api")
        .next()
        .unwrap_or_default()
        .to_owned();
    for _ in 0..CLI_RUNS {
        help.push(run_cli(&bin, &["--help"], &env, &config_home).await?.0);
        list.push(
            run_cli(&bin, &["list", "--account", "amperity"], &env, &config_home)
                .await?
                .0,
        );
        // In-process: a fresh registry (new HTTP client, new connection) and
        // the cross-account listing the CLI does.
        let t = Instant::now();
        let registry = Registry::from_lookup(lookup(env.clone()))?;
        let accounts = registry.select(&["amperity".to_owned()])?;
        let listed = list_accounts(&accounts, &Selector::new(), None).await;
        cold.push(t.elapsed());
        if listed.iter().any(|a| a.result.is_err()) {
            return Err("the in-process listing failed".into());
        }
        // The same request(s) on a warm connection: about what the
        // simulator itself spends.
        let t = Instant::now();
        for target in &targets {
            let _: serde_json::Value = get_json(&client, &format!("{origin}{target}"), &h).await?;
        }
        replay.push(t.elapsed());
    }
    let _ = std::fs::remove_dir(&config_home);
    let help_m = median(&mut help);
    let list_m = median(&mut list);
    println!(
        "## cli: the `jobstop` binary ({how}: `{}`)\n\n\
         {CLI_RUNS} runs each, interleaved, after one warm-up; the child gets the simulator's \
         `env()` (Amperity, 10 running + 40 finished runs), no other `JOBSTOP_*` variable and an \
         empty `XDG_CONFIG_HOME`. `list` printed {lines} lines and sent {} request(s): `{}`. \
         No target; for comparison only.\n",
        bin.display(),
        targets.len(),
        targets.join("`, `"),
    );
    if let Some(src) = &stale {
        println!(
            "**The binary is older than `{}`**: it may not match the sources. \
             `JOBSTOP_BENCH_BUILD_CLI=1` makes the suite run `cargo build --release -p jobstop-cli` first.\n",
            src.strip_prefix(workspace_root()).unwrap_or(src).display()
        );
    }
    let mut t = Table::new(&["what", "median wall time"]);
    t.row(vec!["`jobstop --help`".into(), ms(help_m)]);
    t.row(vec!["`jobstop list --account amperity`".into(), ms(list_m)]);
    t.row(vec![
        "difference (list − help)".into(),
        ms(list_m.saturating_sub(help_m)),
    ]);
    t.row(vec![
        "in-process: `Registry::from_lookup` + `ops::list_accounts` (new client and connection)"
            .into(),
        ms(median(&mut cold)),
    ]);
    t.row(vec![
        "in-process: the same list request(s) replayed on a warm connection (≈ simulator-side time)"
            .into(),
        ms(median(&mut replay)),
    ]);
    t.print();
    Ok(())
}
