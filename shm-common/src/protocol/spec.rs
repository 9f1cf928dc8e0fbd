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

/// What a liveness rule says of a segment's writer, from its sign of life
/// as this reader watched it ([`super::watch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Life {
    /// Alive: this reader saw its sign of life change this long ago.
    Live(Duration),
    /// Not known yet: its sign of life has not changed in the time this
    /// reader has watched it, which is less than the rule's bound.
    Watching(Duration),
    /// Gone: its sign of life stayed unchanged this long, more than the
    /// rule allows.
    Stale(Duration),
    /// What it published lies this far ahead of this clock, more than a
    /// clock step explains (a torn or forged word): a check on the data,
    /// not on its liveness.
    Ahead(Duration),
    /// It said it stopped.
    Stopped,
    /// Nothing to judge by (no writer there yet, or unreadable words).
    Absent,
}
