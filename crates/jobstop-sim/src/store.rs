//! The run store every vendor simulator keeps its runs in: runs keyed by
//! id, one due-time settle loop over their [`Timeline`]s, and the stop
//! counters. Nothing here knows a vendor: what a change does to a run is
//! the vendor's `apply` closure.

// With only some vendors compiled in (their cargo features), some of these
// methods have no caller.
#![cfg_attr(not(feature = "full"), allow(dead_code))]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::Instant;

use crate::clock::Timeline;

/// A simulated run with a timeline of pending changes.
pub(crate) trait Timed {
    /// What can happen to the run on its own (a vendor enum).
    type Change;
    /// Its pending changes.
    fn timeline(&self) -> &Timeline<Self::Change>;
    /// Its pending changes, to add or drop some.
    fn timeline_mut(&mut self) -> &mut Timeline<Self::Change>;
    /// Orders changes due at the same instant across runs (lower first);
    /// default 0 (then by key).
    fn tie(&self) -> u64 {
        0
    }
}

/// Runs keyed by id, with a heap of when each has a change due (entries
/// `(due, tie, key)`; stale ones, whose change was applied, dropped or
/// rescheduled, are skipped by checking the run's own [`Timeline`]).
///
/// Every change goes through [`Runs::settle`] (or [`Runs::step`]) in due
/// order across all runs, one at a time, so a change that schedules another
/// already due is applied in the same settle (cascades drain).
#[derive(Debug)]
pub(crate) struct Runs<K, R> {
    map: BTreeMap<K, R>,
    due: BinaryHeap<Reverse<(Instant, u64, K)>>,
    stops: HashMap<String, u64>,
}

impl<K: Ord + Clone, R: Timed> Default for Runs<K, R> {
    fn default() -> Self {
        Runs {
            map: BTreeMap::new(),
            due: BinaryHeap::new(),
            stops: HashMap::new(),
        }
    }
}

impl<K: Ord + Clone, R: Timed> Runs<K, R> {
    /// Adds (or replaces) run `key`.
    pub(crate) fn insert(&mut self, key: K, run: R) {
        self.map.insert(key.clone(), run);
        self.touch(&key);
    }

    /// Removes run `key`.
    pub(crate) fn remove(&mut self, key: &K) -> Option<R> {
        self.map.remove(key)
    }

    /// Run `key`, as it is (call [`Runs::settle`] first for "now").
    pub(crate) fn get(&self, key: &K) -> Option<&R> {
        self.map.get(key)
    }

    /// Run `key`, to change it; call [`Runs::touch`] after changing its
    /// timeline.
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut R> {
        self.map.get_mut(key)
    }

    /// Whether run `key` exists.
    pub(crate) fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Every run, by key.
    pub(crate) fn values(&self) -> impl Iterator<Item = &R> {
        self.map.values()
    }

    /// Every `(key, run)`, by key.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &R)> {
        self.map.iter()
    }

    /// Notes when run `key`'s next change is due (after its timeline got a
    /// change).
    pub(crate) fn touch(&mut self, key: &K) {
        if let Some(r) = self.map.get(key)
            && let Some(due) = r.timeline().next_due()
        {
            self.due.push(Reverse((due, r.tie(), key.clone())));
        }
    }

    /// The earliest change due by `now` over all runs, as `(due, key)`;
    /// drops index entries that no longer match a run's timeline.
    pub(crate) fn next_due(&mut self, now: Instant) -> Option<(Instant, K)> {
        loop {
            let Reverse((due, tie, key)) = self.due.peek()?;
            let current = self
                .map
                .get(key)
                .is_some_and(|r| r.tie() == *tie && r.timeline().next_due() == Some(*due));
            if !current {
                self.due.pop();
                continue;
            }
            return (*due <= now).then(|| (*due, key.clone()));
        }
    }

    /// Applies run `key`'s next change (whenever it is due) with `apply`,
    /// which gets the key, the run, the instant the change was due and the
    /// change. `false` if there is no such run or it has none.
    pub(crate) fn step(
        &mut self,
        key: &K,
        mut apply: impl FnMut(&K, &mut R, Instant, R::Change),
    ) -> bool {
        let Some(run) = self.map.get_mut(key) else {
            return false;
        };
        let Some((at, change)) = run.timeline_mut().pop_next() else {
            return false;
        };
        apply(key, run, at, change);
        self.touch(key);
        true
    }

    /// Applies every change due by `now`, in due order across runs.
    pub(crate) fn settle(
        &mut self,
        now: Instant,
        mut apply: impl FnMut(&K, &mut R, Instant, R::Change),
    ) {
        while let Some((_, key)) = self.next_due(now) {
            self.due.pop();
            self.step(&key, &mut apply);
        }
    }

    /// Applies run `key`'s next pending change now, whenever it was due
    /// (after settling what is due). `false` if there is no such run or
    /// nothing pending.
    pub(crate) fn advance(
        &mut self,
        key: &K,
        now: Instant,
        mut apply: impl FnMut(&K, &mut R, Instant, R::Change),
    ) -> bool {
        self.settle(now, &mut apply);
        self.step(key, |k, r, _, change| apply(k, r, now, change))
    }

    /// Counts a stop request for `id` (known or not).
    pub(crate) fn count_stop(&mut self, id: &str) {
        *self.stops.entry(id.to_owned()).or_default() += 1;
    }

    /// Stop requests counted for `id` (`None`: for any id).
    pub(crate) fn stop_requests(&self, id: Option<&str>) -> u64 {
        match id {
            Some(id) => self.stops.get(id).copied().unwrap_or(0),
            None => self.stops.values().sum(),
        }
    }
}

/// Access tokens a simulator granted, with their expiry: the bookkeeping of
/// every vendor's login (the token format is the vendor's).
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    expiry: HashMap<String, Instant>,
    granted: u64,
}

impl Tokens {
    /// Records `token` as granted now, valid for `ttl`.
    pub(crate) fn grant(&mut self, token: &str, ttl: std::time::Duration) {
        let now = Instant::now();
        self.expiry
            .insert(token.to_owned(), now.checked_add(ttl).unwrap_or(now));
        self.granted += 1;
    }

    /// `Some(true)` for a live token, `Some(false)` for an expired one,
    /// `None` for one never granted.
    pub(crate) fn live(&self, token: &str) -> Option<bool> {
        self.expiry.get(token).map(|exp| Instant::now() < *exp)
    }

    /// Makes every token granted so far expired.
    pub(crate) fn expire_all(&mut self) {
        let now = Instant::now();
        self.expiry.values_mut().for_each(|exp| *exp = now);
    }

    /// How many tokens were granted.
    pub(crate) fn granted(&self) -> u64 {
        self.granted
    }
}

#[cfg(test)]
#[path = "../tests/unit/store.rs"]
mod tests;
