//! The private segment every mechanism runs in, and the word-level helpers
//! (spin until a word moves, read a record) the mechanisms share.

#[allow(unused_imports)]
use super::*;

/// A private System V segment (`IPC_PRIVATE`), removed when dropped.
pub(crate) fn private_segment() -> Result<Segment> {
    Segment::create(Key(0), SEGMENT_BYTES, 0o600)
        .map_err(|e| format!("cannot create a private segment: {e}"))?
        .ok_or_else(|| "IPC_PRIVATE gave EEXIST".to_owned())
}

/// The segment's words, writable (the benchmark attaches read-write).
pub(crate) fn words(seg: &Segment) -> WriteView<'_> {
    seg.write_view().expect("attached writable")
}

pub(crate) fn info(interval: Duration) -> WriterInfo {
    WriterInfo {
        interval,
        pid: std::process::id(),
        ipc_ns: 0,
        started: 1_700_000_000,
    }
}

/// The timestamp the `i`th ping carries (one second, so the text stays put).
pub(crate) fn stamp(i: u64) -> Timestamp {
    Timestamp {
        secs: 1_700_000_000,
        nanos: (i % 1_000_000_000) as u32,
    }
}

/// Busy-poll word `i` until it reaches `want`, failing after [`DEADLINE`]
/// (the clock is read only every 2^20 spins, so it costs nothing per poll).
#[inline]
pub(crate) fn spin_until(view: ReadView<'_>, i: usize, want: u64, what: &str) -> Result<()> {
    let mut spins = 0u32;
    let mut since: Option<Instant> = None;
    while view.load_acquire(i) < want {
        spin_loop();
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1 << 20) {
            let start = *since.get_or_insert_with(Instant::now);
            if start.elapsed() > DEADLINE {
                return Err(format!("{what}: no answer within {DEADLINE:?}"));
            }
        }
    }
    Ok(())
}

pub(crate) fn read_record(view: ReadView<'_>) -> Result<Record> {
    match read(view) {
        Ok(Reading::Record(r)) => Ok(r),
        other => Err(format!("expected a record, read {other:?}")),
    }
}
