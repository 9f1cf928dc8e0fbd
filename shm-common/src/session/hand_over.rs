//! Before a value writer stops: let every reader attached take the last
//! value, so that none sees the writer stopped first (`shm_write
//! --exit-at-eof`, and a `ValueWriter` closing).

use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::claim::Claim;
use crate::protocol::value::publish::Publisher;

/// The longest wait, after the last value, for attached readers to take
/// it (two heartbeats: within a value's liveness, and a reader polling at
/// the default 1 s sees it too).
pub const HAND_OVER: Duration = Duration::from_secs(2);
/// How often the hand-over looks at the readers.
pub const HAND_OVER_POLL: Duration = Duration::from_millis(2);

/// How a hand-over ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handed<S> {
    /// Every reader attached sleeps on the last value, none is attached,
    /// the segment went, or [`HAND_OVER`] passed.
    Done,
    /// `pause` was interrupted (a stop signal, say) with `S`.
    Interrupted(S),
}

/// Wake the readers, then wait until each process attached besides this
/// writer sleeps on the last value (an on-change reader that has read it),
/// or none is attached; at most [`HAND_OVER`] (a reader that polls, or is
/// stopped, never sleeps there). `pause` waits [`HAND_OVER_POLL`] between
/// looks and may end the wait early with `Some`. Attachments are the
/// kernel's count; no pid is looked at. An error is the wake-up's.
pub fn hand_over<S>(
    claim: &Claim,
    publisher: &Publisher<'_>,
    mut pause: impl FnMut(Duration) -> Option<S>,
) -> Result<Handed<S>, Errno> {
    publisher.heartbeat();
    // A reader still asleep on an older value is woken to read the last one
    // (one attached read-only has not been woken yet); from here on, only a
    // reader that has read the last value can sleep on it.
    publisher.wake_all()?;
    let deadline = Instant::now() + HAND_OVER;
    loop {
        let Ok(info) = claim.segment().stat() else {
            return Ok(Handed::Done); // Removed from outside: nobody left to wait for.
        };
        let others = info.nattch.saturating_sub(1);
        let asleep = publisher.asleep_on_latest().unwrap_or(0) as u64;
        if others == 0 || asleep >= others || Instant::now() >= deadline {
            return Ok(Handed::Done);
        }
        if let Some(stop) = pause(HAND_OVER_POLL) {
            return Ok(Handed::Interrupted(stop));
        }
    }
}
