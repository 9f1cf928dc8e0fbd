//! Whether a value's writer is alive: its heartbeat, outside the seqlock,
//! is the one sign of life that both the adoption rule and `shm_read` go by.

use std::time::Duration;

use super::layout::MIN_SEGMENT_SIZE;
use super::read;
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

/// Whether the value's writer is alive: stopped when it said so,
/// otherwise by its [`heartbeat`].
pub fn life(view: ReadView<'_>, now: Timestamp) -> Life {
    if view.bytes() < MIN_SEGMENT_SIZE {
        Life::Absent
    } else if read::read(view).is_ok_and(|v| v.stopped) {
        Life::Stopped
    } else {
        heartbeat(view, now)
    }
}
