//! A controller for your own platform: implement the five methods of
//! `JobController`, get `list_all`, `stop_and_wait` and `stop_many` for free,
//! and prove it with the conformance kit. Offline:
//! `cargo run --example custom_controller`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use jobstop::{
    Capabilities, Cursor, Error, ErrorKind, JobController, ListQuery, Page, Result, Run, RunId,
    RunState, StopMode, StopOutcome, StopRequest, Vendor, WaitOptions, async_trait,
};
use jobstop_testkit::Fixture;

/// A toy batch platform: jobs in a map, stops take effect on the next read.
#[derive(Debug, Default)]
struct ToyPlatform {
    jobs: Mutex<BTreeMap<String, &'static str>>,
}

impl ToyPlatform {
    fn run(id: &str, raw: &'static str) -> Run {
        let state = match raw {
            "RUN" => RunState::Running,
            "HALTING" => RunState::Stopping,
            "HALTED" => RunState::Stopped,
            "DONE" => RunState::Succeeded,
            _ => RunState::Unknown,
        };
        Run::new(Vendor::new("toy"), RunId::new(id), state, raw)
            .with_name(format!("toy job {id}"))
            .with_kind("toy")
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, &'static str>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl JobController for ToyPlatform {
    fn vendor(&self) -> Vendor {
        Vendor::new("toy")
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new().with_max_page_size(10)
    }

    async fn list(&self, query: &ListQuery) -> Result<Page> {
        let skip: usize = match &query.cursor {
            Some(c) => c
                .as_str()
                .parse()
                .map_err(|_| Error::invalid_input("bad cursor"))?,
            None => 0,
        };
        let size = query.page_size.unwrap_or(10).clamp(1, 10) as usize;
        let jobs = self.jobs();
        let page: Vec<Run> = jobs
            .iter()
            .skip(skip)
            .take(size)
            .map(|(id, raw)| ToyPlatform::run(id, raw))
            .collect();
        let next = (skip + size < jobs.len()).then(|| Cursor::new((skip + size).to_string()));
        Ok(Page::new(
            page.into_iter().filter(|r| query.matches(r)).collect(),
            next,
        ))
    }

    async fn status(&self, id: &RunId) -> Result<Run> {
        let mut jobs = self.jobs();
        let raw = jobs.get_mut(id.as_str()).ok_or_else(|| {
            Error::new(ErrorKind::NotFound, "no such toy job").with_run_id(id.clone())
        })?;
        if *raw == "HALTING" {
            *raw = "HALTED";
        }
        Ok(ToyPlatform::run(id.as_str(), raw))
    }

    async fn stop(&self, id: &RunId, request: &StopRequest) -> Result<StopOutcome> {
        if request.mode == StopMode::Force {
            return Err(Error::unsupported("the toy platform has no forced stop"));
        }
        let mut jobs = self.jobs();
        let raw = jobs.get_mut(id.as_str()).ok_or_else(|| {
            Error::new(ErrorKind::NotFound, "no such toy job").with_run_id(id.clone())
        })?;
        Ok(match *raw {
            "HALTED" | "DONE" => StopOutcome::AlreadyFinished(ToyPlatform::run(id.as_str(), raw)),
            _ => {
                *raw = "HALTING";
                StopOutcome::Requested(ToyPlatform::run(id.as_str(), raw))
            }
        })
    }
}

#[tokio::main]
async fn main() {
    let toy = ToyPlatform::default();
    for i in 0..25 {
        toy.jobs().insert(
            format!("job-{i:02}"),
            if i % 3 == 0 { "DONE" } else { "RUN" },
        );
    }
    let fixture = Fixture::new(
        RunId::new("job-01"),
        RunId::new("job-00"),
        RunId::new("job-99"),
    )
    .with_page_size(4)
    .with_second_running(RunId::new("job-02"))
    .with_wait(
        WaitOptions::default()
            .with_timeout(Duration::from_secs(5))
            .with_intervals(Duration::from_millis(1), Duration::from_millis(10)),
    );
    let reports = jobstop_testkit::run_all(&toy, &fixture).await;
    println!(
        "the toy platform passed {} conformance checks",
        reports.len()
    );
}
