//! Simulated time: a wall clock that starts at a chosen epoch and runs at real
//! speed, and timelines of pending state changes applied lazily.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};

/// The fixed epoch `2024-06-19T04:00:00.000Z`: a simulator started at it
/// ([`SimBuilder::seeded_epoch`](crate::SimBuilder::seeded_epoch), or
/// `.epoch(default_epoch())`) gives the same ids and times for a seed on
/// every run and every machine. Simulators start at the real time now
/// unless asked for it.
pub fn default_epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 19, 4, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A wall clock for one simulator: `epoch` at the moment it was created, then
/// advancing with real time. All times it gives are truncated to milliseconds
/// (vendors print milliseconds, and a filter on a printed time must match the
/// stored one exactly).
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    epoch: DateTime<Utc>,
    started: Instant,
}

impl SimClock {
    /// A clock reading `epoch` now.
    pub fn starting_at(epoch: DateTime<Utc>) -> Self {
        SimClock {
            epoch: truncate_millis(epoch),
            started: Instant::now(),
        }
    }

    /// The wall time the clock started at.
    pub fn epoch(&self) -> DateTime<Utc> {
        self.epoch
    }

    /// The simulated wall time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.at(Instant::now())
    }

    /// The simulated wall time at `instant` (the epoch for instants before the
    /// clock started).
    pub fn at(&self, instant: Instant) -> DateTime<Utc> {
        let elapsed = instant.saturating_duration_since(self.started);
        let elapsed = chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX);
        truncate_millis(
            self.epoch
                .checked_add_signed(elapsed)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }
}

/// `t` without its sub-millisecond part.
pub fn truncate_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// ISO-8601 UTC with exactly three fractional digits and `Z`, e.g.
/// `2024-06-19T04:00:18.764Z`.
pub fn format_millis(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `t` as an HTTP `Date` header value (IMF-fixdate), e.g.
/// `Wed, 19 Jun 2024 04:00:18 GMT`.
pub(crate) fn format_http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Pending changes of one simulated object, each due at an [`Instant`].
///
/// Nothing runs in the background: whoever reads the object first applies
/// what is due ([`Timeline::pop_next`] while [`Timeline::next_due`] has
/// passed), in order; tests can pull the next change early the same way.
///
/// ```
/// use std::time::{Duration, Instant};
/// use jobstop_sim::Timeline;
///
/// let now = Instant::now();
/// let mut t = Timeline::new();
/// t.push(now + Duration::from_secs(60), "done");
/// t.push(now, "running");
/// assert_eq!(t.next_due(), Some(now));
/// assert_eq!(t.pop_next().map(|(_, s)| s), Some("running"));
/// assert_eq!(t.pop_next().map(|(_, s)| s), Some("done"));
/// assert!(t.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Timeline<S> {
    pending: Vec<(Instant, S)>,
}

impl<S> Default for Timeline<S> {
    fn default() -> Self {
        Timeline {
            pending: Vec::new(),
        }
    }
}

impl<S> Timeline<S> {
    /// An empty timeline.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedules `change` at `due`. Changes due at the same instant keep their
    /// insertion order.
    pub fn push(&mut self, due: Instant, change: S) {
        let at = self.pending.partition_point(|(d, _)| *d <= due);
        self.pending.insert(at, (due, change));
    }

    /// Schedules `change` at `from + after`.
    pub fn push_after(&mut self, from: Instant, after: Duration, change: S) {
        self.push(from.checked_add(after).unwrap_or(from), change);
    }

    /// Removes and returns the earliest pending change, due or not.
    pub fn pop_next(&mut self) -> Option<(Instant, S)> {
        (!self.pending.is_empty()).then(|| self.pending.remove(0))
    }

    /// When the earliest pending change is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.first().map(|(d, _)| *d)
    }

    /// Drops every pending change.
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
