//! `--list` and `--inspect`.

/// The kernel's segment table cannot be read (no `/proc` mounted?).
pub fn no_table(e: &std::io::Error) -> String {
    format!("cannot read /proc/sysvipc/shm ({e}): --list and --inspect need /proc mounted, as it is in every container")
}

/// `--inspect` found no segment.
pub fn no_segment(what: &str) -> String {
    format!("no segment {what} in this IPC namespace; `shm_read --list` shows those there are")
}
