//! When a time writer may take over an existing segment for its key.

use crate::protocol::adopt::{changes_within, Previous, Verdict, PROBE};
use crate::protocol::clock::Timestamp;
use crate::protocol::spec::Life;
use crate::protocol::text::TextError;
use crate::transport::view::ReadView;

use super::live::{life, stale_after};
use super::record::{self, ReadError, Reading};

/// The time record's adoption rule ([`crate::protocol::adopt::Rule`]).
///
/// A segment nobody else is attached to is abandoned if it holds a time
/// (ours, or a C writer's text) or nothing. One that others are attached to
/// may still have a live writer, C or ours (a writer whose key file differs
/// but whose `ftok` key collides). Its liveness is the readers' rule
/// ([`super::live`]): a record whose [`stale_after`] exceeds [`PROBE`] is
/// live while it is no older than that; a faster writer's record, or a C
/// writer's text, is watched for its `stale_after` (at most [`PROBE`]): a
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
        Ok(reading) => match life(&reading, Timestamp::now()) {
            Life::Stopped => false,
            life if matches!(reading, Reading::Record(_)) && stale_after(&reading) > PROBE => {
                matches!(life, Life::Live(_))
            }
            _ => changes_within(view, stale_after(&reading).min(PROBE), record::read),
        },
        Err(_) => changes_within(view, PROBE, record::read),
    };
    if live {
        Verdict::Busy
    } else {
        Verdict::Adopt(previous)
    }
}
