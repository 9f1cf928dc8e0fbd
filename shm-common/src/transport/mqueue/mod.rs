//! POSIX message queues (`mq_overview(7)`): isolated by the IPC namespace
//! like a segment, but named (`/NAME`) rather than keyed, and with no
//! content of ours to describe. A [`Queue`] handle closes its descriptor on
//! drop and unlinks only a queue it created (as a segment handle removes
//! only a segment it owns); [`table()`] lists the queues of this namespace
//! from the mqueue filesystem (the private `table` module).
//!
//! Every queue is opened non-blocking: a wait is a `ppoll` on its
//! descriptor (Linux's `mqd_t` is one) beside the stop signals'
//! descriptor, so waits are bounded and a stop signal ends one at once.

use std::ffi::CString;
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mqueue::{self, MQ_OFlag, MqAttr, MqdT};
use nix::sys::stat::Mode;

mod table;
pub use table::{entry, mounted, owner, table, table_in, Notify, Owner, QueueEntry, TableError};

/// Where the mqueue filesystem is mounted by convention.
pub const MOUNT: &str = "/dev/mqueue";

/// The longest name after its `/` (`NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// The attributes Docker in Action's program creates its queue with: at
/// most 10 messages of 1024 bytes.
pub const BOOK_MAXMSG: i64 = 10;
/// See [`BOOK_MAXMSG`].
pub const BOOK_MSGSIZE: i64 = 1024;

/// A valid queue name: `/` then 1..=[`NAME_MAX`] bytes, none of them `/`
/// or NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueName(String);

/// Why a text is not a queue name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// It does not start with `/`.
    #[error("queue name {0:?} does not start with /")]
    NoSlash(String),
    /// Nothing after the `/`.
    #[error("queue name is empty")]
    Empty,
    /// More than [`NAME_MAX`] bytes after the `/`.
    #[error("queue name is {0} bytes long")]
    TooLong(usize),
    /// A `/` or NUL after the first.
    #[error("queue name {0:?} holds a / or NUL after the first /")]
    Inner(String),
}

impl QueueName {
    /// Check `text` as a queue name.
    pub fn parse(text: &str) -> Result<Self, NameError> {
        let rest = text
            .strip_prefix('/')
            .ok_or_else(|| NameError::NoSlash(text.to_owned()))?;
        if rest.is_empty() {
            return Err(NameError::Empty);
        }
        if rest.len() > NAME_MAX {
            return Err(NameError::TooLong(rest.len()));
        }
        if rest.contains(['/', '\0']) {
            return Err(NameError::Inner(text.to_owned()));
        }
        Ok(Self(text.to_owned()))
    }

    /// The name with its leading `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The queue's file in the mqueue filesystem, if mounted.
    pub fn path(&self) -> PathBuf {
        Path::new(MOUNT).join(&self.0[1..])
    }

    fn c_name(&self) -> CString {
        CString::new(self.0.as_bytes()).expect("checked: no NUL")
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// This IPC namespace's queue limits for unprivileged creators: most
/// messages and largest message (`/proc/sys/fs/mqueue/msg_max`,
/// `msgsize_max`).
pub fn limits() -> Option<(i64, i64)> {
    let read = |name: &str| -> Option<i64> {
        std::fs::read_to_string(format!("/proc/sys/fs/mqueue/{name}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some((read("msg_max")?, read("msgsize_max")?))
}

/// Why a queue cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No queue by that name in this IPC namespace.
    #[error("queue {name}: no such queue")]
    NotFound {
        /// The queue.
        name: QueueName,
    },
    /// The queue's mode shuts this user out.
    #[error("queue {name}: permission denied")]
    PermissionDenied {
        /// The queue.
        name: QueueName,
        /// Its owner and mode, when the mqueue filesystem is mounted.
        owner: Option<Owner>,
        /// This process's effective uid.
        euid: u32,
    },
    /// The attributes asked for are over this namespace's limits
    /// (`/proc/sys/fs/mqueue/msg_max`, `msgsize_max`).
    #[error("queue {name}: {maxmsg} messages of {msgsize} bytes: {source}")]
    Limits {
        /// The queue.
        name: QueueName,
        /// Messages asked for.
        maxmsg: i64,
        /// Message size asked for.
        msgsize: i64,
        /// `EINVAL`, or `EMFILE`/`ENOMEM`/`ENOSPC`.
        source: Errno,
    },
    /// Any other failure.
    #[error("queue {name}: {source}")]
    Other {
        /// The queue.
        name: QueueName,
        /// The error.
        source: Errno,
    },
}

/// A queue's attributes (`mq_getattr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes {
    /// `O_NONBLOCK` or 0 (ours are always opened non-blocking).
    pub flags: i64,
    /// Most messages it holds.
    pub maxmsg: i64,
    /// Largest message, in bytes.
    pub msgsize: i64,
    /// Messages in it now.
    pub curmsgs: i64,
}

impl From<MqAttr> for Attributes {
    // `c_long` is `i64` here, but not on every target.
    #[allow(clippy::useless_conversion)]
    fn from(a: MqAttr) -> Self {
        Self {
            flags: i64::from(a.flags()),
            maxmsg: i64::from(a.maxmsg()),
            msgsize: i64::from(a.msgsize()),
            curmsgs: i64::from(a.curmsgs()),
        }
    }
}

/// Which way a queue is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// To receive.
    Receive,
    /// To send.
    Send,
}

/// An open queue: closed on drop, and unlinked then if this handle created it.
#[derive(Debug)]
pub struct Queue {
    name: QueueName,
    fd: Option<MqdT>,
    created: bool,
}

impl Queue {
    /// Open an existing queue.
    pub fn open(name: &QueueName, direction: Direction) -> Result<Self, OpenError> {
        let flags = match direction {
            Direction::Receive => MQ_OFlag::O_RDONLY,
            Direction::Send => MQ_OFlag::O_WRONLY,
        } | MQ_OFlag::O_NONBLOCK
            | MQ_OFlag::O_CLOEXEC;
        mqueue::mq_open(name.c_name().as_c_str(), flags, Mode::empty(), None)
            .map(|fd| Self {
                name: name.clone(),
                fd: Some(fd),
                created: false,
            })
            .map_err(|e| open_error(name, e, 0, 0))
    }

    /// Open `name` to send, creating it with `maxmsg` messages of `msgsize`
    /// bytes and permission `mode` when there is none.
    pub fn open_or_create(
        name: &QueueName,
        mode: u16,
        maxmsg: i64,
        msgsize: i64,
    ) -> Result<Self, OpenError> {
        let attr = MqAttr::new(0, maxmsg as _, msgsize as _, 0);
        let flags = MQ_OFlag::O_WRONLY | MQ_OFlag::O_NONBLOCK | MQ_OFlag::O_CLOEXEC;
        loop {
            let created = mqueue::mq_open(
                name.c_name().as_c_str(),
                flags | MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL,
                Mode::from_bits_truncate(mode.into()),
                Some(&attr),
            );
            match created {
                Ok(fd) => {
                    let queue = Self {
                        name: name.clone(),
                        fd: Some(fd),
                        created: true,
                    };
                    // The umask may have narrowed the mode: set it as asked,
                    // when the mqueue filesystem is there to set it on.
                    let _ = fchmod(&queue, mode);
                    return Ok(queue);
                }
                Err(Errno::EEXIST) => match Self::open(name, Direction::Send) {
                    // Unlinked in between: create it again.
                    Err(OpenError::NotFound { .. }) => continue,
                    other => return other,
                },
                Err(e) => return Err(open_error(name, e, maxmsg, msgsize)),
            }
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &QueueName {
        &self.name
    }

    /// Whether this handle created the queue (and so unlinks it on drop).
    pub fn created(&self) -> bool {
        self.created
    }

    fn fd(&self) -> &MqdT {
        self.fd.as_ref().expect("open until dropped")
    }

    /// Its attributes now.
    pub fn attributes(&self) -> Result<Attributes, Errno> {
        mqueue::mq_getattr(self.fd()).map(Attributes::from)
    }

    /// Take the oldest message of the highest priority into `buf` (at least
    /// the queue's message size): its length and priority, or `None` when
    /// the queue is empty.
    pub fn receive(&self, buf: &mut [u8]) -> Result<Option<(usize, u32)>, Errno> {
        let mut priority = 0;
        match mqueue::mq_receive(self.fd(), buf, &mut priority) {
            Ok(len) => Ok(Some((len, priority))),
            Err(Errno::EAGAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Send `message` with `priority`; `false` when the queue is full.
    pub fn send(&self, message: &[u8], priority: u32) -> Result<bool, Errno> {
        match mqueue::mq_send(self.fd(), message, priority) {
            Ok(()) => Ok(true),
            Err(Errno::EAGAIN) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Unlink the queue now if this handle created it (the drop does it
    /// otherwise): the name goes, open descriptors keep the queue.
    pub fn finish(mut self) -> Result<(), Errno> {
        let created = std::mem::replace(&mut self.created, false);
        if let Some(fd) = self.fd.take() {
            mqueue::mq_close(fd)?;
        }
        if created {
            mqueue::mq_unlink(self.name.c_name().as_c_str())?;
        }
        Ok(())
    }
}

impl AsFd for Queue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd().as_fd()
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            let _ = mqueue::mq_close(fd);
        }
        if self.created {
            let _ = mqueue::mq_unlink(self.name.c_name().as_c_str());
        }
    }
}

fn fchmod(queue: &Queue, mode: u16) -> Result<(), Errno> {
    nix::sys::stat::fchmod(queue.as_fd(), Mode::from_bits_truncate(mode.into()))
}

fn open_error(name: &QueueName, e: Errno, maxmsg: i64, msgsize: i64) -> OpenError {
    let name = name.clone();
    match e {
        Errno::ENOENT => OpenError::NotFound { name },
        Errno::EACCES | Errno::EPERM => OpenError::PermissionDenied {
            owner: owner(&name),
            name,
            euid: nix::unistd::geteuid().as_raw(),
        },
        Errno::EINVAL | Errno::ENOSPC | Errno::ENOMEM | Errno::EMFILE if msgsize > 0 => {
            OpenError::Limits {
                name,
                maxmsg,
                msgsize,
                source: e,
            }
        }
        source => OpenError::Other { name, source },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(QueueName::parse("/ch6_ipc").is_ok());
        assert_eq!(
            QueueName::parse("ch6_ipc"),
            Err(NameError::NoSlash("ch6_ipc".into()))
        );
        assert_eq!(QueueName::parse("/"), Err(NameError::Empty));
        assert!(matches!(QueueName::parse("/a/b"), Err(NameError::Inner(_))));
        assert!(QueueName::parse(&format!("/{}", "a".repeat(255))).is_ok());
        assert_eq!(
            QueueName::parse(&format!("/{}", "a".repeat(256))),
            Err(NameError::TooLong(256))
        );
        assert_eq!(
            QueueName::parse("/ch6_ipc").unwrap().path(),
            Path::new("/dev/mqueue/ch6_ipc")
        );
    }
}
