//! What a segment holds, for listings and inspection: the header's kind
//! picks the protocol's [`Spec`](super::spec::Spec), whose summary says the
//! rest. Read-only and bounded: a writer frozen mid-update is reported,
//! never waited for, a segment too small for its kind's layout is
//! described as such, its words never read, and only the words a layout
//! defines are read: a segment is found empty without faulting in a page
//! (of a 512 MiB segment nobody wrote, none is made resident).

use super::clock::Timestamp;
use super::fields::ago;
use super::header::{self, Content, HeaderError, Kind};
use super::registry::spec_of;
use super::spec::Look;
use super::text::{self, TextError};
use crate::transport::view::ReadView;

/// What a segment holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Holds {
    /// All zeros: nothing written yet.
    Empty,
    /// A C writer's time text.
    CText {
        /// The seconds it says.
        secs: i64,
    },
    /// One of ours, readable.
    Ours {
        /// Its kind.
        kind: Kind,
        /// Its spec's phrase for what it holds.
        summary: String,
    },
    /// Ours, but caught mid-update: the writer is stopped or was killed
    /// while publishing.
    MidUpdate {
        /// The kind.
        kind: Kind,
        /// The odd sequence.
        seq: u64,
    },
    /// Nothing this build can decode, and why.
    Unknown(String),
}

impl Holds {
    /// One short phrase for a listing.
    pub fn summary(&self, now: Timestamp) -> String {
        match self {
            Holds::Empty => "empty".into(),
            Holds::CText { secs } => format!(
                "C writer's text: time {secs} ({})",
                ago(Timestamp::from_secs(*secs), now)
            ),
            Holds::Ours { summary, .. } => summary.clone(),
            Holds::MidUpdate { kind, seq } => format!(
                "{} mid-update (sequence {seq}): writer frozen or killed while publishing",
                kind.name()
            ),
            Holds::Unknown(why) => format!("unknown: {why}"),
        }
    }

    /// A machine name for what it holds ("time", "c-text", "unknown").
    pub fn machine_name(&self) -> &'static str {
        match self {
            Holds::Empty => "empty",
            Holds::CText { .. } => "c-text",
            Holds::Ours { kind, .. } => spec_of(*kind).list_name,
            Holds::MidUpdate { .. } => "mid-update",
            Holds::Unknown(_) => "unknown",
        }
    }
}

/// Describe the segment behind `view`, of which the kernel says
/// `swapped_out` bytes are in swap (`TableMore::swap`; 0 for memory of
/// this process).
///
/// `Empty` is decided from the pages resident in memory only: a page not
/// resident that nobody wrote reads as zeros, and reading it would make the
/// kernel allocate it, charged to whoever looks. A page swapped out is not
/// resident either but may hold anything, so with any of the segment in
/// swap it is not called empty (a page swapped out between the kernel's
/// count and this look goes unnoticed: the listing is a look, not a lock).
pub fn describe(view: ReadView<'_>, swapped_out: u64) -> Holds {
    match header::identify(view) {
        Err(HeaderError::TooSmall { bytes }) => {
            Holds::Unknown(format!("{bytes} bytes, too small for a header"))
        }
        Err(e) => Holds::Unknown(e.to_string()),
        Ok(Content::Foreign) => match text::read(view).map(|t| text::decode_secs(&t)) {
            Ok(Ok(secs)) => Holds::CText { secs },
            Ok(Err(TextError::Empty)) if view.is_zero_in_memory() => match swapped_out {
                0 => Holds::Empty,
                n => Holds::Unknown(format!(
                    "no text, and nothing else in memory, but {n} bytes in swap, not read"
                )),
            },
            Ok(Err(e)) | Err(e) => Holds::Unknown(e.to_string()),
        },
        Ok(Content::Ours(kind)) => {
            let spec = spec_of(kind);
            if !spec.fits(view) {
                return Holds::Unknown(spec.too_small(view.bytes()));
            }
            match (spec.summary)(view, Timestamp::now()) {
                Look::Holds(summary) => Holds::Ours { kind, summary },
                Look::MidUpdate { seq } => Holds::MidUpdate { kind, seq },
                Look::Unreadable(why) => Holds::Unknown(why),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::{stamp, word};
    use crate::transport::view::WriteView;
    use std::sync::atomic::AtomicU64;

    /// A header of every kind on a segment too small for its layout is
    /// described as too small, its layout's words never read.
    #[test]
    fn a_kind_too_big_for_its_segment_is_unknown() {
        for spec in crate::protocol::registry::SPECS {
            let words: Vec<AtomicU64> = (0..25).map(|_| AtomicU64::new(0)).collect();
            let view = WriteView::new(&words);
            stamp(view, spec.kind);
            assert_eq!(
                describe(view.read(), 0),
                Holds::Unknown(spec.too_small(200)),
                "{}",
                spec.kind.name()
            );
            assert_eq!(view.read().load(word::MAGIC), header::MAGIC);
        }
    }

    /// All zeros is empty, unless the kernel says some of it is in swap;
    /// one word that is not zero, anywhere, makes it unknown.
    #[test]
    fn empty_is_all_zeros_with_nothing_in_swap() {
        let words: Vec<AtomicU64> = (0..5000).map(|_| AtomicU64::new(0)).collect();
        let view = WriteView::new(&words);
        assert_eq!(describe(view.read(), 0), Holds::Empty);
        assert!(
            matches!(describe(view.read(), 4096), Holds::Unknown(why) if why.contains("4096 bytes in swap"))
        );
        for i in [17, 4999] {
            view.store(i, 1);
            assert_eq!(
                describe(view.read(), 0),
                Holds::Unknown(TextError::Empty.to_string()),
                "word {i}"
            );
            view.store(i, 0);
        }
    }
}
