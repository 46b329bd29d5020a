//! Cancellation safety: dropping a `stop_and_wait`, `stop_many` or `stop`
//! future part-way leaves nothing running and nothing sending.
//!
//! The simulators run on a runtime of their own, so the runtime the
//! controller runs on holds only the client's tasks (its pooled connections)
//! and `num_alive_tasks` can be compared with its baseline. After each drop:
//!
//! - no request reaches the simulator during the next second (after a short
//!   grace for bytes already on the wire): nothing polls or stops in the
//!   background;
//! - once the controller is dropped too, the runtime's alive-task count is
//!   back to its baseline (what was alive before the controller existed):
//!   no task was spawned that outlives the future or keeps the client alive.
//!
//! A dropped `stop_many` never stops a run it had not started; stops in flight
//! at the drop may still be applied by a server that had already received
//! them (0 to 4 of the 7 here, depending on the vendor), and nothing reports
//! them: there is no later reporting path.
//!
//! `a_detached_poller_is_caught` runs the same checks on a `stop_and_wait`
//! deliberately left running on a spawned task, and shows they flag it.
//!
//! What a stop dropped mid-request leaves behind (`*_stop_dropped_mid_request`):
//! the client closes the connection the request was on, the simulator's
//! server notices the close while the request is still held by the latency
//! fault and drops its handler, so the stop never reaches the vendor logic:
//! `status` afterwards reports the run still running, exactly as the
//! simulator holds it, and the simulator counts no stop for it. (A real
//! server may already have acted on a request whose caller went away; the
//! test asserts only that `status` tells the truth either way and that
//! nothing is sent again.)

#![cfg(feature = "full")]
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use support::Sim;

use futures::StreamExt;
use jobstop::amperity::AmperityBuilder;
use jobstop::centurylink::CenturyLinkBuilder;
use jobstop::chorus::ChorusBuilder;
use jobstop::dataarts::DataArtsBuilder;
use jobstop::{JobController, JobControllerExt, RunId, StopRequest, WaitOptions};
use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::centurylink::CenturyLinkSim;
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::dataarts::{DataArtsSim, JobType};
use jobstop_sim::{Fault, FaultRule, LoggedRequest, Route};
use tokio::runtime::Runtime;
use tokio::time::Instant;

/// Running runs seeded per simulator.
const RUNS: usize = 500;
/// `stop_many`'s concurrency in the bulk case.
const CONCURRENCY: usize = 8;
/// Answers collected before a `stop_many` stream is dropped.
const ANSWERS_BEFORE_DROP: usize = 60;
/// Runs stay stopping for the whole test.
const LONG: Duration = Duration::from_secs(3600);
/// Latency of a request the test drops while it is in flight.
const HELD: Duration = Duration::from_millis(1500);
/// Latency of each stop in the bulk case.
const BULK_LATENCY: Duration = Duration::from_millis(40);
/// For bytes already on the wire at the drop to reach the simulator.
const GRACE: Duration = Duration::from_millis(200);
/// How long nothing may arrive after a drop.
const QUIET: Duration = Duration::from_secs(1);
/// A hung step fails the test after this long (a guard, not a measure).
const HANG: Duration = Duration::from_secs(20);

fn lookup(vars: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
    move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

fn runtime(workers: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------
// The vendors.

#[derive(Debug, Clone, Copy)]
enum Vendor {
    Amperity,
    Chorus,
    DataArts,
    CenturyLink,
}

/// A simulator with `RUNS` running runs, a controller against it, and what
/// the tests need to know about the vendor.
struct Fixture {
    name: &'static str,
    sim: Sim,
    ctrl: Arc<dyn JobController>,
    /// The running runs.
    running: Vec<String>,
    /// A run whose stop is accepted but which then stays active for the
    /// whole test, so `stop_and_wait` polls it until dropped.
    lingering: String,
    /// The stop route, for latency faults.
    stop_route: Route,
    /// GET requests the adapter's `stop` of `lingering` makes besides its
    /// POST (Chorus reads the workfile first; DataArts reads a job back).
    stop_gets: usize,
    /// GET requests per status poll of `lingering` (DataArts reads a
    /// real-time job's detail and then its status).
    poll_gets: usize,
}

/// Starts `vendor`'s simulator on `sim_rt`.
fn fixture(vendor: Vendor, sim_rt: &Runtime) -> Fixture {
    match vendor {
        Vendor::Amperity => {
            let sim = sim_rt
                .block_on(
                    AmperitySim::builder()
                        .seed(41)
                        .running(RUNS)
                        .stop_delay(LONG)
                        .start(),
                )
                .unwrap();
            let ctrl = AmperityBuilder::from_lookup(lookup(sim.env()))
                .build()
                .unwrap();
            let running = sim.ids();
            Fixture {
                name: "amperity",
                lingering: running[0].clone(),
                running,
                ctrl: Arc::new(ctrl),
                sim: Box::new(sim),
                stop_route: Route::post("/workflow/runs/*/stop"),
                stop_gets: 0,
                poll_gets: 1,
            }
        }
        Vendor::Chorus => {
            let sim = sim_rt
                .block_on(ChorusSim::builder().seed(42).running(RUNS).start())
                .unwrap();
            let ctrl = ChorusBuilder::from_lookup(lookup(sim.env()))
                .build()
                .unwrap();
            let running = sim.ids_with_status("running");
            // The engine answers this one's stop with a non-200: the stop
            // is answered 202 `running` (Requested) and it keeps running.
            let lingering = running[0].clone();
            assert!(sim.set_engine_refuses_for(&lingering, true));
            Fixture {
                name: "chorus",
                lingering,
                running,
                ctrl: Arc::new(ctrl),
                sim: Box::new(sim),
                stop_route: Route::post("/api/workfiles/*/stop"),
                stop_gets: 1,
                poll_gets: 1,
            }
        }
        Vendor::DataArts => {
            let sim = sim_rt
                .block_on(
                    DataArtsSim::builder()
                        .seed(43)
                        .batch_jobs(2)
                        .instances(RUNS)
                        .running_instances(RUNS)
                        .realtime_jobs(1, 0)
                        .stop_delay(LONG)
                        .start(),
                )
                .unwrap();
            let ctrl = DataArtsBuilder::from_lookup(lookup(sim.env()))
                .build()
                .unwrap();
            let running = sim.instance_ids(Some("running"));
            // Instances stop at once; a real-time job stays STOPPING.
            let lingering = sim.job_names(JobType::RealTime)[0].clone();
            Fixture {
                name: "dataarts",
                lingering,
                running,
                ctrl: Arc::new(ctrl),
                sim: Box::new(sim),
                stop_route: Route::post("/v1/*/jobs/*/instances/*/stop"),
                stop_gets: 2,
                poll_gets: 2,
            }
        }
        Vendor::CenturyLink => {
            let sim = sim_rt
                .block_on(
                    CenturyLinkSim::builder()
                        .seed(44)
                        .jobs(1)
                        .max_concurrent(RUNS)
                        .running(RUNS)
                        .stop_delay(LONG)
                        .start(),
                )
                .unwrap();
            // A login token from the login server (a session).
            let ctrl = CenturyLinkBuilder::from_lookup(lookup(sim.env()))
                .build()
                .unwrap();
            let running = sim.execution_ids_with_status("RUNNING");
            Fixture {
                name: "centurylink",
                lingering: running[0].clone(),
                running,
                ctrl: Arc::new(ctrl),
                sim: Box::new(sim),
                stop_route: Route::post("/jobs/*/*/executions/*/stop"),
                stop_gets: 0,
                poll_gets: 1,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Checks.

fn is_stop(r: &LoggedRequest) -> bool {
    r.method == "POST" && r.path().ends_with("/stop")
}

/// The run a logged stop is for, as its path names it: the segment before
/// `/stop` (the last part of a DataArts or CenturyLink id).
fn stop_target(r: &LoggedRequest) -> Option<&str> {
    r.path().rsplit('/').nth(1)
}

/// The last `/`-separated part of a run id.
fn tail(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

fn describe(reqs: &[LoggedRequest]) -> Vec<String> {
    reqs.iter()
        .map(|r| format!("{} {} -> {:?}", r.method, r.path(), r.status))
        .collect()
}

/// Waits until `cond` holds (polling every 5 ms); fails after `HANG`.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + HANG;
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What reached the simulator after a drop: waits `GRACE` (bytes already
/// sent), notes the log, waits `QUIET`, and returns the log length at the
/// start of the quiet second with every request that arrived during it.
async fn arrivals_after_drop(sim: &Sim) -> (usize, Vec<LoggedRequest>) {
    tokio::time::sleep(GRACE).await;
    let settled = sim.server().requests().len();
    tokio::time::sleep(QUIET).await;
    let log = sim.server().requests();
    (settled, log[settled.min(log.len())..].to_vec())
}

/// The runtime's alive tasks, once they are back to at most `baseline` or
/// after 5 s of waiting for it.
async fn alive_tasks_settled(baseline: usize) -> usize {
    let metrics = tokio::runtime::Handle::current().metrics();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = metrics.num_alive_tasks();
        if n <= baseline || Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `scenario` for `vendor`: the simulator on its own runtime, the
/// controller on a multi-thread runtime whose alive tasks are counted.
fn run<F>(vendor: Vendor, scenario: F)
where
    F: AsyncFnOnce(Fixture, usize),
{
    let sim_rt = runtime(1);
    let rt = runtime(2);
    // The controller is only built here; nothing of it runs until used.
    let f = fixture(vendor, &sim_rt);
    rt.block_on(async {
        // Before the controller is first used: nothing of the client is alive.
        let baseline = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        scenario(f, baseline).await;
    });
    drop(rt);
    drop(sim_rt);
}

/// Drops the controller and checks the runtime is back to its baseline.
async fn release(f: Fixture, baseline: usize, what: &str) {
    let name = f.name;
    let with_ctrl = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    drop(f.ctrl);
    let alive = alive_tasks_settled(baseline).await;
    println!(
        "{name} {what}: alive tasks {baseline} before the controller, {with_ctrl} with it \
         (its pooled connections), {alive} after dropping it"
    );
    assert_eq!(
        alive, baseline,
        "{name} {what}: {alive} tasks alive after the controller was dropped (baseline {baseline})"
    );
    drop(f.sim);
}

// ---------------------------------------------------------------------------
// (a) stop_and_wait dropped while a status poll is in flight, and between
// polls.

async fn wait_dropped_mid_poll(f: Fixture, baseline: usize) {
    let name = f.name;
    let id = RunId::new(f.lingering.clone());
    let start = f.sim.server().requests().len();
    // Two polls answer at once; the third is held in flight.
    let fast_gets = f.stop_gets + 2 * f.poll_gets;
    f.sim
        .faults()
        .add(FaultRule::new(Route::get_prefix("/"), Fault::Latency(HELD)).skip(fast_gets as u64));
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(60))
        .with_intervals(Duration::from_millis(20), Duration::from_millis(20));
    let request = StopRequest::graceful();
    let gets = || -> Vec<LoggedRequest> {
        f.sim.server().requests()[start..]
            .iter()
            .filter(|r| r.method == "GET")
            .cloned()
            .collect()
    };
    tokio::select! {
        r = f.ctrl.stop_and_wait(&id, &request, &wait) => {
            panic!("{name}: stop_and_wait ended before the drop: {r:?}")
        }
        () = until("a status poll held in flight", || {
            gets().get(fast_gets).is_some_and(|r| r.status.is_none())
        }) => {}
    }
    // The future is dropped here, its poll still in flight.
    let (settled, after) = arrivals_after_drop(&f.sim).await;
    let log = f.sim.server().requests();
    assert!(
        after.is_empty(),
        "{name}: requests after stop_and_wait was dropped mid-poll: {:?}",
        describe(&after)
    );
    assert_eq!(
        log[start..].iter().filter(|r| is_stop(r)).count(),
        1,
        "{name}: stops sent: {:?}",
        describe(&log[start..])
    );
    assert_eq!(f.sim.stop_requests(&f.lingering), 1, "{name}");
    let held = &gets()[fast_gets];
    println!(
        "{name} stop_and_wait dropped mid-poll: {} requests before the drop, none after; \
         the held poll's answer status: {:?}",
        settled - start,
        held.status
    );
    release(f, baseline, "stop_and_wait dropped mid-poll").await;
}

async fn wait_dropped_between_polls(f: Fixture, baseline: usize) {
    let name = f.name;
    let id = RunId::new(f.lingering.clone());
    let start = f.sim.server().requests().len();
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(60))
        .with_intervals(Duration::from_millis(50), Duration::from_millis(50));
    let request = StopRequest::graceful();
    let enough = f.stop_gets + 3 * f.poll_gets;
    tokio::select! {
        r = f.ctrl.stop_and_wait(&id, &request, &wait) => {
            panic!("{name}: stop_and_wait ended before the drop: {r:?}")
        }
        () = until("three polls answered, none in flight", || {
            let log = f.sim.server().requests();
            let gets = log[start..].iter().filter(|r| r.method == "GET").count();
            gets >= enough && log[start..].iter().all(|r| r.status.is_some())
        }) => {}
    }
    let (settled, after) = arrivals_after_drop(&f.sim).await;
    assert!(
        after.is_empty(),
        "{name}: requests after stop_and_wait was dropped between polls: {:?}",
        describe(&after)
    );
    assert_eq!(f.sim.stop_requests(&f.lingering), 1, "{name}");
    println!(
        "{name} stop_and_wait dropped between polls: {} requests before the drop, none after",
        settled - start
    );
    release(f, baseline, "stop_and_wait dropped between polls").await;
}

// ---------------------------------------------------------------------------
// (b) stop_many dropped part-way.

async fn many_dropped(f: Fixture, baseline: usize) {
    let name = f.name;
    let start = f.sim.server().requests().len();
    f.sim.faults().add(FaultRule::new(
        f.stop_route.clone(),
        Fault::Latency(BULK_LATENCY),
    ));
    // Which ids `stop_many` took from its input (it takes them lazily).
    let taken: Arc<Mutex<Vec<String>>> = Arc::default();
    let input = {
        let taken = taken.clone();
        f.running.clone().into_iter().map(move |id| {
            taken
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(id.clone());
            RunId::new(id)
        })
    };
    let request = StopRequest::graceful();
    let mut answered = Vec::new();
    {
        let mut stream = f.ctrl.stop_many(input, &request, CONCURRENCY);
        while answered.len() < ANSWERS_BEFORE_DROP {
            let r = tokio::time::timeout(HANG, stream.next())
                .await
                .unwrap()
                .unwrap();
            assert!(r.result.is_ok(), "{name}: {}: {:?}", r.id, r.result);
            answered.push(r.id.as_str().to_owned());
        }
        // The stream is dropped here, stops in flight.
    }
    let taken: Vec<String> = taken.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let taken_set: HashSet<&str> = taken.iter().map(String::as_str).collect();
    let (settled, after) = arrivals_after_drop(&f.sim).await;
    let log = f.sim.server().requests();
    let stops_sent = log[start..].iter().filter(|r| is_stop(r)).count();
    let started_tails: HashSet<&str> = taken.iter().map(|id| tail(id)).collect();
    let strays: Vec<&LoggedRequest> = log[start..]
        .iter()
        .filter(|r| is_stop(r) && !stop_target(r).is_some_and(|t| started_tails.contains(t)))
        .collect();

    assert!(
        after.is_empty(),
        "{name}: requests after stop_many was dropped: {:?}",
        describe(&after)
    );
    assert!(
        strays.is_empty(),
        "{name}: stops for runs stop_many never started: {:?}",
        strays
    );
    assert!(
        taken.len() <= answered.len() + CONCURRENCY,
        "{name}: {} ids taken for {} answers at concurrency {CONCURRENCY}",
        taken.len(),
        answered.len()
    );
    assert!(
        stops_sent >= answered.len() && stops_sent <= taken.len(),
        "{name}: {stops_sent} stops reached the simulator; {} answered, {} started",
        answered.len(),
        taken.len()
    );
    // Per run: every answered one was stopped once; none that was not
    // started was touched; a started but unanswered one at most once.
    for id in &f.running {
        let hits = f.sim.stop_requests(id);
        if answered.contains(id) {
            assert_eq!(hits, 1, "{name}: {id} was answered");
        } else if taken_set.contains(id.as_str()) {
            assert!(
                hits <= 1,
                "{name}: {id} in flight at the drop, {hits} stops"
            );
        } else {
            assert_eq!(hits, 0, "{name}: {id} was never started");
        }
    }
    let not_started = f
        .running
        .iter()
        .filter(|id| !taken_set.contains(id.as_str()))
        .take(20);
    for id in not_started {
        let state = f.sim.raw_state(id).expect("the run exists");
        assert!(
            state.eq_ignore_ascii_case("running"),
            "{name}: {id} was never started but is `{state}`"
        );
    }
    let in_flight_applied = taken
        .iter()
        .filter(|id| !answered.contains(id) && f.sim.stop_requests(id) > 0)
        .count();
    println!(
        "{name} stop_many dropped: {} answered, {} started, {stops_sent} stops reached the \
         simulator ({in_flight_applied} of the unanswered ones applied), {} requests in all, \
         none after",
        answered.len(),
        taken.len(),
        settled - start
    );
    release(f, baseline, "stop_many dropped").await;
}

// ---------------------------------------------------------------------------
// (c) a single stop dropped while its request is in flight.

async fn stop_dropped_mid_request(f: Fixture, baseline: usize) {
    let name = f.name;
    let id = f.running[1].clone();
    let run = RunId::new(id.clone());
    let before = f.sim.raw_state(&id).expect("the run exists");
    let start = f.sim.server().requests().len();
    f.sim
        .faults()
        .add(FaultRule::new(f.stop_route.clone(), Fault::Latency(HELD)).times(1));
    let request = StopRequest::graceful();
    tokio::select! {
        r = f.ctrl.stop(&run, &request) => panic!("{name}: the stop answered before the drop: {r:?}"),
        () = until("the stop held in flight", || {
            f.sim.server().requests()[start..].iter().any(|r| is_stop(r) && r.status.is_none())
        }) => {}
    }
    // Dropped: the caller got nothing. What does `status` say now, and once
    // the held request would have been answered?
    let now = f.ctrl.status(&run).await.unwrap();
    let now_raw = f.sim.raw_state(&id).expect("the run exists");
    let (_, after) = arrivals_after_drop(&f.sim).await;
    tokio::time::sleep(HELD).await;
    let later = f.ctrl.status(&run).await.unwrap();
    let later_raw = f.sim.raw_state(&id).expect("the run exists");
    let hits = f.sim.stop_requests(&id);
    let log = f.sim.server().requests();
    let stops: Vec<&LoggedRequest> = log[start..].iter().filter(|r| is_stop(r)).collect();

    assert_eq!(
        now.vendor_state, now_raw,
        "{name}: status right after the drop"
    );
    assert_eq!(
        later.vendor_state, later_raw,
        "{name}: status once the held request is over"
    );
    assert_eq!(
        stops.len(),
        1,
        "{name}: the dropped stop was sent again: {:?}",
        describe(&log[start..])
    );
    assert!(
        after.is_empty(),
        "{name}: requests after the stop was dropped: {:?}",
        describe(&after)
    );
    assert!(hits <= 1, "{name}: {hits} stops reached the vendor logic");
    // Applied or not, the state agrees with whether the stop got through.
    assert_eq!(
        hits == 0,
        later_raw == before,
        "{name}: {hits} stop(s) reached the vendor logic, state `{before}` -> `{later_raw}`"
    );
    println!(
        "{name} stop dropped mid-request: status `{}` ({:?}) right after, `{}` ({:?}) {} ms \
         later; the simulator holds `{later_raw}`, {hits} stop(s) reached its vendor logic, \
         the held request's answer status {:?}",
        now.vendor_state,
        now.state,
        later.vendor_state,
        later.state,
        (GRACE + QUIET + HELD).as_millis(),
        stops[0].status
    );
    release(f, baseline, "stop dropped mid-request").await;
}

// ---------------------------------------------------------------------------
// The checks can fail: a poller left running on a spawned task is caught.

#[test]
fn a_detached_poller_is_caught() {
    run(Vendor::Amperity, async |f: Fixture, baseline: usize| {
        let id = RunId::new(f.lingering.clone());
        let start = f.sim.server().requests().len();
        let ctrl = f.ctrl.clone();
        let task = tokio::spawn(async move {
            let wait = WaitOptions::default()
                .with_timeout(Duration::from_secs(60))
                .with_intervals(Duration::from_millis(20), Duration::from_millis(20));
            ctrl.stop_and_wait(&id, &StopRequest::graceful(), &wait)
                .await
        });
        until("two polls", || {
            f.sim.server().requests()[start..]
                .iter()
                .filter(|r| r.method == "GET")
                .count()
                >= 2
        })
        .await;
        let abort = task.abort_handle();
        drop(task); // detached, not cancelled: it polls on
        let (_, after) = arrivals_after_drop(&f.sim).await;
        assert!(!after.is_empty(), "a detached poller must be seen polling");
        drop(f.ctrl);
        let alive = alive_tasks_settled(baseline).await;
        assert!(
            alive > baseline,
            "a detached poller must keep the alive-task count above {baseline}"
        );
        abort.abort();
        assert_eq!(alive_tasks_settled(baseline).await, baseline);
        drop(f.sim);
    });
}

// ---------------------------------------------------------------------------
// The tests.

macro_rules! vendor_tests {
    ($vendor:ident, $mid_poll:ident, $between:ident, $many:ident, $single:ident) => {
        #[test]
        fn $mid_poll() {
            run(Vendor::$vendor, wait_dropped_mid_poll);
        }

        #[test]
        fn $between() {
            run(Vendor::$vendor, wait_dropped_between_polls);
        }

        #[test]
        fn $many() {
            run(Vendor::$vendor, many_dropped);
        }

        #[test]
        fn $single() {
            run(Vendor::$vendor, stop_dropped_mid_request);
        }
    };
}

vendor_tests!(
    Amperity,
    amperity_stop_and_wait_dropped_mid_poll,
    amperity_stop_and_wait_dropped_between_polls,
    amperity_stop_many_dropped,
    amperity_stop_dropped_mid_request
);
vendor_tests!(
    Chorus,
    chorus_stop_and_wait_dropped_mid_poll,
    chorus_stop_and_wait_dropped_between_polls,
    chorus_stop_many_dropped,
    chorus_stop_dropped_mid_request
);
vendor_tests!(
    DataArts,
    dataarts_stop_and_wait_dropped_mid_poll,
    dataarts_stop_and_wait_dropped_between_polls,
    dataarts_stop_many_dropped,
    dataarts_stop_dropped_mid_request
);
vendor_tests!(
    CenturyLink,
    centurylink_stop_and_wait_dropped_mid_poll,
    centurylink_stop_and_wait_dropped_between_polls,
    centurylink_stop_many_dropped,
    centurylink_stop_dropped_mid_request
);
