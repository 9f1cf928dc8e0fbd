//! Conditions reported on stderr while they last, without flooding it.

use std::time::{Duration, Instant};

use shm_common::cli::console::{self, OutputError};

/// A condition reported on stderr is repeated this often while it lasts.
const REPEAT_REPORT: Duration = Duration::from_secs(10);

/// Prints a condition once, and again every [`REPEAT_REPORT`] while it
/// lasts. A condition is known by its kind, so a detail that changes in its
/// message (a sequence number, an age) does not make it new.
#[derive(Default)]
pub struct Reporter {
    last: Option<(String, Instant)>,
}

impl Reporter {
    /// Report `message`, of condition `kind`, if it is new or due again.
    pub fn report(&mut self, kind: &str, message: &str) -> Result<(), OutputError> {
        let repeat = match &self.last {
            Some((last, at)) => last != kind || at.elapsed() >= REPEAT_REPORT,
            None => true,
        };
        if repeat {
            console::say(&format!("shm_read: {message}"))?;
            self.last = Some((kind.to_owned(), Instant::now()));
        }
        Ok(())
    }

    /// Whether a problem was reported since the last good reading.
    pub fn clear(&mut self) -> bool {
        self.last.take().is_some()
    }
}
