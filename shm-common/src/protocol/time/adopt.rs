//! When a time writer may take over an existing segment for its key.

use crate::protocol::adopt::{changes_within, Previous, Verdict, PROBE};
use crate::protocol::text::TextError;
use crate::transport::view::ReadView;

use super::live::stale_after;
use super::record::{self, ReadError, Reading, WriterState};

/// The time record's adoption rule ([`crate::protocol::adopt::Rule`]).
///
/// A segment nobody else is attached to is abandoned if it holds a time
/// (ours, or a C writer's text) or nothing. One that others are attached to
/// may still have a live writer, C or ours (a writer whose key file differs
/// but whose `ftok` key collides). Its liveness is the readers' rule
/// ([`super::live`]): a record that says its writer stopped is abandoned;
/// otherwise the record (or a C writer's text) and the writer's beat
/// counter are watched for its [`stale_after`] (3 s at the default 1 s
/// interval): a live writer changes one of them within that time (within
/// about a second). What could not be read is watched for [`PROBE`].
pub fn judge(view: ReadView<'_>, others_attached: bool) -> Verdict {
    let first = record::read(view);
    let previous = match &first {
        Ok(Reading::Record(_)) | Err(ReadError::Unstable { .. } | ReadError::Corrupt(_)) => {
            Previous::Ours
        }
        Ok(Reading::Text(_)) => Previous::C,
        Err(ReadError::Text(TextError::Empty)) => Previous::Empty,
        Err(ReadError::Text(TextError::Unstable)) => return Verdict::Busy,
        Err(reason) => return Verdict::Refuse(Box::new(reason.clone())),
    };
    if !others_attached {
        return Verdict::Adopt(previous);
    }
    let live = match first {
        Ok(Reading::Record(r)) if r.state == WriterState::Stopped => false,
        Ok(reading) => changes_within(view, stale_after(&reading), look),
        Err(_) => changes_within(view, PROBE, look),
    };
    if live {
        Verdict::Busy
    } else {
        Verdict::Adopt(previous)
    }
}

/// What a live writer changes: the record or text, and the beat counter.
fn look(view: ReadView<'_>) -> (Result<Reading, ReadError>, u64) {
    (record::read(view), record::beat(view))
}
