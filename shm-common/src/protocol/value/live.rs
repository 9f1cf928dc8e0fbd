//! Whether a value's writer is alive: its heartbeat, outside the seqlock,
//! is the one sign of life that both the adoption rule and `shm_read` go by.

use std::time::Duration;

use super::layout::MIN_SEGMENT_SIZE;
use super::read::{self, Value};
use crate::protocol::clock::Timestamp;
use crate::protocol::spec::{by_age, Life};
use crate::transport::view::ReadView;

/// How often a live writer beats.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A writer is gone when its heartbeat is older than this.
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(3);

/// The heartbeat alone: live while at most [`HEARTBEAT_STALE`] old.
pub fn heartbeat(view: ReadView<'_>, now: Timestamp) -> Life {
    by_age(read::heartbeat(view), now, HEARTBEAT_STALE)
}

/// Whether the writer of `value`, read from `view`, is alive: stopped
/// when it said so, otherwise by its [`heartbeat`].
pub fn life_of(value: &Value, view: ReadView<'_>, now: Timestamp) -> Life {
    if value.stopped {
        Life::Stopped
    } else {
        heartbeat(view, now)
    }
}

/// [`life_of`] what the segment holds; by the heartbeat alone when the
/// value cannot be read ([`Life::Absent`] when the segment is too small).
pub fn life(view: ReadView<'_>, now: Timestamp) -> Life {
    if view.bytes() < MIN_SEGMENT_SIZE {
        return Life::Absent;
    }
    match read::read(view) {
        Ok(value) => life_of(&value, view, now),
        Err(_) => heartbeat(view, now),
    }
}
