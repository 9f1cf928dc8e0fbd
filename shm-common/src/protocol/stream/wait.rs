//! How a side of the ring waits for the other: spins spaced by pauses
//! ([`Backoff`]), then bounded sleeps on the other side's cursor with its
//! "sleeping" flag raised, and the wake that a side which moved its cursor
//! sends only when that flag is up.

use std::sync::atomic::{fence, Ordering};
use std::time::Duration;

use super::shared::{Side, StreamError};
use crate::transport::view::WriteView;

/// Looks at the other side's cursor before sleeping on it: a peer in full
/// flow moves it within microseconds, sooner than a sleep and a wake-up.
const SPINS: u32 = 64;
/// `pause`s between two looks: a side that looks without pausing keeps
/// pulling the cursor's cache line away from the side about to store to
/// it, which halves the rate of small writes.
const PAUSES: u32 = 32;

/// How a side waits for the other: a few dozen looks spaced by pauses
/// (some tens of microseconds in all), then bounded sleeps on the futex.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    spins: u32,
    left: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(SPINS)
    }
}

impl Backoff {
    /// Look `spins` times before sleeping (0: sleep at once).
    pub fn new(spins: u32) -> Self {
        Self { spins, left: spins }
    }

    /// The other side moved: spin again next time.
    pub fn reset(&mut self) {
        self.left = self.spins;
    }

    /// Pause before the next look; false once it is time to sleep.
    pub(super) fn spin(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        for _ in 0..PAUSES {
            std::hint::spin_loop();
        }
        true
    }
}

/// `side` waits for the other side's cursor to move from `seen`: raise
/// `side`'s flag, fence, and sleep on the cursor while it still reads
/// `seen` (at most `timeout`).
pub(super) fn sleep_on(
    view: WriteView<'_>,
    side: Side,
    seen: u64,
    timeout: Duration,
) -> Result<(), StreamError> {
    let (flag, cursor) = (side.sleeping(), side.peer().cursor());
    view.store(flag, 1);
    fence(Ordering::SeqCst);
    let result = if view.read().load(cursor) == seen {
        view.read().wait(cursor, seen as u32, timeout)
    } else {
        Ok(())
    };
    view.store(flag, 0);
    result.map_err(StreamError::Futex)
}

/// Wake the other side if it sleeps on `side`'s cursor (after a fence).
pub(super) fn wake_peer(view: WriteView<'_>, side: Side) -> Result<(), StreamError> {
    if view.read().load(side.peer().sleeping()) != 0 {
        view.wake(side.cursor()).map_err(StreamError::Futex)?;
    }
    Ok(())
}
