//! POSIX shared memory objects: the files of a `/dev/shm` (`shm_open`
//! creates them there, `sem_open` too, as `sem.NAME`). They belong to that
//! mount, not to the IPC namespace: two containers sharing an IPC
//! namespace each have their own `/dev/shm` unless they share the mount.

use std::os::unix::fs::MetadataExt;

use super::root::Root;

/// Where POSIX shared memory objects live.
pub const SHM_DIR: &str = "/dev/shm";

/// One file of a `/dev/shm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShmFile {
    /// Its name in the directory (`shm_open`'s name without the `/`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Bytes of it in memory (tmpfs blocks).
    pub resident: u64,
    /// Owner's uid.
    pub uid: u32,
    /// Owner's gid.
    pub gid: u32,
    /// Permission bits.
    pub mode: u16,
    /// Unix seconds of its last change of content.
    pub mtime: i64,
    /// Device and inode, which a mapping in `/proc/<pid>/maps` names.
    pub dev: u64,
    /// See `dev`.
    pub ino: u64,
}

/// The regular files of `/dev/shm` under `root`, by name; the error when
/// the directory cannot be read (not there).
pub fn files(root: &Root) -> std::io::Result<Vec<ShmFile>> {
    let mut files = Vec::new();
    for dirent in std::fs::read_dir(root.path(SHM_DIR))? {
        let dirent = dirent?;
        let Ok(meta) = dirent.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        files.push(ShmFile {
            name: dirent.file_name().to_string_lossy().into_owned(),
            size: meta.size(),
            resident: meta.blocks() * 512,
            uid: meta.uid(),
            gid: meta.gid(),
            mode: (meta.mode() & 0o777) as u16,
            mtime: meta.mtime(),
            dev: meta.dev(),
            ino: meta.ino(),
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}
