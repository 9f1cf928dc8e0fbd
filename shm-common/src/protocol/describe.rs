//! What a segment holds, for listings and inspection: one dispatch over
//! the header's kind, read-only and bounded (a writer frozen mid-update is
//! reported, never waited for).

use std::time::Duration;

use super::clock::Timestamp;
use super::header::{self, Content, HeaderError, Kind};
use super::text::{self, TextError};
use super::time::record::{self, Reading, WriterState};
use super::{stream, value};
use crate::transport::view::ReadView;

/// What a segment holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Holds {
    /// All zeros: nothing written yet.
    Empty,
    /// A C writer's time text.
    CText {
        /// The seconds it says.
        secs: i64,
    },
    /// Our time record.
    Time {
        /// The record.
        record: record::Record,
    },
    /// Our value.
    Value {
        /// The value.
        value: value::read::Value,
        /// How old the writer's heartbeat is (`None`: in the future).
        heartbeat_age: Option<Duration>,
    },
    /// Our stream's ring.
    Stream(StreamState),
    /// Ours, but caught mid-update: the writer is stopped or was killed
    /// while publishing.
    MidUpdate {
        /// The kind.
        kind: Kind,
        /// The odd sequence.
        seq: u64,
    },
    /// Nothing this build can decode, and why.
    Unknown(String),
}

impl Holds {
    /// One short phrase for a listing.
    pub fn summary(&self, now: Timestamp) -> String {
        let age = |t: Timestamp| match t.age(now) {
            Ok(age) => format!("{:.1}s ago", age.as_secs_f64()),
            Err(ahead) => format!("{:.1}s in the future", ahead.as_secs_f64()),
        };
        match self {
            Holds::Empty => "empty".into(),
            Holds::CText { secs } => format!(
                "C writer's text: time {secs} ({})",
                age(Timestamp::from_secs(*secs))
            ),
            Holds::Time { record } => format!(
                "time record: writer pid {} {}, last publish {}",
                record.writer.pid,
                match record.state {
                    WriterState::Running => "running",
                    WriterState::Stopped => "stopped",
                },
                age(record.time)
            ),
            Holds::Value {
                value,
                heartbeat_age,
            } => format!(
                "value: {} bytes, #{}, writer pid {} {}, heartbeat {}",
                value.payload.len(),
                value.counter,
                value.writer_pid,
                if value.stopped { "stopped" } else { "running" },
                heartbeat_age.map_or_else(
                    || "in the future".into(),
                    |a| format!("{:.1}s ago", a.as_secs_f64())
                )
            ),
            Holds::Stream(s) => format!(
                "stream: {} of {} bytes in the ring, {} sent, {} received; producer {}, consumer {}",
                s.head.saturating_sub(s.tail),
                s.capacity,
                s.head,
                s.tail,
                s.producer,
                s.consumer
            ),
            Holds::MidUpdate { kind, seq } => format!(
                "{} mid-update (sequence {seq}): writer frozen or killed while publishing",
                kind.name()
            ),
            Holds::Unknown(why) => format!("unknown: {why}"),
        }
    }
}

/// Describe the segment behind `view`.
pub fn describe(view: ReadView<'_>) -> Holds {
    match header::identify(view) {
        Err(HeaderError::TooSmall { bytes }) => {
            Holds::Unknown(format!("{bytes} bytes, too small for a header"))
        }
        Err(e) => Holds::Unknown(e.to_string()),
        Ok(Content::Foreign) => match text::read(view).map(|t| text::decode_secs(&t)) {
            Ok(Ok(secs)) => Holds::CText { secs },
            Ok(Err(TextError::Empty)) if view.is_zero() => Holds::Empty,
            Ok(Err(e)) | Err(e) => Holds::Unknown(e.to_string()),
        },
        Ok(Content::Ours(Kind::Time)) => match record::read(view) {
            Ok(Reading::Record(record)) => Holds::Time { record },
            Ok(Reading::Text(secs)) => Holds::CText { secs },
            Err(record::ReadError::Unstable { seq }) => Holds::MidUpdate {
                kind: Kind::Time,
                seq,
            },
            Err(e) => Holds::Unknown(e.to_string()),
        },
        Ok(Content::Ours(Kind::Stream)) => Holds::Stream(StreamState::of(view)),
        Ok(Content::Ours(Kind::Value)) => match value::read::read(view) {
            Ok(value) => Holds::Value {
                heartbeat_age: value::read::heartbeat(view).age(Timestamp::now()).ok(),
                value,
            },
            Err(value::read::ReadError::Unstable { seq }) => Holds::MidUpdate {
                kind: Kind::Value,
                seq,
            },
            Err(e) => Holds::Unknown(e.to_string()),
        },
    }
}

/// A ring's words as they are (read-only: no side is claimed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamState {
    /// Bytes the ring holds when full.
    pub capacity: u64,
    /// Bytes the producer committed.
    pub head: u64,
    /// Bytes the consumer took.
    pub tail: u64,
    /// The producer's state, in words.
    pub producer: String,
    /// The consumer's state, in words.
    pub consumer: String,
}

impl StreamState {
    fn of(view: ReadView<'_>) -> Self {
        use stream::layout::{state, word};
        let side = |state_word: usize, beat_word: usize, pid_word: usize| {
            let pid = view.load(pid_word) as u32;
            match view.load(state_word) {
                state::NONE => "not there yet".to_owned(),
                state::ACTIVE => format!(
                    "pid {pid} active, heartbeat {}",
                    match Timestamp::from_word(view.load(beat_word)).age(Timestamp::now()) {
                        Ok(age) => format!("{:.1}s ago", age.as_secs_f64()),
                        Err(_) => "in the future".to_owned(),
                    }
                ),
                state::DONE => format!("pid {pid} done"),
                state::ABORTED => format!("pid {pid} stopped early"),
                other => format!("unknown state {other}"),
            }
        };
        Self {
            capacity: view.load(word::CAPACITY),
            head: view.load(word::HEAD),
            tail: view.load(word::TAIL),
            producer: side(
                word::PRODUCER_STATE,
                word::PRODUCER_BEAT,
                word::PRODUCER_PID,
            ),
            consumer: side(
                word::CONSUMER_STATE,
                word::CONSUMER_BEAT,
                word::CONSUMER_PID,
            ),
        }
    }
}
