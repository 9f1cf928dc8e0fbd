//! A coarse monotonic clock (`CLOCK_MONOTONIC_COARSE`: the kernel's last
//! tick, a few milliseconds fine, read without asking the hardware), for
//! periodic checks on paths that run millions of times a second, where a
//! precise clock read would cost more than the work it times.

use std::time::Duration;

use nix::time::{clock_gettime, ClockId};

/// Time on the coarse monotonic clock (zero if the clock cannot be read,
/// which Linux never refuses).
pub fn now() -> Duration {
    clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE).map_or(Duration::ZERO, Duration::from)
}
