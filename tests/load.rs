//! Load: for each vendor, `stop_many` of 10,000 running runs at concurrency
//! 256 against its simulator, over real TCP on loopback.
//!
//! Every id must be answered exactly once and successfully, the simulator
//! must have received exactly one stop per id and must hold every run the
//! results call stopped or requested in a stopping or stopped state, and the
//! process must not run away with descriptors or connections: the simulator
//! holds at most `CONNECTION_BOUND` connections open at once (sampled from
//! `/proc/net/tcp`) and accepts at most `ACCEPTED_BOUND` in all, the process's
//! descriptor count (sampled from `/proc/self/fd`) stays within what those
//! connections explain, and it comes back to its baseline once the
//! controller and the simulator are gone.
//!
//! The four tests share one lock: descriptor counts are per process, so they
//! run one at a time. Each prints one line of figures (`--nocapture`).
//!
//! In a debug build each vendor takes tens of seconds, nearly all of it in
//! the simulators, which scan every run they hold on every request.

#![cfg(all(feature = "full", target_os = "linux"))]
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use support::Sim;

use futures::{StreamExt, TryStreamExt};
use jobstop::amperity::AmperityBuilder;
use jobstop::centurylink::CenturyLinkBuilder;
use jobstop::chorus::ChorusBuilder;
use jobstop::dataarts::DataArtsBuilder;
use jobstop::{
    JobController, JobControllerExt, ListQuery, Run, RunId, StopOutcome, StopRequest, StopResult,
};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::centurylink::CenturyLinkSim;
use jobstop_sim::chorus::{ChorusSim, WorkfileSeed};
use jobstop_sim::dataarts::DataArtsSim;

/// Runs stopped per vendor: the size RELIABILITY.md promises.
const RUNS: usize = 10_000;
/// Stops in flight at once.
const CONCURRENCY: usize = 256;
/// The most connections open at once: the requests the HTTP layer lets in
/// flight to one host (its default cap, below the concurrency) plus two.
///
/// The HTTP layer keeps at most `DEFAULT_MAX_CONNECTIONS_PER_HOST` requests
/// in flight per host (the other stops wait for a place) and opens a
/// connection only while fewer are open than requests in flight plus one, so
/// a connection that is slow to come back to the pool does not make it open
/// a spare. Before that cap, 260 to 419 connections were open here for 256
/// stops in flight.
const CONNECTION_BOUND: usize = jobstop::http::DEFAULT_MAX_CONNECTIONS_PER_HOST + 2;
/// The most connections the simulator may accept in all: the bound above
/// plus a few replacements. hyper's pool races a checkout against a new
/// connect; when the connect wins just after an idle connection was handed
/// to the losing checkout, that connection is dropped with it
/// (`hyper-util` `client/legacy/client.rs`, `one_connection_for`), and the
/// gate lets one more open in its place. A quiet machine sees 65 or 66, a
/// loaded one up to 70 (one connection that served one request, then
/// closed). A client that did not reuse connections would open one per
/// request, 10,000 or more, and a leak would grow with the requests.
const ACCEPTED_BOUND: usize = CONNECTION_BOUND + 16;
/// Descriptors besides the connections' (the runtime's, the listener's).
const FD_OVERHEAD: usize = 32;
/// Descriptors allowed beyond the baseline after everything is dropped.
const FD_SLACK: usize = 8;
/// Runs stay `canceling`/`STOPPING` for the whole test (the simulators would
/// otherwise finish them while it runs; either state is fine, this only
/// spares them the work).
const LONG: Duration = Duration::from_secs(3600);

/// Descriptor counts are per process: one vendor at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn lookup(vars: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
    move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// Open descriptors of this process (the directory handle used to count
/// them included, as in every sample).
fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Established TCP connections whose local end is `port` on 127.0.0.1: the
/// simulator's side of every connection open to it right now. The kernel
/// builds the table page by page while connections come and go, so a line
/// can be read twice: connections are counted by their remote end.
fn established_to(port: u16) -> usize {
    let local = format!("0100007F:{port:04X}");
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return 0;
    };
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split_whitespace();
            let (_, l, remote, st) = (cols.next(), cols.next(), cols.next(), cols.next());
            (l == Some(local.as_str()) && st == Some("01")).then_some(remote)
        })
        .collect::<HashSet<_>>()
        .len()
}

/// Samples the descriptor count and the simulator's open connections on a
/// plain thread until stopped, keeping the peaks.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak_fds: Arc<AtomicUsize>,
    peak_conns: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    fn start(port: u16) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_fds = Arc::new(AtomicUsize::new(fd_count()));
        let peak_conns = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, peak_fds, peak_conns) = (stop.clone(), peak_fds.clone(), peak_conns.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    peak_fds.fetch_max(fd_count(), Ordering::SeqCst);
                    peak_conns.fetch_max(established_to(port), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Sampler {
            stop,
            peak_fds,
            peak_conns,
            thread: Some(thread),
        }
    }

    /// Stops sampling; returns (peak descriptors, peak open connections).
    fn finish(mut self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        (
            self.peak_fds.load(Ordering::SeqCst),
            self.peak_conns.load(Ordering::SeqCst),
        )
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// What the load test asks of a simulator beyond [`AnySim`](jobstop_sim::AnySim).
#[jobstop::async_trait]
trait LoadSim {
    /// The runs among `ids` whose raw state in the simulator is one of
    /// `states`. Each question to a simulator rescans every run it holds, so
    /// asking run by run is quadratic: DataArts and CenturyLink are asked
    /// once per state; Amperity's simulator has no such query, so its own
    /// listing is read page by page through `ctrl` (`vendor_state` is the
    /// simulator's string, unmapped); Chorus can only list one workspace by
    /// status and its runs are spread over many (see `chorus`), so it is
    /// asked run by run (about 10 s at this size).
    async fn ids_in_states(
        &self,
        ctrl: &dyn JobController,
        ids: &[String],
        states: &[&str],
    ) -> HashSet<String>;

    /// Logins (sessions or tokens) the adapter obtained, where the
    /// simulator counts them.
    fn logins(&self) -> Option<u64>;
}

#[jobstop::async_trait]
impl LoadSim for Sim {
    async fn ids_in_states(
        &self,
        ctrl: &dyn JobController,
        ids: &[String],
        states: &[&str],
    ) -> HashSet<String> {
        let mut out = HashSet::new();
        let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let any = self.as_any();
        if let Some(s) = any.downcast_ref::<DataArtsSim>() {
            for st in states {
                out.extend(s.instance_ids(Some(st)));
            }
        } else if let Some(s) = any.downcast_ref::<CenturyLinkSim>() {
            for st in states {
                out.extend(s.execution_ids_with_status(st));
            }
        } else if self.vendor() == "chorus" {
            // Spread over workspaces (see `chorus`): asked run by run.
            out.extend(
                ids.iter()
                    .filter(|id| {
                        self.raw_state(id)
                            .is_some_and(|st| states.contains(&st.as_str()))
                    })
                    .cloned(),
            );
        } else {
            let runs: Vec<Run> = ctrl
                .list_all(ListQuery::new().with_page_size(100))
                .try_collect()
                .await
                .unwrap();
            out.extend(
                runs.into_iter()
                    .filter(|r| states.contains(&r.vendor_state.as_str()))
                    .map(|r| r.id.as_str().to_owned()),
            );
        }
        out.retain(|id| wanted.contains(id.as_str()));
        out
    }

    fn logins(&self) -> Option<u64> {
        let any = self.as_any();
        any.downcast_ref::<ChorusSim>()
            .map(|s| s.logins())
            .or_else(|| any.downcast_ref::<CenturyLinkSim>().map(|s| s.logins()))
    }
}

/// What a vendor's stop of a running run must answer, and what the
/// simulator must then hold.
struct Expect {
    /// The allowed outcome names (`StopOutcome::as_str`).
    outcomes: &'static [&'static str],
    /// The allowed raw states afterwards (the vendor's stopping or stopped).
    states: &'static [&'static str],
}

struct Setup {
    name: &'static str,
    sim: Sim,
    ctrl: Box<dyn JobController>,
    ids: Vec<String>,
    expect: Expect,
}

async fn amperity() -> Setup {
    let sim = AmperitySim::builder()
        .seed(31)
        .running(RUNS)
        .stop_delay(LONG)
        .start()
        .await
        .unwrap();
    let ctrl = AmperityBuilder::from_lookup(lookup(sim.env()))
        .build()
        .unwrap();
    let ids = sim.ids();
    Setup {
        name: "amperity",
        ids,
        ctrl: Box::new(ctrl),
        sim: Box::new(sim),
        expect: Expect {
            outcomes: &["requested"],
            states: &["canceling", "canceled"],
        },
    }
}

/// Chorus workspaces the runs are spread over, `RUNS / CHORUS_WORKSPACES`
/// each. The simulator makes every new workfile's generated name unique in
/// its workspace by scanning every workfile once per candidate suffix, which
/// is cubic for 10,000 workflows in one workspace (`running(10_000)` had not
/// finished after ten minutes); with ten per workspace each insertion is one
/// scan.
const CHORUS_WORKSPACES: usize = 1_000;

async fn chorus() -> Setup {
    let sim = ChorusSim::builder().seed(32).start().await.unwrap();
    let ids: Vec<String> = (0..RUNS)
        .map(|i| {
            let ws = 2_000_000 + (i % CHORUS_WORKSPACES) as u64;
            sim.insert_workfile(WorkfileSeed::new("running").with_workspace(ws))
        })
        .collect();
    let ctrl = ChorusBuilder::from_lookup(lookup(sim.env()))
        .build()
        .unwrap();
    Setup {
        name: "chorus",
        ids,
        ctrl: Box::new(ctrl),
        sim: Box::new(sim),
        expect: Expect {
            // Synchronous: the engine answers and the workfile is idle.
            outcomes: &["stopped"],
            states: &["idle"],
        },
    }
}

async fn dataarts() -> Setup {
    let sim = DataArtsSim::builder()
        .seed(33)
        .batch_jobs(8)
        .instances(RUNS)
        .running_instances(RUNS)
        .stop_delay(LONG)
        .start()
        .await
        .unwrap();
    let ctrl = DataArtsBuilder::from_lookup(lookup(sim.env()))
        .build()
        .unwrap();
    let ids = sim.instance_ids(Some("running"));
    Setup {
        name: "dataarts",
        ids,
        ctrl: Box::new(ctrl),
        sim: Box::new(sim),
        expect: Expect {
            // A running instance stops at once (`manual-stop`).
            outcomes: &["stopped"],
            states: &["manual-stop"],
        },
    }
}

async fn centurylink() -> Setup {
    let sim = CenturyLinkSim::builder()
        .seed(34)
        .jobs(1)
        .max_concurrent(RUNS)
        .running(RUNS)
        .stop_delay(LONG)
        .start()
        .await
        .unwrap();
    // Logs in on the login server (a session token), like a real account.
    let ctrl = CenturyLinkBuilder::from_lookup(lookup(sim.env()))
        .build()
        .unwrap();
    let ids = sim.execution_ids_with_status("RUNNING");
    Setup {
        name: "centurylink",
        ids,
        ctrl: Box::new(ctrl),
        sim: Box::new(sim),
        expect: Expect {
            outcomes: &["requested"],
            states: &["STOPPING", "STOPPED"],
        },
    }
}

/// Waits (up to 10 s) for the descriptor count to come back to at most
/// `target`; returns the last count.
async fn settle_fds(target: usize) -> usize {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let n = fd_count();
        if n <= target || Instant::now() >= until {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first few of `items`, for a failure message.
fn first<T: std::fmt::Debug>(items: &[T]) -> &[T] {
    &items[..items.len().min(5)]
}

type SetupFn = fn() -> Pin<Box<dyn Future<Output = Setup>>>;

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

fn load(setup: SetupFn) {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    // The simulator gets a runtime of its own, as a vendor's server has its
    // own machine: on the client's runtime its connection and handler tasks
    // (hundreds, busy) would slow the client down and blur what is
    // measured.
    let sim_rt = runtime(1);
    let rt = runtime(2);
    let fds_before = fd_count();
    let seeding = Instant::now();
    let Setup {
        name,
        sim,
        ctrl,
        ids,
        expect,
    } = sim_rt.block_on(setup());
    rt.block_on(async move {
        assert_eq!(ids.len(), RUNS, "{name}: running runs seeded");
        for id in ids.iter().take(3) {
            let state = sim.raw_state(id).expect("the run exists");
            assert!(
                !expect.states.contains(&state.as_str()),
                "{name}: {id} is `{state}` before any stop"
            );
        }
        let seeded = seeding.elapsed();
        let port = sim.server().addr().port();
        let accepted_before = sim.server().connections();
        let logged_before = sim.server().requests().len();

        let sampler = Sampler::start(port);
        let started = Instant::now();
        let request = StopRequest::graceful();
        let input: Vec<RunId> = ids.iter().map(|s| RunId::new(s.clone())).collect();
        let results: Vec<StopResult> = ctrl.stop_many(input, &request, CONCURRENCY).collect().await;
        let took = started.elapsed();
        let (peak_fds, peak_open) = sampler.finish();
        let accepted = sim.server().connections() - accepted_before;
        let log = sim.server().requests();
        let requests = log.len() - logged_before;
        // Stop calls as the simulator's request log has them, faults or not.
        let stop_posts = log[logged_before..]
            .iter()
            .filter(|r| r.method == "POST" && r.path().ends_with("/stop"))
            .count();
        drop(log);
        let logins = sim.logins();

        // Failures are gathered so the figures are printed whatever happens.
        let mut problems: Vec<String> = Vec::new();

        // Every id answered exactly once, and successfully.
        let answered: HashSet<&str> = results.iter().map(|r| r.id.as_str()).collect();
        let asked: HashSet<&str> = ids.iter().map(String::as_str).collect();
        if results.len() != RUNS {
            problems.push(format!("{} answers for {RUNS} ids", results.len()));
        }
        if answered.len() != results.len() {
            problems.push(format!(
                "{} ids answered more than once",
                results.len() - answered.len()
            ));
        }
        if answered != asked {
            let missing: Vec<&&str> = asked.difference(&answered).collect();
            let extra: Vec<&&str> = answered.difference(&asked).collect();
            problems.push(format!(
                "answered ids differ from the input: missing {:?}, not asked {:?}",
                first(&missing),
                first(&extra)
            ));
        }
        let failed: Vec<String> = results
            .iter()
            .filter_map(|r| match &r.result {
                Ok(o) if expect.outcomes.contains(&o.as_str()) => None,
                Ok(o) => Some(format!("{}: outcome {}", r.id, o.as_str())),
                Err(e) => Some(format!("{}: {e}", r.id)),
            })
            .collect();
        if !failed.is_empty() {
            problems.push(format!(
                "{} stops did not answer {:?}: {:?}",
                failed.len(),
                expect.outcomes,
                first(&failed)
            ));
        }

        // The simulator agrees: exactly one stop request reached it per id,
        // and every run the results call stopped or requested is stopping or
        // stopped there.
        let verifying = Instant::now();
        let stopping_or_stopped = sim.ids_in_states(ctrl.as_ref(), &ids, expect.states).await;
        let mut stop_requests = 0;
        let mut disagree = Vec::new();
        for r in &results {
            let id = r.id.as_str();
            let hits = sim.stop_requests(id);
            stop_requests += hits;
            let claimed = matches!(
                r.result,
                Ok(StopOutcome::Stopped(_) | StopOutcome::Requested(_))
            );
            if hits != 1 || (claimed && !stopping_or_stopped.contains(id)) {
                disagree.push(format!(
                    "{id}: {hits} stop request(s), `{:?}`",
                    sim.raw_state(id)
                ));
            }
        }
        if !disagree.is_empty() {
            problems.push(format!(
                "the simulator disagrees on {} runs: {:?}",
                disagree.len(),
                first(&disagree)
            ));
        }
        if stop_requests != RUNS as u64 || stop_posts != RUNS {
            problems.push(format!(
                "{stop_requests} stop requests reached the simulator's handlers and {stop_posts} \
                 its request log, for {RUNS} runs"
            ));
        }
        let verified = verifying.elapsed();

        // Connections and descriptors. Each loopback connection costs two
        // descriptors here: the simulator runs in this process.
        if accepted as usize > ACCEPTED_BOUND {
            problems.push(format!(
                "the simulator accepted {accepted} connections (bound {ACCEPTED_BOUND})"
            ));
        }
        if peak_open > CONNECTION_BOUND {
            problems.push(format!(
                "{peak_open} connections open at once (bound {CONNECTION_BOUND})"
            ));
        }
        let fd_bound = fds_before + 2 * CONNECTION_BOUND + FD_OVERHEAD;
        if peak_fds > fd_bound {
            problems.push(format!(
                "{peak_fds} descriptors at the peak (baseline {fds_before}, bound {fd_bound})"
            ));
        }

        // Everything let go: the count comes back to the baseline.
        drop(results);
        drop(ctrl);
        sim.shutdown().await;
        drop(sim);
        let fds_after = settle_fds(fds_before + FD_SLACK).await;
        if fds_after > fds_before + FD_SLACK {
            problems.push(format!(
                "{fds_after} descriptors after the run (baseline {fds_before})"
            ));
        }

        println!(
            "load {name:<11} {RUNS} stops @ {CONCURRENCY}: {:6.2} s ({:.2} s seeding, {:.2} s \
             checking), {requests} requests, {accepted} connections accepted, peak {peak_open} \
             open, fds {fds_before} before / {peak_fds} peak / {fds_after} after{}",
            took.as_secs_f64(),
            seeded.as_secs_f64(),
            verified.as_secs_f64(),
            logins.map_or(String::new(), |n| format!(", {n} login(s)"))
        );
        assert!(
            problems.is_empty(),
            "{name}:\n  - {}",
            problems.join("\n  - ")
        );
    });
}

#[test]
fn amperity_10k_stops_at_256() {
    load(|| Box::pin(amperity()));
}

#[test]
fn chorus_10k_stops_at_256() {
    load(|| Box::pin(chorus()));
}

#[test]
fn dataarts_10k_stops_at_256() {
    load(|| Box::pin(dataarts()));
}

#[test]
fn centurylink_10k_stops_at_256() {
    load(|| Box::pin(centurylink()));
}
