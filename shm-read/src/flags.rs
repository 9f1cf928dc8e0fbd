//! `shm_read`'s command line.

use std::time::Duration;

use clap::Parser;
use shm_common::cli::exit::Exit;
use shm_common::cli::flags::{parse_duration, KeyArgs};

use crate::output::Format;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "shm_read",
    version,
    about = "Print the time or value a shm_write publishes in System V shared memory",
    long_about = "Print the time (or value) a shm_write, or the classic C shm_write, publishes in \
        System V shared memory, one flushed line per interval or, with --on-change, per change. \
        Never creates a key file or a segment: when none is there it says why on stderr and waits.",
    after_help = exit_help()
)]
pub struct Args {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Time between readings (1s, 250ms; 0 = as fast as possible)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Print N readings, then exit
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "once")]
    pub count: Option<u64>,
    /// Take one reading; exit 0 only if a live writer answered (a healthcheck)
    #[arg(long)]
    pub once: bool,
    /// Give up after waiting this long for a live writer (default: wait forever; with --once: 0)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::C)]
    pub format: Format,
    /// Print each new time or value once, as soon as it is published, sleeping in between (--interval is ignored)
    #[arg(long)]
    pub on_change: bool,
}

impl Args {
    /// How long to wait for a live writer before giving up, if at all.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout.or(self.once.then_some(Duration::ZERO))
    }
}

fn exit_help() -> String {
    Exit::help(&[
        Exit::Ok,
        Exit::Failure,
        Exit::Usage,
        Exit::NoWriter,
        Exit::Permission,
        Exit::BadSegment,
    ])
}
