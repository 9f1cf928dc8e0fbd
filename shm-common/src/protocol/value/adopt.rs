//! When a value writer may take over an existing segment for its key.

use crate::protocol::adopt::{Previous, Verdict};
use crate::protocol::clock::Timestamp;
use crate::protocol::header::{self, Content, Kind};
use crate::protocol::spec::Life;
use crate::protocol::text::{self, TextError};
use crate::transport::view::ReadView;

use super::live;

/// The value protocol's adoption rule ([`crate::protocol::adopt::Rule`]).
///
/// An empty segment, or a value left by a writer of ours, may be taken
/// over; a value whose writer is alive by [`live::life`] while others
/// are attached belongs to a live writer. Anything else (a time record, a C
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
    if others_attached && matches!(live::life(view, Timestamp::now()), Life::Live(_)) {
        Verdict::Busy
    } else {
        Verdict::Adopt(Previous::Ours)
    }
}
