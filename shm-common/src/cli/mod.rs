//! The command-line layer both binaries share (feature `cli`): flags and
//! their parsers, every user-facing sentence, the exit statuses, and the
//! writes to stdout and stderr that return their errors.

pub mod console;
pub mod exit;
pub mod flags;
pub mod messages;
