//! The time record's [`Spec`].

use super::adopt;
use super::layout::{word, DEFAULT_SEGMENT_SIZE, MIN_SEGMENT_SIZE};
use super::record::{self, ReadError, Reading, WriterState};
use crate::protocol::clock::Timestamp;
use crate::protocol::fields::{self, ago, Decode, Field};
use crate::protocol::header::Kind;
use crate::protocol::spec::{Look, Spec};
use crate::transport::view::ReadView;

/// The time record.
pub const SPEC: Spec = Spec {
    kind: Kind::Time,
    phrase: "the time record",
    list_name: "time",
    min_size: MIN_SEGMENT_SIZE,
    default_size: DEFAULT_SEGMENT_SIZE,
    adopt: adopt::judge,
    notify: Some(record::NOTIFY),
    summary,
    fields: FIELDS,
    dump: None,
};

const FIELDS: &[Field] = &[
    Field::new(word::SEQ, "sequence", Decode::Seq),
    Field::new(word::SECS, "seconds", Decode::Secs),
    Field::new(word::NANOS_STATE, "nanos | state", Decode::NanosState),
    Field::new(word::INTERVAL_NS, "interval", Decode::Interval),
    Field::new(word::WRITER_PID, "writer pid", Decode::Pid),
    Field::new(word::WRITER_IPC_NS, "writer IPC namespace", Decode::IpcNs),
    Field::new(word::WRITER_STARTED, "writer started", Decode::Secs),
    Field::new(word::WAITERS, "waiters", Decode::Count),
];
const _: () = assert!(fields::fit(FIELDS, MIN_SEGMENT_SIZE));

fn summary(view: ReadView<'_>, now: Timestamp) -> Look {
    match record::read(view) {
        Ok(Reading::Record(record)) => Look::Holds(format!(
            "time record: writer pid {} {}, last publish {}",
            record.writer.pid,
            match record.state {
                WriterState::Running => "running",
                WriterState::Stopped => "stopped",
            },
            ago(record.time, now)
        )),
        Ok(Reading::Text(_)) => Look::Unreadable("no shm_write header".into()),
        Err(ReadError::Unstable { seq }) => Look::MidUpdate { seq },
        Err(e) => Look::Unreadable(e.to_string()),
    }
}
