//! Where an execution listing is: its cursor, and the pages of jobs it
//! walks, read once per listing rather than before every page of executions.
//!
//! A listing walks the account's jobs (`GET /jobs/{alias}`, pages of 100)
//! and each job's executions. The cursor names the job it is at by index and
//! by id. A listing reads a page of jobs when it starts one (its first page,
//! or the first job of the next page of jobs); [`JobPages`] keeps that
//! reading, so each further page of executions costs one request. A cursor
//! whose page of jobs is not kept (resumed by another process, or dropped to
//! make room) reads the page again and finds its job by id, so jobs created
//! or deleted in between do not shift it.
//!
//! A kept reading is only used for a cursor whose job it holds, so any
//! reading of that page serves (Runner lists jobs newest first: jobs created
//! since sort before the cursor's job and a listing under way would not
//! reach them; a job deleted since answers 404 and is skipped).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jobstop_core::{Cursor, Error, Result};

use crate::model::{Job, RunnerPage, more_after};

/// How many readings of pages of jobs are kept (one per page number, the
/// oldest dropped first).
const PAGES_KEPT: usize = 16;

/// How long a reading is used: a listing's default deadline
/// (`jobstop_core::ListLimits::DEFAULT_DEADLINE`).
const KEPT_FOR: Duration = Duration::from_secs(600);

/// The prefix of this cursor form.
const PREFIX: &str = "c2";

/// Where a listing is:
/// `c2:{jobs page}:{job index}:{executions page}:{job id}`.
///
/// The older form `{jobs page}:{job index}:{executions page}` is still read
/// (with no job id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListCursor {
    pub(crate) jobs_page: u64,
    /// The job's index in its page of jobs.
    pub(crate) job: usize,
    pub(crate) executions_page: u64,
    /// The id of the job at `job`, when known (the first job of a page of
    /// jobs not read yet has none).
    pub(crate) job_id: Option<String>,
}

impl ListCursor {
    pub(crate) fn parse(c: &Cursor) -> Result<Self> {
        let bad = || Error::invalid_input("malformed cursor");
        let number = |s: &str| s.parse::<u64>().map_err(|_| bad());
        let fields: Vec<&str> = c.as_str().splitn(5, ':').collect();
        let (jobs_page, job, executions_page, job_id) = match fields.as_slice() {
            [PREFIX, jobs_page, job, executions_page, job_id] => {
                (jobs_page, job, executions_page, Some(job_id))
            }
            [jobs_page, job, executions_page] => (jobs_page, job, executions_page, None),
            _ => return Err(bad()),
        };
        Ok(ListCursor {
            jobs_page: number(jobs_page)?,
            job: job.parse().map_err(|_| bad())?,
            executions_page: number(executions_page)?,
            job_id: job_id
                .filter(|id| !id.is_empty())
                .map(|id| (*id).to_owned()),
        })
    }

    pub(crate) fn to_cursor(&self) -> Cursor {
        Cursor::new(format!(
            "{PREFIX}:{}:{}:{}:{}",
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
                jobs_page: jobs.number,
                job: following,
                executions_page: 0,
                job_id: next.id.clone(),
            });
        }
        jobs.more.then(|| ListCursor {
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

/// A page of jobs as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobPage {
    /// The page number.
    pub(crate) number: u64,
    pub(crate) jobs: Vec<JobEntry>,
    /// Whether pages of jobs follow this one.
    pub(crate) more: bool,
}

impl JobPage {
    /// Page `number` (of `size` jobs), as served.
    pub(crate) fn decode(number: u64, page: &RunnerPage<'_>, size: u64) -> Self {
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

/// The latest readings of pages of jobs (at most [`PAGES_KEPT`], none older
/// than [`KEPT_FOR`]).
#[derive(Debug, Default)]
pub(crate) struct JobPages {
    kept: Mutex<VecDeque<(Instant, Arc<JobPage>)>>,
}

impl JobPages {
    /// The kept reading of the page of jobs cursor `at` is on, if the
    /// cursor names a job that reading holds (a cursor naming no job starts
    /// a page of jobs: it reads it afresh).
    pub(crate) fn get(&self, at: &ListCursor) -> Option<Arc<JobPage>> {
        let id = at.job_id.as_deref()?;
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter()
            .find(|(read, p)| p.number == at.jobs_page && p.holds(id) && read.elapsed() < KEPT_FOR)
            .map(|(_, p)| Arc::clone(p))
    }

    /// Keeps `page` (replacing the reading of the same page before it).
    pub(crate) fn keep(&self, page: Arc<JobPage>) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.retain(|(_, p)| p.number != page.number);
        if kept.len() >= PAGES_KEPT {
            kept.pop_front();
        }
        kept.push_back((Instant::now(), page));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.kept.lock().map_or(0, |k| k.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(number: u64, ids: &[&str], more: bool) -> JobPage {
        JobPage {
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
        assert_eq!(c.to_cursor().as_str(), "c2:1:2:3:j-2");
        assert_eq!(parse(c.to_cursor().as_str()).unwrap(), c);
        let first = at(0, 0, None);
        assert_eq!(first.to_cursor().as_str(), "c2:1:0:0:");
        assert_eq!(parse(first.to_cursor().as_str()).unwrap(), first);
        // A job id with a colon is taken whole.
        assert_eq!(
            parse("c2:1:2:3:a:b").unwrap().job_id.as_deref(),
            Some("a:b")
        );
        assert_eq!(parse("1:2:3").unwrap(), at(2, 3, None));
        for bad in [
            "",
            "1:2",
            "1:2:3:4",
            "a:1:1",
            "-1:0:0",
            "c2:1:2:3",
            "c2:x:2:3:j",
            "c2:1:-2:3:j",
            "c3:1:2:3:j",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn next_goes_through_executions_then_jobs_then_pages() {
        let jobs = page(1, &["j-0", "j-1", "j-2"], true);
        let c = at(1, 4, Some("j-1"));
        assert_eq!(c.next(true, &jobs), Some(at(1, 5, Some("j-1"))));
        assert_eq!(c.next(false, &jobs), Some(at(2, 0, Some("j-2"))));
        let last = at(2, 0, Some("j-2"));
        assert_eq!(
            last.next(false, &jobs),
            Some(ListCursor {
                jobs_page: 2,
                ..ListCursor::default()
            })
        );
        let end = page(1, &["j-0", "j-1", "j-2"], false);
        assert_eq!(last.next(false, &end), None);
    }

    #[test]
    fn a_job_is_found_by_id_when_the_page_shifted() {
        let jobs = page(1, &["new", "j-0", "j-1", "j-2"], false);
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
    fn readings_are_used_only_for_a_job_they_hold() {
        let pages = JobPages::default();
        pages.keep(Arc::new(page(1, &["j-0"], true)));
        assert!(pages.get(&at(0, 1, Some("j-0"))).is_some());
        // A cursor starting a page of jobs reads it afresh.
        assert!(pages.get(&at(0, 0, None)).is_none());
        // A job the reading does not hold, or another page: read again.
        assert!(pages.get(&at(0, 1, Some("j-9"))).is_none());
        assert!(
            pages
                .get(&ListCursor {
                    jobs_page: 2,
                    ..at(0, 1, Some("j-0"))
                })
                .is_none()
        );
        // A new reading of the same page replaces the old one.
        pages.keep(Arc::new(page(1, &["j-new", "j-0"], true)));
        assert_eq!(pages.len(), 1);
        let got = pages.get(&at(0, 1, Some("j-0"))).unwrap();
        assert_eq!(got.jobs.len(), 2);
        // Bounded: the oldest reading goes first.
        for n in 0..PAGES_KEPT as u64 + 5 {
            pages.keep(Arc::new(page(100 + n, &["j"], false)));
        }
        assert_eq!(pages.len(), PAGES_KEPT);
        assert!(pages.get(&at(0, 1, Some("j-0"))).is_none());
    }
}
