//! A System V shared-memory segment, attached for as long as the handle
//! lives, with a load-only view for readers and a writable one for owners. Whether the handle removes the segment is decided when it is made:
//! a writer owns the segment it creates or adopts and removes it when
//! dropped; a reader's handle only ever detaches.

use nix::errno::Errno;
use nix::libc;

use super::key::Key;
use super::limits::Limit;
use super::sys::{self, Mapping};
use super::table::TableEntry;
use super::view::{ReadView, WriteView};

/// The kernel's facts about a segment (`IPC_STAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The segment id (`shmid`).
    pub id: i32,
    /// Its key.
    pub key: Key,
    /// Size in bytes.
    pub size: usize,
    /// Permission bits (`0o600` ...).
    pub mode: u16,
    /// Owner's uid.
    pub uid: u32,
    /// Owner's gid.
    pub gid: u32,
    /// Creator's uid.
    pub cuid: u32,
    /// Processes attached.
    pub nattch: u64,
    /// Creator's pid, as seen from this pid namespace (0 when invisible).
    pub cpid: i32,
    /// Last attacher's or detacher's pid, as seen from this pid namespace.
    pub lpid: i32,
    /// Unix seconds of the last attach.
    pub atime: i64,
    /// Unix seconds of the last detach.
    pub dtime: i64,
    /// Unix seconds of the last change.
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
    /// No segment has the key (or it vanished between lookup and attach).
    #[error("no shared-memory segment has key {key} in this IPC namespace")]
    NotFound {
        /// The key looked up.
        key: Key,
    },
    /// The segment's mode does not let this user attach.
    #[error("permission denied on segment {key} (uid {euid})")]
    PermissionDenied {
        /// The segment's key.
        key: Key,
        /// The segment's row in the kernel's table (owner and mode), if visible.
        owner: Option<TableEntry>,
        /// This process's effective uid.
        euid: u32,
    },
    /// Any other failure of a system call.
    #[error("segment {key}: {op} failed: {source}")]
    Sys {
        /// The segment's key.
        key: Key,
        /// The call that failed.
        op: &'static str,
        /// Its errno.
        source: Errno,
    },
}

/// Why a segment cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// `shmget(IPC_CREAT)` failed.
    #[error("segment {key}: cannot create {size} bytes with mode {mode:04o}: {source}")]
    Create {
        /// The key.
        key: Key,
        /// The size asked.
        size: usize,
        /// The mode asked.
        mode: u16,
        /// The errno of `shmget`.
        source: Errno,
        /// The limit it stands for, read when it failed.
        limit: Limit,
    },
    /// Created, but the mode asked does not let its creator attach it
    /// (without `CAP_IPC_OWNER`); it was removed again.
    #[error("segment {key}: mode {mode:04o} does not let its creator attach it")]
    ModeDeniesOwner {
        /// The key.
        key: Key,
        /// The mode asked.
        mode: u16,
    },
    /// Created, but attaching it failed (it was removed again).
    #[error(transparent)]
    Open(#[from] OpenError),
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

    /// Attach the existing segment for `key` writable (its owner's side).
    pub fn open_writable(key: Key) -> Result<Self, OpenError> {
        let id = Self::find(key)?;
        Self::attach(key, id, false)
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
                    limit: Limit::of(source, size),
                })
            }
        };
        let mut segment = Self::attach(key, id, false).map_err(|e| {
            // Not attached: remove it again rather than leak it.
            let _ = sys::shm_remove(id);
            match e {
                OpenError::PermissionDenied { .. } => CreateError::ModeDeniesOwner { key, mode },
                e => CreateError::Open(e),
            }
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
    /// this reports a failure; a segment already gone is not one.
    pub fn remove(mut self) -> Result<(), OpenError> {
        self.owner = false;
        let key = self.info.key;
        match sys::shm_remove(self.info.id) {
            Ok(()) | Err(Errno::EINVAL | Errno::EIDRM) => Ok(()),
            Err(e) => Err(open_error(key, "shmctl(IPC_RMID)", e)),
        }
    }

    /// Mark the segment for removal without detaching (a stream's consumer
    /// clearing up after a producer that died): it goes with the last
    /// detach.
    pub fn mark_for_removal(&self) -> Result<(), OpenError> {
        sys::shm_remove(self.info.id).map_err(|e| open_error(self.info.key, "shmctl(IPC_RMID)", e))
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

    /// Load-only access to the attached memory.
    pub fn view(&self) -> ReadView<'_> {
        ReadView::new(self.mapping.words())
    }

    /// Load and store access, when attached writable (`None` for a
    /// read-only attachment).
    pub fn write_view(&self) -> Option<WriteView<'_>> {
        (!self.mapping.read_only()).then(|| WriteView::new(self.mapping.words()))
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

/// Classify a failure. A segment removed between `shmget` and
/// `IPC_STAT`/`shmat` (a writer restarting, `ipcrm`) fails with `EINVAL` or
/// `EIDRM`: that is "not there", like `ENOENT` from `shmget`.
fn open_error(key: Key, op: &'static str, source: Errno) -> OpenError {
    match source {
        Errno::ENOENT | Errno::EIDRM | Errno::EINVAL if op != "shmctl(IPC_RMID)" => {
            OpenError::NotFound { key }
        }
        Errno::EACCES | Errno::EPERM => OpenError::PermissionDenied {
            key,
            owner: TableEntry::find(key),
            euid: nix::unistd::geteuid().as_raw(),
        },
        source => OpenError::Sys { key, op, source },
    }
}
