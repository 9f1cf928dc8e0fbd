//! The latest value's reader: a [`ValueReader`] copies the newest value a
//! [`ValueWriter`](super::ValueWriter) or `shm_write --value`/`--stdin`
//! publishes, or sleeps until it changes, as `shm_read` does; or finds,
//! without copying, that it has not changed since it last returned it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::{absence, Error, Result};
use crate::protocol::spec::Life;
use crate::protocol::value::live::life_of;
use crate::protocol::value::publish::NOTIFY;
use crate::protocol::value::read::{self as value_read, read_reusing, ReadError, Value};
use crate::protocol::watch::Watch;
use crate::protocol::{notify, seqlock};
use crate::session::find::{Access, Finder};
use crate::transport::coarse;
use crate::transport::segment::Segment;
use crate::transport::view::ReadView;

/// How long a reader trusts its last judgement that the writer is live
/// before watching the heartbeat again (by the coarse clock): a precise
/// clock read on every read would double a read's cost, and against the
/// heartbeat's 1 s period and 3 s bound 10 ms changes nothing.
const LIVE_RECHECK: Duration = Duration::from_millis(10);

/// The longest single sleep of [`ValueReader::wait_change`], so that a
/// writer that dies or a segment that goes is noticed this fast (as
/// `shm_read --on-change` does).
const CHANGE_WAIT: Duration = Duration::from_millis(100);
/// A segment as the kernel names it: its shmid and creation time (a
/// restarted writer's segment differs even where the shmid is reused).
type SegmentId = (i32, i64);

/// Of a value read, what judging its writer's life needs: kept for the
/// last value returned, an unchanged value is judged by it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    seq: u64,
    stopped: bool,
    writer_pid: u32,
}

impl Mark {
    fn of(value: &Value) -> Self {
        Self {
            seq: value.seq,
            stopped: value.stopped,
            writer_pid: value.writer_pid,
        }
    }
}

/// A reader of a latest value, written by a [`ValueWriter`](super::ValueWriter) or by
/// `shm_write --value`/`--stdin`. It follows the key: a writer that
/// restarts is found again. A writer whose heartbeat stands still for
/// three seconds, or that stopped, is [`Error::NoWriter`].
#[derive(Debug)]
pub struct ValueReader {
    finder: Finder,
    key_file: PathBuf,
    /// The sign of life of the segment read, watched since first seen.
    watched: Option<(SegmentId, Watch<(u64, u64)>)>,
    /// The last value returned: its segment and mark.
    last: Option<(SegmentId, Mark)>,
    /// When this reader last found the writer of that segment live, by
    /// the coarse clock.
    live_at: Option<(SegmentId, Duration)>,
    /// The allocation the next read copies the payload into.
    scratch: Vec<u8>,
}

impl ValueReader {
    /// Find the value of `key_file` and `proj_id`; [`Error::NoWriter`]
    /// when no writer holds it (or it stopped).
    pub fn open(key_file: impl AsRef<Path>, proj_id: u8) -> Result<Self> {
        let key_file = key_file.as_ref().to_path_buf();
        let finder = Finder::new(
            key_file.clone(),
            super::checked(proj_id)?,
            Access::PreferWritable,
        );
        let mut reader = Self {
            finder,
            key_file,
            watched: None,
            last: None,
            live_at: None,
            scratch: Vec::new(),
        };
        reader.latest()?;
        Ok(reader)
    }

    /// The latest value.
    pub fn read(&mut self) -> Result<Vec<u8>> {
        let (value, id) = self.latest()?;
        self.last = Some((id, Mark::of(&value)));
        Ok(value.payload)
    }

    /// Copy the latest value into `buf`; its length. A value longer than
    /// `buf` is [`Error::TooSmall`] with the length needed, and counts as
    /// not read (a following call with room for it returns it).
    pub fn read_into(&mut self, buf: &mut [u8]) -> Result<usize> {
        let (value, id) = self.latest()?;
        let (n, mark) = (copy(&value.payload, buf), Mark::of(&value));
        self.scratch = value.payload;
        let n = n?;
        self.last = Some((id, mark));
        Ok(n)
    }

    /// As [`read_into`](Self::read_into), but `None`, copying nothing,
    /// when the latest value is still the one this reader last returned
    /// (found by the segment and the sequence, without copying): a caller
    /// that keeps the last bytes serves them again for a fraction of a
    /// read. Every check of a read is made, so a writer gone or stopped is
    /// [`Error::NoWriter`] exactly as soon as a read would say so.
    pub fn read_into_if_changed(&mut self, buf: &mut [u8]) -> Result<Option<usize>> {
        let (last, mut scratch) = (self.last, std::mem::take(&mut self.scratch));
        let (value, id) = self.vetted(|view, id| match last {
            Some((seen, mark)) if seen == id && value_read::unchanged(view, mark.seq) => {
                Ok((None, mark))
            }
            _ => {
                let value = read_reusing(view, std::mem::take(&mut scratch))?;
                let mark = Mark::of(&value);
                Ok((Some(value), mark))
            }
        })?;
        let Some(value) = value else {
            self.scratch = scratch;
            return Ok(None);
        };
        let (n, mark) = (copy(&value.payload, buf), Mark::of(&value));
        self.scratch = value.payload;
        let n = n?;
        self.last = Some((id, mark));
        Ok(Some(n))
    }

    /// The next value this reader has not returned yet (at once when there
    /// is one), sleeping until the writer publishes; [`Error::TimedOut`]
    /// after `timeout` (`None`: no limit). A timeout loses nothing.
    pub fn wait_change(&mut self, timeout: Option<Duration>) -> Result<Vec<u8>> {
        let (value, id) = self.changed(timeout)?;
        self.last = Some((id, Mark::of(&value)));
        Ok(value.payload)
    }

    /// As [`wait_change`](Self::wait_change), copying into `buf` as
    /// [`read_into`](Self::read_into) does.
    pub fn wait_change_into(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize> {
        let (value, id) = self.changed(timeout)?;
        let (n, mark) = (copy(&value.payload, buf), Mark::of(&value));
        self.scratch = value.payload;
        let n = n?;
        self.last = Some((id, mark));
        Ok(n)
    }

    fn changed(&mut self, timeout: Option<Duration>) -> Result<(Value, SegmentId)> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let (value, id) = self.latest()?;
            if !matches!(self.last, Some((seen, mark)) if seen == id && mark.seq == value.seq) {
                return Ok((value, id));
            }
            let mut slice = CHANGE_WAIT;
            if let Some(deadline) = deadline {
                match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => slice = slice.min(left),
                    _ => return Err(Error::TimedOut),
                }
            }
            let segment = look(&mut self.finder, &self.key_file, coarse::now())?;
            // Woken, timed out or interrupted: look again either way.
            let _ = notify::wait(
                segment.view(),
                segment.write_view(),
                NOTIFY,
                value.seq,
                slice,
            );
        }
    }

    /// The latest value from a live writer, and its segment.
    fn latest(&mut self) -> Result<(Value, SegmentId)> {
        let mut scratch = std::mem::take(&mut self.scratch);
        self.vetted(|view, _| {
            let value = read_reusing(view, std::mem::take(&mut scratch))?;
            let mark = Mark::of(&value);
            Ok((value, mark))
        })
    }

    /// Every read's one path: look at the key's segment (the finder checks
    /// now and then that it is still the key's), `take` from it, and judge
    /// the life of the writer of the value `take` marks, so that a read and
    /// [`read_into_if_changed`](Self::read_into_if_changed) refuse alike.
    fn vetted<T>(
        &mut self,
        mut take: impl FnMut(ReadView<'_>, SegmentId) -> std::result::Result<(T, Mark), ReadError>,
    ) -> Result<(T, SegmentId)> {
        let coarse_now = coarse::now();
        let segment = look(&mut self.finder, &self.key_file, coarse_now)?;
        let info = segment.info();
        let id = (info.id, info.ctime);
        let taken = seqlock::patiently(
            || take(segment.view(), id),
            |e| matches!(e, ReadError::Unstable { .. }),
        );
        let (taken, mark) = match taken {
            Ok(taken) => taken,
            Err(ReadError::Blank) => {
                return Err(Error::no_writer(
                    &self.key_file,
                    ReadError::Blank.to_string(),
                ))
            }
            Err(e) => {
                if !matches!(e, ReadError::Unstable { .. }) {
                    self.finder.suspect();
                }
                return Err(Error::unusable(&self.key_file, e));
            }
        };
        let recent = matches!(self.live_at, Some((seen, at)) if seen == id && coarse_now.saturating_sub(at) < LIVE_RECHECK);
        if recent && !mark.stopped {
            return Ok((taken, id));
        }
        let watch = match &mut self.watched {
            Some((seen, watch)) if *seen == id => watch,
            _ => &mut self.watched.insert((id, Watch::new())).1,
        };
        let life = life_of(mark.stopped, segment.view(), watch, Instant::now());
        let reason = match life {
            Life::Live(_) | Life::Watching(_) => {
                self.live_at = Some((id, coarse_now));
                return Ok((taken, id));
            }
            Life::Stale(age) => {
                self.finder.suspect();
                format!(
                    "its heartbeat has stood still for {} s: the writer was killed or is frozen",
                    age.as_secs()
                )
            }
            Life::Stopped | Life::Absent | Life::Ahead(_) => {
                format!("its writer (pid {}) stopped", mark.writer_pid)
            }
        };
        Err(Error::no_writer(&self.key_file, reason))
    }
}

/// The segment `finder` leads to at `now` (by the coarse clock), or why
/// there is none.
fn look<'f>(finder: &'f mut Finder, key_file: &Path, now: Duration) -> Result<&'f Segment> {
    match finder.look_at(now) {
        Ok(Ok(segment)) => Ok(segment),
        Ok(Err(absent)) => Err(Error::no_writer(absent.key_file, absence(&absent.why))),
        Err(e) => Err(Error::find(key_file, &e)),
    }
}

/// Copy `payload` into `buf`, whole or not at all.
fn copy(payload: &[u8], buf: &mut [u8]) -> Result<usize> {
    let dst = buf.get_mut(..payload.len()).ok_or(Error::TooSmall {
        needed: payload.len(),
    })?;
    dst.copy_from_slice(payload);
    Ok(payload.len())
}
