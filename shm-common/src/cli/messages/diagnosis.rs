//! What a reader says while no live writer answers: the namespace
//! diagnosis of a missing segment, and the states of one that is there.

use std::fmt::Write as _;
use std::time::Duration;

use crate::session::find::{Absence, Absent};
use crate::transport::segment::SegmentInfo;

/// How to put reader and writer in one IPC namespace.
pub(super) const JOIN_FIX: &str = "run both in one IPC namespace: `docker run --ipc container:<writer> ...` with the writer started `--ipc shareable`, Compose `ipc: \"service:<writer>\"`, both containers in one Kubernetes pod, or `--ipc host` for both";

/// The namespace diagnosis of a reader that finds no segment.
pub fn absent(a: &Absent) -> String {
    let key_text = a
        .key
        .map_or_else(|| "the writer's key".to_owned(), |k| format!("key {k}"));
    let (here, key_file) = (a.own_ns, a.key_file.display());
    let mut text = match &a.why {
        Absence::NoKeyFile => format!(
            "key file {key_file} does not exist in this reader's /dev/shm (IPC namespace {here}): either no writer has started yet, or it runs in another container or IPC namespace with its own /dev/shm; {JOIN_FIX}"
        ),
        Absence::NoBeacon => format!(
            "no segment with {key_text} in this IPC namespace ({here}), though key file {key_file} exists (without a shm_write beacon): the writer has not created its segment yet, or it runs in another IPC namespace that shares this /dev/shm; {JOIN_FIX}"
        ),
        Absence::BeaconUnreadable => format!(
            "no segment with {key_text} in this IPC namespace ({here}); key file {key_file} exists, but this user may not read the writer's beacon in it, so whether a writer runs elsewhere is unknown (a writer started with --mode 0644, or 0640 for its group, lets other users read it): the writer has not created its segment yet, has stopped, or runs in another IPC namespace that shares this /dev/shm; {JOIN_FIX}"
        ),
        Absence::OtherNamespace(beacon) => format!(
            "no segment with {key_text} in this IPC namespace ({here}): key file {key_file} says writer pid {} publishes to {} in IPC namespace {}, which is not this reader's; the /dev/shm is shared but the IPC namespace is not; {JOIN_FIX}",
            beacon.pid, beacon.key, beacon.ipc_ns
        ),
        Absence::WriterStopped(beacon) => format!(
            "no segment with {key_text}: writer pid {} (IPC namespace {}) stopped cleanly; waiting for a new writer",
            beacon.pid, beacon.ipc_ns
        ),
        Absence::WriterFailed(beacon) => format!(
            "no segment with {key_text}: writer pid {} (IPC namespace {}) stopped on an error (its stderr says which) and removed its segment; waiting for a new writer",
            beacon.pid, beacon.ipc_ns
        ),
        Absence::WriterGone(beacon) => format!(
            "no segment with {key_text}: writer pid {} in this IPC namespace ({here}) left no segment (killed, or the segment was removed with ipcrm); waiting for a new writer",
            beacon.pid
        ),
    };
    if matches!(
        a.why,
        Absence::OtherNamespace(_)
            | Absence::WriterGone(_)
            | Absence::WriterStopped(_)
            | Absence::WriterFailed(_)
    ) {
        let _ = write!(text, "; {}", restart_hint());
    }
    text
}

/// A reader joined to a container's IPC namespace keeps that namespace
/// when the container restarts, and the restarted writer is in a new one.
fn restart_hint() -> &'static str {
    "if the writer's container was restarted, it now has a new IPC namespace this reader cannot join: restart the reader too (`docker run --restart on-failure` with `shm_read --timeout` does it), or join both to a long-lived sandbox container"
}

/// A reader's segment has not changed for longer than its writer promised.
pub fn stale(segment: &SegmentInfo, age: Duration) -> String {
    format!(
        "segment {} (shmid {}): no update for {:.1}s, {} process(es) attached: the writer was killed, frozen or is gone; waiting for it to resume or for a new writer",
        segment.key,
        segment.id,
        age.as_secs_f64(),
        segment.nattch
    )
}

/// A reader's segment holds a time ahead of the reader's clock.
pub fn future(segment: &SegmentInfo, ahead: Duration) -> String {
    format!(
        "segment {} (shmid {}): the time it holds is {:.1}s ahead of this clock, which no live writer publishes (a forged or torn text, or a clock set back); waiting for a plausible time",
        segment.key,
        segment.id,
        ahead.as_secs_f64()
    )
}

/// The writer said it stopped.
pub fn writer_stopped(pid: u32, segment: &SegmentInfo) -> String {
    format!(
        "writer pid {pid} of segment {} (shmid {}) stopped cleanly; waiting for a new writer",
        segment.key, segment.id
    )
}

/// The segment holds nothing this reader can read.
pub fn unreadable(segment: &SegmentInfo, error: &dyn std::fmt::Display) -> String {
    format!("segment {} (shmid {}): {error}", segment.key, segment.id)
}

/// A reader that reported a problem reads again.
pub fn resumed(segment: &SegmentInfo) -> String {
    format!(
        "shm_read: reading segment {} (shmid {}) from a live writer",
        segment.key, segment.id
    )
}

/// A reader gives up waiting; `message` is the last condition seen.
pub fn gave_up(limit: Duration, message: &str) -> String {
    if limit.is_zero() {
        format!("no live writer: {message}")
    } else {
        format!("timed out after {limit:?} waiting for a live writer: {message}")
    }
}
