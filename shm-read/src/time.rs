//! Reading the clock: one line per interval while a live writer answers;
//! otherwise the reason on stderr, until a writer comes back, `--timeout`
//! or a stop signal.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use shm_common::cli::exit::Exit;
use shm_common::cli::messages;
use shm_common::protocol::clock::Timestamp;
use shm_common::protocol::latest::record::{self, ReadError, Reading, WriterState};
use shm_common::session::find::{Access, Finder};
use shm_common::transport::signals::StopSignals;

use crate::flags::Args;
use crate::output;
use crate::report::Reporter;
use crate::Failure;

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
/// A reading counts as stale when it is older than this many writer intervals...
const STALE_INTERVALS: u32 = 3;
/// ...and never sooner than this (the C writer's text has one-second resolution).
const MIN_STALE_AFTER: Duration = Duration::from_secs(1);

/// Read the clock until done; the status to exit with.
pub fn run(args: &Args) -> Result<Exit, Failure> {
    let signals = StopSignals::install()
        .map_err(|e| (Exit::Failure, format!("cannot set up signal handling: {e}")))?;
    let mut finder = Finder::new(
        args.key.key_file.clone(),
        args.key.proj_id,
        Access::ReadOnly,
    );
    let mut reporter = Reporter::default();
    let timeout = args.timeout();
    let mut waiting_since: Option<Instant> = None;
    let mut printed = 0u64;
    let mut backoff = BUSY_BACKOFF;
    let stdout = io::stdout();
    loop {
        // A condition to report on stderr: (kind, message).
        let problem = match finder
            .look()
            .map_err(|e| (Exit::of_find(&e), messages::find(&e)))?
        {
            Err(absent) => Some((
                format!("absent {:?}", absent.why),
                messages::absent(&absent),
            )),
            Ok(segment) => {
                let info = *segment.info();
                match record::read(segment.view()) {
                    Ok(Reading::Record(r)) if r.state == WriterState::Stopped => Some((
                        "stopped".to_owned(),
                        messages::writer_stopped(r.writer.pid, &info),
                    )),
                    Ok(reading) => match reading.time().age(Timestamp::now()) {
                        Ok(age) if age <= stale_after(&reading) => {
                            if reporter.clear() {
                                eprintln!("{}", messages::resumed(&info));
                            }
                            let line = output::line(args.format, &reading, age, &info);
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
                        Ok(age) => {
                            finder.suspect();
                            Some(("stale".to_owned(), messages::stale(&info, age)))
                        }
                        Err(ahead) => {
                            finder.suspect();
                            Some(("future".to_owned(), messages::future(&info, ahead)))
                        }
                    },
                    Err(error) => {
                        finder.suspect();
                        let message = messages::unreadable(&info, &error);
                        if !matches!(error, ReadError::Unstable { .. }) && args.once {
                            return Err((Exit::BadSegment, message));
                        }
                        Some((format!("unreadable {error:?}"), message))
                    }
                }
            }
        };
        let healthy = problem.is_none();
        if let Some((kind, message)) = problem {
            let since = *waiting_since.get_or_insert_with(Instant::now);
            if let Some(limit) = timeout.filter(|t| since.elapsed() >= *t) {
                return Err((Exit::NoWriter, messages::gave_up(limit, &message)));
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

/// How old a reading may get before its writer counts as gone.
fn stale_after(reading: &Reading) -> Duration {
    (reading.interval() * STALE_INTERVALS).max(MIN_STALE_AFTER)
}
