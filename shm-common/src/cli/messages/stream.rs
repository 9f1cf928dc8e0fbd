//! How a stream ended, from either side, and what is wrong with a segment
//! a consumer found.

use crate::protocol::stream::end::StreamEnd;
use crate::protocol::stream::shared::{Holder, StreamError};
use crate::transport::key::Key;

/// A producer's stream ended early: what it sent and what arrived.
pub fn stream_producer_ended(
    end: StreamEnd,
    sent: u64,
    received: u64,
    consumer_pid: u32,
) -> String {
    let why = match end {
        StreamEnd::PeerDied => {
            format!("the consumer (pid {consumer_pid}) stopped responding: killed, or frozen")
        }
        StreamEnd::PeerStopped => {
            format!("the consumer (pid {consumer_pid}) stopped before the end")
        }
        StreamEnd::Signal => "stopped by a signal".to_owned(),
        StreamEnd::Timeout => "no consumer took anything for the --timeout".to_owned(),
    };
    format!("stream interrupted after {sent} bytes sent, {received} received: {why}; the segment is removed")
}

/// The producer's stream arrived whole.
pub fn stream_delivered(tool: &str, bytes: u64) -> String {
    format!("{tool}: stream delivered: {bytes} bytes")
}

/// A consumer's stream ended early.
pub fn stream_consumer_ended(end: StreamEnd, received: u64, producer_pid: u32) -> String {
    let why = match end {
        StreamEnd::PeerDied => {
            format!("the producer (pid {producer_pid}) stopped responding: killed, or frozen")
        }
        StreamEnd::PeerStopped => {
            format!("the producer (pid {producer_pid}) stopped before the end of its input")
        }
        StreamEnd::Signal => "stopped by a signal".to_owned(),
        StreamEnd::Timeout => "timed out".to_owned(),
    };
    format!("stream interrupted after {received} bytes, all of them written out: {why}")
}

/// A consumer's stdout failed after `written` bytes of the stream.
pub fn stream_output_failed(e: &std::io::Error, written: u64) -> String {
    format!("cannot write to stdout after {written} bytes of the stream: {e}: stopping, and telling the producer the stream ended early")
}

/// A consumer's futex call on the ring failed after `bytes` of the
/// stream: a system failure, not the data's.
pub fn stream_futex_failed(e: &StreamError, bytes: u64) -> String {
    format!("--stream: after {bytes} bytes, {e}: stopping, and telling the producer the stream ended early")
}

/// A consumer that may only attach read-only.
pub fn stream_needs_write(key: Key, mode: u16, uid: u32) -> String {
    format!("segment {key} (mode {mode:04o}, owner uid {uid}) is a stream, and its consumer must write its cursor into it: run shm_read --stream as uid {uid}, or start the producer with --mode 0660 (the group) or --mode 0666 (anyone)")
}

/// What is wrong with the segment a consumer found.
pub fn stream_refused(e: &StreamError, key: Key) -> String {
    match e {
        StreamError::NotAStream(what) => format!("segment {key} holds {what}, not a stream; read it with shm_read without --stream, or point --key-file at the producer's"),
        StreamError::Busy { pid, holder: Holder::Active } => format!("segment {key}: {e}; a stream has one consumer: stop that one first (pid {pid}), or give this stream its own --key-file"),
        StreamError::Busy { holder: Holder::Finished, .. } => format!("segment {key}: {e}; a stream is read once: start the producer again to send it again"),
        StreamError::Busy { holder: Holder::Dead | Holder::StoppedEarly, .. } => format!("segment {key}: {e}; a stream cannot be taken over, and its producer ends it: start the producer again, then this consumer"),
        StreamError::NotReady => format!("segment {key} has stayed empty: no producer has set it up; start `shm_write --stream` with this --key-file, or remove the segment (`shm_read --inspect` shows who made it)"),
        other => format!("segment {key}: {other}"),
    }
}
