//! Stop signals: their set-up, a failed wait, and a stop.

/// Stop signals cannot be routed to a signalfd (or its watcher set up).
pub fn signals_setup(e: impl std::fmt::Display) -> String {
    format!("cannot set up signal handling: {e}")
}

/// Waiting for stop signals failed, so none could be noticed.
pub fn signals_failed(e: impl std::fmt::Display) -> String {
    format!("waiting for signals failed: {e}")
}

/// A stop signal arrived.
pub fn stopping(tool: &str, signal: impl std::fmt::Display) -> String {
    format!("{tool}: {signal} received: stopping")
}
