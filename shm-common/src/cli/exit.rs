//! Exit statuses, shared by both tools so that scripts and healthchecks can
//! rely on one meaning per number, and the one place that maps errors to them.

use crate::session::claim::ClaimError;
use crate::session::find::FindError;
use crate::transport::key_file::KeyFileError;
use crate::transport::segment::{CreateError, OpenError};

/// Why a tool exits.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Finished as asked: `--count` reached, `--once` read a live writer, or
    /// a stop signal (SIGTERM, SIGINT, SIGHUP) ended it cleanly.
    Ok,
    /// An unexpected system error.
    Failure,
    /// Bad command line or unusable key file (directory, symlink, hard link, FIFO, ...).
    Usage,
    /// No live writer: `--timeout` ran out, or `--once` found none.
    NoWriter,
    /// Permission denied on the segment.
    Permission,
    /// The segment holds something that is not a readable time.
    BadSegment,
    /// Another writer, or an existing segment that does not fit, is in the way.
    Conflict,
    /// A stream ended early: the other side died or stopped, or a signal.
    Interrupted,
    /// Stdout or stderr cannot be written (a closed pipe, a full disk): what
    /// was printed is incomplete. A writer still removes its segment.
    Output,
}

/// What ends a run early: the status and the sentence to print.
pub type Failure = (Exit, String);

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::NoWriter => 3,
            Exit::Permission => 4,
            Exit::BadSegment => 5,
            Exit::Conflict => 6,
            Exit::Interrupted => 7,
            Exit::Output => 8,
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "success: --count reached, --once read a live writer, or stopped by SIGTERM/SIGINT/SIGHUP",
            Exit::Failure => "unexpected system error",
            Exit::Usage => "bad option, or unusable key file (directory, symlink, hard link, FIFO, foreign owner, missing directory)",
            Exit::NoWriter => "no live writer: --timeout ran out, or --once found none",
            Exit::Permission => "permission denied on the segment",
            Exit::BadSegment => "the segment holds no readable time (--once)",
            Exit::Conflict => "another live writer (or stream consumer), a read lock on the key file, or an existing segment of another size or owner",
            Exit::Interrupted => "--stream: the stream ended early (the other side died or stopped, or SIGTERM/SIGINT/SIGHUP); the bytes that did pass are exact",
            Exit::Output => "cannot write to stdout or stderr (the pipe's reader has gone, or the disk is full); a writer still removes its segment",
        }
    }

    /// The "Exit status" section of `--help` for the statuses a tool uses.
    pub fn help(used: &[Exit]) -> String {
        let mut text = String::from("Exit status:\n");
        for exit in used {
            text += &format!("  {}  {}\n", exit.code(), exit.meaning());
        }
        text
    }

    /// The status for a key-file error.
    pub fn of_key_file(e: &KeyFileError) -> Exit {
        match e {
            KeyFileError::Locked { .. } | KeyFileError::ReadLocked { .. } => Exit::Conflict,
            KeyFileError::Io { .. } => Exit::Failure,
            _ => Exit::Usage,
        }
    }

    /// The status for a segment that cannot be opened.
    pub fn of_open(e: &OpenError) -> Exit {
        match e {
            OpenError::PermissionDenied { .. } => Exit::Permission,
            _ => Exit::Failure,
        }
    }

    /// The status for a key a writer cannot claim.
    pub fn of_claim(e: &ClaimError) -> Exit {
        match e {
            ClaimError::KeyFile(e) => Exit::of_key_file(e),
            ClaimError::Open(e) | ClaimError::Create(CreateError::Open(e)) => Exit::of_open(e),
            ClaimError::Create(CreateError::Create { .. }) => Exit::Failure,
            ClaimError::Create(CreateError::ModeDeniesOwner { .. }) => Exit::Usage,
            ClaimError::SizeMismatch { .. }
            | ClaimError::ForeignOwner { .. }
            | ClaimError::Busy { .. }
            | ClaimError::Refused { .. } => Exit::Conflict,
        }
    }

    /// The status for a reader that cannot go on.
    pub fn of_find(e: &FindError) -> Exit {
        match e {
            FindError::KeyFile(e) => Exit::of_key_file(e),
            FindError::Segment(e) => Exit::of_open(e),
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}
