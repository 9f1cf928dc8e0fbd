//! `shm_write`'s command line.

use std::time::Duration;

use clap::Parser;
use shm_common::cli::exit::Exit;
use shm_common::cli::flags::{parse_duration, parse_mode, parse_size, KeyArgs};

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
        The segment is removed on SIGTERM, SIGINT and SIGHUP.",
    after_help = exit_help()
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
}

fn exit_help() -> String {
    Exit::help(&[
        Exit::Ok,
        Exit::Failure,
        Exit::Usage,
        Exit::Permission,
        Exit::Conflict,
        Exit::Interrupted,
        Exit::Output,
    ])
}
