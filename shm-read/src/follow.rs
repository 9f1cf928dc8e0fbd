//! Following the latest time record or value: one line per interval
//! (or per change, with `--on-change`) while a live writer answers;
//! otherwise the reason on stderr, until a writer comes back, `--timeout`
//! or a stop signal.

use std::time::{Duration, Instant};

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::messages::{self, Side};
use shm_common::protocol::clock::Timestamp;
use shm_common::protocol::header::{self, Content, Kind};
use shm_common::protocol::notify;
use shm_common::protocol::registry::spec_of;
use shm_common::protocol::spec::Life;
use shm_common::protocol::time::{self, record::Reading};
use shm_common::protocol::value;
use shm_common::session::find::{Access, Finder};
use shm_common::transport::segment::{Segment, SegmentInfo};
use shm_common::transport::signals::StopSignals;

use crate::flags::Follow;
use crate::output::{self, Latest};
use crate::report::{Condition, Reporter};
use crate::stop::{self, Hold};
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
/// `--on-change`: the longest sleep on the futex, so that a stop signal, a
/// dead writer or a removed segment is noticed this fast.
const CHANGE_WAIT: Duration = Duration::from_millis(100);
/// `--on-change` on a C writer's text, which wakes nobody: look this often.
const TEXT_POLL: Duration = Duration::from_millis(50);

/// What one look found.
enum Look {
    /// A live writer's reading, and how old it is.
    Fresh(Latest, Duration),
    /// Something to report on stderr; `bad` ends `--once` with "no
    /// readable content" rather than "no live writer".
    Problem {
        kind: Condition,
        message: String,
        bad: bool,
    },
}

/// Read until done; the status to exit with. A stop signal ends the
/// reader with status 0 at once, even while stdout is blocked.
pub fn run(args: &Follow, signals: &StopSignals) -> Result<Exit, Failure> {
    stop::watched(signals, || {}, |_| Exit::Ok, |hold| follow(args, hold))
}

fn follow(args: &Follow, hold: &Hold) -> Result<Exit, Failure> {
    let access = if args.on_change {
        Access::PreferWritable
    } else {
        Access::ReadOnly
    };
    let mut finder = Finder::new(args.key.key_file.clone(), args.key.proj_id, access);
    let mut reporter = Reporter::new(Side::Reader, args.explain);
    let timeout = args.timeout;
    let mut waiting_since: Option<Instant> = None;
    let mut printed = 0u64;
    let mut last: Option<Change> = None;
    let mut backoff = BUSY_BACKOFF;
    loop {
        let segment = finder.look().map_err(Failure::from)?;
        let (look, info) = match segment {
            Err(absent) => {
                let look = Look::Problem {
                    kind: Condition::absent(&absent.why),
                    message: reporter.absent(&absent),
                    bad: false,
                };
                (look, None)
            }
            Ok(segment) => (look_at(segment), Some(*segment.info())),
        };
        let mut wait_for_change = None;
        let problem = match look {
            Look::Fresh(latest, age) => {
                let info = info.expect("a fresh reading has a segment");
                if reporter.clear() {
                    console::say(&messages::resumed(&info))?;
                }
                let change = Change::of(&latest);
                let new = last.as_ref().is_none_or(|l| l.id != change.id);
                if new || !args.on_change {
                    let skipped = last.as_ref().map_or(0, |l| change.skipped_since(l));
                    let line = output::line(args.format, &latest, age, &info, skipped);
                    console::print_line(&line)?;
                    printed += 1;
                    if args.once || args.count.is_some_and(|n| printed >= n) {
                        return Ok(Exit::Ok);
                    }
                }
                wait_for_change = Some(change.seq);
                last = Some(change);
                None
            }
            Look::Problem { kind, message, bad } => {
                if bad {
                    finder.suspect();
                    if args.once {
                        return Err((Exit::BadSegment, message));
                    }
                } else if !matches!(kind, Condition::Stopped | Condition::Absent(_)) {
                    finder.suspect();
                }
                Some((kind, message))
            }
        };
        let healthy = problem.is_none();
        if let Some((kind, message)) = problem {
            let since = *waiting_since.get_or_insert_with(Instant::now);
            if let Some(limit) = timeout.filter(|t| since.elapsed() >= *t) {
                return Err((Exit::NoWriter, reporter.gave_up(limit, kind, &message)));
            }
            reporter.report(kind, &message)?;
        } else {
            waiting_since = None;
            backoff = BUSY_BACKOFF;
        }
        if args.on_change && healthy {
            if let Ok(Ok(segment)) = finder.look() {
                let _counted = hold.section();
                sleep_until_change(segment, wait_for_change.flatten());
            }
            continue;
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
        std::thread::sleep(pause);
    }
}

/// Sleep until the segment's sequence leaves `seq` (bounded by
/// [`CHANGE_WAIT`]) on its protocol's notify words; a C writer's text,
/// which has no sequence and wakes nobody, is polled.
fn sleep_until_change(segment: &Segment, seq: Option<u64>) {
    let words = match header::identify(segment.view()) {
        Ok(Content::Ours(kind)) => spec_of(kind).notify,
        _ => None,
    };
    let slept = match (seq, words) {
        (Some(seq), Some(words)) => notify::wait(
            segment.view(),
            segment.write_view(),
            words,
            seq,
            CHANGE_WAIT,
        )
        .is_ok(),
        _ => false,
    };
    if !slept {
        std::thread::sleep(TEXT_POLL);
    }
}

/// Look at the segment once: its kind decides how it is read, and its
/// protocol's liveness rule whether the writer counts as live.
fn look_at(segment: &Segment) -> Look {
    let info = segment.info();
    let now = Timestamp::now();
    if header::identify(segment.view()) == Ok(Content::Ours(Kind::Value)) {
        return match value::read::read(segment.view()) {
            Ok(v) => {
                let life = value::live::life_of(&v, segment.view(), now);
                match live(life, v.writer_pid, info) {
                    Ok(_) => {
                        let since = v.published.age(now).unwrap_or_default();
                        Look::Fresh(Latest::Value(v), since)
                    }
                    Err(problem) => problem,
                }
            }
            Err(e) => {
                let unstable = matches!(e, value::read::ReadError::Unstable { .. });
                unreadable(info, &e, unstable)
            }
        };
    }
    match time::record::read(segment.view()) {
        Ok(reading) => {
            let pid = match reading {
                Reading::Record(r) => r.writer.pid,
                Reading::Text(_) => 0,
            };
            match live(time::live::life(&reading, now), pid, info) {
                Ok(age) => Look::Fresh(Latest::Time(reading), age),
                Err(problem) => problem,
            }
        }
        Err(e) => {
            let unstable = matches!(e, time::record::ReadError::Unstable { .. });
            unreadable(info, &e, unstable)
        }
    }
}

/// What a liveness rule's answer means to the reader: the age of a live
/// writer's reading, or the problem to report.
fn live(life: Life, pid: u32, info: &SegmentInfo) -> Result<Duration, Look> {
    let (kind, message) = match life {
        Life::Live(age) => return Ok(age),
        Life::Stale(age) => (Condition::Stale, messages::stale(info, age)),
        Life::Ahead(ahead) => (Condition::Future, messages::future(info, ahead)),
        Life::Stopped | Life::Absent => (Condition::Stopped, messages::writer_stopped(pid, info)),
    };
    Err(Look::Problem {
        kind,
        message,
        bad: false,
    })
}

/// A segment of the right kind whose content cannot be read: caught
/// mid-update (no reason to give up), or bad.
fn unreadable<E: std::fmt::Display + 'static>(info: &SegmentInfo, e: &E, unstable: bool) -> Look {
    let kind = if unstable {
        Condition::Unstable
    } else {
        Condition::unreadable(e)
    };
    Look::Problem {
        kind,
        message: messages::unreadable(info, e),
        bad: !unstable,
    }
}

/// What tells one reading from the next, for `--on-change`.
struct Change {
    /// Differs between two readings exactly when something new was published.
    id: (u64, u64),
    /// The seqlock sequence to sleep on (none for a C writer's text).
    seq: Option<u64>,
    /// Publishes counted by the writer (values), or sequence steps (time).
    count: u64,
}

impl Change {
    fn of(latest: &Latest) -> Self {
        match latest {
            Latest::Value(v) => Self {
                id: (v.writer_ipc_ns ^ u64::from(v.writer_pid), v.counter),
                seq: Some(v.seq),
                count: v.counter,
            },
            Latest::Time(Reading::Record(r)) => Self {
                id: (0, r.seq),
                seq: Some(r.seq),
                count: r.seq / 2,
            },
            Latest::Time(Reading::Text(secs)) => Self {
                id: (1, *secs as u64),
                seq: None,
                count: *secs as u64,
            },
        }
    }

    /// Publishes between `last` and this one that were never printed.
    fn skipped_since(&self, last: &Change) -> u64 {
        self.count.saturating_sub(last.count).saturating_sub(1)
    }
}
