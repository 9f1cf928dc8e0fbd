//! The writer's start-up and shut-down: key file, segment creation or
//! adoption, and the beacon.
//!
//! An existing segment for the key is adopted when no live writer publishes
//! to it: the key-file lock proves that no shm_write does, and a C writer's
//! segment is watched for a moment to see whether its text still changes.
//! The lock covers writers that share the key file; one using another file
//! whose ftok key collides is held off only by the owner, size and content
//! checks.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::beacon::Beacon;
use crate::diagnose::{self, Ns};
use crate::exit::Exit;
use crate::key::{Key, KeyFile, KeyFileError};
use crate::layout::{TextError, MIN_SEGMENT_SIZE};
use crate::record::{self, Publisher, ReadError, Reading, Timestamp, WriterInfo};
use crate::segment::{CreateError, OpenError, Segment, SegmentInfo};

/// How long a C writer's text is watched before its segment counts as
/// abandoned: it rewrites the text every second.
const C_WRITER_PROBE: Duration = Duration::from_millis(1500);

/// What the writer was asked to do.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    pub key_file: PathBuf,
    pub proj_id: u8,
    pub size: usize,
    pub mode: u16,
    pub interval: Duration,
}

/// Why the writer cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("--size {size} is smaller than the {MIN_SEGMENT_SIZE} bytes the segment layout needs (128 bytes of C text and the header); use --size {MIN_SEGMENT_SIZE} or more")]
    TooSmall { size: usize },
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Segment(#[from] CreateError),
}

impl StartError {
    /// The exit status this error ends the writer with.
    pub fn exit(&self) -> Exit {
        match self {
            StartError::TooSmall { .. } => Exit::Usage,
            StartError::KeyFile(KeyFileError::Locked { .. }) => Exit::Conflict,
            StartError::KeyFile(KeyFileError::Io { .. }) => Exit::Failure,
            StartError::KeyFile(_) => Exit::Usage,
            StartError::Segment(CreateError::Open(OpenError::PermissionDenied { .. })) => {
                Exit::Permission
            }
            StartError::Segment(CreateError::Open(_) | CreateError::Create { .. }) => Exit::Failure,
            StartError::Segment(_) => Exit::Conflict,
        }
    }
}

/// Where the writer's segment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Created,
    /// Left behind by a writer of ours that did not stop cleanly.
    AdoptedOurs,
    /// Left behind by a C writer that is no longer updating it.
    AdoptedC,
    /// Empty: made by a C reader's `IPC_CREAT`, or by a C writer that never wrote.
    AdoptedEmpty,
}

/// A running writer: the locked key file and the segment it owns.
#[derive(Debug)]
pub struct Writer {
    options: WriterOptions,
    key_file: KeyFile,
    segment: Segment,
    origin: Origin,
    beacon: Beacon,
}

impl Writer {
    /// Open (or create) and lock the key file, create or adopt the segment
    /// and write the beacon. Nothing is left behind when this fails.
    pub fn start(options: WriterOptions) -> Result<Self, StartError> {
        if options.size < MIN_SEGMENT_SIZE {
            return Err(StartError::TooSmall { size: options.size });
        }
        let key_file = KeyFile::open_for_writer(&options.key_file, options.proj_id)?;
        let (segment, origin) = match acquire(key_file.key(), options.size, options.mode) {
            Ok(acquired) => acquired,
            Err(e) => {
                key_file.remove_if_created();
                return Err(e.into());
            }
        };
        let beacon = Beacon {
            pid: std::process::id(),
            ipc_ns: diagnose::ipc_namespace().unwrap_or(0),
            key: key_file.key().to_string(),
            shmid: segment.info().id,
            started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            state: "running".into(),
        };
        key_file.write_beacon(&beacon)?;
        Ok(Self {
            options,
            key_file,
            segment,
            origin,
            beacon,
        })
    }

    /// The key the writer publishes under.
    pub fn key(&self) -> Key {
        self.key_file.key()
    }

    /// Where the current segment came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The segment's kernel facts as of attaching.
    pub fn segment_info(&self) -> &SegmentInfo {
        self.segment.info()
    }

    /// The IPC namespace the writer runs in.
    pub fn ipc_ns(&self) -> u64 {
        self.beacon.ipc_ns
    }

    /// Whether the segment was removed from outside (`ipcrm`).
    pub fn segment_removed(&self) -> bool {
        self.segment.removed()
    }

    /// Begin publishing into the segment.
    pub fn publisher(&self, first: Timestamp) -> Publisher<'_> {
        let info = WriterInfo {
            interval: self.options.interval,
            pid: self.beacon.pid,
            ipc_ns: self.beacon.ipc_ns,
            started: chrono::DateTime::parse_from_rfc3339(&self.beacon.started)
                .map_or(0, |t| t.timestamp()),
        };
        Publisher::new(self.segment.words(), info, first)
    }

    /// Replace a segment that was removed from outside with a new one.
    pub fn recreate(&mut self) -> Result<(), StartError> {
        let (segment, origin) = acquire(self.key(), self.options.size, self.options.mode)?;
        self.segment = segment;
        self.origin = origin;
        self.beacon.shmid = self.segment.info().id;
        self.key_file.write_beacon(&self.beacon)?;
        Ok(())
    }

    /// Remove the segment and mark the beacon stopped (the caller has
    /// published the stopped record already). Both are attempted; the first
    /// failure is returned.
    pub fn finish(mut self) -> Result<(), StopError> {
        self.beacon.state = "stopped".into();
        let removed = self.segment.remove();
        let marked = self.key_file.write_beacon(&self.beacon);
        removed?;
        Ok(marked?)
    }
}

/// Why the writer could not clean up after itself.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error("cannot remove the segment: {0}")]
    Segment(#[from] OpenError),
    #[error("segment removed, but the beacon could not be updated: {0}")]
    Beacon(#[from] KeyFileError),
}

/// Create the segment for `key`, or adopt an abandoned one that fits.
fn acquire(key: Key, size: usize, mode: u16) -> Result<(Segment, Origin), CreateError> {
    loop {
        if let Some(segment) = Segment::create(key, size, mode)? {
            return Ok((segment, Origin::Created));
        }
        let id = match Segment::find(key) {
            Ok(id) => id,
            // Removed between our create and find: try creating again.
            Err(OpenError::NotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut segment = Segment::attach(key, id, true)?;
        let info = *segment.info();
        let euid = nix::unistd::geteuid().as_raw();
        if info.uid != euid {
            return Err(CreateError::ForeignOwner {
                key,
                id,
                owner: info.uid,
                euid,
            });
        }
        if info.size != size {
            return Err(CreateError::SizeMismatch {
                key,
                id,
                size: info.size,
                wanted: size,
            });
        }
        // nattch counts our own read-only attachment too.
        let others_attached = info.nattch > 1;
        let origin = match record::read(segment.words()) {
            Ok(Reading::Record(_)) | Err(ReadError::Unstable { .. } | ReadError::Corrupt(_)) => {
                Origin::AdoptedOurs
            }
            first @ Ok(Reading::Text(_)) => {
                if others_attached && changes_within(&segment, &first, C_WRITER_PROBE) {
                    return Err(CreateError::Busy { key, id });
                }
                Origin::AdoptedC
            }
            Err(ReadError::Text(TextError::Empty)) => Origin::AdoptedEmpty,
            Err(reason) => return Err(CreateError::UnknownContent { key, id, reason }),
        };
        drop(segment);
        segment = Segment::attach(key, id, false)?;
        if segment.info().mode != mode {
            segment.set_mode(mode)?;
        }
        segment.adopt();
        return Ok((segment, origin));
    }
}

/// Whether the segment's reading moves away from `first` within `window`.
fn changes_within(segment: &Segment, first: &Result<Reading, ReadError>, window: Duration) -> bool {
    let deadline = Instant::now() + window;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        if record::read(segment.words()) != *first {
            return true;
        }
    }
    false
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Origin::Created => "created",
            Origin::AdoptedOurs => "reused (left by a shm_write that did not stop cleanly)",
            Origin::AdoptedC => "reused (left by a C writer that no longer updates it)",
            Origin::AdoptedEmpty => "reused (it was empty)",
        })
    }
}

/// The start-up line: everything needed to match the segment in `ipcs -m`.
pub fn startup_line(writer: &Writer) -> String {
    let info = writer.segment_info();
    format!(
        "shm_write: key {} shmid {} size {} mode {:04o} key-file {} ipc-ns {} pid {}: segment {}",
        writer.key(),
        info.id,
        info.size,
        info.mode,
        writer.options.key_file.display(),
        Ns(writer.ipc_ns()),
        std::process::id(),
        writer.origin()
    )
}
