//! The key file and the System V key derived from it with `ftok`.
//!
//! The writer keeps its key file across restarts (the C original deletes and
//! re-creates it, which gives a new inode, a new key and a leaked segment on
//! every restart) and keeps a short text in it (the session's beacon) so
//! that a reader can explain what it sees; this module only stores the
//! bytes. Key files live in `/dev/shm`, a world-writable
//! directory, so they are opened without following symlinks and anything but
//! a regular file of our own is refused. A reader needs only the inode
//! (`O_PATH`), so it finds the key even in a file it may not read.

use std::fmt;
use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};
use nix::libc;

/// The key file both originals use.
pub const DEFAULT_KEY_FILE: &str = "/dev/shm/shm_file";
/// The project id both originals pass to `ftok`.
pub const DEFAULT_PROJ_ID: u8 = 8;
/// How much of a key file's content [`KeyFile::read_content`] reads.
pub const CONTENT_LIMIT: u64 = 4096;

/// A System V IPC key, shown as `0x%08x` exactly as `ipcs -m` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub libc::key_t);

impl Key {
    /// The key `ftok(3)` returns for a file with this `st_dev` and `st_ino`:
    /// glibc's formula, computed from the already opened file so that the
    /// key belongs to the file we checked, not to whatever the path names a
    /// moment later.
    ///
    /// ```
    /// use shm_common::transport::key::Key;
    /// let key = Key::from_file_ids(0x2d, 0x1_2345, 8);
    /// assert_eq!(key.to_string(), "0x082d2345");
    /// ```
    pub fn from_file_ids(dev: u64, ino: u64, proj_id: u8) -> Self {
        let raw = (ino & 0xffff) as u32 | ((dev & 0xff) as u32) << 16 | u32::from(proj_id) << 24;
        Key(raw as libc::key_t)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08x}", self.0 as u32)
    }
}

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
    fn from_l_pid(l_pid: libc::pid_t) -> Self {
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

/// An `fcntl` lock request on the whole file.
fn whole_file(l_type: libc::c_int) -> libc::flock {
    libc::flock {
        l_type: l_type as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    }
}

/// An open key file and the key derived from it.
#[derive(Debug)]
pub struct KeyFile {
    /// Read-write for the writer; an `O_PATH` descriptor for a reader.
    file: File,
    path: PathBuf,
    key: Key,
    /// The inode's identity, to tell whether the path still names it.
    dev: u64,
    ino: u64,
    /// This process created the file (so it may remove it on a failed start).
    created: bool,
}

impl KeyFile {
    /// The writer's side: open the key file, creating it when absent, and
    /// take a write lock on it for as long as `self` lives (the kernel drops
    /// the lock when the process dies, even by SIGKILL).
    pub fn open_for_writer(path: &Path, proj_id: u8) -> Result<Self, KeyFileError> {
        let open = |create: bool| {
            let mut options = OpenOptions::new();
            options
                .read(true)
                .write(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
            if create {
                // Private until the claim sets the mode --mode implies.
                options.create_new(true).mode(0o600);
            }
            options.open(path)
        };
        let (file, created) = loop {
            match open(false) {
                Ok(file) => break (file, false),
                Err(e) if e.kind() == io::ErrorKind::NotFound => match open(true) {
                    Ok(file) => break (file, true),
                    // Lost a race with another creator: open what it made.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(classify(path, e)),
                },
                Err(e) => return Err(classify(path, e)),
            }
        };
        let mut key_file = Self::checked(file, path, proj_id)?;
        key_file.created = created;
        match key_file.lock_for_writer() {
            Ok(()) => Ok(key_file),
            // A file another writer holds is that writer's, even if we made it.
            Err(e @ KeyFileError::Locked { .. }) => Err(e),
            Err(e) => {
                key_file.remove_if_created();
                Err(e)
            }
        }
    }

    /// Check that the file is the writer's own with a single name, and lock it.
    fn lock_for_writer(&self) -> Result<(), KeyFileError> {
        let path = &self.path;
        let euid = nix::unistd::geteuid().as_raw();
        let meta = self.file.metadata().map_err(|e| io_error(path, e))?;
        if meta.uid() != euid {
            return Err(KeyFileError::ForeignOwner {
                path: path.to_owned(),
                owner: meta.uid(),
                euid,
            });
        }
        // Another name may belong to a file someone else may write and could
        // link here (protected_hardlinks allows that): never write into it.
        if meta.nlink() > 1 {
            return Err(KeyFileError::HardLinked {
                path: path.to_owned(),
                links: meta.nlink(),
            });
        }
        // An open-file-description write lock, not flock(2): a write lock
        // needs a writable descriptor, so a user who may only read the file
        // cannot take it, nor hold it against writers with a shared flock.
        // A POSIX read lock still conflicts with it: on a refusal, ask the
        // kernel which lock is in the way.
        loop {
            match fcntl(
                &self.file,
                FcntlArg::F_OFD_SETLK(&whole_file(libc::F_WRLCK)),
            ) {
                Ok(_) => return Ok(()),
                Err(Errno::EAGAIN | Errno::EACCES) => {}
                Err(e) => return Err(io_error(path, e.into())),
            }
            let mut held = whole_file(libc::F_WRLCK);
            fcntl(&self.file, FcntlArg::F_OFD_GETLK(&mut held))
                .map_err(|e| io_error(path, e.into()))?;
            let error = match libc::c_int::from(held.l_type) {
                // Released between the two calls: try again.
                libc::F_UNLCK => continue,
                libc::F_RDLCK => KeyFileError::ReadLocked {
                    path: path.to_owned(),
                    holder: LockHolder::from_l_pid(held.l_pid),
                },
                _ => KeyFileError::Locked {
                    path: path.to_owned(),
                    pid: None,
                },
            };
            return Err(error);
        }
    }

    /// The reader's side: open an existing key file with `O_PATH`, which
    /// needs no read permission on it: `ftok` needs only the inode, and a
    /// reader of another uid may not be allowed to read the file. Never
    /// creates.
    pub fn open_for_reader(path: &Path, proj_id: u8) -> Result<Self, KeyFileError> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| classify(path, e))?;
        Self::checked(file, path, proj_id)
    }

    fn checked(file: File, path: &Path, proj_id: u8) -> Result<Self, KeyFileError> {
        let meta = file.metadata().map_err(|e| io_error(path, e))?;
        match file_kind(meta.mode()) {
            "regular file" => {}
            // O_PATH | O_NOFOLLOW opens the link itself instead of failing.
            "symbolic link" => {
                return Err(KeyFileError::Symlink {
                    path: path.to_owned(),
                })
            }
            kind => {
                return Err(KeyFileError::NotRegular {
                    path: path.to_owned(),
                    kind,
                })
            }
        }
        let key = Key::from_file_ids(meta.dev(), meta.ino(), proj_id);
        Ok(Self {
            file,
            path: path.to_owned(),
            key,
            dev: meta.dev(),
            ino: meta.ino(),
            created: false,
        })
    }

    /// Set the file's permission bits (the writer's side, which owns it),
    /// with `fchmod` so that the umask has no say.
    pub fn set_mode(&self, mode: u32) -> Result<(), KeyFileError> {
        let meta = self.file.metadata().map_err(|e| io_error(&self.path, e))?;
        if meta.mode() & 0o7777 == mode {
            return Ok(());
        }
        self.file
            .set_permissions(Permissions::from_mode(mode))
            .map_err(|e| io_error(&self.path, e))
    }

    /// Undo the creation of the file after a failed start, as long as the
    /// path still names the file this process made.
    pub fn remove_if_created(&self) {
        let still_ours = || {
            std::fs::symlink_metadata(&self.path)
                .is_ok_and(|meta| (meta.dev(), meta.ino()) == (self.dev, self.ino))
        };
        if self.created && still_ours() {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// The key `ftok(path, proj_id)` gives for this file.
    pub fn key(&self) -> Key {
        self.key
    }

    /// The path the file was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's content, at most its first [`CONTENT_LIMIT`] bytes:
    /// `Ok(None)` when the path no longer names the inode the key came from,
    /// `PermissionDenied` when this user may not read it. The path is opened
    /// again for reading (a reader holds only an `O_PATH` descriptor).
    pub fn read_content(&self) -> Result<Option<Vec<u8>>, KeyFileError> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&self.path)
            .map_err(|e| classify(&self.path, e))?;
        let meta = file.metadata().map_err(|e| io_error(&self.path, e))?;
        if (meta.dev(), meta.ino()) != (self.dev, self.ino) {
            return Ok(None);
        }
        let mut content = Vec::new();
        file.take(CONTENT_LIMIT)
            .read_to_end(&mut content)
            .map_err(|e| io_error(&self.path, e))?;
        Ok(Some(content))
    }

    /// Replace the file's content (the writer's side; the inode, and so the
    /// key, stays the same).
    pub fn write_content(&self, content: &[u8]) -> Result<(), KeyFileError> {
        let mut file = &self.file;
        file.set_len(0)
            .and_then(|()| file.seek(io::SeekFrom::Start(0)))
            .and_then(|_| file.write_all(content))
            .map_err(|e| io_error(&self.path, e))
    }
}

fn io_error(path: &Path, source: io::Error) -> KeyFileError {
    KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Turn an `open(2)` failure into the error that names its cause.
fn classify(path: &Path, e: io::Error) -> KeyFileError {
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

fn file_kind(mode: u32) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_ipcs() {
        assert_eq!(Key(0x0801_2345).to_string(), "0x08012345");
        assert_eq!(Key(-1).to_string(), "0xffffffff");
    }

    /// A writer kept out learns what holds the lock: another writer, a
    /// process's POSIX read lock (which conflicts with ours even in the same
    /// process), or an open-file-description read lock.
    #[test]
    fn a_refused_lock_names_what_is_in_the_way() {
        let dir = std::env::temp_dir().join(format!("shm-lock-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        let refusal = || KeyFile::open_for_writer(&path, 8).unwrap_err();
        let read_locked =
            |holder| matches!(refusal(), KeyFileError::ReadLocked { holder: h, .. } if h == holder);

        let writer = KeyFile::open_for_writer(&path, 8).unwrap();
        assert!(matches!(refusal(), KeyFileError::Locked { .. }));
        drop(writer);

        let reader = File::open(&path).unwrap();
        let rdlck = whole_file(libc::F_RDLCK);
        fcntl(&reader, FcntlArg::F_OFD_SETLK(&rdlck)).unwrap();
        assert!(read_locked(LockHolder::OpenFileDescription));
        drop(reader);

        let reader = File::open(&path).unwrap();
        fcntl(&reader, FcntlArg::F_SETLK(&rdlck)).unwrap();
        // The refusal closes its descriptor, which drops this process's
        // POSIX locks on the file.
        assert!(read_locked(LockHolder::Process(std::process::id())));
        drop(KeyFile::open_for_writer(&path, 8).unwrap());

        assert_eq!(LockHolder::from_l_pid(0), LockHolder::OtherPidNamespace);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn matches_glibc_ftok() {
        let dir = std::env::temp_dir().join(format!("shm-key-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, b"").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        for proj in [1u8, 8, 255] {
            let ours = Key::from_file_ids(meta.dev(), meta.ino(), proj);
            assert_eq!(
                ours.0,
                crate::transport::sys::ftok(&c_path, proj).unwrap(),
                "proj {proj}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
