//! How a stream ends, decided here for both sides: when a peer counts as
//! gone (the liveness rule), when a stream counts as delivered, and what
//! a consumer leaves behind. The sides ask these rules
//! (`Producer::outcome`, `Consumer::outcome`, `is_abandoned`); the
//! binaries only report what they return.

use std::time::Duration;

use super::shared::{Peer, Side, StreamError};

/// A side whose heartbeat word stays unchanged for longer than this, by
/// the other side's monotonic clock, is gone (killed, or frozen).
pub const DEAD_AFTER: Duration = Duration::from_secs(1);

/// How a stream ended early, from one side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The other side's heartbeat stopped: it was killed or froze.
    PeerDied,
    /// The other side said it stopped before the end.
    PeerStopped,
    /// This side received a stop signal.
    Signal,
    /// `--timeout` ran out with no progress.
    Timeout,
}

/// How a stream is over, from one side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every byte went through: the consumer received them all and saw
    /// the end.
    Complete,
    /// It ended before that.
    Interrupted(StreamEnd),
}

impl Outcome {
    /// Whether the consumer marks the segment for removal when it ends
    /// so: when the stream is complete (nobody needs the segment any more:
    /// marked before the consumer says it is done, it goes with the last
    /// detach even if the producer dies before removing it), or when the
    /// producer died (it cannot clear up after itself any more). A
    /// producer always removes its segment as it exits.
    pub fn removes_segment(self) -> bool {
        matches!(
            self,
            Outcome::Complete | Outcome::Interrupted(StreamEnd::PeerDied)
        )
    }
}

/// The liveness rule: a peer has gone when it said it stopped early, or
/// when its heartbeat word has not changed for [`DEAD_AFTER`] (the
/// looking side watches it, [`super::shared::BeatWatch`]). Pids are never
/// used: they mean nothing across PID namespaces; nor is the heartbeat's
/// time compared with this side's clock, which may have been stepped.
pub(super) fn gone(peer: Peer) -> Option<StreamEnd> {
    match peer {
        Peer::Aborted => Some(StreamEnd::PeerStopped),
        Peer::Active { beat_age } if beat_age > DEAD_AFTER => Some(StreamEnd::PeerDied),
        Peer::Absent | Peer::Active { .. } | Peer::Done | Peer::Corrupt(_) => None,
    }
}

/// The producer's view of the consumer: `None` while the stream goes on.
/// `finished`: the producer has recorded the end of its input; `head` and
/// `tail` are the bytes committed and taken. Delivered means received: the
/// consumer said it has everything, and has taken every byte.
pub(super) fn for_producer(
    consumer: Peer,
    finished: bool,
    head: u64,
    tail: u64,
) -> Result<Option<Outcome>, StreamError> {
    if let Peer::Corrupt(value) = consumer {
        return Err(StreamError::unknown_state(Side::Consumer, value));
    }
    if let Some(end) = gone(consumer) {
        return Ok(Some(Outcome::Interrupted(end)));
    }
    Ok(match consumer {
        // A consumer that says it has everything while bytes are missing
        // stopped before the end.
        Peer::Done if tail < head => Some(Outcome::Interrupted(StreamEnd::PeerStopped)),
        Peer::Done if finished => Some(Outcome::Complete),
        _ => None,
    })
}

/// The consumer's view of the producer, once the ring looked empty:
/// `None` while the stream goes on (or bytes committed before the
/// producer's end are still to be taken: `drained` is false). `final_len`
/// is the length the producer recorded and `tail` the bytes taken: a
/// finished stream whose length is not what was taken is corrupt.
pub(super) fn for_consumer(
    producer: Peer,
    drained: bool,
    final_len: u64,
    tail: u64,
) -> Result<Option<Outcome>, StreamError> {
    let outcome = match producer {
        Peer::Corrupt(_) => {
            return Err(StreamError::Corrupt("the producer's state word is unknown"))
        }
        Peer::Done => Outcome::Complete,
        other => match gone(other) {
            Some(end) => Outcome::Interrupted(end),
            None => return Ok(None),
        },
    };
    if !drained {
        return Ok(None);
    }
    if outcome == Outcome::Complete && final_len != tail {
        return Err(StreamError::Corrupt(
            "the producer's final length is not what it sent",
        ));
    }
    Ok(Some(outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALIVE: Peer = Peer::Active {
        beat_age: Duration::from_millis(300),
    };
    const DEAD: Peer = Peer::Active {
        beat_age: Duration::from_millis(1001),
    };

    #[test]
    fn a_peer_is_gone_when_it_stopped_or_its_heartbeat_is_stale() {
        assert_eq!(gone(Peer::Aborted), Some(StreamEnd::PeerStopped));
        assert_eq!(gone(DEAD), Some(StreamEnd::PeerDied));
        for there in [Peer::Absent, ALIVE, Peer::Done, Peer::Corrupt(9)] {
            assert_eq!(gone(there), None, "{there:?}");
        }
    }

    #[test]
    fn the_producer_is_done_only_once_the_consumer_has_everything() {
        let check = |peer, finished, tail| for_producer(peer, finished, 10, tail);
        assert_eq!(check(ALIVE, true, 10), Ok(None));
        assert_eq!(check(Peer::Absent, false, 0), Ok(None));
        assert_eq!(check(Peer::Done, false, 10), Ok(None));
        assert_eq!(check(Peer::Done, true, 10), Ok(Some(Outcome::Complete)));
        let stopped = Ok(Some(Outcome::Interrupted(StreamEnd::PeerStopped)));
        assert_eq!(check(Peer::Done, true, 9), stopped);
        assert_eq!(check(Peer::Done, false, 9), stopped);
        assert_eq!(check(Peer::Aborted, true, 10), stopped);
        assert_eq!(
            check(DEAD, false, 3),
            Ok(Some(Outcome::Interrupted(StreamEnd::PeerDied)))
        );
        assert_eq!(
            check(Peer::Corrupt(7), false, 0),
            Err(StreamError::UnknownState {
                peer: "consumer",
                value: 7
            })
        );
    }

    #[test]
    fn the_consumer_ends_only_once_drained_and_checks_the_length() {
        assert_eq!(for_consumer(ALIVE, true, 0, 5), Ok(None));
        assert_eq!(for_consumer(Peer::Absent, true, 0, 0), Ok(None));
        assert_eq!(for_consumer(Peer::Done, false, 9, 5), Ok(None));
        assert_eq!(for_consumer(DEAD, false, 0, 5), Ok(None));
        assert_eq!(
            for_consumer(Peer::Done, true, 5, 5),
            Ok(Some(Outcome::Complete))
        );
        assert!(matches!(
            for_consumer(Peer::Done, true, 9, 5),
            Err(StreamError::Corrupt(_))
        ));
        assert_eq!(
            for_consumer(Peer::Aborted, true, 0, 5),
            Ok(Some(Outcome::Interrupted(StreamEnd::PeerStopped)))
        );
        assert_eq!(
            for_consumer(DEAD, true, 0, 5),
            Ok(Some(Outcome::Interrupted(StreamEnd::PeerDied)))
        );
        assert!(matches!(
            for_consumer(Peer::Corrupt(4), false, 0, 5),
            Err(StreamError::Corrupt(_))
        ));
    }

    #[test]
    fn the_consumer_removes_the_segment_when_complete_or_orphaned() {
        assert!(Outcome::Complete.removes_segment());
        assert!(Outcome::Interrupted(StreamEnd::PeerDied).removes_segment());
        assert!(!Outcome::Interrupted(StreamEnd::PeerStopped).removes_segment());
        assert!(!Outcome::Interrupted(StreamEnd::Signal).removes_segment());
    }
}
