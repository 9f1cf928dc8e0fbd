//! The key file: the file whose inode gives the System V key
//! ([`super::key`]).
//!
//! The writer keeps its key file across restarts (the C original deletes and
//! re-creates it, which gives a new inode, a new key and a leaked segment on
//! every restart) and keeps a short text in it (the session's beacon) so
//! that a reader can explain what it sees; this module only stores the
//! bytes. Key files live in `/dev/shm`, a world-writable
//! directory, so they are opened without following symlinks and anything but
//! a regular file of our own is refused. A reader needs only the inode
//! (`O_PATH`), so it finds the key even in a file it may not read.

mod error;

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg};
use nix::libc;

use self::error::{classify, file_kind, io_error};
pub use self::error::{KeyFileError, LockHolder};
use super::key::Key;

/// How much of a key file's content [`KeyFile::read_content`] reads.
pub const CONTENT_LIMIT: u64 = 4096;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
