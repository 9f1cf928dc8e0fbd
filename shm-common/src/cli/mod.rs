//! The command-line layer both binaries share (feature `cli`): flags and
//! their parsers, every user-facing sentence, and the exit statuses.

pub mod exit;
pub mod flags;
pub mod messages;
