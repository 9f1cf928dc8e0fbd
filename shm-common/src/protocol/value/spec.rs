//! The value's [`Spec`].

use super::layout::{capacity, word, DEFAULT_SEGMENT_SIZE, MIN_SEGMENT_SIZE};
use super::read::{self, ReadError};
use super::{adopt, publish};
use crate::protocol::clock::Timestamp;
use crate::protocol::fields::{self, beat_ago, Decode, Field};
use crate::protocol::header::Kind;
use crate::protocol::spec::{Look, Spec};
use crate::transport::view::ReadView;

/// The latest value of any payload.
pub const SPEC: Spec = Spec {
    kind: Kind::Value,
    phrase: "a value",
    list_name: "value",
    min_size: MIN_SEGMENT_SIZE,
    default_size: DEFAULT_SEGMENT_SIZE,
    adopt: adopt::judge,
    notify: Some(publish::NOTIFY),
    summary,
    fields: FIELDS,
    dump: Some(binary_payload),
};

const FIELDS: &[Field] = &[
    Field::new(word::HEARTBEAT, "heartbeat", Decode::NanosTime),
    Field::new(word::SEQ, "sequence", Decode::Seq),
    Field::new(word::PUBLISHED, "published", Decode::NanosTime),
    Field::new(word::STATE_FLAGS, "state | flags", Decode::StateFlags),
    Field::new(word::COUNTER, "count", Decode::Count),
    Field::new(word::LEN, "length", Decode::Custom(length)),
    Field::new(word::WRITER_PID, "writer pid", Decode::Pid),
    Field::new(word::WRITER_IPC_NS, "writer IPC namespace", Decode::IpcNs),
    Field::new(word::WAITERS, "waiters", Decode::Count),
];
const _: () = assert!(fields::fit(FIELDS, MIN_SEGMENT_SIZE));

fn length(raw: u64, view: ReadView<'_>) -> String {
    format!("{raw} bytes (capacity {})", capacity(view.bytes()))
}

/// The record only: the payload, up to the segment's size, is not copied.
fn summary(view: ReadView<'_>, now: Timestamp) -> Look {
    match read::read_prefix(view, 0) {
        Ok((value, len)) => Look::Holds(format!(
            "value: {} bytes, #{}, writer pid {} {}, heartbeat {}",
            len,
            value.counter,
            value.writer_pid,
            if value.stopped { "stopped" } else { "running" },
            beat_ago(read::heartbeat(view), now)
        )),
        Err(ReadError::Unstable { seq }) => Look::MidUpdate { seq },
        Err(e) => Look::Unreadable(e.to_string()),
    }
}

/// The payload, when it is not printable text (the C text shows the rest).
fn binary_payload(view: ReadView<'_>) -> Option<Vec<u8>> {
    read::read(view)
        .ok()
        .map(|value| value.payload)
        .filter(|p| !p.is_empty() && p.iter().any(|&b| !(0x20..0x7f).contains(&b)))
}
