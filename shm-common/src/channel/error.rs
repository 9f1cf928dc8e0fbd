//! What can go wrong on a channel. Unlike the layers below, whose errors
//! are terse and technical, each [`Error`] here reads as one sentence with
//! its fix, since a program (or a C or Python caller, through
//! `shm_last_error`) shows it to a person as it is; the fixes name the
//! facade's parameters, not the command-line flags.

use std::path::PathBuf;

use crate::session::claim::ClaimError;
use crate::session::find::{Absence, FindError};
use crate::transport::key_file::KeyFileError;

/// The result of every channel call.
pub type Result<T> = std::result::Result<T, Error>;

/// Why a channel call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No live writer answers on the key: none was started, it stopped,
    /// or it runs in another IPC namespace.
    #[error("no live writer for {key_file} ({reason}): start a writer on this key_file and proj_id in this IPC namespace (a container sharing it with --ipc), then open again", key_file = key_file.display())]
    NoWriter {
        /// The key file looked at.
        key_file: PathBuf,
        /// What was seen instead.
        reason: String,
    },
    /// The key cannot be claimed by this writer.
    #[error("cannot claim {key_file}: {reason}: {fix}", key_file = key_file.display())]
    Claim {
        /// The key file.
        key_file: PathBuf,
        /// Why, as the session layer says it.
        reason: String,
        /// What to do about it.
        fix: String,
    },
    /// The key leads to something this side cannot read or take part in.
    #[error("{key_file} leads to a segment this channel cannot use: {reason}: point key_file and proj_id at a writer of this kind", key_file = key_file.display())]
    Unusable {
        /// The key file.
        key_file: PathBuf,
        /// What is wrong with the segment.
        reason: String,
    },
    /// The stream ended before its producer's clean end, or the consumer
    /// went away before it had everything.
    #[error("the stream broke: {0}: open a new stream and send it again")]
    BrokenStream(String),
    /// The caller's buffer is smaller than the value.
    #[error("the value has {needed} bytes, more than the buffer holds: pass a buffer of at least {needed} bytes")]
    TooSmall {
        /// The bytes the buffer must hold.
        needed: usize,
    },
    /// The value does not fit the segment.
    #[error("a value of {len} bytes does not fit the {capacity} bytes this segment holds: open the writer with a size of at least {size} bytes")]
    TooLarge {
        /// The value's length.
        len: usize,
        /// What the segment holds.
        capacity: usize,
        /// The smallest segment size that holds it.
        size: usize,
    },
    /// Nothing happened within the timeout given.
    #[error("nothing arrived within the timeout: call again, or give a longer timeout")]
    TimedOut,
    /// The channel was closed (or failed before) and cannot be used.
    #[error("the channel is closed: open a new one")]
    Closed,
    /// An argument is out of range.
    #[error("{0}")]
    InvalidArgument(String),
    /// A system call failed where nothing of the caller's could fix it.
    #[error("{what} failed: {source}: check the system's shared memory limits and try again")]
    System {
        /// What was being done.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

impl Error {
    /// A system failure while doing `what`.
    pub(crate) fn system(what: &'static str, source: impl Into<std::io::Error>) -> Self {
        Error::System {
            what,
            source: source.into(),
        }
    }

    /// No live writer: `reason` says what was seen.
    pub(crate) fn no_writer(key_file: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::NoWriter {
            key_file: key_file.into(),
            reason: reason.into(),
        }
    }

    /// A segment that is not of the kind asked for, or not readable.
    pub(crate) fn unusable(key_file: impl Into<PathBuf>, reason: impl ToString) -> Self {
        Error::Unusable {
            key_file: key_file.into(),
            reason: reason.to_string(),
        }
    }

    /// Why a claim failed, with the fix for a program.
    pub(crate) fn claim(key_file: impl Into<PathBuf>, e: &ClaimError) -> Self {
        let fix = match e {
            ClaimError::KeyFile(KeyFileError::Locked { pid, .. }) => format!(
                "another writer{} holds it: stop that writer, or use another key_file or proj_id",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
            ),
            ClaimError::KeyFile(_) => {
                "use a key_file in a directory this user may write".to_string()
            }
            ClaimError::Busy { .. } => {
                "stop that writer, or use another key_file or proj_id".to_string()
            }
            ClaimError::SizeMismatch { size, id, .. } => format!(
                "open with size {size}, or remove the old segment (ipcrm -m {id}) once nothing uses it"
            ),
            ClaimError::ForeignOwner { owner, .. } => {
                format!("run as uid {owner}, or use another key_file or proj_id")
            }
            ClaimError::Refused { .. } => "use another key_file or proj_id".to_string(),
            ClaimError::Create(_) | ClaimError::Open(_) => {
                "use a smaller size, or raise the namespace's shared memory limits (kernel.shmmax, kernel.shmall)".to_string()
            }
        };
        Error::Claim {
            key_file: key_file.into(),
            reason: e.to_string(),
            fix,
        }
    }

    /// Why finding a key's segment failed.
    pub(crate) fn find(key_file: impl Into<PathBuf>, e: &FindError) -> Self {
        Error::unusable(key_file, e)
    }
}

/// What an absence means, in the words of [`Error::NoWriter`]'s reason.
pub(crate) fn absence(why: &Absence) -> String {
    match why {
        Absence::NoKeyFile => "the key file does not exist".into(),
        Absence::NoBeacon => "no segment answers its key".into(),
        Absence::BeaconUnreadable => {
            "no segment answers its key, and the key file is not readable by this user".into()
        }
        Absence::OtherNamespace(b) => format!(
            "its writer (pid {}) runs in another IPC namespace, {}",
            b.pid, b.ipc_ns
        ),
        Absence::WriterStopped(b) => format!("its writer (pid {}) stopped", b.pid),
        Absence::WriterFailed(b) => format!("its writer (pid {}) stopped on an error", b.pid),
        Absence::WriterGone(b) => {
            format!("its writer (pid {}) is gone and its segment with it", b.pid)
        }
    }
}
