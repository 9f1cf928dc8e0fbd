//! Exit statuses, shared by both tools so that scripts and healthchecks can
//! rely on one meaning per number ([`super::failure`] gives each error its
//! status).

/// Which tool a status is explained for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `shm_write`.
    Writer,
    /// `shm_read`.
    Reader,
}

impl Tool {
    /// The program's name, as installed.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Writer => "shm_write",
            Tool::Reader => "shm_read",
        }
    }

    /// The statuses the tool exits with: the one list its `--help` and
    /// its man page explain.
    pub fn statuses(self) -> &'static [Exit] {
        match self {
            Tool::Writer => &[
                Exit::Ok,
                Exit::Failure,
                Exit::Usage,
                Exit::Permission,
                Exit::BadSegment,
                Exit::Conflict,
                Exit::Interrupted,
                Exit::Output,
            ],
            Tool::Reader => &[
                Exit::Ok,
                Exit::Failure,
                Exit::Usage,
                Exit::NoWriter,
                Exit::Permission,
                Exit::BadSegment,
                Exit::Conflict,
                Exit::Interrupted,
                Exit::Output,
            ],
        }
    }
}

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

    /// What the status means from `tool` (the two tools give some
    /// statuses for different reasons).
    pub(super) fn meaning(self, tool: Tool) -> &'static str {
        match (self, tool) {
            (Exit::Ok, Tool::Writer) => "success: --count reached, the input ended with --exit-at-eof, a stream delivered, or stopped by SIGTERM/SIGINT/SIGHUP",
            (Exit::Ok, Tool::Reader) => "success: --count reached, --once read a live writer, a stream received whole, or stopped by SIGTERM/SIGINT/SIGHUP",
            (Exit::Failure, _) => "unexpected system error",
            (Exit::Usage, _) => "bad option, or unusable key file (directory, symlink, hard link, FIFO, foreign owner, missing directory)",
            (Exit::NoWriter, _) => "no live writer: --timeout ran out, or --once found none; with --inspect: no such segment",
            (Exit::Permission, Tool::Writer) => "permission denied on the segment",
            (Exit::Permission, Tool::Reader) => "permission denied on the segment; --list --all-namespaces: not root with CAP_SYS_ADMIN in the host's PID namespace",
            (Exit::BadSegment, Tool::Writer) => "--stream: the consumer's words in the segment make no sense (a corrupt segment)",
            (Exit::BadSegment, Tool::Reader) => "the segment holds nothing this tool can read (--once, --stream)",
            (Exit::Conflict, Tool::Writer) => "another live writer, a read lock on the key file, or an existing segment of another size, owner or kind",
            (Exit::Conflict, Tool::Reader) => "--stream: the stream already has a consumer",
            (Exit::Interrupted, Tool::Writer) => "--stream: the stream ended early (the consumer died or stopped, --timeout, or SIGTERM/SIGINT/SIGHUP); the segment is removed; --mqueue: SIGTERM/SIGINT/SIGHUP before the end of input",
            (Exit::Interrupted, Tool::Reader) => "--stream: the stream ended early (the producer died or stopped, or SIGTERM/SIGINT/SIGHUP); the bytes written out are exact; --mqueue: SIGTERM/SIGINT/SIGHUP before the end marker",
            (Exit::Output, Tool::Writer) => "cannot write to stderr (the disk is full, or its pipe has closed); the segment is still removed",
            (Exit::Output, Tool::Reader) => "cannot write to stdout or stderr (the disk is full, or stderr's pipe has closed); a closed stdout pipe is a normal end (0)",
        }
    }

    /// The "Exit status" section of `tool`'s `--help`, for the statuses it
    /// uses.
    pub fn help(tool: Tool) -> String {
        let mut text = String::from("Exit status:\n");
        for exit in tool.statuses() {
            text += &format!("  {}  {}\n", exit.code(), exit.meaning(tool));
        }
        text
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}
