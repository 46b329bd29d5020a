//! Lists running runs, stops one and waits for it, against the in-memory
//! controller. Runs offline: `cargo run --example quickstart`.

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use jobstop::{
    InMemoryController, JobController, JobControllerExt, ListQuery, RunState, StopRequest,
    WaitOptions,
};

#[tokio::main]
async fn main() -> jobstop::Result<()> {
    let memory = InMemoryController::new();
    memory.seed(3, RunState::Running);
    memory.seed(2, RunState::Succeeded);
    let ctrl: Arc<dyn JobController> = Arc::new(memory);

    println!("vendor: {}", ctrl.vendor());
    let running: Vec<_> = ctrl
        .list_all(ListQuery::new().with_state(RunState::Running))
        .try_collect()
        .await?;
    for run in &running {
        println!(
            "  {:<8} {:<8} {}",
            run.id,
            run.state,
            run.name.as_deref().unwrap_or("-")
        );
    }

    let Some(target) = running.first() else {
        println!("nothing is running");
        return Ok(());
    };
    println!("stopping {} …", target.id);
    let wait = WaitOptions::default()
        .with_timeout(Duration::from_secs(10))
        .with_intervals(Duration::from_millis(50), Duration::from_millis(500));
    let report = ctrl
        .stop_and_wait(&target.id, &StopRequest::graceful(), &wait)
        .await?;
    println!(
        "stop answered {}; final state {} after {} poll(s); stop won: {}",
        report.outcome.as_str(),
        report.final_run.state,
        report.polls,
        report.stop_won
    );
    Ok(())
}
