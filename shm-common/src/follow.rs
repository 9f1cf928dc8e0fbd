//! The reader's side: find the writer's segment, read it, and follow the
//! writer across restarts, clean stops, kills and `ipcrm`, without ever
//! creating a key file or a segment.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::diagnose::{self, Absence};
use crate::key::{Key, KeyFile, KeyFileError};
use crate::record::{self, ReadError, Reading, Record, Timestamp, WriterState};
use crate::segment::{OpenError, Segment, SegmentInfo};

/// How often an attached reader re-checks that its segment is still the
/// key's current one (a syscall pair it should not pay on every read).
const FOLLOW_CHECK: Duration = Duration::from_millis(100);
/// A reading counts as stale when it is older than this many writer intervals...
const STALE_INTERVALS: u32 = 3;
/// ...and never sooner than this (the C writer's text has one-second resolution).
const MIN_STALE_AFTER: Duration = Duration::from_secs(1);

/// One look at the segment.
#[derive(Debug)]
pub enum Observation {
    /// A time was read.
    Reading {
        reading: Reading,
        /// How old the time is.
        age: Duration,
        /// Whether a writer still updates it (age within the stale bound).
        fresh: bool,
        segment: SegmentInfo,
    },
    /// The writer stopped cleanly; its last record.
    Stopped {
        record: Record,
        segment: SegmentInfo,
    },
    /// The segment holds no readable time.
    Unreadable {
        error: ReadError,
        segment: SegmentInfo,
    },
    /// Nothing to read: no key file or no segment.
    Absent {
        key: Option<Key>,
        why: Absence,
        /// The diagnosis, with the fix.
        explanation: String,
    },
}

/// Why following cannot go on: the reader should exit.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Segment(#[from] OpenError),
}

/// Follows whatever writer publishes through one key file.
#[derive(Debug)]
pub struct Follower {
    key_file: PathBuf,
    proj_id: u8,
    own_ns: u64,
    attached: Option<Segment>,
    checked: Instant,
    /// Re-check on the next look, whatever the time (after a stale or bad reading).
    recheck: bool,
}

impl Follower {
    /// A follower for `key_file` and `proj_id`; attaches on first [`Follower::observe`].
    pub fn new(key_file: PathBuf, proj_id: u8) -> Self {
        Self {
            key_file,
            proj_id,
            own_ns: diagnose::ipc_namespace().unwrap_or(0),
            attached: None,
            checked: Instant::now(),
            recheck: false,
        }
    }

    /// Look once. Bounded in time: never waits for the writer.
    pub fn observe(&mut self) -> Result<Observation, FollowError> {
        if self.attached.is_some() && (self.recheck || self.checked.elapsed() >= FOLLOW_CHECK) {
            self.drop_if_replaced();
        }
        let segment = match self.attached.take() {
            Some(segment) => segment,
            None => match self.attach()? {
                Ok(segment) => segment,
                Err(absent) => return Ok(absent),
            },
        };
        let info = *segment.info();
        let observation = match record::read(segment.words()) {
            Ok(Reading::Record(record)) if record.state == WriterState::Stopped => {
                Observation::Stopped {
                    record,
                    segment: info,
                }
            }
            Ok(reading) => {
                let age = match reading {
                    Reading::Record(r) => r.time,
                    Reading::Text(secs) => Timestamp { secs, nanos: 0 },
                }
                .age(Timestamp::now());
                let fresh = age <= stale_after(&reading);
                // A restarted C writer makes a new key file, so a new key.
                self.recheck = !fresh;
                Observation::Reading {
                    reading,
                    age,
                    fresh,
                    segment: info,
                }
            }
            Err(error) => {
                self.recheck = true;
                Observation::Unreadable {
                    error,
                    segment: info,
                }
            }
        };
        self.attached = Some(segment);
        Ok(observation)
    }

    /// Detach when the segment was removed; after a stale or bad reading,
    /// also when the key file now leads to another segment (a C writer
    /// re-creates its key file, so a restarted one has a new key). A fresh
    /// reading costs one `IPC_STAT` here, not a key-file lookup.
    fn drop_if_replaced(&mut self) {
        let thorough = std::mem::take(&mut self.recheck);
        self.checked = Instant::now();
        let Some(segment) = &self.attached else {
            return;
        };
        let replaced = thorough
            && KeyFile::open_for_reader(&self.key_file, self.proj_id)
                .ok()
                .and_then(|k| Segment::find(k.key()).ok())
                .is_some_and(|id| id != segment.info().id);
        if replaced || segment.removed() {
            self.attached = None;
        }
    }

    fn attach(&mut self) -> Result<Result<Segment, Observation>, FollowError> {
        self.checked = Instant::now();
        let key_file = match KeyFile::open_for_reader(&self.key_file, self.proj_id) {
            Ok(key_file) => key_file,
            Err(KeyFileError::Missing { .. }) => return Ok(Err(self.absent(None, false, None))),
            Err(e) => return Err(e.into()),
        };
        let key = key_file.key();
        match Segment::open_read_only(key) {
            Ok(segment) => Ok(Ok(segment)),
            Err(OpenError::NotFound { .. }) => {
                Ok(Err(self.absent(Some(key), true, key_file.beacon())))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn absent(
        &self,
        key: Option<Key>,
        exists: bool,
        beacon: Option<crate::beacon::Beacon>,
    ) -> Observation {
        let why = Absence::classify(exists, beacon, self.own_ns);
        let explanation = why.explain(&self.key_file, key, self.own_ns);
        Observation::Absent {
            key,
            why,
            explanation,
        }
    }
}

/// How old a reading may get before its writer counts as gone.
fn stale_after(reading: &Reading) -> Duration {
    let interval = match reading {
        Reading::Record(r) => r.writer.interval,
        Reading::Text(_) => Duration::from_secs(1),
    };
    (interval * STALE_INTERVALS).max(MIN_STALE_AFTER)
}
