//! The reader's side of a key: find the segment the key file leads to,
//! attach it, notice when it is removed or replaced (a writer restarting,
//! stopping, `ipcrm`), and say what is seen when there is none, without
//! ever creating a key file or a segment.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::beacon::{Beacon, BeaconState};
use crate::transport::coarse;
use crate::transport::key::Key;
use crate::transport::key_file::{KeyFile, KeyFileError};
use crate::transport::namespace::{self, Ns};
use crate::transport::segment::{OpenError, Segment};

/// How often an attached reader re-checks that its segment is still there
/// (one `IPC_STAT`, which it should not pay on every read).
const FOLLOW_CHECK: Duration = Duration::from_millis(100);

/// How a reader attaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `SHM_RDONLY`: enough to read, and all a mode like 0644 grants others.
    ReadOnly,
    /// Writable when the mode allows it (to register as a sleeper, say),
    /// read-only otherwise.
    PreferWritable,
}

/// What a reader sees while no segment answers: data for the diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Absence {
    /// The key file is not there: no writer shares this `/dev/shm`.
    NoKeyFile,
    /// The key file is there but holds no beacon (a C writer's file, or a
    /// writer that has not written one yet).
    NoBeacon,
    /// The key file is there but this user may not read it: its mode, which
    /// follows the writer's `--mode`, keeps the beacon from other users.
    BeaconUnreadable,
    /// The beacon names a writer in another IPC namespace.
    OtherNamespace(Beacon),
    /// The beacon names a writer in this namespace that has stopped.
    WriterStopped(Beacon),
    /// The beacon names a writer in this namespace that stopped on an
    /// error and removed its segment.
    WriterFailed(Beacon),
    /// The beacon names a running writer in this namespace, but its segment
    /// is gone (it was killed, or the segment was removed with ipcrm).
    WriterGone(Beacon),
}

impl Absence {
    fn classify(
        key_file_exists: bool,
        beacon: Result<Option<Beacon>, KeyFileError>,
        own_ns: Ns,
    ) -> Self {
        match beacon {
            _ if !key_file_exists => Absence::NoKeyFile,
            Err(KeyFileError::PermissionDenied { .. }) => Absence::BeaconUnreadable,
            // Gone or replaced since the key was taken: nothing to say.
            Err(_) | Ok(None) => Absence::NoBeacon,
            Ok(Some(b)) if b.ipc_ns != own_ns => Absence::OtherNamespace(b),
            Ok(Some(b)) if b.state == BeaconState::Stopped => Absence::WriterStopped(b),
            Ok(Some(b)) if b.state == BeaconState::Failed => Absence::WriterFailed(b),
            Ok(Some(b)) => Absence::WriterGone(b),
        }
    }
}

/// No segment to read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absent {
    /// The key file looked at.
    pub key_file: PathBuf,
    /// Its key, when the file exists.
    pub key: Option<Key>,
    /// The reader's IPC namespace.
    pub own_ns: Ns,
    /// What was seen.
    pub why: Absence,
}

/// Why finding cannot go on: the reader should exit.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// The key file is unusable (not merely missing).
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// The segment exists but cannot be attached.
    #[error(transparent)]
    Segment(#[from] OpenError),
}

/// Finds and follows the segment of one key file.
#[derive(Debug)]
pub struct Finder {
    key_file: PathBuf,
    proj_id: u8,
    access: Access,
    own_ns: Ns,
    attached: Option<Segment>,
    /// When the attachment was last checked, by the coarse clock: a look
    /// costs a clock read, and a precise one would double a read's cost.
    checked: Duration,
    /// Look the key file up again on the next look (after a stale or bad reading).
    suspect: bool,
}

impl Finder {
    /// A finder for `key_file` and `proj_id`; attaches on the first look.
    pub fn new(key_file: PathBuf, proj_id: u8, access: Access) -> Self {
        Self {
            key_file,
            proj_id,
            access,
            own_ns: Ns(namespace::ipc_namespace().unwrap_or(0)),
            attached: None,
            checked: coarse::now(),
            suspect: false,
        }
    }

    /// The key file followed.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// The segment, attached if needed, or why there is none. Bounded in
    /// time: never waits for a writer.
    pub fn look(&mut self) -> Result<Result<&Segment, Absent>, FindError> {
        self.look_at(coarse::now())
    }

    /// [`look`](Self::look), `now` being the coarse clock's time, read by
    /// the caller: a reader that times its own checks by the same clock
    /// reads it once a call (a clock read is a good part of a cheap read).
    pub fn look_at(&mut self, now: Duration) -> Result<Result<&Segment, Absent>, FindError> {
        if self.attached.is_some()
            && (self.suspect || now.saturating_sub(self.checked) >= FOLLOW_CHECK)
        {
            self.drop_if_replaced();
        }
        if self.attached.is_none() {
            match self.attach()? {
                Ok(segment) => self.attached = Some(segment),
                Err(absent) => return Ok(Err(absent)),
            }
        }
        Ok(Ok(self.attached.as_ref().expect("attached above")))
    }

    /// The segment attached by the last look, taken out of the finder (a
    /// side that keeps it for its own life, such as a stream's consumer).
    pub fn take(self) -> Option<Segment> {
        self.attached
    }

    /// The reading was stale or bad: on the next look, check whether the
    /// key file now leads elsewhere (a restarted C writer re-creates its key
    /// file, so it has a new key).
    pub fn suspect(&mut self) {
        self.suspect = true;
    }

    /// Detach when the segment was removed, or (when suspect) when the key
    /// file now leads to another segment. A healthy look costs one
    /// `IPC_STAT` per [`FOLLOW_CHECK`], not a key-file lookup.
    fn drop_if_replaced(&mut self) {
        let thorough = std::mem::take(&mut self.suspect);
        self.checked = coarse::now();
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

    fn attach(&mut self) -> Result<Result<Segment, Absent>, FindError> {
        self.checked = coarse::now();
        let key_file = match KeyFile::open_for_reader(&self.key_file, self.proj_id) {
            Ok(key_file) => key_file,
            Err(KeyFileError::Missing { .. }) => return Ok(Err(self.absent(None, Ok(None)))),
            Err(e) => return Err(e.into()),
        };
        let key = key_file.key();
        let opened = match self.access {
            Access::PreferWritable => match Segment::open_writable(key) {
                Err(OpenError::PermissionDenied { .. }) => Segment::open_read_only(key),
                other => other,
            },
            Access::ReadOnly => Segment::open_read_only(key),
        };
        match opened {
            Ok(segment) => Ok(Ok(segment)),
            Err(OpenError::NotFound { .. }) => {
                Ok(Err(self.absent(Some(key), Beacon::read(&key_file))))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn absent(&self, key: Option<Key>, beacon: Result<Option<Beacon>, KeyFileError>) -> Absent {
        Absent {
            key_file: self.key_file.clone(),
            key,
            own_ns: self.own_ns,
            why: Absence::classify(key.is_some(), beacon, self.own_ns),
        }
    }
}
