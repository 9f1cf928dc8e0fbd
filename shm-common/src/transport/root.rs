//! Where an IPC namespace's file systems are seen from. The mqueue file
//! system and `/dev/shm` are mounts, found through a process's root
//! directory and mount table: this process's (`/`, `/proc/self/mounts`),
//! or those of a process of another namespace (`/proc/<pid>/root`,
//! `/proc/<pid>/mounts`), which a thread that entered only that IPC
//! namespace still reaches.

use std::path::PathBuf;

/// A root directory and the mount table that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    dir: PathBuf,
    mounts: PathBuf,
}

impl Root {
    /// This process's root and mounts.
    pub fn here() -> Self {
        Self {
            dir: PathBuf::from("/"),
            mounts: PathBuf::from("/proc/self/mounts"),
        }
    }

    /// The root and mounts of process `pid`, as this process reaches them.
    pub fn of_process(pid: u32) -> Self {
        Self {
            dir: PathBuf::from(format!("/proc/{pid}/root")),
            mounts: PathBuf::from(format!("/proc/{pid}/mounts")),
        }
    }

    /// The absolute path `at` (`/dev/mqueue`) seen under this root.
    pub fn path(&self, at: &str) -> PathBuf {
        self.dir.join(at.trim_start_matches('/'))
    }

    /// The type of the file system mounted at `at` (the last mount there,
    /// which hides the ones under it); `None` when nothing is mounted there
    /// or the mount table cannot be read.
    pub fn fs_type_at(&self, at: &str) -> Option<String> {
        let mounts = std::fs::read_to_string(&self.mounts).ok()?;
        fs_type_in(&mounts, at)
    }
}

fn fs_type_in(mounts: &str, at: &str) -> Option<String> {
    mounts.lines().rev().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_, point, fstype) = (fields.next(), fields.next()?, fields.next()?);
        (point == at).then(|| fstype.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn paths_and_mount_types() {
        assert_eq!(Root::here().path("/dev/mqueue"), Path::new("/dev/mqueue"));
        assert_eq!(
            Root::of_process(7).path("/dev/shm"),
            Path::new("/proc/7/root/dev/shm")
        );
        let mounts = "tmpfs /dev/shm tmpfs rw 0 0\nmqueue /dev/mqueue mqueue rw 0 0\nnone /dev/shm ramfs rw 0 0\n";
        assert_eq!(fs_type_in(mounts, "/dev/mqueue").as_deref(), Some("mqueue"));
        assert_eq!(fs_type_in(mounts, "/dev/shm").as_deref(), Some("ramfs"));
        assert_eq!(fs_type_in(mounts, "/run"), None);
        assert_eq!(Root::here().fs_type_at("/proc").as_deref(), Some("proc"));
    }
}
