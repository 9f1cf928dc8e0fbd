//! The common header every segment of ours carries after the C text area:
//!
//! | byte | word | field |
//! |---|---|---|
//! | 128 | 16 | magic `"SHMTIME\0"` |
//! | 136 | 17 | layout version |
//! | 144 | 18 | kind (version 2 on; zero in version 1) |
//!
//! Version 1 is the time record as it was before kinds existed: its word 18
//! is zero, which is [`Kind::Time`], so time segments keep their bytes. Every
//! other kind is written with version 2, so that a `shm_read` that predates
//! kinds refuses it ("layout version 2, newer than the 1 this shm_read
//! understands") instead of misreading it as a time.

use thiserror::Error;

use super::fields::{Decode, Field};
use super::text;
use crate::transport::view::{ReadView, WriteView};

/// `"SHMTIME\0"` read as a little-endian word.
pub const MAGIC: u64 = u64::from_le_bytes(*b"SHMTIME\0");
/// The newest layout version this build reads and writes.
pub const LAYOUT_VERSION: u64 = 2;
/// Words of the common header (byte offset / 8).
pub mod word {
    /// Byte 128: [`super::MAGIC`].
    pub const MAGIC: usize = 16;
    /// Byte 136: the layout version.
    pub const VERSION: usize = 17;
    /// Byte 144: the [`super::Kind`].
    pub const KIND: usize = 18;
}
/// Bytes up to the end of the common header's cache line.
pub const HEADER_END: usize = 192;

/// What every segment of ours starts with, field by field for `--inspect`:
/// the C text (its first word stands for the 128 bytes) and the header.
pub const FIELDS: &[Field] = &[
    Field::new(0, "C text", Decode::Custom(c_text)),
    Field::new(word::MAGIC, "magic", Decode::Custom(magic)),
    Field::new(word::VERSION, "layout version", Decode::Count),
    Field::new(word::KIND, "kind", Decode::Custom(kind)),
];

fn c_text(_: u64, view: ReadView<'_>) -> String {
    let mut bytes = [0u8; text::TEXT_LEN];
    view.copy_bytes(0, &mut bytes[..view.bytes().min(text::TEXT_LEN)]);
    text::c_str(&bytes).map_or_else(
        |e| e.to_string(),
        |t| format!("{:?}", String::from_utf8_lossy(t)),
    )
}

fn magic(raw: u64, _: ReadView<'_>) -> String {
    format!("{:?}", String::from_utf8_lossy(&raw.to_le_bytes()))
}

fn kind(_: u64, view: ReadView<'_>) -> String {
    match identify(view) {
        Ok(Content::Ours(kind)) => kind.name().to_owned(),
        Ok(Content::Foreign) => "no header (a C writer's segment, or empty)".to_owned(),
        Err(e) => e.to_string(),
    }
}

/// What a segment of ours holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The time record (the clock).
    Time,
    /// The latest value of any payload.
    Value,
    /// A byte stream through a ring.
    Stream,
}

impl Kind {
    fn code(self) -> u64 {
        match self {
            Kind::Time => 0,
            Kind::Value => 1,
            Kind::Stream => 2,
        }
    }

    fn from_code(code: u64) -> Option<Self> {
        match code {
            0 => Some(Kind::Time),
            1 => Some(Kind::Value),
            2 => Some(Kind::Stream),
            _ => None,
        }
    }

    /// The layout version segments of this kind are written with.
    pub fn version(self) -> u64 {
        match self {
            Kind::Time => 1,
            Kind::Value | Kind::Stream => 2,
        }
    }

    /// What the kind is called in messages and listings.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Time => "time record",
            Kind::Value => "value",
            Kind::Stream => "stream",
        }
    }
}

/// What the header says a segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// No header (magic zero): a C writer's segment, or an empty one.
    Foreign,
    /// One of ours.
    Ours(Kind),
}

/// Why a header cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum HeaderError {
    /// Smaller than the C text area plus the header.
    #[error(
        "the segment has {bytes} bytes, fewer than the {HEADER_END} of the C text and the header"
    )]
    TooSmall {
        /// The segment's size.
        bytes: usize,
    },
    /// Bytes 128..136 hold something else.
    #[error("bytes 128..136 hold 0x{magic:016x}, neither shm_write's header nor the C writer's zeros: another program uses this segment")]
    UnknownMagic {
        /// The word found.
        magic: u64,
    },
    /// Written by a newer build.
    #[error("the segment has layout version {found}, newer than the {LAYOUT_VERSION} this build understands")]
    FutureVersion {
        /// The version found.
        found: u64,
    },
    /// A kind this build does not know.
    #[error("the segment holds kind {found}, which this build does not know")]
    UnknownKind {
        /// The kind code found.
        found: u64,
    },
}

/// Read the header. The magic is loaded with acquire: a writer stores it
/// last, so everything it initialised before is visible after it.
pub fn identify(view: ReadView<'_>) -> Result<Content, HeaderError> {
    if view.bytes() < HEADER_END {
        return Err(HeaderError::TooSmall {
            bytes: view.bytes(),
        });
    }
    match view.load_acquire(word::MAGIC) {
        0 => Ok(Content::Foreign),
        MAGIC => {
            let found = view.load(word::VERSION);
            match found {
                1 => Ok(Content::Ours(Kind::Time)),
                2 => {
                    let code = view.load(word::KIND);
                    Kind::from_code(code)
                        .map(Content::Ours)
                        .ok_or(HeaderError::UnknownKind { found: code })
                }
                _ => Err(HeaderError::FutureVersion { found }),
            }
        }
        magic => Err(HeaderError::UnknownMagic { magic }),
    }
}

/// Mark the segment as holding `kind`; call once its content is
/// initialised (the magic goes last, with release).
pub fn stamp(view: WriteView<'_>, kind: Kind) {
    view.store(word::VERSION, kind.version());
    if kind.version() > 1 {
        view.store(word::KIND, kind.code());
    }
    view.store_release(word::MAGIC, MAGIC);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn identifies_kinds_and_refuses_others() {
        let words: Vec<AtomicU64> = (0..32).map(|_| AtomicU64::new(0)).collect();
        let (r, w) = (ReadView::new(&words), WriteView::new(&words));
        assert_eq!(identify(r), Ok(Content::Foreign));
        stamp(w, Kind::Time);
        assert_eq!(identify(r), Ok(Content::Ours(Kind::Time)));
        assert_eq!(r.load(word::KIND), 0, "time segments keep version 1 bytes");
        w.store(word::VERSION, 2);
        w.store(word::KIND, 99);
        assert_eq!(identify(r), Err(HeaderError::UnknownKind { found: 99 }));
        w.store(word::VERSION, 3);
        assert_eq!(identify(r), Err(HeaderError::FutureVersion { found: 3 }));
        w.store(word::MAGIC, 5);
        assert_eq!(identify(r), Err(HeaderError::UnknownMagic { magic: 5 }));
        assert_eq!(
            identify(ReadView::new(&words[..23])),
            Err(HeaderError::TooSmall { bytes: 184 })
        );
    }
}
