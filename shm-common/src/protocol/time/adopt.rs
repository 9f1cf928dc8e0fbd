//! When a time writer may take over an existing segment for its key.

use std::time::Duration;

use crate::protocol::adopt::{changes_within, Previous, Verdict, PROBE};
use crate::protocol::clock::Timestamp;
use crate::protocol::text::TextError;
use crate::transport::view::ReadView;

use super::record::{self, ReadError, Reading, WriterState};

/// The shortest watch of a fast writer of ours: long enough for one that
/// is merely descheduled on a busy machine to publish again.
pub const MIN_PROBE: Duration = Duration::from_millis(250);

/// The time record's adoption rule ([`crate::protocol::adopt::Rule`]).
///
/// A segment nobody else is attached to is abandoned if it holds a time
/// (ours, or a C writer's text) or nothing. One that others are attached to
/// may still have a live writer, C or ours (a writer whose key file differs
/// but whose `ftok` key collides): a record of a slow writer is live while
/// it is younger than three intervals; a fast one is watched for three
/// intervals (at least [`MIN_PROBE`]), a C writer's text for [`PROBE`]: a
/// live writer changes it within that time.
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
        Ok(Reading::Record(r)) if r.writer.interval * 3 > PROBE => r
            .time
            .age(Timestamp::now())
            .is_ok_and(|age| age <= r.writer.interval * 3),
        Ok(Reading::Record(r)) => {
            changes_within(view, (r.writer.interval * 3).max(MIN_PROBE), record::read)
        }
        _ => changes_within(view, PROBE, record::read),
    };
    if live {
        Verdict::Busy
    } else {
        Verdict::Adopt(previous)
    }
}
