//! Why a key file cannot be used, and which of those an `open(2)` failure
//! means.

use std::fmt;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::libc;

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// No file at the path.
    #[error("key file {path} does not exist")]
    Missing {
        /// The key file's path.
        path: PathBuf,
    },
    /// The directory that should hold it is missing.
    #[error("directory {dir} of key file {path} does not exist")]
    MissingDirectory {
        /// The key file's path.
        path: PathBuf,
        /// Its missing directory.
        dir: PathBuf,
    },
    /// A component of the path is not a directory (`ENOTDIR`).
    #[error("key file {path}: {component} is a {kind}, not a directory")]
    NotADirectory {
        /// The key file's path.
        path: PathBuf,
        /// The first component of it that exists but is no directory.
        component: PathBuf,
        /// What that component is.
        kind: &'static str,
    },
    /// A symbolic link, which is never followed.
    #[error("key file {path} is a symbolic link")]
    Symlink {
        /// The key file's path.
        path: PathBuf,
    },
    /// Not a regular file.
    #[error("key file {path} is a {kind}, not a regular file")]
    NotRegular {
        /// The key file's path.
        path: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// Owned by another user (a writer only uses its own key files).
    #[error("key file {path} belongs to uid {owner}, not to uid {euid}")]
    ForeignOwner {
        /// The key file's path.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        euid: u32,
    },
    /// More than one name for the file: the writer's content would
    /// overwrite whatever the other names hold.
    #[error("key file {path} has {links} hard links")]
    HardLinked {
        /// The key file's path.
        path: PathBuf,
        /// Its link count.
        links: u64,
    },
    /// Another writer holds the lock (a write lock is in the way).
    #[error("key file {path} is locked by another writer")]
    Locked {
        /// The key file's path.
        path: PathBuf,
        /// The pid the holder's beacon names, if any: left `None` here,
        /// filled in by the session layer, which reads beacons.
        pid: Option<u32>,
    },
    /// A read lock keeps writers out: anyone who may read the file can take
    /// one (a classic POSIX lock through a read-only descriptor), and it
    /// conflicts with the writers' write lock.
    #[error("key file {path} is read-locked by {holder}")]
    ReadLocked {
        /// The key file's path.
        path: PathBuf,
        /// Who holds the read lock, as far as the kernel says.
        holder: LockHolder,
    },
    /// The file cannot be opened by this user.
    #[error("permission denied on key file {path}")]
    PermissionDenied {
        /// The key file's path.
        path: PathBuf,
    },
    /// Any other I/O failure.
    #[error("key file {path}: {source}")]
    Io {
        /// The key file's path.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
}

/// Who holds a lock, from the `l_pid` that `F_OFD_GETLK` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockHolder {
    /// A classic POSIX lock, held by the process with this pid (as our PID
    /// namespace numbers it).
    Process(u32),
    /// A classic POSIX lock of a process outside our PID namespace
    /// (`l_pid` 0: its pid has no number here).
    OtherPidNamespace,
    /// An open-file-description lock, which belongs to no process
    /// (`l_pid` -1).
    OpenFileDescription,
}

impl LockHolder {
    pub(super) fn from_l_pid(l_pid: libc::pid_t) -> Self {
        match u32::try_from(l_pid) {
            Ok(0) => Self::OtherPidNamespace,
            Ok(pid) => Self::Process(pid),
            Err(_) => Self::OpenFileDescription,
        }
    }
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Process(pid) => write!(f, "pid {pid}"),
            Self::OtherPidNamespace => f.write_str("a process in another PID namespace"),
            Self::OpenFileDescription => f.write_str("an open file description"),
        }
    }
}

pub(super) fn io_error(path: &Path, source: io::Error) -> KeyFileError {
    KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Turn an `open(2)` failure into the error that names its cause.
pub(super) fn classify(path: &Path, e: io::Error) -> KeyFileError {
    let path_buf = path.to_owned();
    match e.raw_os_error() {
        Some(libc::ELOOP) => KeyFileError::Symlink { path: path_buf },
        Some(libc::EISDIR) => KeyFileError::NotRegular {
            path: path_buf,
            kind: "directory",
        },
        Some(libc::ENXIO) => KeyFileError::NotRegular {
            path: path_buf,
            kind: "socket or device without a reader",
        },
        Some(libc::EACCES) | Some(libc::EPERM) => KeyFileError::PermissionDenied { path: path_buf },
        Some(libc::ENOTDIR) => match not_a_directory(path) {
            Some((component, kind)) => KeyFileError::NotADirectory {
                path: path_buf,
                component,
                kind,
            },
            None => io_error(path, e),
        },
        Some(libc::ENOENT) => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            match dir {
                Some(dir) if !dir.is_dir() => KeyFileError::MissingDirectory {
                    path: path_buf,
                    dir: dir.to_owned(),
                },
                _ => KeyFileError::Missing { path: path_buf },
            }
        }
        _ => io_error(path, e),
    }
}

/// The first component of `path` that exists but is not a directory, and
/// what it is (`/dev/shm/file` in `/dev/shm/file/key` or `/dev/shm/file/`).
/// Followed as path resolution follows it, through symbolic links.
fn not_a_directory(path: &Path) -> Option<(PathBuf, &'static str)> {
    let mut prefix = PathBuf::new();
    path.components().find_map(|component| {
        prefix.push(component);
        let meta = std::fs::metadata(&prefix).ok()?;
        (!meta.is_dir()).then(|| (prefix.clone(), file_kind(meta.mode())))
    })
}

pub(super) fn file_kind(mode: u32) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFREG => "regular file",
        libc::S_IFDIR => "directory",
        libc::S_IFIFO => "FIFO",
        libc::S_IFSOCK => "socket",
        libc::S_IFCHR => "character device",
        libc::S_IFBLK => "block device",
        libc::S_IFLNK => "symbolic link",
        _ => "special file",
    }
}
