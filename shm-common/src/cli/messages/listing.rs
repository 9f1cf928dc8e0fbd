//! `--list` and `--inspect`.

/// One of the kernel's IPC tables (`path`) cannot be read (no `/proc`
/// mounted?).
pub fn no_table(path: &str, e: &std::io::Error) -> String {
    format!("cannot read {path} ({e}): --list and --inspect need /proc mounted, as it is in every container")
}

/// `--inspect` found no segment.
pub fn no_segment(what: &str) -> String {
    format!("no segment {what} in this IPC namespace; `shm_read --list` shows those there are")
}
