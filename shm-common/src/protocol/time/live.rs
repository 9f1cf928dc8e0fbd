//! Whether a time record's writer is alive: the one rule that both the
//! adoption rule and `shm_read` apply. Its sign of life is what every
//! publish changes, the record's sequence, or a C writer's text (which
//! changes every second), together with the beat counter a writer
//! advances every second between publishes, watched against the reader's
//! own monotonic clock ([`crate::protocol::watch`]); the time the record
//! carries is never compared with the reader's clock to judge liveness.

use std::time::{Duration, Instant};

use super::record::{Reading, WriterState};
use crate::protocol::clock::Timestamp;
use crate::protocol::spec::Life;
use crate::protocol::watch::Watch;

/// A writer counts as gone when its record stays unchanged for this many
/// of its intervals...
pub const STALE_INTERVALS: u32 = 3;
/// ...and never sooner than this (the C writer's text has one-second
/// resolution).
pub const MIN_STALE_AFTER: Duration = Duration::from_secs(1);
/// A time this far ahead of the reader's clock is not one a live writer
/// wrote a moment ago, even with the clock stepped back in between (a
/// check on the data, not on liveness): a forged or broken segment.
pub const AHEAD_LIMIT: Duration = Duration::from_secs(60);

/// How long a reading may stay unchanged before its writer counts as gone.
pub fn stale_after(reading: &Reading) -> Duration {
    (reading.interval() * STALE_INTERVALS).max(MIN_STALE_AFTER)
}

/// The sign of life: a record's sequence and the writer's beat counter
/// ([`super::record::beat`]), or a C writer's seconds.
pub fn sign(reading: &Reading, beat: u64) -> (u64, u64) {
    match reading {
        Reading::Record(r) => (r.seq, beat),
        Reading::Text(secs) => (*secs as u64, 0),
    }
}

/// Whether the writer of `reading` (with the beat counter `beat` read
/// after it), watched by `watch` (one per segment), is alive at `now`:
/// stopped when it said so; otherwise live while its [`sign`] changed at
/// most [`stale_after`] ago, gone once it stayed unchanged for longer, and
/// [`Life::Watching`] until one or the other.
pub fn life(reading: &Reading, beat: u64, watch: &mut Watch<(u64, u64)>, now: Instant) -> Life {
    match reading {
        Reading::Record(r) if r.state == WriterState::Stopped => Life::Stopped,
        reading => watch
            .see(sign(reading, beat), now)
            .judge(stale_after(reading)),
    }
}

/// How far the time `reading` carries lies ahead of `wall`, when that is
/// more than [`AHEAD_LIMIT`]: a reading no live writer could have made.
pub fn ahead(reading: &Reading, wall: Timestamp) -> Option<Duration> {
    reading
        .time()
        .age(wall)
        .err()
        .filter(|ahead| *ahead > AHEAD_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::time::record::{Record, WriterInfo};

    fn record(interval_ms: u64, seq: u64, secs: i64, state: WriterState) -> Reading {
        Reading::Record(Record {
            seq,
            time: Timestamp { secs, nanos: 0 },
            state,
            writer: WriterInfo {
                interval: Duration::from_millis(interval_ms),
                pid: 1,
                ipc_ns: 1,
                started: 0,
            },
        })
    }

    #[test]
    fn stale_after_three_intervals_and_at_least_a_second() {
        let running = WriterState::Running;
        assert_eq!(
            stale_after(&record(10, 2, 0, running)),
            Duration::from_secs(1)
        );
        assert_eq!(
            stale_after(&record(2000, 2, 0, running)),
            Duration::from_secs(6)
        );
        assert_eq!(stale_after(&Reading::Text(0)), Duration::from_secs(3));
    }

    #[test]
    fn the_sequence_is_watched_whatever_time_the_record_carries() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let running = WriterState::Running;
        let mut watch = Watch::new();
        let first = record(1000, 2, 0, running);
        assert_eq!(
            life(&first, 0, &mut watch, at(0)),
            Life::Watching(Duration::ZERO)
        );
        // An hour before the last one: only the sequence counts.
        let next = record(1000, 4, -3600, running);
        assert_eq!(
            life(&next, 0, &mut watch, at(1)),
            Life::Live(Duration::ZERO)
        );
        assert_eq!(
            life(&next, 0, &mut watch, at(4)),
            Life::Live(Duration::from_secs(3))
        );
        assert_eq!(
            life(&next, 0, &mut watch, at(5)),
            Life::Stale(Duration::from_secs(4))
        );
        let stopped = record(1000, 6, 7200, WriterState::Stopped);
        assert_eq!(life(&stopped, 0, &mut watch, at(6)), Life::Stopped);
    }

    #[test]
    fn a_slow_writer_is_seen_live_by_its_beat_and_stale_by_its_interval() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let slow = record(30_000, 2, 0, WriterState::Running);
        let mut watch = Watch::new();
        assert!(matches!(
            life(&slow, 1, &mut watch, at(0)),
            Life::Watching(_)
        ));
        assert_eq!(
            life(&slow, 2, &mut watch, at(1)),
            Life::Live(Duration::ZERO)
        );
        assert!(matches!(life(&slow, 2, &mut watch, at(80)), Life::Live(_)));
        assert!(matches!(life(&slow, 2, &mut watch, at(92)), Life::Stale(_)));
    }

    #[test]
    fn only_a_time_far_ahead_is_refused_as_data() {
        let wall = Timestamp::from_secs(10_000);
        let running = WriterState::Running;
        assert_eq!(ahead(&record(1000, 2, 10_005, running), wall), None);
        assert_eq!(ahead(&record(1000, 2, 6_400, running), wall), None);
        assert_eq!(
            ahead(&Reading::Text(13_600), wall),
            Some(Duration::from_secs(3600))
        );
    }
}
