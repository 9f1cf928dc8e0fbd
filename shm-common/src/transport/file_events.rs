//! Changes to one file, as events a sleep can wait on: an inotify watch
//! on the file's directory that reports only events naming the file
//! (created, written, moved in, attributes changed). A reader waiting for
//! a writer sleeps on it instead of polling: a writer creates its key
//! file, then its segment, then writes its beacon into the key file, so
//! every step that can end the wait makes an event.
//!
//! Best effort: where inotify is unavailable (no instance left, a
//! filesystem without it) there is no watch and the caller's bounded
//! sleeps are all there is.

use std::ffi::OsString;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

/// A watch on one file's directory, filtered to that file's name.
#[derive(Debug)]
pub struct FileWatch {
    inotify: Inotify,
    name: OsString,
}

impl FileWatch {
    /// Watch `path` (which need not exist yet; its directory must).
    pub fn new(path: &Path) -> Result<Self, Errno> {
        let name = path.file_name().ok_or(Errno::EINVAL)?.to_owned();
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        inotify.add_watch(
            dir,
            AddWatchFlags::IN_CREATE
                | AddWatchFlags::IN_MODIFY
                | AddWatchFlags::IN_CLOSE_WRITE
                | AddWatchFlags::IN_MOVED_TO
                | AddWatchFlags::IN_ATTRIB,
        )?;
        Ok(Self { inotify, name })
    }

    /// The descriptor to wait on: readable once an event is queued.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.inotify.as_fd()
    }

    /// Take every queued event; whether one named the file (or the queue
    /// overflowed, which may have lost one).
    pub fn changed(&self) -> bool {
        let mut changed = false;
        loop {
            match self.inotify.read_events() {
                Ok(events) if !events.is_empty() => {
                    changed |= events.iter().any(|e| {
                        e.mask.contains(AddWatchFlags::IN_Q_OVERFLOW)
                            || e.name.as_deref() == Some(self.name.as_os_str())
                    });
                }
                Err(Errno::EINTR) => {}
                _ => return changed,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_events_naming_the_file_count() {
        let dir = std::env::temp_dir().join(format!("shm-watch-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let watch = FileWatch::new(&dir.join("key")).unwrap();
        assert!(!watch.changed());
        std::fs::write(dir.join("other"), b"x").unwrap();
        assert!(!watch.changed());
        std::fs::write(dir.join("key"), b"beacon").unwrap();
        assert!(watch.changed());
        assert!(!watch.changed());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
