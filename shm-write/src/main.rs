//! `shm_write`: publish the current Unix time into a System V segment once
//! per interval, as the classic C example does, but keep the key across
//! restarts, refuse to fight another writer, and clean up on SIGTERM.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use shm_common::cli::{parse_duration, parse_mode, parse_size, KeyArgs};
use shm_common::exit::Exit;
use shm_common::layout::DEFAULT_SEGMENT_SIZE;
use shm_common::record::{Publisher, Timestamp};
use shm_common::signals::StopSignals;
use shm_common::writer::{startup_line, Writer, WriterOptions};

/// How often the writer checks that its segment was not removed with ipcrm.
const REMOVAL_CHECK: Duration = Duration::from_secs(1);
/// Publishes between two looks at the signalfd when running flat out.
const SIGNAL_CHECK_EVERY: u64 = 4096;

#[derive(Debug, Parser)]
#[command(
    name = "shm_write",
    version,
    about = "Publish the current Unix time into a System V shared-memory segment",
    long_about = "Publish the current Unix time into a System V shared-memory segment.\n\n\
        Bytes 0..128 hold the decimal text the classic C shm_write writes, so C readers keep \
        working; a seqlock-protected header follows for shm_read. The segment is removed on \
        SIGTERM, SIGINT and SIGHUP.",
    after_help = exit_help()
)]
struct Args {
    #[command(flatten)]
    key: KeyArgs,
    /// Segment size in bytes (at least 256)
    #[arg(long, value_name = "BYTES", allow_hyphen_values = true, default_value_t = DEFAULT_SEGMENT_SIZE, value_parser = parse_size)]
    size: usize,
    /// Segment permission mode, octal (0644: anyone may read, 0640: the group may read)
    #[arg(long, value_name = "OCTAL", allow_hyphen_values = true, default_value = "0600", value_parser = parse_mode)]
    mode: u16,
    /// Time between updates (1s, 250ms; 0 = as fast as possible)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "1s", value_parser = parse_duration)]
    interval: Duration,
    /// Publish N updates, then remove the segment and exit
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
}

fn exit_help() -> String {
    Exit::help(&[
        Exit::Ok,
        Exit::Failure,
        Exit::Usage,
        Exit::Permission,
        Exit::Conflict,
    ])
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => Exit::Ok.into(),
        Err((exit, message)) => {
            eprintln!("shm_write: error: {message}");
            exit.into()
        }
    }
}

type Failure = (Exit, String);

fn run(args: &Args) -> Result<(), Failure> {
    let signals = StopSignals::install()
        .map_err(|e| (Exit::Failure, format!("cannot set up signal handling: {e}")))?;
    let mut writer = Writer::start(WriterOptions {
        key_file: args.key.key_file.clone(),
        proj_id: args.key.proj_id,
        size: args.size,
        mode: args.mode,
        interval: args.interval,
    })
    .map_err(|e| (e.exit(), e.to_string()))?;
    eprintln!("{}", startup_line(&writer));
    let mut published = 0u64;
    loop {
        let mut publisher = writer.publisher(Timestamp::now());
        published += 1;
        match publish(args, &signals, &writer, &mut publisher, &mut published)? {
            End::Stopped => {
                publisher.stop(Timestamp::now());
                return writer.finish().map_err(|e| (Exit::Failure, e.to_string()));
            }
            End::SegmentRemoved => {
                eprintln!(
                    "shm_write: segment {} (shmid {}) was removed from outside (ipcrm?): creating a new one",
                    writer.key(),
                    writer.segment_info().id
                );
                writer.recreate().map_err(|e| (e.exit(), e.to_string()))?;
                eprintln!("{}", startup_line(&writer));
            }
        }
    }
}

/// Why publishing into a segment ended.
enum End {
    /// `--count` reached or a stop signal: clean up and exit.
    Stopped,
    /// Removed from outside: publish into a new segment.
    SegmentRemoved,
}

/// Publish once per interval until `--count`, a stop signal, or the
/// segment's removal. Flat out, the signals, the clock and the segment are
/// looked at only every [`SIGNAL_CHECK_EVERY`] publishes: a clock read alone
/// costs several publishes.
fn publish(
    args: &Args,
    signals: &StopSignals,
    writer: &Writer,
    publisher: &mut Publisher<'_>,
    published: &mut u64,
) -> Result<End, Failure> {
    let mut next = Instant::now() + args.interval;
    let mut removal_checked = Instant::now();
    loop {
        if args.count.is_some_and(|n| *published >= n) {
            return Ok(End::Stopped);
        }
        if !args.interval.is_zero() || published.is_multiple_of(SIGNAL_CHECK_EVERY) {
            let wait = next.saturating_duration_since(Instant::now());
            match signals.sleep(wait) {
                Ok(None) => {}
                Ok(Some(signal)) => {
                    eprintln!("shm_write: {signal} received: stopping");
                    return Ok(End::Stopped);
                }
                Err(e) => return Err((Exit::Failure, format!("waiting for signals failed: {e}"))),
            }
            let now = Instant::now();
            if now.duration_since(removal_checked) >= REMOVAL_CHECK {
                removal_checked = now;
                if writer.segment_removed() {
                    return Ok(End::SegmentRemoved);
                }
            }
            // Keep a fixed cadence; after a stall, skip missed ticks instead of bursting.
            next += args.interval;
            if next < now {
                next = now + args.interval;
            }
        }
        publisher.publish(Timestamp::now());
        *published += 1;
    }
}
