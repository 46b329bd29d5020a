//! Where an execution listing is: its cursor, and the page of jobs it walks,
//! read once per listing rather than before every page of executions.
//!
//! A listing walks the account's jobs (`GET /jobs/{alias}`, pages of 100)
//! and each job's executions. The page of jobs it is on is kept
//! ([`JobPages`]) for as long as the listing walks it, keyed by the
//! listing's number in the cursor, so a page of executions costs one
//! request. The cursor also holds the id of the job it is at: a cursor
//! whose job page is no longer kept (a listing resumed by another process,
//! or one of many listings at once) reads the page again and finds its job
//! by id, so jobs created or deleted in between do not shift it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use jobstop_core::{Cursor, Error, Result};

use crate::model::{Job, RunnerPage, more_after};

/// How many listings' job pages are kept at once; past it the oldest is
/// dropped (its next page reads its job page again, at one request).
const LISTINGS_KEPT: usize = 32;

/// The prefix of this cursor form.
const PREFIX: &str = "c2";

/// Where a listing is:
/// `c2:{listing}:{jobs page}:{job index}:{executions page}:{job id}`.
///
/// The older form `{jobs page}:{job index}:{executions page}` is still read
/// (listing 0, no job id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListCursor {
    /// The listing's number: the key of its job page in [`JobPages`].
    pub(crate) listing: u64,
    pub(crate) jobs_page: u64,
    /// The job's index in its page of jobs.
    pub(crate) job: usize,
    pub(crate) executions_page: u64,
    /// The id of the job at `job`, when known (the first job of a page of
    /// jobs not read yet has none).
    pub(crate) job_id: Option<String>,
}

impl ListCursor {
    /// The start of listing `listing`.
    pub(crate) fn start(listing: u64) -> Self {
        ListCursor {
            listing,
            ..ListCursor::default()
        }
    }

    pub(crate) fn parse(c: &Cursor) -> Result<Self> {
        let bad = || Error::invalid_input("malformed cursor");
        let number = |s: &str| s.parse::<u64>().map_err(|_| bad());
        let fields: Vec<&str> = c.as_str().splitn(6, ':').collect();
        match fields.as_slice() {
            [PREFIX, listing, jobs_page, job, executions_page, job_id] => Ok(ListCursor {
                listing: u64::from_str_radix(listing, 16).map_err(|_| bad())?,
                jobs_page: number(jobs_page)?,
                job: job.parse().map_err(|_| bad())?,
                executions_page: number(executions_page)?,
                job_id: Some(job_id)
                    .filter(|id| !id.is_empty())
                    .map(|id| id.to_string()),
            }),
            [jobs_page, job, executions_page] => Ok(ListCursor {
                jobs_page: number(jobs_page)?,
                job: job.parse().map_err(|_| bad())?,
                executions_page: number(executions_page)?,
                ..ListCursor::default()
            }),
            _ => Err(bad()),
        }
    }

    pub(crate) fn to_cursor(&self) -> Cursor {
        Cursor::new(format!(
            "{PREFIX}:{:x}:{}:{}:{}:{}",
            self.listing,
            self.jobs_page,
            self.job,
            self.executions_page,
            self.job_id.as_deref().unwrap_or_default()
        ))
    }

    /// Where the listing goes on from here (this cursor located on `jobs`):
    /// this job's next page of executions, else the next job of `jobs`,
    /// else the next page of jobs; `None` at the end.
    pub(crate) fn next(&self, more_executions: bool, jobs: &JobPage) -> Option<ListCursor> {
        if more_executions {
            return Some(ListCursor {
                executions_page: self.executions_page + 1,
                ..self.clone()
            });
        }
        let following = self.job.saturating_add(1);
        if let Some(next) = jobs.jobs.get(following) {
            return Some(ListCursor {
                job: following,
                executions_page: 0,
                job_id: next.id.clone(),
                ..self.clone()
            });
        }
        jobs.more.then(|| ListCursor {
            listing: self.listing,
            jobs_page: jobs.number.saturating_add(1),
            ..ListCursor::default()
        })
    }
}

/// One job of a page of jobs: what listing its executions needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobEntry {
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
}

/// A page of jobs as one listing read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobPage {
    pub(crate) listing: u64,
    /// The page number.
    pub(crate) number: u64,
    pub(crate) jobs: Vec<JobEntry>,
    /// Whether pages of jobs follow this one.
    pub(crate) more: bool,
}

impl JobPage {
    /// Page `number` (of `size` jobs) of listing `listing`, as served.
    pub(crate) fn decode(listing: u64, number: u64, page: &RunnerPage<'_>, size: u64) -> Self {
        let jobs = page
            .results
            .iter()
            .map(|doc| {
                let job = Job::decode(doc);
                JobEntry {
                    id: job.id.clone(),
                    name: job.name(),
                }
            })
            .collect();
        JobPage {
            listing,
            number,
            jobs,
            more: !page.results.is_empty() && more_after(number, size, page.total_size),
        }
    }

    /// Whether a job of this page has id `id`.
    pub(crate) fn holds(&self, id: &str) -> bool {
        self.jobs.iter().any(|j| j.id.as_deref() == Some(id))
    }

    /// Where cursor `at` is on this page, as `(job index, executions
    /// page)`: the job it names, found by id if it moved; if that job is
    /// gone, the job now in its place, from its first page of executions;
    /// `None` when the page holds no job there.
    pub(crate) fn locate(&self, at: &ListCursor) -> Option<(usize, u64)> {
        let is = |i: usize, id: &str| {
            self.jobs
                .get(i)
                .is_some_and(|j| j.id.as_deref() == Some(id))
        };
        match at.job_id.as_deref() {
            Some(id) if is(at.job, id) => Some((at.job, at.executions_page)),
            Some(id) => match (0..self.jobs.len()).find(|&i| is(i, id)) {
                Some(i) => Some((i, at.executions_page)),
                None => (at.job < self.jobs.len()).then_some((at.job, 0)),
            },
            None => (at.job < self.jobs.len()).then_some((at.job, at.executions_page)),
        }
    }
}

/// The page of jobs each listing under way is on, the newest listings' only
/// (at most [`LISTINGS_KEPT`]).
#[derive(Debug)]
pub(crate) struct JobPages {
    kept: Mutex<VecDeque<Arc<JobPage>>>,
    /// The next listing's number; starts from the clock so that cursors of
    /// another process rarely share one (and a shared one is checked).
    next_listing: AtomicU64,
}

impl JobPages {
    pub(crate) fn new() -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| {
            d.as_secs()
                .wrapping_mul(1_000_000_000)
                .wrapping_add(u64::from(d.subsec_nanos()))
        });
        JobPages {
            kept: Mutex::new(VecDeque::new()),
            next_listing: AtomicU64::new(now),
        }
    }

    /// A new listing's number (never 0, the older cursor form's).
    pub(crate) fn new_listing(&self) -> u64 {
        self.next_listing.fetch_add(1, Ordering::Relaxed).max(1)
    }

    /// The page of jobs listing `at` is on, if kept, and if it holds the
    /// job `at` names.
    pub(crate) fn get(&self, at: &ListCursor) -> Option<Arc<JobPage>> {
        if at.listing == 0 {
            return None;
        }
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let page = kept
            .iter()
            .find(|p| p.listing == at.listing && p.number == at.jobs_page)?;
        at.job_id
            .as_deref()
            .is_none_or(|id| page.holds(id))
            .then(|| Arc::clone(page))
    }

    /// Keeps `page` as its listing's page (replacing the one before).
    pub(crate) fn keep(&self, page: Arc<JobPage>) {
        if page.listing == 0 {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.retain(|p| p.listing != page.listing);
        if kept.len() >= LISTINGS_KEPT {
            kept.pop_front();
        }
        kept.push_back(page);
    }

    /// Drops listing `listing`'s page (the listing ended).
    pub(crate) fn forget(&self, listing: u64) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.retain(|p| p.listing != listing);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.kept.lock().map_or(0, |k| k.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(listing: u64, number: u64, ids: &[&str], more: bool) -> JobPage {
        JobPage {
            listing,
            number,
            jobs: ids
                .iter()
                .map(|id| JobEntry {
                    id: Some((*id).to_owned()),
                    name: Some(format!("name of {id}")),
                })
                .collect(),
            more,
        }
    }

    fn at(job: usize, executions_page: u64, job_id: Option<&str>) -> ListCursor {
        ListCursor {
            listing: 7,
            jobs_page: 1,
            job,
            executions_page,
            job_id: job_id.map(str::to_owned),
        }
    }

    #[test]
    fn cursors_round_trip_and_the_older_form_still_reads() {
        let parse = |s: &str| ListCursor::parse(&Cursor::new(s));
        let c = at(2, 3, Some("j-2"));
        assert_eq!(c.to_cursor().as_str(), "c2:7:1:2:3:j-2");
        assert_eq!(parse(c.to_cursor().as_str()).unwrap(), c);
        let first = ListCursor::start(0xab);
        assert_eq!(parse(first.to_cursor().as_str()).unwrap(), first);
        // A job id with a colon is taken whole.
        assert_eq!(
            parse("c2:7:1:2:3:a:b").unwrap().job_id.as_deref(),
            Some("a:b")
        );
        assert_eq!(
            parse("1:2:3").unwrap(),
            ListCursor {
                listing: 0,
                jobs_page: 1,
                job: 2,
                executions_page: 3,
                job_id: None
            }
        );
        for bad in [
            "",
            "1:2",
            "1:2:3:4",
            "a:1:1",
            "-1:0:0",
            "c2:7:1:2:3",
            "c2:zz:1:2:3:j",
            "c2:7:-1:2:3:j",
            "c3:7:1:2:3:j",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn next_goes_through_executions_then_jobs_then_pages() {
        let jobs = page(7, 1, &["j-0", "j-1", "j-2"], true);
        let c = at(1, 4, Some("j-1"));
        assert_eq!(c.next(true, &jobs), Some(at(1, 5, Some("j-1"))));
        assert_eq!(c.next(false, &jobs), Some(at(2, 0, Some("j-2"))));
        let last = at(2, 0, Some("j-2"));
        assert_eq!(
            last.next(false, &jobs),
            Some(ListCursor {
                listing: 7,
                jobs_page: 2,
                ..ListCursor::default()
            })
        );
        let end = page(7, 1, &["j-0", "j-1", "j-2"], false);
        assert_eq!(last.next(false, &end), None);
    }

    #[test]
    fn a_job_is_found_by_id_when_the_page_shifted() {
        let jobs = page(7, 1, &["new", "j-0", "j-1", "j-2"], false);
        // Same place: as named.
        assert_eq!(jobs.locate(&at(1, 3, Some("j-0"))), Some((1, 3)));
        // A job created before it moved it one down.
        assert_eq!(jobs.locate(&at(1, 3, Some("j-1"))), Some((2, 3)));
        // Gone: the job now in its place, from its first page.
        assert_eq!(jobs.locate(&at(1, 3, Some("gone"))), Some((1, 0)));
        assert_eq!(jobs.locate(&at(4, 3, Some("gone"))), None);
        // No id: by index.
        assert_eq!(jobs.locate(&at(3, 2, None)), Some((3, 2)));
        assert_eq!(jobs.locate(&at(4, 0, None)), None);
    }

    #[test]
    fn pages_are_kept_per_listing_and_checked() {
        let pages = JobPages::new();
        let (a, b) = (pages.new_listing(), pages.new_listing());
        assert!(a != b && a != 0 && b != 0);
        pages.keep(Arc::new(page(a, 0, &["j-0"], true)));
        let at_a = |number, id: Option<&str>| ListCursor {
            listing: a,
            jobs_page: number,
            job_id: id.map(str::to_owned),
            ..ListCursor::default()
        };
        assert!(pages.get(&at_a(0, Some("j-0"))).is_some());
        assert!(pages.get(&at_a(0, None)).is_some());
        // Another page number, a job the page does not hold: read again.
        assert!(pages.get(&at_a(1, None)).is_none());
        assert!(pages.get(&at_a(0, Some("j-9"))).is_none());
        // The next page replaces the listing's page.
        pages.keep(Arc::new(page(a, 1, &["j-1"], false)));
        assert_eq!(pages.len(), 1);
        assert!(pages.get(&at_a(1, Some("j-1"))).is_some());
        pages.forget(a);
        assert_eq!(pages.len(), 0);
        // Bounded: the oldest listing goes first.
        for _ in 0..LISTINGS_KEPT + 5 {
            pages.keep(Arc::new(page(pages.new_listing(), 0, &["j"], false)));
        }
        assert_eq!(pages.len(), LISTINGS_KEPT);
        // The older cursor form is never kept.
        pages.keep(Arc::new(page(0, 0, &["j"], false)));
        assert_eq!(pages.len(), LISTINGS_KEPT);
    }
}
