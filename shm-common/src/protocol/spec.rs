//! What a protocol says about itself, in one place: its [`Spec`]. The
//! generic code (`describe`, `shm_read --list` and `--inspect`) works from
//! the specs in [`super::registry`] and holds nothing about any one kind.

use std::time::Duration;

use super::adopt::Rule;
use super::clock::Timestamp;
use super::fields::Field;
use super::header::Kind;
use super::notify;
use crate::transport::view::ReadView;

/// One protocol, described.
#[derive(Debug)]
pub struct Spec {
    /// The header's kind.
    pub kind: Kind,
    /// How a sentence names one ("the time record", "a value").
    pub phrase: &'static str,
    /// Its machine name in a listing's JSON ("time").
    pub list_name: &'static str,
    /// The smallest segment its layout fits in.
    pub min_size: usize,
    /// The segment size a writer makes without `--size`.
    pub default_size: usize,
    /// When a writer may take over an existing segment.
    pub adopt: Rule,
    /// The words readers sleep and count on, where it has them.
    pub notify: Option<notify::Words>,
    /// What a segment of this kind holds, in one phrase for a listing;
    /// called only on a view of at least [`Spec::min_size`] bytes.
    pub summary: fn(view: ReadView<'_>, now: Timestamp) -> Look,
    /// Its words, field by field, for `--inspect`, in offset order.
    pub fields: &'static [Field],
    /// Bytes `--inspect` shows as a hex dump (a binary payload), if any;
    /// called only on a view of at least [`Spec::min_size`] bytes.
    pub dump: Option<Dump>,
}

/// The bytes of a segment to hex-dump, if it has any (see [`Spec::dump`]).
pub type Dump = fn(view: ReadView<'_>) -> Option<Vec<u8>>;

impl Spec {
    /// Whether the layout fits in the segment behind `view`.
    pub fn fits(&self, view: ReadView<'_>) -> bool {
        view.bytes() >= self.min_size
    }

    /// Why a segment of `bytes` cannot hold this kind.
    pub fn too_small(&self, bytes: usize) -> String {
        format!(
            "the segment has {bytes} bytes, fewer than the {} {} needs",
            self.min_size, self.phrase
        )
    }
}

/// What a protocol's summary found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look {
    /// A consistent state, in one phrase.
    Holds(String),
    /// Caught mid-update: the writer is stopped or was killed while
    /// publishing.
    MidUpdate {
        /// The odd sequence.
        seq: u64,
    },
    /// Nothing this kind can decode, and why.
    Unreadable(String),
}

/// What a liveness rule says of a segment's writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Life {
    /// Alive: its last sign of life is this old.
    Live(Duration),
    /// Gone: its last sign of life is this old, more than the rule allows.
    Stale(Duration),
    /// Its last sign of life lies this far ahead of this clock (a clock
    /// set back, a torn or forged word): no live writer's.
    Ahead(Duration),
    /// It said it stopped.
    Stopped,
    /// Nothing to judge by (no writer there yet, or unreadable words).
    Absent,
}

/// A sign of life this little ahead of the reader's clock is taken as
/// now: two CPUs' clocks may disagree by that much.
pub const CLOCK_SLACK: Duration = Duration::from_millis(50);

/// Judge a sign of life at `t`: live while at most `stale_after` old
/// (allowing [`CLOCK_SLACK`] in the future).
pub fn by_age(t: Timestamp, now: Timestamp, stale_after: Duration) -> Life {
    match t.age(now) {
        Err(ahead) if ahead <= CLOCK_SLACK => Life::Live(Duration::ZERO),
        Err(ahead) => Life::Ahead(ahead),
        Ok(age) if age <= stale_after => Life::Live(age),
        Ok(age) => Life::Stale(age),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_judged_with_slack() {
        let now = Timestamp {
            secs: 100,
            nanos: 0,
        };
        let second = Duration::from_secs(1);
        let at = |secs: i64, nanos: u32| Timestamp { secs, nanos };
        assert_eq!(by_age(at(99, 0), now, second), Life::Live(second));
        assert_eq!(by_age(at(98, 0), now, second), Life::Stale(2 * second));
        assert_eq!(
            by_age(at(100, 40_000_000), now, second),
            Life::Live(Duration::ZERO)
        );
        assert_eq!(by_age(at(101, 0), now, second), Life::Ahead(second));
    }
}
