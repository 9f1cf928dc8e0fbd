//! The protocols: what a segment of ours holds, each in a folder of its
//! own, all behind one [`header`] whose kind field says which.
//!
//! - [`text`]: the C originals' text area, bytes `0..128` of every segment;
//! - [`header`]: magic, layout version and kind, at byte 128;
//! - [`seqlock`]: the single-writer, lock-free snapshot the record
//!   protocols publish under;
//! - [`time`]: the time record (the classic clock);
//! - [`value`]: the latest value of any payload;
//! - [`stream`]: a lossless byte stream through a ring;
//! - [`mqueue`]: Docker in Action's messages over a POSIX message queue
//!   (not a segment: no header, no spec);
//! - [`spec`]: what each protocol says about itself (sizes, adoption and
//!   liveness rules, summary, fields), and [`registry`]: the specs;
//! - [`watch`]: signs of life watched against this process's monotonic
//!   clock, which every liveness rule goes by;
//! - [`fields`]: how `--inspect` decodes a word;
//! - [`describe`]: what any segment holds, for listings and inspection,
//!   generic over the specs.
//!
//! A new protocol gets a folder with its layout, its writer side, its
//! reader side, its adoption and liveness rules and its `spec.rs`, a
//! [`header::Kind`], and an entry in [`registry`] (see
//! docs/architecture.md).

pub mod adopt;
pub mod clock;
pub mod describe;
pub mod fields;
pub mod header;
pub mod mqueue;
pub mod notify;
pub mod registry;
pub mod seqlock;
pub mod spec;
pub mod stream;
pub mod text;
pub mod time;
pub mod value;
pub mod watch;
