//! The latest value: a [`ValueWriter`] publishes any bytes, and every
//! [`ValueReader`] copies the newest one or sleeps until it changes, as
//! `shm_write --value`/`--stdin` and `shm_read` do, on the same segments.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::beat::Beater;
use super::error::{absence, Error, Result};
use crate::protocol::notify;
use crate::protocol::spec::Life;
use crate::protocol::value::layout::{size_for, MIN_SEGMENT_SIZE};
use crate::protocol::value::live::{life_of, HEARTBEAT};
use crate::protocol::value::publish::{Publisher, TooLarge, Writer, NOTIFY};
use crate::protocol::value::read::{read, read_reusing, ReadError, Value};
use crate::protocol::value::spec::SPEC;
use crate::protocol::watch::Watch;
use crate::session::claim::Claim;
use crate::session::find::{Access, Finder};
use crate::session::hand_over::hand_over;
use crate::transport::coarse;
use crate::transport::segment::Segment;

/// How long a reader trusts its last judgement that the writer is live
/// before watching the heartbeat again (by the coarse clock): a precise
/// clock read on every read would double a read's cost, and against the
/// heartbeat's 1 s period and 3 s bound 10 ms changes nothing.
const LIVE_RECHECK: Duration = Duration::from_millis(10);

/// The longest single sleep of [`ValueReader::wait_change`], so that a
/// writer that dies or a segment that goes is noticed this fast (as
/// `shm_read --on-change` does).
const CHANGE_WAIT: Duration = Duration::from_millis(100);

self_cell::self_cell!(
    /// A claim and the publisher over its segment's memory.
    struct Published {
        owner: Claim,
        #[covariant]
        dependent: Publisher,
    }
    impl {Debug}
);

/// What the heartbeat thread and the owner share.
#[derive(Debug)]
struct Shared {
    /// The claim and its publisher; `None` once closed (or lost).
    published: Option<Published>,
    /// Why the heartbeat thread lost the claim, reported by the next call.
    lost: Option<Error>,
}

/// The writer of a latest value. It owns its key (the key file's lock and
/// the segment) until [`close`](Self::close) or drop, which remove the
/// segment; a background thread keeps its heartbeat, so readers see it
/// live while the program is idle, and re-creates the segment if it is
/// removed from outside (`ipcrm`), as `shm_write` does.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("doc-value-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// use shm_common::channel::{ValueReader, ValueWriter};
///
/// let key_file = dir.join("key");
/// let mut writer = ValueWriter::open(&key_file, b'A', 0, 0o600)?;
/// writer.publish(b"temperature=21.5")?;
/// let mut reader = ValueReader::open(&key_file, b'A')?;
/// assert_eq!(reader.read()?, b"temperature=21.5");
/// writer.close()?;
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), shm_common::channel::Error>(())
/// ```
#[derive(Debug)]
pub struct ValueWriter {
    shared: Arc<Mutex<Shared>>,
    beater: Beater,
    key_file: PathBuf,
}

impl ValueWriter {
    /// Claim `key_file` and `proj_id` with a segment of `size` bytes (0:
    /// the default, 4096) and permission bits `mode` (e.g. `0o644` to let
    /// other users read). Until the first [`publish`](Self::publish),
    /// readers see an empty value.
    pub fn open(key_file: impl AsRef<Path>, proj_id: u8, size: usize, mode: u32) -> Result<Self> {
        let key_file = key_file.as_ref().to_path_buf();
        let claim = super::claim(&key_file, proj_id, size, mode, &SPEC)?;
        let published = publisher(claim, b"").map_err(too_large)?;
        let shared = Arc::new(Mutex::new(Shared {
            published: Some(published),
            lost: None,
        }));
        let beating = Arc::clone(&shared);
        let beater = Beater::spawn(HEARTBEAT, move || keep(&beating))?;
        Ok(Self {
            shared,
            beater,
            key_file,
        })
    }

    /// The key file this writer holds.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// Publish `data`, any bytes, as the new latest value and wake the
    /// readers waiting for a change. A value larger than the segment holds
    /// is refused whole ([`Error::TooLarge`]), never truncated.
    pub fn publish(&mut self, data: &[u8]) -> Result<()> {
        let binary = std::str::from_utf8(data).is_err();
        let mut shared = lock(&self.shared);
        if let Some(lost) = shared.lost.take() {
            return Err(lost);
        }
        let published = shared.published.as_mut().ok_or(Error::Closed)?;
        published.with_dependent_mut(|_, publisher| {
            publisher.publish(data, binary).map_err(too_large)?;
            publisher
                .wake()
                .map_err(|e| Error::system("waking the readers", e))
        })
    }

    /// Let the readers attached take the last value (waiting at most 2 s
    /// for those that do not sleep on it, as `shm_write --exit-at-eof`
    /// does), mark the value stopped, so that readers say so, and remove
    /// the segment (dropping the writer does the same, ignoring failures).
    pub fn close(mut self) -> Result<()> {
        self.shut()
    }

    fn shut(&mut self) -> Result<()> {
        self.beater.stop();
        let mut shared = lock(&self.shared);
        let Some(mut published) = shared.published.take() else {
            return Ok(());
        };
        // As shm_write --exit-at-eof: readers take the last value first.
        let _ = published.with_dependent(|claim, publisher| {
            hand_over(claim, publisher, |pause| {
                std::thread::sleep(pause);
                None::<()>
            })
        });
        published.with_dependent_mut(|_, publisher| {
            publisher.stop();
            let _ = publisher.wake();
        });
        published
            .into_owner()
            .finish(true)
            .map_err(|e| Error::system("removing the segment", std::io::Error::other(e)))
    }
}

impl Drop for ValueWriter {
    fn drop(&mut self) {
        let _ = self.shut();
    }
}

/// A publisher over `claim`'s segment, with `first` published.
fn publisher(claim: Claim, first: &[u8]) -> std::result::Result<Published, TooLarge> {
    let binary = std::str::from_utf8(first).is_err();
    Published::try_new(claim, |claim| {
        let writer = Writer {
            pid: claim.beacon().pid,
            ipc_ns: claim.beacon().ipc_ns.0,
        };
        Publisher::new(claim.view(), writer, first, binary)
    })
}

/// One heartbeat (the heartbeat thread's beat): say "still here", and
/// re-create a segment removed from outside with the latest value in it.
fn keep(shared: &Mutex<Shared>) {
    let mut shared = lock(shared);
    let Some(published) = shared.published.take() else {
        return;
    };
    published.borrow_dependent().heartbeat();
    if !published.borrow_owner().removed() {
        shared.published = Some(published);
        return;
    }
    // Still attached, the old segment still holds the latest value.
    let latest = read(published.borrow_owner().segment().view()).map(|v| v.payload);
    let mut claim = published.into_owner();
    let key_file = claim.options().key_file.clone();
    let renewed = latest
        .map_err(|e| Error::unusable(&key_file, e))
        .and_then(|latest| {
            claim.recreate().map_err(|e| Error::claim(&key_file, &e))?;
            publisher(claim, &latest).map_err(too_large)
        });
    match renewed {
        Ok(published) => shared.published = Some(published),
        Err(e) => shared.lost = Some(e),
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves nothing half-done worth refusing.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn too_large(e: TooLarge) -> Error {
    Error::TooLarge {
        len: e.len,
        capacity: e.capacity,
        size: size_for(e.len).max(MIN_SEGMENT_SIZE),
    }
}

/// A segment as the kernel names it: its shmid and creation time (a
/// restarted writer's segment differs even where the shmid is reused).
type SegmentId = (i32, i64);

/// A reader of a latest value, written by a [`ValueWriter`] or by
/// `shm_write --value`/`--stdin`. It follows the key: a writer that
/// restarts is found again. A writer whose heartbeat stands still for
/// three seconds, or that stopped, is [`Error::NoWriter`].
#[derive(Debug)]
pub struct ValueReader {
    finder: Finder,
    key_file: PathBuf,
    /// The sign of life of the segment read, watched since first seen.
    watched: Option<(SegmentId, Watch<(u64, u64)>)>,
    /// The last value returned: its segment and sequence.
    last: Option<(SegmentId, u64)>,
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
        self.last = Some((id, value.seq));
        Ok(value.payload)
    }

    /// Copy the latest value into `buf`; its length. A value longer than
    /// `buf` is [`Error::TooSmall`] with the length needed, and counts as
    /// not read (a following call with room for it returns it).
    pub fn read_into(&mut self, buf: &mut [u8]) -> Result<usize> {
        let (value, id) = self.latest()?;
        let n = copy(&value.payload, buf);
        self.scratch = value.payload;
        let n = n?;
        self.last = Some((id, value.seq));
        Ok(n)
    }

    /// The next value this reader has not returned yet (at once when there
    /// is one), sleeping until the writer publishes; [`Error::TimedOut`]
    /// after `timeout` (`None`: no limit). A timeout loses nothing.
    pub fn wait_change(&mut self, timeout: Option<Duration>) -> Result<Vec<u8>> {
        let (value, id) = self.changed(timeout)?;
        self.last = Some((id, value.seq));
        Ok(value.payload)
    }

    /// As [`wait_change`](Self::wait_change), copying into `buf` as
    /// [`read_into`](Self::read_into) does.
    pub fn wait_change_into(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize> {
        let (value, id) = self.changed(timeout)?;
        let n = copy(&value.payload, buf);
        self.scratch = value.payload;
        let n = n?;
        self.last = Some((id, value.seq));
        Ok(n)
    }

    fn changed(&mut self, timeout: Option<Duration>) -> Result<(Value, SegmentId)> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let (value, id) = self.latest()?;
            if self.last != Some((id, value.seq)) {
                return Ok((value, id));
            }
            let mut slice = CHANGE_WAIT;
            if let Some(deadline) = deadline {
                match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => slice = slice.min(left),
                    _ => return Err(Error::TimedOut),
                }
            }
            let segment = look(&mut self.finder, &self.key_file)?;
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
        let segment = look(&mut self.finder, &self.key_file)?;
        let info = *segment.info();
        let id = (info.id, info.ctime);
        let value = match read_reusing(segment.view(), std::mem::take(&mut self.scratch)) {
            Ok(value) => value,
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
        let coarse_now = coarse::now();
        let recent = matches!(self.live_at, Some((seen, at)) if seen == id && coarse_now.saturating_sub(at) < LIVE_RECHECK);
        if recent && !value.stopped {
            return Ok((value, id));
        }
        let watch = match &mut self.watched {
            Some((seen, watch)) if *seen == id => watch,
            _ => &mut self.watched.insert((id, Watch::new())).1,
        };
        let life = life_of(&value, segment.view(), watch, Instant::now());
        let reason = match life {
            Life::Live(_) | Life::Watching(_) => {
                self.live_at = Some((id, coarse_now));
                return Ok((value, id));
            }
            Life::Stale(age) => {
                self.finder.suspect();
                format!(
                    "its heartbeat has stood still for {} s: the writer was killed or is frozen",
                    age.as_secs()
                )
            }
            Life::Stopped | Life::Absent | Life::Ahead(_) => {
                format!("its writer (pid {}) stopped", value.writer_pid)
            }
        };
        Err(Error::no_writer(&self.key_file, reason))
    }
}

/// The segment `finder` leads to, or why there is none.
fn look<'f>(finder: &'f mut Finder, key_file: &Path) -> Result<&'f Segment> {
    match finder.look() {
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
