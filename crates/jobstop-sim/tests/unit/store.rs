//! Unit tests of the generic run store (`src/store.rs`), compiled into the
//! library's test build as its `store::tests` module (kept out of `src/` so
//! the simulator's source is the simulator).

use std::time::Duration;

use super::*;

#[derive(Debug, Default)]
struct Run {
    state: Vec<&'static str>,
    timeline: Timeline<&'static str>,
}

impl Timed for Run {
    type Change = &'static str;
    fn timeline(&self) -> &Timeline<&'static str> {
        &self.timeline
    }
    fn timeline_mut(&mut self) -> &mut Timeline<&'static str> {
        &mut self.timeline
    }
}

#[test]
fn settles_in_due_order_across_runs_and_drains_cascades() {
    let t0 = Instant::now();
    let mut runs: Runs<&str, Run> = Runs::default();
    let mut a = Run::default();
    a.timeline.push(t0 + Duration::from_millis(20), "a-late");
    let mut b = Run::default();
    b.timeline.push(t0 + Duration::from_millis(10), "b-first");
    runs.insert("a", a);
    runs.insert("b", b);
    let mut order = Vec::new();
    runs.settle(t0 + Duration::from_millis(30), |k, r, at, c| {
        order.push((*k, c));
        r.state.push(c);
        if c == "b-first" {
            // A change scheduling another that is already due.
            r.timeline_mut()
                .push(at + Duration::from_millis(5), "b-cascade");
        }
    });
    assert_eq!(
        order,
        [("b", "b-first"), ("b", "b-cascade"), ("a", "a-late")]
    );
    assert!(runs.next_due(t0 + Duration::from_secs(60)).is_none());
}

#[test]
fn nothing_before_its_time_and_advance_forces_the_next() {
    let t0 = Instant::now();
    let mut runs: Runs<u64, Run> = Runs::default();
    let mut a = Run::default();
    a.timeline.push(t0 + Duration::from_secs(60), "later");
    runs.insert(1, a);
    runs.settle(t0, |_, r, _, c| r.state.push(c));
    assert!(runs.get(&1).is_some_and(|r| r.state.is_empty()));
    assert!(runs.advance(&1, t0, |_, r, _, c| r.state.push(c)));
    assert_eq!(runs.get(&1).map(|r| r.state.clone()), Some(vec!["later"]));
    assert!(!runs.advance(&1, t0, |_, r, _, c| r.state.push(c)));
    assert!(!runs.advance(&2, t0, |_, r, _, c| r.state.push(c)));
}

#[test]
fn stale_entries_are_skipped() {
    let t0 = Instant::now();
    let mut runs: Runs<u64, Run> = Runs::default();
    let mut a = Run::default();
    a.timeline.push(t0, "dropped");
    runs.insert(1, a);
    if let Some(r) = runs.get_mut(&1) {
        r.timeline.clear();
    }
    runs.settle(t0 + Duration::from_secs(1), |_, r, _, c| r.state.push(c));
    assert!(runs.get(&1).is_some_and(|r| r.state.is_empty()));
    runs.count_stop("x");
    runs.count_stop("x");
    runs.count_stop("y");
    assert_eq!(
        (runs.stop_requests(Some("x")), runs.stop_requests(None)),
        (2, 3)
    );
}
