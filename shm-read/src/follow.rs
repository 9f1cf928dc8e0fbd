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
use shm_common::protocol::watch::Watch;
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
/// While a writer's sign of life has not changed yet under this reader's
/// watch, but for less than its bound, look this often: a live writer is
/// then confirmed within this much of its next beat or publish (a look
/// costs a few microseconds).
const WATCH_POLL: Duration = Duration::from_millis(10);

/// A segment as the kernel names it: its shmid, and the time of its
/// creation (or last `IPC_SET`).
type SegmentId = (i32, i64);
/// A writer's sign of life, as its protocol's liveness rule gives it.
type Sign = (u64, u64);

/// What one look found.
enum Look {
    /// A live writer's reading, and how old it is.
    Fresh(Latest, Duration),
    /// A reading whose writer is not known to be live yet (its sign of
    /// life has not changed since this reader began to watch it, for less
    /// than the bound), when the reader must prove life (`--once`).
    /// Nothing to print or report; look again soon.
    Watching,
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
    // The sign of life of the segment read, watched since this reader
    // first saw that segment (by its shmid and creation time).
    let mut watched: Option<(SegmentId, Watch<Sign>)> = None;
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
            Ok(segment) => {
                let id = (segment.info().id, segment.info().ctime);
                let watch = match &mut watched {
                    Some((seen, watch)) if *seen == id => watch,
                    _ => &mut watched.insert((id, Watch::new())).1,
                };
                (look_at(segment, watch, args.once), Some(*segment.info()))
            }
        };
        let mut wait_for_change = None;
        let problem = match look {
            Look::Watching => {
                std::thread::sleep(WATCH_POLL);
                continue;
            }
            Look::Fresh(latest, age) => {
                let info = info.expect("a fresh reading has a segment");
                if reporter.clear() {
                    console::say(&messages::resumed(&info))?;
                }
                let change = Change::of(&latest, &info);
                let new = last.as_ref().is_none_or(|l| change.is_new_since(l));
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
/// protocol's liveness rule, with `watch` (this segment's), whether the
/// writer counts as live; `prove` (`--once`) asks for a writer seen alive.
fn look_at(segment: &Segment, watch: &mut Watch<Sign>, prove: bool) -> Look {
    let info = segment.info();
    let (now, wall) = (Instant::now(), Timestamp::now());
    if header::identify(segment.view()) == Ok(Content::Ours(Kind::Value)) {
        return match value::read::read(segment.view()) {
            Ok(v) => {
                let life = value::live::life_of(v.stopped, segment.view(), watch, now);
                match live(life, v.writer_pid, info, prove) {
                    Ok(()) => {
                        let since = v.published.age(wall).unwrap_or_default();
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
            // A check on the data, before liveness: a time far ahead of
            // this clock is no live writer's, however it changes.
            let life = match time::live::ahead(&reading, wall) {
                Some(ahead) => Life::Ahead(ahead),
                None => {
                    let beat = time::record::beat(segment.view());
                    time::live::life(&reading, beat, watch, now)
                }
            };
            match live(life, pid, info, prove) {
                Ok(()) => {
                    let age = reading.time().age(wall).unwrap_or_default();
                    Look::Fresh(Latest::Time(reading), age)
                }
                Err(problem) => problem,
            }
        }
        Err(e) => {
            let unstable = matches!(e, time::record::ReadError::Unstable { .. });
            unreadable(info, &e, unstable)
        }
    }
}

/// What a liveness rule's answer means to the reader: a live writer, or
/// the look to report (a problem, or still watching).
///
/// A reading whose writer is still being watched is printed by a following
/// reader: it is the segment's latest, and a writer that turns out dead is
/// reported once the bound has passed. `prove` (`--once`, a healthcheck)
/// waits for a sign of life instead.
fn live(life: Life, pid: u32, info: &SegmentInfo, prove: bool) -> Result<(), Look> {
    let (kind, message) = match life {
        Life::Live(_) => return Ok(()),
        Life::Watching(_) if !prove => return Ok(()),
        Life::Watching(_) => return Err(Look::Watching),
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
    /// The segment it was read from: its shmid and the kernel's time of
    /// its creation (or last `IPC_SET`). A restarted writer makes a new
    /// segment, or adopts one and continues its sequence: either way its
    /// readings differ from its predecessor's, even when the pid, the IPC
    /// namespace and the count are the same (PID 1 of a restarted container).
    segment: SegmentId,
    /// Within the segment, differs exactly when something new was
    /// published: the sequence of a record or value (a value's changes
    /// only with a publish, or a stop, which is never printed), the
    /// seconds of a C writer's text.
    publish: u64,
    /// The seqlock sequence to sleep on (none for a C writer's text).
    seq: Option<u64>,
}

impl Change {
    fn of(latest: &Latest, info: &SegmentInfo) -> Self {
        let (publish, seq) = match latest {
            Latest::Value(v) => (v.seq, Some(v.seq)),
            Latest::Time(Reading::Record(r)) => (r.seq, Some(r.seq)),
            Latest::Time(Reading::Text(secs)) => (*secs as u64, None),
        };
        Self {
            segment: (info.id, info.ctime),
            publish,
            seq,
        }
    }

    /// Whether this reading is not the one `last` was.
    fn is_new_since(&self, last: &Change) -> bool {
        (self.segment, self.publish) != (last.segment, last.publish)
    }

    /// Publishes between `last` and this one that were never printed:
    /// sequence steps (2 per publish) or seconds of a C text, counted only
    /// within one segment (what another segment held before is unknown).
    fn skipped_since(&self, last: &Change) -> u64 {
        if self.segment != last.segment {
            return 0;
        }
        let steps = self.publish.saturating_sub(last.publish);
        let publishes = if self.seq.is_some() { steps / 2 } else { steps };
        publishes.saturating_sub(1)
    }
}
