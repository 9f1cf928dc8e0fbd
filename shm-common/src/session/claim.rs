//! The writer's side of a key: open and lock the key file, create the
//! segment or adopt an abandoned one, write the beacon, and remove the
//! segment on stop. What "abandoned" means is the protocol's
//! [`Rule`]; owner and size are checked here for every protocol.
//!
//! The key-file lock keeps out writers that share the key file; a writer
//! using another file whose `ftok` key collides is kept out by the rule's
//! liveness probe.

use std::path::PathBuf;

use chrono::Utc;

use super::beacon::{Beacon, BeaconState};
use crate::protocol::adopt::{Previous, Rule, Verdict};
use crate::transport::key::Key;
use crate::transport::key_file::{KeyFile, KeyFileError};
use crate::transport::namespace::{self, Ns};
use crate::transport::segment::{CreateError, OpenError, Segment};
use crate::transport::view::WriteView;

/// Which key to claim and how to create its segment.
#[derive(Debug, Clone)]
pub struct ClaimOptions {
    /// The key file (created when absent).
    pub key_file: PathBuf,
    /// The `ftok` project id.
    pub proj_id: u8,
    /// Segment size in bytes.
    pub size: usize,
    /// Segment permission bits.
    pub mode: u16,
}

/// Where the claimed segment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Created by this claim.
    Created,
    /// Taken over from a writer that is gone.
    Adopted(Previous),
}

/// Why a key cannot be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The key file cannot be used.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// The segment cannot be created.
    #[error(transparent)]
    Create(#[from] CreateError),
    /// The existing segment cannot be attached.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The existing segment has another size.
    #[error("segment {key} (shmid {id}) has {size} bytes, not the {wanted} asked")]
    SizeMismatch {
        /// The key.
        key: Key,
        /// Its id.
        id: i32,
        /// Its size.
        size: usize,
        /// The size asked.
        wanted: usize,
    },
    /// The existing segment belongs to another user.
    #[error("segment {key} (shmid {id}) belongs to uid {owner}, not to uid {euid}")]
    ForeignOwner {
        /// The key.
        key: Key,
        /// Its id.
        id: i32,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        euid: u32,
    },
    /// A live writer uses the existing segment.
    #[error("segment {key} (shmid {id}) is in use by another live writer")]
    Busy {
        /// The key.
        key: Key,
        /// Its id.
        id: i32,
    },
    /// The existing segment holds something the protocol must not overwrite.
    #[error("segment {key} (shmid {id}) holds something else: {reason}")]
    Refused {
        /// The key.
        key: Key,
        /// Its id.
        id: i32,
        /// What the protocol found.
        reason: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Why a writer could not clean up after itself.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    /// `IPC_RMID` failed.
    #[error("cannot remove the segment: {0}")]
    Segment(#[from] OpenError),
    /// The segment is gone, but the beacon still says running.
    #[error("segment removed, but the beacon could not be updated: {0}")]
    Beacon(#[from] KeyFileError),
}

/// A claimed key: the locked key file and the segment it owns.
#[derive(Debug)]
pub struct Claim {
    options: ClaimOptions,
    rule: Rule,
    key_file: KeyFile,
    segment: Segment,
    origin: Origin,
    beacon: Beacon,
}

impl Claim {
    /// Open (or create) and lock the key file, create or adopt the segment
    /// (adopting only what `rule` allows), give the key file the mode
    /// `--mode` implies and write the beacon. Nothing is left behind when
    /// this fails: a key file it created is removed again.
    pub fn start(options: ClaimOptions, rule: Rule) -> Result<Self, ClaimError> {
        let key_file = open_for_writer(&options)?;
        let started = acquire(key_file.key(), &options, rule).and_then(|(segment, origin)| {
            key_file.set_mode(key_file_mode(options.mode))?;
            let beacon = Beacon {
                pid: std::process::id(),
                ipc_ns: Ns(namespace::ipc_namespace().unwrap_or(0)),
                key: key_file.key(),
                shmid: segment.info().id,
                started: Utc::now(),
                state: BeaconState::Running,
            };
            beacon.write(&key_file)?;
            Ok((segment, origin, beacon))
        });
        match started {
            Ok((segment, origin, beacon)) => Ok(Self {
                options,
                rule,
                key_file,
                segment,
                origin,
                beacon,
            }),
            Err(e) => {
                key_file.remove_if_created();
                Err(e)
            }
        }
    }

    /// The key the claim holds.
    pub fn key(&self) -> Key {
        self.key_file.key()
    }

    /// The options it was made with.
    pub fn options(&self) -> &ClaimOptions {
        &self.options
    }

    /// Where the current segment came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The segment.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }

    /// The segment's memory, writable (the claim attaches it so).
    pub fn view(&self) -> WriteView<'_> {
        self.segment
            .write_view()
            .expect("a claim attaches its segment writable")
    }

    /// What the key file says about this writer.
    pub fn beacon(&self) -> &Beacon {
        &self.beacon
    }

    /// Whether the segment was removed from outside (`ipcrm`).
    pub fn removed(&self) -> bool {
        self.segment.removed()
    }

    /// Replace a segment that was removed from outside with a new one.
    pub fn recreate(&mut self) -> Result<(), ClaimError> {
        let (segment, origin) = acquire(self.key(), &self.options, self.rule)?;
        self.segment = segment;
        self.origin = origin;
        self.beacon.shmid = self.segment.info().id;
        self.beacon.write(&self.key_file)?;
        Ok(())
    }

    /// Remove the segment and mark the beacon stopped, `cleanly` or on an
    /// error, so that readers say which. Both are attempted; the first
    /// failure is returned.
    pub fn finish(mut self, cleanly: bool) -> Result<(), StopError> {
        self.beacon.state = if cleanly {
            BeaconState::Stopped
        } else {
            BeaconState::Failed
        };
        let removed = self.segment.remove();
        let marked = self.beacon.write(&self.key_file);
        removed?;
        Ok(marked?)
    }
}

/// Open and lock the key file; when another writer holds the lock, name
/// that writer by the pid its beacon gives.
fn open_for_writer(options: &ClaimOptions) -> Result<KeyFile, KeyFileError> {
    KeyFile::open_for_writer(&options.key_file, options.proj_id).map_err(|e| match e {
        KeyFileError::Locked { path, pid: None } => {
            let pid = KeyFile::open_for_reader(&path, options.proj_id)
                .and_then(|key_file| Beacon::read(&key_file))
                .ok()
                .flatten()
                .map(|beacon| beacon.pid);
            KeyFileError::Locked { path, pid }
        }
        e => e,
    })
}

/// The key file's mode for a segment of `segment_mode`: the owner writes
/// the beacon; whoever may read the segment may read the beacon too; nobody
/// else may write (a writable descriptor would let them rewrite the beacon
/// and take the writers' lock).
fn key_file_mode(segment_mode: u16) -> u32 {
    0o600 | u32::from(segment_mode) & 0o044
}

/// Create the segment for `key`, or adopt an abandoned one that fits.
fn acquire(key: Key, options: &ClaimOptions, rule: Rule) -> Result<(Segment, Origin), ClaimError> {
    loop {
        if let Some(segment) = Segment::create(key, options.size, options.mode)? {
            return Ok((segment, Origin::Created));
        }
        // Attach first, then look: IPC_STAT taken before our own attach
        // would not count us, and a lone live writer would look abandoned.
        let segment = match Segment::open_writable(key) {
            Ok(segment) => segment,
            // Removed between our create and attach: try creating again.
            Err(OpenError::NotFound { .. }) => continue,
            Err(OpenError::PermissionDenied {
                owner: Some(entry),
                euid,
                ..
            }) if entry.uid != euid => {
                return Err(ClaimError::ForeignOwner {
                    key,
                    id: entry.shmid,
                    owner: entry.uid,
                    euid,
                })
            }
            Err(e) => return Err(e.into()),
        };
        let info = match segment.stat() {
            Ok(info) => info,
            Err(_) => continue,
        };
        let (id, euid) = (info.id, nix::unistd::geteuid().as_raw());
        if info.uid != euid {
            return Err(ClaimError::ForeignOwner {
                key,
                id,
                owner: info.uid,
                euid,
            });
        }
        if info.size != options.size {
            return Err(ClaimError::SizeMismatch {
                key,
                id,
                size: info.size,
                wanted: options.size,
            });
        }
        let previous = match rule(segment.view(), info.nattch > 1) {
            Verdict::Adopt(previous) => previous,
            Verdict::Busy => return Err(ClaimError::Busy { key, id }),
            Verdict::Refuse(reason) => return Err(ClaimError::Refused { key, id, reason }),
        };
        let mut segment = segment;
        if info.mode != options.mode {
            segment.set_mode(options.mode)?;
        }
        segment.adopt();
        return Ok((segment, Origin::Adopted(previous)));
    }
}

#[cfg(test)]
mod tests {
    use super::key_file_mode;

    #[test]
    fn the_key_file_is_readable_by_whoever_may_read_the_segment_and_writable_by_none_else() {
        for (segment, key_file) in [
            (0o600, 0o600),
            (0o400, 0o600),
            (0o640, 0o640),
            (0o644, 0o644),
            (0o660, 0o640),
            (0o666, 0o644),
            (0o606, 0o604),
        ] {
            assert_eq!(key_file_mode(segment), key_file, "{segment:o}");
        }
    }
}
