//! The command-line layer both binaries share (feature `cli`): flags and
//! their parsers, the exit statuses, every error with its status and
//! sentence, every other sentence, the listing of what an IPC namespace
//! holds (text and JSON), the commands it prints quoted for a shell, the
//! man pages and completions made from the flags, and the writes to stdout
//! and stderr that return their errors.

pub mod console;
pub mod exit;
pub mod failure;
pub mod flags;
pub mod generate;
pub mod inventory;
pub mod messages;
pub mod shell;
