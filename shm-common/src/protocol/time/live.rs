//! Whether a time record's writer is alive: the one rule that both the
//! adoption rule and `shm_read` apply.

use std::time::Duration;

use super::record::{Reading, WriterState};
use crate::protocol::clock::Timestamp;
use crate::protocol::spec::{by_age, Life};

/// A reading counts as stale when it is older than this many writer
/// intervals...
pub const STALE_INTERVALS: u32 = 3;
/// ...and never sooner than this (the C writer's text has one-second
/// resolution).
pub const MIN_STALE_AFTER: Duration = Duration::from_secs(1);

/// How old a reading may get before its writer counts as gone.
pub fn stale_after(reading: &Reading) -> Duration {
    (reading.interval() * STALE_INTERVALS).max(MIN_STALE_AFTER)
}

/// Whether the writer of `reading` is alive at `now`: stopped when it said
/// so, otherwise live while the reading is at most [`stale_after`] old.
pub fn life(reading: &Reading, now: Timestamp) -> Life {
    match reading {
        Reading::Record(r) if r.state == WriterState::Stopped => Life::Stopped,
        reading => by_age(reading.time(), now, stale_after(reading)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::time::record::{Record, WriterInfo};

    #[test]
    fn stale_after_three_intervals_and_at_least_a_second() {
        let now = Timestamp {
            secs: 100,
            nanos: 0,
        };
        let record = |interval_ms: u64, secs: i64, state| {
            Reading::Record(Record {
                seq: 2,
                time: Timestamp { secs, nanos: 0 },
                state,
                writer: WriterInfo {
                    interval: Duration::from_millis(interval_ms),
                    pid: 1,
                    ipc_ns: 1,
                    started: 0,
                },
            })
        };
        let running = WriterState::Running;
        assert_eq!(stale_after(&record(10, 0, running)), Duration::from_secs(1));
        assert_eq!(
            stale_after(&record(2000, 0, running)),
            Duration::from_secs(6)
        );
        assert_eq!(stale_after(&Reading::Text(0)), Duration::from_secs(3));
        assert_eq!(
            life(&record(2000, 95, running), now),
            Life::Live(Duration::from_secs(5))
        );
        assert_eq!(
            life(&record(1000, 95, running), now),
            Life::Stale(Duration::from_secs(5))
        );
        assert_eq!(
            life(&record(1000, 100, WriterState::Stopped), now),
            Life::Stopped
        );
    }
}
