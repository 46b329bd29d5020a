//! Where a listing is: the sources a query selects, how the server reads
//! `offset`, the plan-time windows of an instance listing, and the cursor
//! that writes all of it out.

use jobstop_core::{Cursor, Error, Result};

/// The kind of a real-time job (one long-running run).
pub const KIND_REALTIME_JOB: &str = "realtime_job";
/// The kind of a batch job (a schedule; listed only on request).
pub const KIND_BATCH_JOB: &str = "batch_job";
/// The kind of a batch job instance (one run of a batch job).
pub const KIND_BATCH_INSTANCE: &str = "batch_instance";

/// The largest page of jobs DataArts serves, asked for when the query names
/// no page size (OTC `viewing_a_job_list.rst`, `limit`: 1 to 100, default 10;
/// VENDOR-NOTES §3.3 "A list page holds at most 100 jobs").
pub(crate) const MAX_JOB_PAGE: u32 = 100;
/// The largest page of instances DataArts serves, asked for when the query
/// names no page size (OTC `viewing_a_job_instance_list.rst`, `limit`: "The
/// parameter value ranges from 1 to 1000", default 10). The vendor's SDK
/// loop over 1,000 a page spent 0.07 s on the network where 100 a page
/// spent 0.47 s (issue 18).
pub(crate) const MAX_INSTANCE_PAGE: u32 = 1000;
/// The widest instance window DataArts accepts (HSDK
/// `list_job_instances_request.py`: at most 7 days), in milliseconds. A
/// window `[lo, hi]` has both ends inclusive, so `hi - lo` is one less.
pub(crate) const WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;

/// Where listed runs come from, in listing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    RealtimeJobs,
    Instances,
    BatchJobs,
}

impl Source {
    /// The sources a query's kind selects: real-time jobs and batch
    /// instances by default; batch jobs (schedules) only when asked for.
    pub(crate) fn for_kind(kind: Option<&str>) -> &'static [Source] {
        match kind {
            None => &[Source::RealtimeJobs, Source::Instances],
            Some(KIND_REALTIME_JOB) => &[Source::RealtimeJobs],
            Some(KIND_BATCH_INSTANCE) => &[Source::Instances],
            Some(KIND_BATCH_JOB) => &[Source::BatchJobs],
            Some(_) => &[],
        }
    }

    /// The largest `limit` this source accepts: the page asked for when the
    /// query names no size, and the clamp of a larger one.
    pub(crate) fn max_page(self) -> u32 {
        match self {
            Source::Instances => MAX_INSTANCE_PAGE,
            _ => MAX_JOB_PAGE,
        }
    }
}

/// How the server reads `offset`, as far as a listing has found out.
///
/// DataArts documents `offset` as a page number (HSDK: "分页参数：页数"; OTC:
/// "Start page"); one third-party client advances it by records. The first
/// page is `offset=0` under both readings. The second is asked for as
/// `offset=1`: under the page reading that is the next page, under the
/// record reading it starts at the first page's second record, so the first
/// page's last record comes back in it. That tells the two apart at no
/// extra request, and the rest of the listing follows the reading found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    Unknown,
    Page,
    Record,
}

/// Where a listing is; the cursor is this, written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    /// Index into the query's sources.
    pub(crate) source: usize,
    /// Instances: which window, 0 the newest.
    pub(crate) window: u32,
    pub(crate) reading: Reading,
    /// Records of this source (and window) already listed.
    pub(crate) records: u64,
    /// The page size, fixed for a source (the page reading needs it).
    pub(crate) limit: u32,
    /// FNV-1a of the key of the last record listed (0: none).
    pub(crate) last: u64,
    /// Instances: the server time (epoch ms) the windows end at, when the
    /// query names no `created_before`.
    pub(crate) anchor: Option<i64>,
}

impl Position {
    pub(crate) fn start(source: usize, limit: u32, anchor: Option<i64>) -> Self {
        Position {
            source,
            window: 0,
            reading: Reading::Unknown,
            records: 0,
            limit,
            last: 0,
            anchor,
        }
    }

    /// `d2:{source}:{window}:{u|p|r}:{records}:{limit}:{last hex}:{anchor|-}`.
    pub(crate) fn to_cursor(&self) -> Cursor {
        let reading = match self.reading {
            Reading::Unknown => 'u',
            Reading::Page => 'p',
            Reading::Record => 'r',
        };
        let anchor = self
            .anchor
            .map_or_else(|| "-".to_owned(), |a| a.to_string());
        Cursor::new(format!(
            "d2:{}:{}:{reading}:{}:{}:{:x}:{anchor}",
            self.source, self.window, self.records, self.limit, self.last
        ))
    }

    pub(crate) fn parse(c: &Cursor, sources: &[Source]) -> Result<Self> {
        let bad = || Error::invalid_input("malformed cursor");
        let parts: Vec<&str> = c.as_str().split(':').collect();
        let ["d2", source, window, reading, records, limit, last, anchor] = parts.as_slice() else {
            return Err(bad());
        };
        let source: usize = source.parse().map_err(|_| bad())?;
        let max = sources.get(source).ok_or_else(bad)?.max_page();
        let limit: u32 = limit.parse().map_err(|_| bad())?;
        if limit == 0 || limit > max {
            return Err(bad());
        }
        Ok(Position {
            source,
            window: window.parse().map_err(|_| bad())?,
            reading: match *reading {
                "u" => Reading::Unknown,
                "p" => Reading::Page,
                "r" => Reading::Record,
                _ => return Err(bad()),
            },
            records: records.parse().map_err(|_| bad())?,
            limit,
            last: u64::from_str_radix(last, 16).map_err(|_| bad())?,
            anchor: match *anchor {
                "-" => None,
                a => Some(a.parse().map_err(|_| bad())?),
            },
        })
    }

    /// The `offset` to send, and whether this request tells the readings
    /// apart.
    pub(crate) fn offset(&self) -> (u64, bool) {
        match self.reading {
            _ if self.records == 0 => (0, false),
            Reading::Page => (self.records / u64::from(self.limit.max(1)), false),
            Reading::Record => (self.records, false),
            Reading::Unknown => (1, true),
        }
    }

    /// Takes in one answer: the records not listed before, and whether the
    /// source (or window) is done.
    pub(crate) fn absorb<T>(
        &mut self,
        items: Vec<T>,
        total: u64,
        key: impl Fn(&T) -> u64,
    ) -> (Vec<T>, bool) {
        let (offset, probing) = self.offset();
        let returned = items.len() as u64;
        let short = returned < u64::from(self.limit);
        let fresh: Vec<T> = if probing {
            match items
                .iter()
                .position(|it| self.last != 0 && key(it) == self.last)
            {
                Some(i) => {
                    self.reading = Reading::Record;
                    self.records = offset + returned;
                    items.into_iter().skip(i + 1).collect()
                }
                None => {
                    self.reading = Reading::Page;
                    self.records += returned;
                    items
                }
            }
        } else {
            self.records += returned;
            items
        };
        if self.reading == Reading::Unknown && self.limit == 1 {
            // With one record a page, both readings are the same.
            self.reading = Reading::Record;
        }
        if let Some(last) = fresh.last() {
            self.last = key(last);
        }
        let done = returned == 0 || short || self.records >= total;
        (fresh, done)
    }
}

/// The key of a record, to find it again in the next page (FNV-1a, never 0).
pub(crate) fn fnv1a(text: &str) -> u64 {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    h.max(1)
}

/// The plan-time windows of an instance listing, newest first: `[lo, hi]`
/// inclusive, each at most [`WINDOW_MS`] wide, from `end` back to `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Windows {
    pub(crate) start: i64,
    pub(crate) end: i64,
}

impl Windows {
    pub(crate) fn count(&self) -> u32 {
        if self.end < self.start {
            return 0;
        }
        u32::try_from((self.end - self.start) / WINDOW_MS + 1).unwrap_or(u32::MAX)
    }

    pub(crate) fn get(&self, k: u32) -> Option<(i64, i64)> {
        if k >= self.count() {
            return None;
        }
        let hi = self.end - i64::from(k) * WINDOW_MS;
        Some(((hi - WINDOW_MS + 1).max(self.start), hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_by_kind() {
        assert_eq!(
            Source::for_kind(None),
            &[Source::RealtimeJobs, Source::Instances]
        );
        assert_eq!(Source::for_kind(Some("batch_job")), &[Source::BatchJobs]);
        assert!(Source::for_kind(Some("other")).is_empty());
    }

    #[test]
    fn cursors() {
        let sources = Source::for_kind(None);
        let p = Position {
            source: 1,
            window: 2,
            reading: Reading::Record,
            records: 200,
            limit: 100,
            last: 0xabc,
            anchor: Some(1_718_769_600_999),
        };
        assert_eq!(Position::parse(&p.to_cursor(), sources).unwrap(), p);
        let q = Position::start(0, 10, None);
        assert_eq!(Position::parse(&q.to_cursor(), sources).unwrap(), q);
        for bad in [
            "",
            "1:200",
            "d2:2:0:u:0:10:0:-",
            "d2:0:0:x:0:10:0:-",
            "d2:0:0:u:0:0:0:-",
            "d2:0:0:u:0:101:0:-",
            "d2:0:0:u:-1:10:0:-",
            "d2:0:0:u:0:10:zz:-",
            "d2:0:0:u:0:10:0:now",
            "d2:0:0:u:0:10:0:-:x",
        ] {
            assert!(
                Position::parse(&Cursor::new(bad), sources).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn readings_are_told_apart_without_extra_requests() {
        let all: Vec<u64> = (0..25).collect();
        for reading in [Reading::Page, Reading::Record] {
            let mut pos = Position::start(1, 10, None);
            let mut seen = Vec::new();
            let mut requests = 0;
            loop {
                let (offset, _) = pos.offset();
                let first = match reading {
                    Reading::Record => offset as usize,
                    _ => offset as usize * 10,
                };
                let page: Vec<u64> = all.iter().skip(first).take(10).copied().collect();
                requests += 1;
                let (fresh, done) = pos.absorb(page, 25, |i| fnv1a(&i.to_string()));
                seen.extend(fresh);
                if done {
                    break;
                }
            }
            assert_eq!(seen, (0..25).collect::<Vec<_>>(), "{reading:?}");
            assert_eq!(pos.reading, reading);
            assert!(requests <= 4, "{reading:?}: {requests} requests");
        }
    }

    #[test]
    fn windows_are_at_most_seven_days_and_disjoint() {
        let w = Windows {
            start: 0,
            end: 3 * WINDOW_MS,
        };
        assert_eq!(w.count(), 4);
        let all: Vec<(i64, i64)> = (0..w.count()).map(|k| w.get(k).unwrap()).collect();
        assert_eq!(all[0], (2 * WINDOW_MS + 1, 3 * WINDOW_MS));
        assert_eq!(all[3], (0, 0));
        for pair in all.windows(2) {
            assert_eq!(pair[1].1 + 1, pair[0].0);
        }
        for (lo, hi) in &all {
            assert!(hi - lo < WINDOW_MS);
        }
        let one = Windows {
            start: 1,
            end: WINDOW_MS,
        };
        assert_eq!((one.count(), one.get(0)), (1, Some((1, WINDOW_MS))));
        assert_eq!(Windows { start: 5, end: 4 }.count(), 0);
    }
}
