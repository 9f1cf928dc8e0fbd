//! How `--inspect` shows a protocol's words: each [`Field`] names a word
//! and how its raw value decodes to a meaning a person reads.

use std::time::Duration;

use chrono::DateTime;

use super::clock::Timestamp;
use crate::transport::namespace::Ns;
use crate::transport::view::ReadView;

/// One word of a layout, for `--inspect`.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The word's index (byte offset / 8).
    pub word: usize,
    /// Its name in the inspection table.
    pub name: &'static str,
    /// How its raw value reads.
    pub decode: Decode,
}

impl Field {
    /// A field.
    pub const fn new(word: usize, name: &'static str, decode: Decode) -> Self {
        Self { word, name, decode }
    }

    /// The word's raw value, or `None` when it lies beyond the segment.
    pub fn raw(&self, view: ReadView<'_>) -> Option<u64> {
        (self.word < view.len()).then(|| view.load(self.word))
    }
}

/// How a word's raw value reads.
#[derive(Debug, Clone, Copy)]
pub enum Decode {
    /// A seqlock sequence: even, or odd while mid-update.
    Seq,
    /// Unix seconds (two's complement), as a date.
    Secs,
    /// Nanoseconds since the epoch (two's complement), as a date.
    NanosTime,
    /// Nanoseconds (low half) and a writer state (high half).
    NanosState,
    /// A writer state (low half) and flag bits (high half).
    StateFlags,
    /// A duration in nanoseconds.
    Interval,
    /// A plain number.
    Count,
    /// A number of bytes.
    Bytes,
    /// A pid (low 32 bits).
    Pid,
    /// The inode of an IPC namespace.
    IpcNs,
    /// A decoding of the protocol's own, which may look at the segment
    /// (its size, say).
    Custom(fn(raw: u64, view: ReadView<'_>) -> String),
}

impl Decode {
    /// What `raw`, read from the segment behind `view`, means.
    pub fn meaning(&self, raw: u64, view: ReadView<'_>) -> String {
        match self {
            Decode::Seq if raw & 1 == 1 => format!("{raw} (odd: mid-update)"),
            Decode::Seq => format!("{raw} ({} publishes)", raw / 2),
            Decode::Secs => time_text(Timestamp::from_secs(raw as i64)),
            Decode::NanosTime => time_text(Timestamp::from_word(raw)),
            Decode::NanosState => format!(
                "{} ns, state {}",
                raw as u32,
                state_text((raw >> 32) as u32)
            ),
            Decode::StateFlags => {
                format!("state {}, flags {:#x}", state_text(raw as u32), raw >> 32)
            }
            Decode::Interval => format!("{:?}", Duration::from_nanos(raw)),
            Decode::Count => raw.to_string(),
            Decode::Bytes => format!("{raw} bytes"),
            Decode::Pid => (raw as u32).to_string(),
            Decode::IpcNs => Ns(raw).to_string(),
            Decode::Custom(decode) => decode(raw, view),
        }
    }
}

/// Whether every field of `fields` lies within a segment of `bytes` (for
/// the specs' compile-time checks).
pub const fn fit(fields: &[Field], bytes: usize) -> bool {
    let mut i = 0;
    while i < fields.len() {
        if (fields[i].word + 1) * 8 > bytes {
            return false;
        }
        i += 1;
    }
    true
}

/// A record's writer state (running 1, stopped 2), in words.
fn state_text(state: u32) -> &'static str {
    match state {
        1 => "running",
        2 => "stopped",
        _ => "unknown",
    }
}

/// A point in time as RFC 3339, or its seconds when out of range.
pub fn time_text(t: Timestamp) -> String {
    DateTime::from_timestamp(t.secs, t.nanos)
        .map_or_else(|| format!("{} (out of range)", t.secs), |d| d.to_rfc3339())
}

/// How long before `now` `t` was, for a listing ("1.5s ago", "0.2s in the
/// future").
pub fn ago(t: Timestamp, now: Timestamp) -> String {
    match t.age(now) {
        Ok(age) => format!("{:.1}s ago", age.as_secs_f64()),
        Err(ahead) => format!("{:.1}s in the future", ahead.as_secs_f64()),
    }
}

/// A heartbeat's age for a listing ("0.4s ago", or "in the future").
pub fn beat_ago(t: Timestamp, now: Timestamp) -> String {
    t.age(now).map_or_else(
        |_| "in the future".to_owned(),
        |age| format!("{:.1}s ago", age.as_secs_f64()),
    )
}
