//! The stream's [`Spec`], from the ring's words as they are (read-only: no
//! side is claimed).

use super::adopt;
use super::layout::{state, word, DEFAULT_SEGMENT_SIZE, MIN_SEGMENT_SIZE};
use super::shared::Side;
use crate::protocol::clock::Timestamp;
use crate::protocol::fields::{self, beat_ago, Decode, Field};
use crate::protocol::header::Kind;
use crate::protocol::spec::{Look, Spec};
use crate::transport::view::ReadView;

/// A byte stream through a ring.
pub const SPEC: Spec = Spec {
    kind: Kind::Stream,
    phrase: "a stream",
    list_name: "stream",
    min_size: MIN_SEGMENT_SIZE,
    default_size: DEFAULT_SEGMENT_SIZE,
    adopt: adopt::judge,
    notify: None,
    summary,
    fields: FIELDS,
    dump: None,
};

const FIELDS: &[Field] = &[
    Field::new(word::CAPACITY, "capacity", Decode::Bytes),
    Field::new(word::HEAD, "head (bytes sent)", Decode::Count),
    Field::new(word::PRODUCER_STATE, "producer state", Decode::Count),
    Field::new(word::PRODUCER_BEAT, "producer heartbeat", Decode::NanosTime),
    Field::new(word::FINAL, "final length", Decode::Count),
    Field::new(word::PRODUCER_PID, "producer pid", Decode::Count),
    Field::new(word::TAIL, "tail (bytes received)", Decode::Count),
    Field::new(word::CONSUMER_STATE, "consumer state", Decode::Count),
    Field::new(word::CONSUMER_BEAT, "consumer heartbeat", Decode::NanosTime),
    Field::new(word::CONSUMER_PID, "consumer pid", Decode::Count),
    Field::new(word::CONSUMER_SLEEPING, "consumer sleeping", Decode::Count),
    Field::new(word::PRODUCER_SLEEPING, "producer sleeping", Decode::Count),
];
const _: () = assert!(fields::fit(FIELDS, MIN_SEGMENT_SIZE));

/// A side's state, in words.
fn side_text(side: Side, view: ReadView<'_>, now: Timestamp) -> String {
    let pid = view.load(side.pid()) as u32;
    match view.load(side.state()) {
        state::NONE => "not there yet".to_owned(),
        state::ACTIVE => format!(
            "pid {pid} active, heartbeat {}",
            beat_ago(Timestamp::from_word(view.load(side.beat())), now)
        ),
        state::DONE => format!("pid {pid} done"),
        state::ABORTED => format!("pid {pid} stopped early"),
        other => format!("unknown state {other}"),
    }
}

fn summary(view: ReadView<'_>, now: Timestamp) -> Look {
    let (head, tail) = (view.load(word::HEAD), view.load(word::TAIL));
    Look::Holds(format!(
        "stream: {} of {} bytes in the ring, {} sent, {} received; producer {}, consumer {}",
        head.saturating_sub(tail),
        view.load(word::CAPACITY),
        head,
        tail,
        side_text(Side::Producer, view, now),
        side_text(Side::Consumer, view, now)
    ))
}
