//! `shm_write`'s command line.

use std::time::Duration;

use clap::Parser;
use shm_common::cli::flags::{parse_duration, parse_mode, parse_queue_name, parse_size, KeyArgs};
use shm_common::protocol::mqueue::END;
use shm_common::transport::mqueue::QueueName;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "shm_write",
    version,
    about = "Publish the current Unix time, or any value, into a System V shared-memory segment",
    long_about = "Publish the current Unix time (or, with --value or --stdin, any value) into a \
        System V shared-memory segment.\n\n\
        Bytes 0..128 hold the text the classic C shm_write writes (the time, or the value's first \
        127 bytes), so C readers keep working; a seqlock-protected header follows for shm_read. \
        The segment is removed on SIGTERM, SIGINT and SIGHUP."
)]
pub struct Args {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Segment size in bytes [default: 4096; with --stream: 256k]
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true, value_parser = parse_size)]
    pub size: Option<usize>,
    /// Segment permission mode, octal (0644: anyone may read, 0640: the group may read)
    #[arg(long, value_name = "OCTAL", allow_hyphen_values = true, default_value = "0600", value_parser = parse_mode)]
    pub mode: u16,
    /// Time between updates (1s, 250ms; 0 = as fast as possible)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Publish N updates, then remove the segment and exit
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Publish TEXT as the latest value (instead of the time) and keep it until stopped
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true, conflicts_with_all = ["stdin", "interval", "count"])]
    pub value: Option<String>,
    /// Publish each line of standard input as the new latest value; keep the last one after its end
    #[arg(long, conflicts_with_all = ["interval", "count"])]
    pub stdin: bool,
    /// With --stdin: all of standard input is one value, of any bytes
    #[arg(long, requires = "stdin")]
    pub binary: bool,
    /// With --stdin: exit (removing the segment) at the end of input instead of keeping the last value
    #[arg(long, requires = "stdin")]
    pub exit_at_eof: bool,
    /// Copy standard input into a ring that one `shm_read --stream` empties: a lossless pipe
    #[arg(long, conflicts_with_all = ["value", "stdin", "interval", "count"])]
    pub stream: bool,
    /// With --stream: give up when the consumer has taken nothing for this long (default: wait, as a pipe does)
    #[arg(long, value_name = "DURATION", requires = "stream", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Send each line of standard input as one message of this POSIX message queue (/NAME), as Docker in Action's producer does, then the end marker (--size: the message size of a queue it creates, default 1024)
    #[arg(long, value_name = "/NAME", value_parser = parse_queue_name, conflicts_with_all = ["value", "stdin", "stream", "interval", "count"])]
    pub mqueue: Option<QueueName>,
    /// With --mqueue: the message sent after the last line
    #[arg(long, value_name = "TEXT", default_value = END, requires = "mqueue")]
    pub end: String,
}

/// What `shm_write` was asked to do, validated from the flags: each mode
/// gets only the settings it uses.
pub enum Mode {
    /// Publish the time.
    Time(Time),
    /// Publish a value (`--value`, `--stdin`).
    Value(Value),
    /// Copy stdin into a ring (`--stream`).
    Stream(Stream),
    /// Send the lines of stdin to a POSIX message queue (`--mqueue`).
    Mqueue(Mqueue),
}

/// The settings of [`Mode::Mqueue`].
pub struct Mqueue {
    pub name: QueueName,
    /// The message size of a queue this writer creates.
    pub size: Option<usize>,
    /// The permission mode of a queue this writer creates.
    pub mode: u16,
    /// The message sent after the last line.
    pub end: String,
}

/// What every mode claims its key with.
pub struct Claiming {
    pub key: KeyArgs,
    /// `--size`, when given (each protocol has its default).
    pub size: Option<usize>,
    /// The segment's permission mode.
    pub mode: u16,
}

/// The settings of [`Mode::Time`].
pub struct Time {
    pub claim: Claiming,
    pub interval: Duration,
    /// Exit after this many publishes.
    pub count: Option<u64>,
}

/// The settings of [`Mode::Value`].
pub struct Value {
    pub claim: Claiming,
    /// `--value TEXT`; `None` reads standard input.
    pub value: Option<String>,
    /// All of standard input is one value.
    pub binary: bool,
    pub exit_at_eof: bool,
}

/// The settings of [`Mode::Stream`].
pub struct Stream {
    pub claim: Claiming,
    /// Give up when the consumer takes nothing for this long.
    pub timeout: Option<Duration>,
}

impl Args {
    /// The mode the flags ask for (clap has refused every conflicting
    /// combination already).
    pub fn mode(self) -> Mode {
        if let Some(name) = self.mqueue {
            return Mode::Mqueue(Mqueue {
                name,
                size: self.size,
                mode: self.mode,
                end: self.end,
            });
        }
        let claim = Claiming {
            key: self.key,
            size: self.size,
            mode: self.mode,
        };
        if self.stream {
            Mode::Stream(Stream {
                claim,
                timeout: self.timeout,
            })
        } else if self.value.is_some() || self.stdin {
            Mode::Value(Value {
                claim,
                value: self.value,
                binary: self.binary,
                exit_at_eof: self.exit_at_eof,
            })
        } else {
            Mode::Time(Time {
                claim,
                interval: self.interval,
                count: self.count,
            })
        }
    }
}
