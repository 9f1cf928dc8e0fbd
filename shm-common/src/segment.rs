//! A System V shared-memory segment, attached for as long as the handle
//! lives. Whether the handle removes the segment is decided when it is made:
//! a writer owns the segment it creates or adopts and removes it when
//! dropped; a reader's handle only ever detaches.

use std::sync::atomic::AtomicU64;

use nix::errno::Errno;
use nix::libc;

use crate::diagnose::SysvShmEntry;
use crate::key::Key;
use crate::sys::{self, Mapping};

/// The kernel's facts about a segment (`IPC_STAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    pub id: i32,
    pub key: Key,
    pub size: usize,
    /// Permission bits (`0o600` ...).
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    /// Creator's uid.
    pub cuid: u32,
    /// Processes attached.
    pub nattch: u64,
    /// Creator's and last attacher's pid, as seen from this pid namespace (0 when invisible).
    pub cpid: i32,
    pub lpid: i32,
    /// Unix seconds of the last attach, detach and change.
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    /// `IPC_RMID` was asked: the segment goes away with its last attachment.
    pub removed: bool,
}

impl SegmentInfo {
    /// `IPC_STAT` of segment `id`.
    pub fn of(id: i32) -> Result<Self, Errno> {
        let ds = sys::shm_stat(id)?;
        let mode = u32::from(ds.shm_perm.mode);
        Ok(Self {
            id,
            key: Key(ds.shm_perm.__key),
            size: ds.shm_segsz,
            mode: (mode & 0o777) as u16,
            uid: ds.shm_perm.uid,
            gid: ds.shm_perm.gid,
            cuid: ds.shm_perm.cuid,
            nattch: ds.shm_nattch,
            cpid: ds.shm_cpid,
            lpid: ds.shm_lpid,
            atime: ds.shm_atime,
            dtime: ds.shm_dtime,
            ctime: ds.shm_ctime,
            removed: mode & sys::SHM_DEST != 0,
        })
    }
}

/// Why an existing segment cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no shared-memory segment has key {key} in this IPC namespace")]
    NotFound { key: Key },
    #[error("permission denied on segment {key}{}; this process runs as uid {euid}: run it as the owner, or start the writer with --mode 0644 (anyone may read; readers attach read-only), --mode 0640 (the owner's group may read) or --mode 0666 (anyone may also write)", owner_text(.owner))]
    PermissionDenied {
        key: Key,
        owner: Option<SysvShmEntry>,
        euid: u32,
    },
    #[error("segment {key}: {op} failed: {source}")]
    Sys {
        key: Key,
        op: &'static str,
        source: Errno,
    },
}

fn owner_text(owner: &Option<SysvShmEntry>) -> String {
    owner
        .map(|e| {
            format!(
                " (shmid {}, owner uid {}, mode {:04o})",
                e.shmid, e.uid, e.mode
            )
        })
        .unwrap_or_default()
}

/// Why a writer cannot create its segment.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("segment {key} (shmid {id}) already exists with {size} bytes, not the {wanted} asked; remove it with `ipcrm -M {key}` or pass --size {size}")]
    SizeMismatch {
        key: Key,
        id: i32,
        size: usize,
        wanted: usize,
    },
    #[error("segment {key} (shmid {id}) belongs to uid {owner}, not to this writer (uid {euid}); refusing to write into it: its owner or root can remove it with `ipcrm -M {key}`, or pick another --key-file / --proj-id")]
    ForeignOwner {
        key: Key,
        id: i32,
        owner: u32,
        euid: u32,
    },
    #[error("segment {key} (shmid {id}) is updated by another live writer; stop that writer first, or pick another --key-file / --proj-id")]
    Busy { key: Key, id: i32 },
    #[error("segment {key} (shmid {id}) holds something other than a time ({reason}); refusing to overwrite it: if it is stale, remove it with `ipcrm -M {key}`, or pick another --key-file / --proj-id")]
    UnknownContent {
        key: Key,
        id: i32,
        reason: crate::record::ReadError,
    },
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("segment {key}: cannot create {size} bytes with mode {mode:04o}: {source}{}", create_hint(*.source))]
    Create {
        key: Key,
        size: usize,
        mode: u16,
        source: Errno,
    },
}

fn create_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EINVAL => " (the size is outside the kernel's shmmin..shmmax: see /proc/sys/kernel/shmmax)",
        Errno::ENOSPC | Errno::ENOMEM => {
            " (the kernel's shmall/shmmni limits are reached: see `ipcs -l`, remove stale segments with ipcrm)"
        }
        _ => "",
    }
}

/// An attached segment.
#[derive(Debug)]
pub struct Segment {
    info: SegmentInfo,
    mapping: Mapping,
    owner: bool,
}

impl Segment {
    /// The id of the segment for `key`, if there is one. Never creates.
    pub fn find(key: Key) -> Result<i32, OpenError> {
        sys::shmget(key.0, 0, 0).map_err(|e| open_error(key, "shmget", e))
    }

    /// Attach the existing segment for `key` read-only, as a reader does.
    pub fn open_read_only(key: Key) -> Result<Self, OpenError> {
        let id = Self::find(key)?;
        Self::attach(key, id, true)
    }

    /// Attach segment `id` (found for `key`). The handle does not own it
    /// until [`Segment::adopt`].
    pub fn attach(key: Key, id: i32, read_only: bool) -> Result<Self, OpenError> {
        let info = SegmentInfo::of(id).map_err(|e| open_error(key, "shmctl(IPC_STAT)", e))?;
        let mapping =
            Mapping::attach(id, info.size, read_only).map_err(|e| open_error(key, "shmat", e))?;
        Ok(Self {
            info,
            mapping,
            owner: false,
        })
    }

    /// Create a new segment for `key` (`IPC_CREAT | IPC_EXCL`), owned by
    /// the handle. `Ok(None)` when one already exists.
    pub fn create(key: Key, size: usize, mode: u16) -> Result<Option<Self>, CreateError> {
        let flags = libc::IPC_CREAT | libc::IPC_EXCL | libc::c_int::from(mode & 0o777);
        let id = match sys::shmget(key.0, size, flags) {
            Ok(id) => id,
            Err(Errno::EEXIST) => return Ok(None),
            Err(source) => {
                return Err(CreateError::Create {
                    key,
                    size,
                    mode,
                    source,
                })
            }
        };
        let mut segment = Self::attach(key, id, false).inspect_err(|_| {
            // Not attached: remove it again rather than leak it.
            let _ = sys::shm_remove(id);
        })?;
        segment.owner = true;
        Ok(Some(segment))
    }

    /// Take ownership: the segment is removed when this handle drops.
    pub fn adopt(&mut self) {
        self.owner = true;
    }

    /// Remove the segment now (`IPC_RMID`; the kernel frees it once the
    /// last process detaches) and detach. Unlike dropping an owning handle,
    /// this reports a failure.
    pub fn remove(mut self) -> Result<(), OpenError> {
        self.owner = false;
        let key = self.info.key;
        sys::shm_remove(self.info.id).map_err(|e| open_error(key, "shmctl(IPC_RMID)", e))
    }

    /// Set the permission bits (the caller owns the segment).
    pub fn set_mode(&mut self, mode: u16) -> Result<(), OpenError> {
        let key = self.info.key;
        sys::shm_set_mode(self.info.id, mode).map_err(|e| open_error(key, "shmctl(IPC_SET)", e))?;
        self.info.mode = mode & 0o777;
        Ok(())
    }

    /// The facts as they were when attached (or last refreshed by [`Segment::stat`]).
    pub fn info(&self) -> &SegmentInfo {
        &self.info
    }

    /// Current `IPC_STAT` facts; an error when the segment is gone.
    pub fn stat(&self) -> Result<SegmentInfo, Errno> {
        SegmentInfo::of(self.info.id).map(|mut info| {
            // After IPC_RMID the kernel reports key 0 (IPC_PRIVATE); keep ours.
            info.key = self.info.key;
            info
        })
    }

    /// Whether the segment was removed (by us or from outside, with `ipcrm`).
    pub fn removed(&self) -> bool {
        self.stat().map_or(true, |info| info.removed)
    }

    /// The attached memory as 8-byte atomic words.
    pub fn words(&self) -> &[AtomicU64] {
        self.mapping.words()
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if self.owner {
            // Marked for removal now, freed when the mapping below detaches.
            let _ = sys::shm_remove(self.info.id);
        }
    }
}

fn open_error(key: Key, op: &'static str, source: Errno) -> OpenError {
    match source {
        Errno::ENOENT | Errno::EIDRM if op == "shmget" => OpenError::NotFound { key },
        Errno::EACCES | Errno::EPERM => OpenError::PermissionDenied {
            key,
            owner: SysvShmEntry::find(key),
            euid: nix::unistd::geteuid().as_raw(),
        },
        source => OpenError::Sys { key, op, source },
    }
}
