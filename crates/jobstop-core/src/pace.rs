//! The pace of one account: [`Pacer`], which every request to the account
//! waits on (the HTTP client of each adapter owns one; `layer::PaceLayer`
//! puts one around a controller that sends no HTTP).

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Spaces requests to one account evenly, a little under the configured
/// rate: 5% slower, so that requests arriving with some jitter never crowd
/// more than the limit into a server's rolling one-second window (pacing at
/// exactly the limit measured 30 to 40 429s per 60 stops; see BENCHMARKS.md).
///
/// One account has one pacer, and everything sent to the account waits on
/// it: the HTTP client of every adapter owns one
/// (`JobController::pacer`), which paces each request it sends (list
/// pages, stops, read-backs, status polls, retries and logins alike), and
/// `PaceLayer` puts one around a controller that sends no HTTP. Bulk
/// stops (`jobstop::ops::execute_stops`) wait for the account's pacer before
/// they take a concurrency slot, then hand the turn they waited for to the
/// stop's first request ([`Pacer::paced`]).
///
/// Cloning shares the schedule: clones pace together.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::num::NonZeroU32;
/// use jobstop_core::layer::Pacer;
///
/// let pacer = Pacer::unlimited();
/// assert!(pacer.is_unlimited());
/// pacer.wait().await; // at once
/// pacer.tighten(NonZeroU32::new(10).unwrap());
/// assert_eq!(pacer.interval(), std::time::Duration::from_millis(105));
/// pacer.tighten(NonZeroU32::new(20).unwrap()); // looser: no change
/// assert_eq!(pacer.interval(), std::time::Duration::from_millis(105));
/// # }
/// ```
#[derive(Clone)]
pub struct Pacer {
    shared: Arc<PaceState>,
}

struct PaceState {
    /// The time between two turns, in nanoseconds (0: unlimited).
    interval_nanos: AtomicU64,
    /// The last turn handed out.
    last: std::sync::Mutex<Option<Instant>>,
}

/// How much slower than the configured rate the pacer runs.
const PACING_MARGIN: f64 = 1.05;

tokio::task_local! {
    /// The pacer (by address) whose turn the current task already waited
    /// for, not yet used by a request ([`Pacer::paced`]); 0 when none.
    static PREPAID: std::cell::Cell<usize>;
}

fn paced_interval(per_second: NonZeroU32) -> Duration {
    (Duration::from_secs(1) / per_second.get()).mul_f64(PACING_MARGIN)
}

impl Pacer {
    /// A pacer allowing at most `per_second` operations per second.
    pub fn per_second(per_second: NonZeroU32) -> Self {
        Pacer::with_interval(paced_interval(per_second))
    }

    /// A pacer that never makes anyone wait, until
    /// [`tighten`](Self::tighten)ed; it still remembers when its last turn
    /// was, so a rate set later counts the requests already sent.
    pub fn unlimited() -> Self {
        Pacer::with_interval(Duration::ZERO)
    }

    fn with_interval(interval: Duration) -> Self {
        Pacer {
            shared: Arc::new(PaceState {
                interval_nanos: AtomicU64::new(
                    u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX),
                ),
                last: std::sync::Mutex::new(None),
            }),
        }
    }

    /// The time between two turns (zero: unlimited).
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(self.shared.interval_nanos.load(Ordering::Relaxed))
    }

    /// Whether this pacer lets everyone through at once.
    pub fn is_unlimited(&self) -> bool {
        self.interval().is_zero()
    }

    /// Allows at most `per_second` turns per second from now on, unless the
    /// pacer is already stricter: the stricter rate wins, for every clone,
    /// for as long as the pacer lives.
    pub fn tighten(&self, per_second: NonZeroU32) {
        let nanos = u64::try_from(paced_interval(per_second).as_nanos()).unwrap_or(u64::MAX);
        self.shared
            .interval_nanos
            .fetch_max(nanos, Ordering::Relaxed);
    }

    /// Whether `other` shares this pacer's schedule (is a clone of it).
    pub fn same_schedule(&self, other: &Pacer) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    fn key(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// Takes the next turn: when it is, the caller may go.
    fn reserve(&self) -> Instant {
        let interval = self.interval();
        let now = Instant::now();
        let mut last = self
            .shared
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = match *last {
            Some(prev) => (prev + interval).max(now),
            None => now,
        };
        *last = Some(at);
        at
    }

    /// Waits for this caller's turn. A caller dropped while waiting gives
    /// its turn up to nobody: the schedule stays evenly spaced. Inside
    /// [`paced`](Self::paced) on this pacer, the first wait uses the turn
    /// already waited for and returns at once.
    pub async fn wait(&self) {
        let key = self.key();
        let prepaid = PREPAID
            .try_with(|cell| {
                let mine = cell.get() == key;
                if mine {
                    cell.set(0);
                }
                mine
            })
            .unwrap_or(false);
        if prepaid {
            return;
        }
        let at = self.reserve();
        tokio::time::sleep_until(at).await;
    }

    /// Waits until a turn would be free now, without taking it: a caller
    /// that then takes it with [`wait`](Self::wait) or
    /// [`paced`](Self::paced) waits no more, unless someone else took it
    /// in between.
    pub async fn ready(&self) {
        loop {
            let next = {
                let last = self
                    .shared
                    .last
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                last.map(|prev| prev + self.interval())
            };
            match next {
                Some(at) if at > Instant::now() => tokio::time::sleep_until(at).await,
                _ => return,
            }
        }
    }

    /// Waits for a turn, then runs `op`, whose first request through this
    /// pacer (its first [`wait`](Self::wait)) uses that turn instead of
    /// waiting for another: `self.take_turn().spend(op)`.
    pub async fn paced<F: Future>(&self, op: F) -> F::Output {
        self.take_turn().spend(op).await
    }

    /// Takes the next turn now, to be [`spend`](Turn::spend)t on one
    /// request. A caller can so wait for the account's pace
    /// ([`ready`](Self::ready)) before it takes a scarce resource (a
    /// concurrency slot), and still send exactly one request per turn.
    pub fn take_turn(&self) -> Turn {
        Turn {
            at: self.reserve(),
            key: self.key(),
        }
    }
}

/// One turn of a [`Pacer`], taken with [`Pacer::take_turn`]: when it comes,
/// one request may go. A turn never spent stays unused (the schedule does
/// not give it to anyone else).
#[derive(Debug)]
#[must_use = "a turn is spent by `spend`"]
pub struct Turn {
    at: Instant,
    key: usize,
}

impl Turn {
    /// When the turn comes.
    pub fn when(&self) -> Instant {
        self.at
    }

    /// Waits for the turn, then runs `op`: its first request through the
    /// pacer the turn is of goes at once, on this turn; any further one
    /// waits for a turn of its own.
    pub async fn spend<F: Future>(self, op: F) -> F::Output {
        tokio::time::sleep_until(self.at).await;
        PREPAID.scope(std::cell::Cell::new(self.key), op).await
    }
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pacer")
            .field("interval", &self.interval())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Pacer {
    /// Two pacers are equal when they share one schedule.
    fn eq(&self, other: &Pacer) -> bool {
        self.same_schedule(other)
    }
}
