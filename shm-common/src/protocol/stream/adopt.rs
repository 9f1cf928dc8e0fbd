//! A stream's segment is never adopted: a ring left by a producer that
//! died cannot be continued (its consumer, if any, has reported the
//! interrupted stream), and one whose producer lives belongs to it.

use crate::protocol::adopt::{Previous, Verdict};
use crate::protocol::header::{self, Content, Kind};
use crate::transport::view::ReadView;

/// The stream protocol's adoption rule ([`crate::protocol::adopt::Rule`]):
/// an empty segment, or a stream nobody is attached to any more, may be
/// re-made; anything else is refused.
pub fn judge(view: ReadView<'_>, others_attached: bool) -> Verdict {
    match header::identify(view) {
        Ok(Content::Ours(Kind::Stream)) if !others_attached => Verdict::Adopt(Previous::Ours),
        Ok(Content::Ours(Kind::Stream)) => Verdict::Busy,
        Ok(Content::Foreign) if view.is_zero() => Verdict::Adopt(Previous::Empty),
        Ok(Content::Foreign) => Verdict::Refuse("it holds a C writer's text".into()),
        Ok(Content::Ours(kind)) => Verdict::Refuse(format!("it holds a {}", kind.name()).into()),
        Err(e) => Verdict::Refuse(Box::new(e)),
    }
}
