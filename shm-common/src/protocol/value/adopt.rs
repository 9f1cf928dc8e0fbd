//! When a value writer may take over an existing segment for its key.

use crate::protocol::adopt::{changes_within, Previous, Verdict};
use crate::protocol::header::{self, Content, Kind};
use crate::protocol::text::{self, TextError};
use crate::transport::view::ReadView;

use super::layout::MIN_SEGMENT_SIZE;
use super::{live, read};

/// The value protocol's adoption rule ([`crate::protocol::adopt::Rule`]).
///
/// An empty segment, or a value left by a writer of ours, may be taken
/// over; while others are attached, a value whose writer did not say it
/// stopped is watched for [`live::HEARTBEAT_STALE`]: one whose heartbeat
/// changes meanwhile belongs to a live writer ([`super::live`]'s rule). Anything else (a time record, a C
/// writer's text, unknown bytes) is not a value's to overwrite.
pub fn judge(view: ReadView<'_>, others_attached: bool) -> Verdict {
    match header::identify(view) {
        Ok(Content::Ours(Kind::Value)) => {}
        Ok(Content::Foreign) => {
            return match text::read(view).map(|t| text::c_str(&t).map(<[u8]>::is_empty)) {
                Ok(Ok(true)) => Verdict::Adopt(Previous::Empty),
                Err(TextError::Unstable) => Verdict::Busy,
                _ => Verdict::Refuse("it holds a C writer's text".into()),
            }
        }
        Ok(Content::Ours(kind)) => {
            return Verdict::Refuse(format!("it holds a {}", kind.name()).into())
        }
        Err(e) => return Verdict::Refuse(Box::new(e)),
    }
    if view.bytes() < MIN_SEGMENT_SIZE {
        return Verdict::Adopt(Previous::Ours);
    }
    let stopped = matches!(read::read(view), Ok(value) if value.stopped);
    if others_attached && !stopped && changes_within(view, live::HEARTBEAT_STALE, live::sign) {
        Verdict::Busy
    } else {
        Verdict::Adopt(Previous::Ours)
    }
}
