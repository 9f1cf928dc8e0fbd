//! The clock: publish the current time once per interval until `--count`,
//! a stop signal, or the end of the segment (re-created after `ipcrm`).

use std::time::{Duration, Instant};

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::messages;
use shm_common::protocol::clock::Timestamp;
use shm_common::protocol::time::{
    record::{Publisher, WriterInfo},
    spec,
};
use shm_common::session::claim::Claim;
use shm_common::transport::signals::StopSignals;

use crate::claim::Protocol;
use crate::flags::Time;
use crate::Failure;

/// How often the writer checks that its segment was not removed with ipcrm.
const REMOVAL_CHECK: Duration = Duration::from_secs(1);
/// Publishes between two looks at the signalfd when running flat out.
const SIGNAL_CHECK_EVERY: u64 = 4096;

/// The clock's protocol, for the claim.
const TIME: Protocol = Protocol::of(&spec::SPEC, "a time");

/// Run the clock writer.
pub fn run(args: &Time, signals: &StopSignals) -> Result<(), Failure> {
    TIME.run(&args.claim, |claim| {
        let mut published = 0u64;
        loop {
            let mut publisher =
                Publisher::new(claim.view(), writer_info(args, claim), Timestamp::now());
            published += 1;
            match publish(args, signals, claim, &mut publisher, &mut published) {
                Ok(End::SegmentRemoved) => TIME.recreate(claim)?,
                ended => {
                    // However it ends, readers see the writer stopped.
                    publisher.stop(Timestamp::now());
                    let _ = publisher.wake();
                    return ended.map(drop);
                }
            }
        }
    })
}

fn writer_info(args: &Time, claim: &Claim) -> WriterInfo {
    let beacon = claim.beacon();
    WriterInfo {
        interval: args.interval,
        pid: beacon.pid,
        ipc_ns: beacon.ipc_ns.0,
        started: beacon.started.timestamp(),
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
    args: &Time,
    signals: &StopSignals,
    claim: &Claim,
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
            // Sleep in slices of at most REMOVAL_CHECK, so that an ipcrm is
            // noticed, and the beat advanced, within a second whatever the
            // interval.
            loop {
                let now = Instant::now();
                if now.duration_since(removal_checked) >= REMOVAL_CHECK {
                    removal_checked = now;
                    if claim.removed() {
                        return Ok(End::SegmentRemoved);
                    }
                    // A sign of life between publishes far apart.
                    publisher.beat();
                }
                let wait = next.saturating_duration_since(now).min(REMOVAL_CHECK);
                match signals.sleep(wait) {
                    Ok(None) => {}
                    Ok(Some(signal)) => {
                        console::say(&messages::stopping("shm_write", signal))?;
                        return Ok(End::Stopped);
                    }
                    Err(e) => return Err((Exit::Failure, messages::signals_failed(e))),
                }
                if Instant::now() >= next {
                    break;
                }
            }
            // Keep a fixed cadence; after a stall, skip missed ticks instead of bursting.
            let now = Instant::now();
            next += args.interval;
            if next < now {
                next = now + args.interval;
            }
        }
        publisher.publish(Timestamp::now());
        publisher
            .wake()
            .map_err(|e| (Exit::Failure, format!("waking readers failed: {e}")))?;
        *published += 1;
    }
}
