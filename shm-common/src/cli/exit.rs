//! Exit statuses, shared by both tools so that scripts and healthchecks can
//! rely on one meaning per number ([`super::failure`] gives each error its
//! status).

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
    /// Stdout or stderr cannot be written (a full disk, a closed stderr
    /// pipe): what was printed is incomplete. A writer still removes its
    /// segment. A closed stdout pipe is the end of a pipeline, not this.
    Output,
}

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
            Exit::Output => "cannot write to stdout or stderr (the disk is full, or stderr's pipe has closed); a writer still removes its segment",
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
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}
