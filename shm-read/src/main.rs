//! `shm_read`: print the time a writer publishes in System V shared memory,
//! as the classic C example does, but never create a segment, flush every
//! line, and explain on stderr why no writer answers.

mod output;

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use shm_common::cli::{parse_duration, KeyArgs};
use shm_common::exit::Exit;
use shm_common::follow::{FollowError, Follower, Observation};
use shm_common::key::KeyFileError;
use shm_common::record::ReadError;
use shm_common::segment::OpenError;
use shm_common::signals::StopSignals;

use output::Format;

/// A condition reported on stderr is repeated this often while it lasts.
const REPEAT_REPORT: Duration = Duration::from_secs(10);
/// While no writer answers, look at least this often (so a new writer is
/// picked up quickly even with a long --interval).
const WAIT_POLL: Duration = Duration::from_millis(100);
/// Pause after a failed look at --interval 0, so a stalled writer does not
/// cost a whole core.
const BUSY_BACKOFF: Duration = Duration::from_millis(1);
/// The pause doubles while the problem lasts, up to this: a look at a record
/// stuck mid-update costs about half a millisecond of retries, which must
/// not add up to a busy core while a writer stays frozen.
const BUSY_BACKOFF_MAX: Duration = Duration::from_millis(10);

#[derive(Debug, Parser)]
#[command(
    name = "shm_read",
    version,
    about = "Print the time a shm_write publishes in System V shared memory",
    long_about = "Print the time a shm_write (or the classic C shm_write) publishes in System V \
        shared memory, one flushed line per interval. Never creates a key file or a segment: \
        when none is there it says why on stderr and waits.",
    after_help = exit_help()
)]
struct Args {
    #[command(flatten)]
    key: KeyArgs,
    /// Time between readings (1s, 250ms; 0 = as fast as possible)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "1s", value_parser = parse_duration)]
    interval: Duration,
    /// Print N readings, then exit
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "once")]
    count: Option<u64>,
    /// Take one reading; exit 0 only if a live writer answered (a healthcheck)
    #[arg(long)]
    once: bool,
    /// Give up after waiting this long for a live writer (default: wait forever; with --once: 0)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::C)]
    format: Format,
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

fn main() -> ExitCode {
    let args = Args::parse();
    let exit = match run(&args) {
        Ok(exit) => exit,
        Err((exit, message)) => {
            eprintln!("shm_read: error: {message}");
            exit
        }
    };
    exit.into()
}

type Failure = (Exit, String);

/// Prints a condition on stderr once, and again every [`REPEAT_REPORT`] while it lasts.
#[derive(Default)]
struct Reporter {
    last: Option<(String, Instant)>,
}

impl Reporter {
    fn report(&mut self, kind: &str, message: &str) {
        let repeat = match &self.last {
            Some((last, at)) => last != kind || at.elapsed() >= REPEAT_REPORT,
            None => true,
        };
        if repeat {
            eprintln!("shm_read: {message}");
            self.last = Some((kind.to_owned(), Instant::now()));
        }
    }

    /// Whether a problem was reported since the last good reading.
    fn clear(&mut self) -> bool {
        self.last.take().is_some()
    }
}

fn run(args: &Args) -> Result<Exit, Failure> {
    let signals = StopSignals::install()
        .map_err(|e| (Exit::Failure, format!("cannot set up signal handling: {e}")))?;
    let mut follower = Follower::new(args.key.key_file.clone(), args.key.proj_id);
    let mut reporter = Reporter::default();
    let timeout = args.timeout.or(args.once.then_some(Duration::ZERO));
    let mut waiting_since: Option<Instant> = None;
    let mut printed = 0u64;
    let mut backoff = BUSY_BACKOFF;
    let stdout = io::stdout();
    loop {
        let observation = follower.observe().map_err(follow_failure)?;
        // A condition to report on stderr: (kind, message).
        let problem = match &observation {
            Observation::Reading {
                reading,
                age,
                fresh: true,
                segment,
            } => {
                if reporter.clear() {
                    eprintln!(
                        "shm_read: reading segment {} (shmid {}) from a live writer",
                        segment.key, segment.id
                    );
                }
                let line = output::line(args.format, reading, *age, segment);
                let mut out = stdout.lock();
                if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                    return if e.kind() == io::ErrorKind::BrokenPipe {
                        Ok(Exit::Ok)
                    } else {
                        Err((Exit::Failure, format!("cannot write to stdout: {e}")))
                    };
                }
                printed += 1;
                if args.once || args.count.is_some_and(|n| printed >= n) {
                    return Ok(Exit::Ok);
                }
                None
            }
            Observation::Reading { age, segment, .. } => Some((
                "stale".to_owned(),
                format!(
                    "segment {} (shmid {}): no update for {:.1}s, {} process(es) attached: the writer was killed, frozen or is gone; waiting for it to resume or for a new writer",
                    segment.key,
                    segment.id,
                    age.as_secs_f64(),
                    segment.nattch
                ),
            )),
            Observation::Stopped { record, segment } => Some((
                "stopped".to_owned(),
                format!(
                    "writer pid {} of segment {} (shmid {}) stopped cleanly; waiting for a new writer",
                    record.writer.pid, segment.key, segment.id
                ),
            )),
            Observation::Unreadable { error, segment } => {
                let message = format!("segment {} (shmid {}): {error}", segment.key, segment.id);
                if !matches!(error, ReadError::Unstable { .. }) && args.once {
                    return Err((Exit::BadSegment, message));
                }
                Some((format!("unreadable {error:?}"), message))
            }
            Observation::Absent { explanation, why, .. } => {
                Some((format!("absent {why:?}"), explanation.clone()))
            }
        };
        let healthy = problem.is_none();
        if let Some((kind, message)) = problem {
            let since = *waiting_since.get_or_insert_with(Instant::now);
            if let Some(limit) = timeout.filter(|t| since.elapsed() >= *t) {
                let waited = if limit.is_zero() {
                    "no live writer".to_owned()
                } else {
                    format!("timed out after {limit:?} waiting for a live writer")
                };
                return Err((Exit::NoWriter, format!("{waited}: {message}")));
            }
            reporter.report(&kind, &message);
        } else {
            waiting_since = None;
            backoff = BUSY_BACKOFF;
        }
        let pause = match (healthy, args.interval) {
            (true, interval) => interval,
            (false, interval) if interval.is_zero() => {
                let pause = backoff;
                backoff = (backoff * 2).min(BUSY_BACKOFF_MAX);
                pause
            }
            (false, interval) => interval.min(WAIT_POLL),
        };
        match signals.sleep(pause) {
            Ok(None) => {}
            Ok(Some(_)) => return Ok(Exit::Ok),
            Err(e) => return Err((Exit::Failure, format!("waiting for signals failed: {e}"))),
        }
    }
}

fn follow_failure(error: FollowError) -> Failure {
    let exit = match &error {
        FollowError::KeyFile(KeyFileError::Io { .. }) => Exit::Failure,
        FollowError::KeyFile(_) => Exit::Usage,
        FollowError::Segment(OpenError::PermissionDenied { .. }) => Exit::Permission,
        FollowError::Segment(_) => Exit::Failure,
    };
    (exit, error.to_string())
}
